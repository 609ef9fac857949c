// Package authenticatorwebauthn is authentik's WebAuthn setup stage: it
// registers a security key or passkey for the user (W3C WebAuthn L3 §7.1)
// and saves it as a webauthn device once the browser's response verifies.
//
//	Enter ─> registration (PublicKeyCredentialCreationOptions); the session
//	         data stays in the stage state
//	Submit response ─┬─ verified, model allowed, not registered yet ─> device saved, done
//	                 └─ otherwise ─> response_errors and a new registration;
//	                    after max_attempts failures ─> access denied
package authenticatorwebauthn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa/webauthn"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "authenticator_webauthn"
	ModelName = "authentik_stages_authenticator_webauthn.authenticatorwebauthnstage"
)

// The device model, as authentik's events name it.
const (
	DeviceApp   = "authentik_stages_authenticator_webauthn"
	DeviceModel = "webauthndevice"
)

// Settings are authentik's AuthenticatorWebAuthnStage fields.
type Settings struct {
	// UserVerification and ResidentKeyRequirement are required, preferred
	// or discouraged (§5.4.4).
	UserVerification       string `json:"user_verification"`
	ResidentKeyRequirement string `json:"resident_key_requirement"`
	// AuthenticatorAttachment is platform, cross-platform or null (any).
	AuthenticatorAttachment *string `json:"authenticator_attachment"`
	// DeviceTypeRestrictions lists the allowed authenticator models by
	// AAGUID (empty: any; the all-zero AAGUID stands for authenticators
	// that do not tell).
	DeviceTypeRestrictions []string `json:"device_type_restrictions"`
	// PreventDuplicateDevices asks the browser not to register an
	// authenticator the user has registered already (excludeCredentials).
	// A credential is never saved twice either way.
	PreventDuplicateDevices bool `json:"prevent_duplicate_devices"`
	// MaxAttempts failed registrations deny the flow (0: no limit).
	MaxAttempts int `json:"max_attempts"`
	// FriendlyName names the device ("WebAuthn Device" when empty).
	FriendlyName  string `json:"friendly_name"`
	ConfigureFlow string `json:"configure_flow"`
	// Hints are passed to the browser (security-key, client-device, hybrid).
	Hints []string `json:"hints"`
}

// Challenge is ak-stage-authenticator-webauthn.
type Challenge struct {
	flow.Base
	// Registration is the PublicKeyCredentialCreationOptions JSON for
	// navigator.credentials.create().
	Registration json.RawMessage `json:"registration"`
}

// Stage implements flow.Stage.
type Stage struct{ s Settings }

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{UserVerification: webauthn.Preferred, ResidentKeyRequirement: webauthn.Preferred}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	if !webauthn.ValidRequirement(s.UserVerification) {
		return nil, errors.New("authenticator_webauthn: user_verification must be required, preferred or discouraged")
	}
	if !webauthn.ValidRequirement(s.ResidentKeyRequirement) {
		return nil, errors.New("authenticator_webauthn: resident_key_requirement must be required, preferred or discouraged")
	}
	if a := s.AuthenticatorAttachment; a != nil && *a != "" && *a != "platform" && *a != "cross-platform" {
		return nil, errors.New("authenticator_webauthn: authenticator_attachment must be platform, cross-platform or null")
	}
	for i, id := range s.DeviceTypeRestrictions {
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("authenticator_webauthn: device_type_restrictions: %q is not an AAGUID", id)
		}
		s.DeviceTypeRestrictions[i] = u.String()
	}
	for _, h := range s.Hints {
		if !webauthn.ValidHint(h) {
			return nil, fmt.Errorf("authenticator_webauthn: hints: %q is not security-key, client-device or hybrid", h)
		}
	}
	if s.MaxAttempts < 0 {
		return nil, errors.New("authenticator_webauthn: max_attempts must not be negative")
	}
	if len(s.FriendlyName) > 200 {
		return nil, errors.New("authenticator_webauthn: friendly_name is longer than 200 characters")
	}
	return &Stage{s: s}, nil
}

// Stage state keys.
const (
	stateSession = "registration_session"
	stateFailed  = "failed_attempts"
)

func (st *Stage) options(ctx context.Context, r *flow.Run, u *store.User) (webauthn.Registration, error) {
	o := webauthn.Registration{UserVerification: st.s.UserVerification, ResidentKey: st.s.ResidentKeyRequirement,
		Hints: st.s.Hints, AllowedAAGUIDs: st.s.DeviceTypeRestrictions}
	if st.s.AuthenticatorAttachment != nil {
		o.Attachment = *st.s.AuthenticatorAttachment
	}
	if st.s.PreventDuplicateDevices {
		devices, _, err := r.Store().ListDevices(ctx, store.DeviceFilter{UserPK: u.PK, Type: store.DeviceWebAuthn, Page: store.Page{Limit: 1000}})
		if err != nil {
			return o, err
		}
		o.Exclude = devices
	}
	return o, nil
}

// challenge shows the registration ceremony under way, or begins one; a
// request made at an IP address (no RP ID possible) denies with an
// explanation.
func (st *Stage) challenge(ctx context.Context, r *flow.Run, u *store.User) (flow.Step, error) {
	if opts, ok := webauthn.PendingOptions(r, stateSession); ok {
		return st.step(u, opts), nil
	}
	rp, err := webauthn.ForRun(ctx, r)
	if errors.Is(err, webauthn.ErrNoDomain) {
		return flow.Step{Deny: webauthn.ErrNoDomain.Message}, nil
	} else if err != nil {
		return flow.Step{}, err
	}
	o, err := st.options(ctx, r, u)
	if err != nil {
		return flow.Step{}, err
	}
	opts, session, err := rp.BeginRegistration(u, o)
	if err != nil {
		return flow.Step{}, err
	}
	webauthn.SaveCeremony(r, stateSession, opts, session)
	return st.step(u, opts), nil
}

func (st *Stage) step(u *store.User, opts json.RawMessage) flow.Step {
	return flow.Step{Challenge: &Challenge{Base: flow.Base{Component: "ak-stage-authenticator-webauthn", PendingUser: u.Username},
		Registration: opts}}
}

// Enter starts the registration.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	u, err := stage.DeviceUser(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "No user to set up a device for."}, nil
	}
	return st.challenge(ctx, r, u)
}

// Submit verifies the browser's response (field "response", the
// PublicKeyCredential JSON) and saves the device.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	u, err := stage.DeviceUser(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "No user to set up a device for."}, nil
	}
	rp, err := webauthn.ForRun(ctx, r)
	if errors.Is(err, webauthn.ErrNoDomain) {
		return flow.Step{Deny: webauthn.ErrNoDomain.Message}, nil
	} else if err != nil {
		return flow.Step{}, err
	}
	o, err := st.options(ctx, r, u)
	if err != nil {
		return flow.Step{}, err
	}
	name := st.s.FriendlyName
	if name == "" {
		name = "WebAuthn Device"
	}
	session := webauthn.LoadSession(r, stateSession)
	webauthn.DropSession(r, stateSession) // one answer per challenge
	d, err := rp.FinishRegistration(u, session, resp["response"], o, name)
	var we *webauthn.Error
	if errors.As(err, &we) {
		r.Log.Info("webauthn registration refused", "user", u.Username, "reason", we.Error())
		return st.failed(ctx, r, u, we.Message, we.Code)
	} else if err != nil {
		return flow.Step{}, err
	}
	if err := r.Store().CreateDevice(ctx, d); errors.Is(err, store.ErrConflict) {
		return st.failed(ctx, r, u, "This device is already registered.", "unique")
	} else if err != nil {
		return flow.Step{}, fmt.Errorf("saving the WebAuthn device: %w", err)
	}
	delete(r.State(), stateFailed)
	stage.DeviceCreated(ctx, r, u, DeviceApp, DeviceModel, d)
	return flow.Step{Done: true}, nil
}

// failed counts a failed registration and shows a new challenge with the
// error, or denies after max_attempts.
func (st *Stage) failed(ctx context.Context, r *flow.Run, u *store.User, msg, code string) (flow.Step, error) {
	state := r.State()
	n, _ := state[stateFailed].(float64)
	n++
	state[stateFailed] = n
	if st.s.MaxAttempts > 0 && int(n) >= st.s.MaxAttempts {
		return flow.Step{Deny: "Too many failed attempts to register a device."}, nil
	}
	step, err := st.challenge(ctx, r, u)
	if err != nil || step.Challenge == nil {
		return step, err
	}
	return flow.Invalid(step.Challenge, "response", msg, code), nil
}
