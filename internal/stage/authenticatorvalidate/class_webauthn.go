package authenticatorvalidate

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa/webauthn"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func init() { register(store.DeviceWebAuthn, webauthnClass{}) }

// webauthnClass validates a WebAuthn assertion by one of the user's
// security keys or passkeys (W3C WebAuthn L3 §7.2), with the stage's
// webauthn_user_verification, webauthn_allowed_device_types and
// webauthn_hints.
type webauthnClass struct{}

// stateWebAuthn holds the session data of the assertion last offered.
const stateWebAuthn = "webauthn_session"

func loginOptions(s *Settings) webauthn.Login {
	return webauthn.Login{UserVerification: s.WebAuthnUserVerification, Hints: s.WebAuthnHints,
		AllowedAAGUIDs: s.WebAuthnAllowedDeviceTypes}
}

// Challenge returns PublicKeyCredentialRequestOptions (allowCredentials:
// the user's allowed devices) and keeps the ceremony in the stage state;
// while it is pending, the same options are returned.
// When no assertion can be asked for (a page at an IP address, no device of
// an allowed type) the challenge is empty and Validate explains why.
func (webauthnClass) Challenge(ctx context.Context, r *flow.Run, user *store.User, devices []*store.AuthenticatorDevice, s *Settings) (map[string]any, error) {
	if opts, ok := webauthn.PendingOptions(r, stateWebAuthn); ok {
		return decodeOptions(opts)
	}
	rp, err := webauthn.ForRun(ctx, r)
	if errors.Is(err, webauthn.ErrNoDomain) {
		return map[string]any{}, nil
	} else if err != nil {
		return nil, err
	}
	opts, session, err := rp.BeginLogin(user, devices, loginOptions(s))
	var we *webauthn.Error
	if errors.As(err, &we) {
		webauthn.DropSession(r, stateWebAuthn)
		return map[string]any{}, nil
	} else if err != nil {
		return nil, err
	}
	m, err := decodeOptions(opts)
	if err != nil {
		return nil, err
	}
	webauthn.SaveCeremony(r, stateWebAuthn, opts, session)
	return m, nil
}

func decodeOptions(opts json.RawMessage) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(opts, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// Validate verifies the assertion in the response's "webauthn" field and
// moves the device's sign counter forward (store.SwapDevice).
func (webauthnClass) Validate(ctx context.Context, r *flow.Run, user *store.User, devices []*store.AuthenticatorDevice, resp flow.Response, s *Settings) (*store.AuthenticatorDevice, error) {
	rp, err := webauthn.ForRun(ctx, r)
	if errors.Is(err, webauthn.ErrNoDomain) {
		return nil, &UserError{Field: "webauthn", Message: webauthn.ErrNoDomain.Message, Code: "invalid"}
	} else if err != nil {
		return nil, err
	}
	session := webauthn.LoadSession(r, stateWebAuthn)
	webauthn.DropSession(r, stateWebAuthn) // answered once; a new challenge is shown after a failure
	d, err := rp.FinishLogin(ctx, r.Store(), user, devices, session, resp["webauthn"], loginOptions(s), r.Now())
	var we *webauthn.Error
	if errors.As(err, &we) {
		r.Log.Info("webauthn assertion refused", "user", user.Username, "reason", we.Error())
		return nil, &UserError{Field: "webauthn", Message: we.Message, Code: we.Code}
	} else if err != nil {
		return nil, err
	}
	return d, nil
}
