package authenticatorvalidate

import (
	"context"
	"errors"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa/sidechannel"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatoremail"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// emailClass validates email devices: picking the class mails a fresh code
// (with the settings of the setup stage that made the device), which the
// user types back (authentik's select_challenge_email).
type emailClass struct{}

var _ Class = emailClass{}

func init() { register(store.DeviceEmail, emailClass{}) }

// Challenge mails a code to the first device, unless one was sent less
// than a minute ago and can still be used: asking again then shows the
// same challenge without sending more mail.
func (emailClass) Challenge(ctx context.Context, r *flow.Run, user *store.User, devices []*store.AuthenticatorDevice, _ *Settings) (map[string]any, error) {
	if len(devices) == 0 {
		return nil, &UserError{Field: "code", Message: "You have no email device.", Code: "no_device"}
	}
	d := devices[0]
	st, err := authenticatoremail.ForDevice(ctx, r.Store(), d)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"email": authenticatoremail.Mask(authenticatoremail.Address(d))}
	if err := st.Deliver(ctx, r, user, d); err != nil {
		return out, sendError(err, d, r)
	}
	return out, nil
}

// Validate checks the code against every device with a code pending.
func (emailClass) Validate(ctx context.Context, r *flow.Run, _ *store.User, devices []*store.AuthenticatorDevice, resp flow.Response, _ *Settings) (*store.AuthenticatorDevice, error) {
	return validateSent(ctx, r, devices, resp)
}

// sendError turns a failure to send a code into what the user sees: a
// throttled request is no error while the last code can still be used.
func sendError(err error, d *store.AuthenticatorDevice, r *flow.Run) error {
	var th *sidechannel.ThrottledError
	if errors.As(err, &th) && sidechannel.Pending(d, r.Now()) {
		return nil
	}
	if msg, ok := sidechannel.UserMessage(err); ok {
		return &UserError{Field: "code", Message: msg, Code: sidechannel.ErrorCode(err)}
	}
	var ee *authenticatoremail.DeliveryError
	if errors.As(err, &ee) {
		return &UserError{Field: "non_field_errors", Message: ee.Error(), Code: "delivery_failed"}
	}
	return err
}

// validateSent checks a response's code against the devices' sent codes
// (email and SMS); the device whose code it is is returned, its code used
// up. Each device counts the attempt.
func validateSent(ctx context.Context, r *flow.Run, devices []*store.AuthenticatorDevice, resp flow.Response) (*store.AuthenticatorDevice, error) {
	raw, ok := resp["code"]
	if !ok {
		return nil, &UserError{Field: "code", Message: "Enter the code you received.", Code: "required"}
	}
	code, err := sidechannel.ParseCode(raw)
	if err != nil {
		msg, _ := sidechannel.UserMessage(err)
		return nil, &UserError{Field: "code", Message: msg, Code: "invalid"}
	}
	var last error = sidechannel.ErrNoCode
	for _, d := range devices {
		if !sidechannel.Pending(d, r.Now()) {
			continue
		}
		err := sidechannel.Verify(ctx, r.Store(), r.Executor.Secrets, d, code, r.Now())
		if err == nil {
			return d, nil
		}
		if _, ok := sidechannel.UserMessage(err); !ok {
			return nil, err
		}
		last = err
	}
	msg, _ := sidechannel.UserMessage(last)
	return nil, &UserError{Field: "code", Message: msg, Code: sidechannel.ErrorCode(last)}
}
