// Package authenticatortotp is authentik's TOTP setup stage: it shows a
// new key as an otpauth:// URL and QR code, and saves the device once the
// user proves their app has it by typing a valid code (RFC 6238).
//
// Until then the key lives only in the plan, sealed (flow.Executor.Secrets):
// nothing is written to the store for a setup that is abandoned, and a
// device is never saved half-way.
package authenticatortotp

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "authenticator_totp"
	ModelName = "authentik_stages_authenticator_totp.authenticatortotpstage"
)

// The device model, as authentik's events name it.
const (
	DeviceApp   = "authentik_stages_authenticator_totp"
	DeviceModel = "totpdevice"
)

// Settings are authentik's TOTP setup stage fields.
type Settings struct {
	// Digits is the code length: 6 or 8.
	Digits int `json:"digits"`
	// FriendlyName names the device ("TOTP Device" when empty).
	FriendlyName string `json:"friendly_name"`
	// ConfigureFlow is the flow (UUID) the user settings offer to set a
	// device up with this stage.
	ConfigureFlow string `json:"configure_flow"`
}

// Challenge is ak-stage-authenticator-totp.
type Challenge struct {
	flow.Base
	// ConfigURL is the otpauth:// URL (authentik's field).
	ConfigURL string `json:"config_url"`
	// QRCode is ConfigURL as a QR code PNG in a data: URI, for the HTML
	// flow UI, which draws it without JavaScript.
	QRCode string `json:"qr_code"`
}

// Stage implements flow.Stage.
type Stage struct{ s Settings }

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{Digits: 6}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	if !mfa.ValidDigits(s.Digits) {
		return nil, fmt.Errorf("authenticator_totp: digits must be 6 or 8")
	}
	if len(s.FriendlyName) > 200 {
		return nil, fmt.Errorf("authenticator_totp: friendly_name is longer than 200 characters")
	}
	return &Stage{s: s}, nil
}

// stateKey holds the sealed key being set up.
const stateKey = "key_sealed"

var errNoSealer = errors.New("authenticator_totp: no secret sealer configured (flow.Executor.Secrets)")

// Enter shows the key, making one on the first visit.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	u, err := stage.DeviceUser(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "No user to set up a device for."}, nil
	}
	c, err := st.challenge(ctx, r, u)
	if err != nil {
		return flow.Step{}, err
	}
	return flow.Step{Challenge: c}, nil
}

// key returns the key being set up, making and sealing a new one into the
// stage state on the first call.
func (st *Stage) key(r *flow.Run) (mfa.TOTP, error) {
	if r.Executor.Secrets == nil {
		return mfa.TOTP{}, errNoSealer
	}
	state := r.State()
	if sealed, ok := state[stateKey].(string); ok {
		secret, err := r.Executor.Secrets.Open(sealed)
		if err == nil && len(secret) == mfa.TOTPSecretSize {
			return mfa.TOTP{Secret: secret, Digits: st.s.Digits}, nil
		}
		// Not ours (secret_key changed mid-flow): start with a new key.
	}
	secret := mfa.NewTOTPSecret()
	sealed, err := r.Executor.Secrets.Seal(secret)
	if err != nil {
		return mfa.TOTP{}, err
	}
	state[stateKey] = sealed
	return mfa.TOTP{Secret: secret, Digits: st.s.Digits}, nil
}

func (st *Stage) challenge(ctx context.Context, r *flow.Run, u *store.User) (*Challenge, error) {
	k, err := st.key(r)
	if err != nil {
		return nil, err
	}
	issuer := "gatehouse"
	brands, err := r.Store().ListBrands(ctx)
	if err != nil {
		return nil, err
	}
	if b := core.MatchBrand(brands, r.Request.Host); b != nil && b.BrandingTitle != "" {
		issuer = b.BrandingTitle
	}
	url, err := k.ConfigURL(issuer, u.Username)
	if err != nil {
		return nil, err
	}
	qr, err := k.QRCode(issuer, u.Username)
	if err != nil {
		return nil, err
	}
	c := &Challenge{Base: flow.Base{Component: "ak-stage-authenticator-totp", PendingUser: u.Username}, ConfigURL: url, QRCode: qr}
	return c, nil
}

// Submit checks the code (response field "code") against the key and, when
// it is right, saves the device, confirmed.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	u, err := stage.DeviceUser(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "No user to set up a device for."}, nil
	}
	invalid := func(msg string) (flow.Step, error) {
		c, err := st.challenge(ctx, r, u)
		if err != nil {
			return flow.Step{}, err
		}
		return flow.Invalid(c, "code", msg, "invalid"), nil
	}
	code, err := mfa.ParseDigits(stage.Code(resp), st.s.Digits)
	var ce *mfa.CodeError
	if errors.As(err, &ce) {
		return invalid(ce.Message)
	} else if err != nil {
		return flow.Step{}, err
	}
	k, err := st.key(r)
	if err != nil {
		return flow.Step{}, err
	}
	step, err := k.Match(code, r.Now(), -1)
	if errors.Is(err, mfa.ErrWrongCode) || errors.Is(err, mfa.ErrReplayed) {
		return invalid("Code does not match. Check the time on your device and try again.")
	} else if err != nil {
		return flow.Step{}, err
	}
	name := st.s.FriendlyName
	if name == "" {
		name = "TOTP Device"
	}
	d, err := mfa.NewTOTPDevice(r.Executor.Secrets, u.PK, name, k, step)
	if err != nil {
		return flow.Step{}, err
	}
	if err := r.Store().CreateDevice(ctx, d); err != nil {
		return flow.Step{}, fmt.Errorf("saving the TOTP device: %w", err)
	}
	delete(r.State(), stateKey)
	stage.DeviceCreated(ctx, r, u, DeviceApp, DeviceModel, d)
	return flow.Step{Done: true}, nil
}
