package authenticatorvalidate

import (
	"context"
	"errors"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorsms"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// smsClass validates SMS devices: picking the class sends a fresh code
// through the webhook of the setup stage that made the device (authentik's
// select_challenge_sms). Devices of a verify_only stage keep only a hash of
// their number and cannot be sent codes, so they are left out, as in
// authentik.
type smsClass struct{}

var _ Class = smsClass{}

func init() { register(store.DeviceSMS, smsClass{}) }

// usableSMS drops verify_only devices.
func usableSMS(devices []*store.AuthenticatorDevice) []*store.AuthenticatorDevice {
	var out []*store.AuthenticatorDevice
	for _, d := range devices {
		if !authenticatorsms.IsHashed(d) {
			out = append(out, d)
		}
	}
	return out
}

// Challenge texts a code to the first usable device, unless one was sent
// less than a minute ago and can still be used.
func (smsClass) Challenge(ctx context.Context, r *flow.Run, user *store.User, devices []*store.AuthenticatorDevice, _ *Settings) (map[string]any, error) {
	devices = usableSMS(devices)
	if len(devices) == 0 {
		return nil, &UserError{Field: "code", Message: "You have no phone that can receive codes.", Code: "no_device"}
	}
	d := devices[0]
	st, _, err := authenticatorsms.ForDevice(ctx, r.Store(), d)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &UserError{Field: "non_field_errors", Code: "no_provider",
			Message: "The SMS provider of this phone was removed; use another device or ask your administrator."}
	} else if err != nil {
		return nil, err
	}
	out := map[string]any{"phone_number": authenticatorsms.Mask(authenticatorsms.PhoneNumber(d))}
	if err := st.Deliver(ctx, r, user, d); err != nil {
		var de *authenticatorsms.DeliveryError
		if errors.As(err, &de) {
			return out, &UserError{Field: "non_field_errors", Message: de.Error(), Code: "delivery_failed"}
		}
		return out, sendError(err, d, r)
	}
	return out, nil
}

// Validate checks the code against every usable device with a code pending.
func (smsClass) Validate(ctx context.Context, r *flow.Run, _ *store.User, devices []*store.AuthenticatorDevice, resp flow.Response, _ *Settings) (*store.AuthenticatorDevice, error) {
	return validateSent(ctx, r, usableSMS(devices), resp)
}
