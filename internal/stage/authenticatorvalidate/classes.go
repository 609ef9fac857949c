package authenticatorvalidate

import (
	"context"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Settings are authentik's AuthenticatorValidateStage fields.
type Settings struct {
	// DeviceClasses are the device types accepted (store.DeviceTOTP, ...).
	DeviceClasses []string `json:"device_classes"`
	// NotConfiguredAction is skip, deny or configure.
	NotConfiguredAction string `json:"not_configured_action"`
	// ConfigurationStages are the setup stages (UUIDs) a user without a
	// device is sent through (not_configured_action configure).
	ConfigurationStages []string `json:"configuration_stages"`
	// LastAuthThreshold skips the stage when a device of the user was used
	// this recently ("seconds=0" never skips); authentik's timedelta string.
	LastAuthThreshold string `json:"last_auth_threshold"`
	// WebAuthnUserVerification is required, preferred or discouraged.
	WebAuthnUserVerification string `json:"webauthn_user_verification"`
	// WebAuthnAllowedDeviceTypes limits WebAuthn devices by AAGUID (empty:
	// any).
	WebAuthnAllowedDeviceTypes []string `json:"webauthn_allowed_device_types"`
	// WebAuthnHints are passed to the browser (security-key, client-device,
	// hybrid).
	WebAuthnHints []string `json:"webauthn_hints"`
}

// Class is one device class the stage validates. Each class lives in its
// own file of this package and registers itself with register in an init
// function.
type Class interface {
	// Challenge returns the device challenge's "challenge" object for the
	// user's confirmed devices of the class (never empty): WebAuthn
	// assertion options, or {} for codes. Email and SMS send their code
	// here. It is called when the user picks the class.
	Challenge(ctx context.Context, r *flow.Run, user *store.User, devices []*store.AuthenticatorDevice, s *Settings) (map[string]any, error)
	// Validate checks the response (its "code" or "webauthn" field) against
	// the devices and returns the one that matched, with its use recorded
	// (LastUsed, and Counter through store.SwapDevice so that a code is
	// accepted once). A wrong answer is a *UserError.
	Validate(ctx context.Context, r *flow.Run, user *store.User, devices []*store.AuthenticatorDevice, resp flow.Response, s *Settings) (*store.AuthenticatorDevice, error)
}

// UserError is a wrong answer, shown in the challenge's response_errors
// under Field ("code" or "webauthn").
type UserError struct {
	Field, Message, Code string
}

func (e *UserError) Error() string { return e.Message }

var classes = map[string]Class{}

// register adds a device class; called from init functions.
func register(name string, c Class) { classes[name] = c }
