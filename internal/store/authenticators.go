package store

import (
	"context"
	"time"
)

// Device types: authentik's device classes (authenticator_validate's
// device_classes).
const (
	DeviceTOTP     = "totp"
	DeviceStatic   = "static"
	DeviceWebAuthn = "webauthn"
	DeviceEmail    = "email"
	DeviceSMS      = "sms"
)

// DeviceTypes lists every device type Gatehouse has.
var DeviceTypes = []string{DeviceStatic, DeviceTOTP, DeviceWebAuthn, DeviceEmail, DeviceSMS}

// AuthenticatorDevice is one MFA device of a user (authentik's TOTPDevice,
// StaticDevice, WebAuthnDevice, EmailDevice, SMSDevice in one table).
//
// Data holds what the type needs (a TOTP device's sealed key, digits and
// period; a static device's token hashes; a WebAuthn credential; an email
// or SMS device's address and pending code). Counter is the device's
// monotonic state, written only by SwapDevice: the last accepted TOTP time
// step, a WebAuthn sign count, a version for static and email devices.
type AuthenticatorDevice struct {
	PK        int64 `bun:"pk,pk,autoincrement"`
	UserPK    int64
	Type      string
	Name      string
	Confirmed bool
	// CredentialID is a WebAuthn credential's ID (base64url, unique); empty
	// for other types.
	CredentialID string `bun:",nullzero"`
	Counter      int64
	Data         Attributes
	Created      time.Time
	LastUpdated  time.Time
	LastUsed     *time.Time
}

// DeviceFilter selects devices. Zero fields do not filter.
type DeviceFilter struct {
	UserPK        int64
	Type          string
	ConfirmedOnly bool
	Search        string // in the name
	Ordering      string // name, created, last_used (a leading "-" reverses)
	Page          Page
}

// Authenticators is the MFA device aggregate.
type Authenticators interface {
	// CreateDevice saves d and sets its PK, Created and LastUpdated. A taken
	// CredentialID is ErrConflict.
	CreateDevice(ctx context.Context, d *AuthenticatorDevice) error
	Device(ctx context.Context, pk int64) (*AuthenticatorDevice, error)
	// DeviceByCredentialID finds a WebAuthn device by its credential ID.
	DeviceByCredentialID(ctx context.Context, credentialID string) (*AuthenticatorDevice, error)
	ListDevices(ctx context.Context, f DeviceFilter) ([]*AuthenticatorDevice, int, error)
	// UserDevices is ListDevices of one user's confirmed devices ordered by
	// -last_used (the first 1,000), without the count: the authenticator
	// validation stage's read at every login (a prepared statement, one
	// query).
	UserDevices(ctx context.Context, userPK int64) ([]*AuthenticatorDevice, error)
	// UpdateDevice writes Name, Confirmed, Data and LastUsed (not Counter)
	// and sets LastUpdated.
	UpdateDevice(ctx context.Context, d *AuthenticatorDevice) error
	// RenameDevice writes Name (and LastUpdated) only, so that it cannot
	// undo a concurrent use of the device.
	RenameDevice(ctx context.Context, pk int64, name string) error
	// SwapDevice writes d's Counter, Data and LastUsed only if the stored
	// Counter is still old (compare-and-swap), so that a code or a
	// signature is accepted once even by concurrent requests. It reports
	// whether it wrote.
	SwapDevice(ctx context.Context, d *AuthenticatorDevice, old int64) (bool, error)
	DeleteDevice(ctx context.Context, pk int64) error
}
