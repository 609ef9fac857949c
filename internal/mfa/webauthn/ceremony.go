package webauthn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	wa "github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Timeout is how long a ceremony may take: sent to the browser (§5.4
// timeout) and enforced on the server through the session data's expiry.
const Timeout = 5 * time.Minute

// Requirement values (user_verification, resident_key_requirement).
const (
	Required    = "required"
	Preferred   = "preferred"
	Discouraged = "discouraged"
)

// ValidRequirement tells whether s is required, preferred or discouraged.
func ValidRequirement(s string) bool { return s == Required || s == Preferred || s == Discouraged }

// ValidHint tells whether s is a WebAuthn L3 hint (§5.8.7).
func ValidHint(s string) bool {
	switch protocol.PublicKeyCredentialHints(s) {
	case protocol.PublicKeyCredentialHintSecurityKey, protocol.PublicKeyCredentialHintClientDevice, protocol.PublicKeyCredentialHintHybrid:
		return true
	}
	return false
}

func hints(hs []string) []protocol.PublicKeyCredentialHints {
	var out []protocol.PublicKeyCredentialHints
	for _, h := range hs {
		if ValidHint(h) {
			out = append(out, protocol.PublicKeyCredentialHints(h))
		}
	}
	return out
}

func (rp *RP) library() (*wa.WebAuthn, error) {
	t := wa.TimeoutConfig{Enforce: true, Timeout: Timeout, TimeoutUVD: Timeout}
	return wa.New(&wa.Config{RPID: rp.ID, RPDisplayName: rp.Name, RPOrigins: []string{rp.Origin},
		Timeouts: wa.TimeoutsConfig{Login: t, Registration: t}})
}

func encodeSession(s *wa.SessionData) ([]byte, error) { return json.Marshal(s) }

func decodeSession(b []byte) (*wa.SessionData, error) {
	var s wa.SessionData
	if len(b) == 0 || json.Unmarshal(b, &s) != nil || s.Challenge == "" {
		return nil, &Error{Code: "invalid", Message: "This security key request has expired; please try again."}
	}
	return &s, nil
}

// Registration are the options of a registration ceremony (the
// authenticator_webauthn stage's settings).
type Registration struct {
	// UserVerification and ResidentKey are required, preferred or
	// discouraged (§5.4.4 AuthenticatorSelectionCriteria).
	UserVerification, ResidentKey string
	// Attachment is platform, cross-platform or "" (any).
	Attachment string
	Hints      []string
	// AllowedAAGUIDs limits the authenticator models (empty: any). The
	// attestation is then asked for ("direct"), and the model checked at
	// the end of the ceremony.
	AllowedAAGUIDs []string
	// Exclude lists the user's existing devices in excludeCredentials
	// (§5.4 excludeCredentials), so one authenticator is registered once.
	Exclude []*store.AuthenticatorDevice
}

// BeginRegistration starts registering a credential for u (§7.1): it returns
// the PublicKeyCredentialCreationOptions for navigator.credentials.create()
// in their JSON form and the encoded session data to keep server side.
func (rp *RP) BeginRegistration(u *store.User, o Registration) (options json.RawMessage, session []byte, err error) {
	lib, err := rp.library()
	if err != nil {
		return nil, nil, err
	}
	sel := protocol.AuthenticatorSelection{
		UserVerification:   protocol.UserVerificationRequirement(o.UserVerification),
		ResidentKey:        protocol.ResidentKeyRequirement(o.ResidentKey),
		RequireResidentKey: protocol.ResidentKeyRequired(),
	}
	if o.ResidentKey != Required {
		sel.RequireResidentKey = protocol.ResidentKeyNotRequired()
	}
	if o.Attachment != "" {
		sel.AuthenticatorAttachment = protocol.AuthenticatorAttachment(o.Attachment)
	}
	conveyance := protocol.PreferNoAttestation
	if len(o.AllowedAAGUIDs) > 0 {
		conveyance = protocol.PreferDirectAttestation
	}
	opts := []wa.RegistrationOption{wa.WithAuthenticatorSelection(sel), wa.WithConveyancePreference(conveyance),
		wa.WithRegistrationOrigin(rp.Origin)}
	if hs := hints(o.Hints); len(hs) > 0 {
		opts = append(opts, wa.WithPublicKeyCredentialHints(hs))
	}
	if excl := newUser(u, o.Exclude).creds; len(excl) > 0 {
		descs := make([]protocol.CredentialDescriptor, len(excl))
		for i := range excl {
			descs[i] = excl[i].Descriptor()
		}
		opts = append(opts, wa.WithExclusions(descs))
	}
	creation, sd, err := lib.BeginRegistration(newUser(u, nil), opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn registration: %w", err)
	}
	if options, err = json.Marshal(creation.Response); err != nil {
		return nil, nil, err
	}
	if session, err = encodeSession(sd); err != nil {
		return nil, nil, err
	}
	return options, session, nil
}

// FinishRegistration verifies a registration response against the session
// (§7.1 "Registering a New Credential": challenge, origin, RP ID hash, user
// presence and, when required, verification, the attestation statement) and
// returns the new, unsaved device named name. Wrong answers are *Error.
func (rp *RP) FinishRegistration(u *store.User, session, response []byte, o Registration, name string) (*store.AuthenticatorDevice, error) {
	sd, err := decodeSession(session)
	if err != nil {
		return nil, err
	}
	parsed, err := ParseCreation(response)
	if err != nil {
		return nil, err
	}
	lib, err := rp.library()
	if err != nil {
		return nil, err
	}
	cred, err := lib.CreateCredential(newUser(u, nil), *sd, parsed)
	if err != nil {
		return nil, userError("invalid", "The security key could not be registered.", err)
	}
	d := newDevice(u, cred, rp.ID, name)
	if !aaguidAllowed(AAGUID(d), o.AllowedAAGUIDs) {
		return nil, &Error{Code: "invalid", Message: "This type of security key is not allowed here.", Detail: "aaguid " + AAGUID(d)}
	}
	return d, nil
}

// aaguidAllowed: an empty list allows any model; otherwise the AAGUID must be
// listed (the all-zero AAGUID of authenticators that do not tell their model
// only when it is listed itself).
func aaguidAllowed(aaguid string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	if aaguid == "" {
		aaguid = uuid.Nil.String()
	}
	return slices.ContainsFunc(allowed, func(a string) bool { return strings.EqualFold(a, aaguid) })
}

// Login are the options of an authentication ceremony (the
// authenticator_validate stage's webauthn settings).
type Login struct {
	// UserVerification is required, preferred or discouraged.
	UserVerification string
	Hints            []string
	// AllowedAAGUIDs limits which devices may be used (empty: any).
	AllowedAAGUIDs []string
}

// Usable returns the confirmed WebAuthn devices among devices that o allows.
func (o Login) Usable(devices []*store.AuthenticatorDevice) []*store.AuthenticatorDevice {
	var out []*store.AuthenticatorDevice
	for _, d := range devices {
		if d.Type == store.DeviceWebAuthn && d.Confirmed && aaguidAllowed(AAGUID(d), o.AllowedAAGUIDs) {
			out = append(out, d)
		}
	}
	return out
}

func (o Login) options() []wa.LoginOption {
	uv := protocol.UserVerificationRequirement(o.UserVerification)
	if !ValidRequirement(o.UserVerification) {
		uv = protocol.VerificationPreferred
	}
	opts := []wa.LoginOption{wa.WithUserVerification(uv)}
	if hs := hints(o.Hints); len(hs) > 0 {
		opts = append(opts, wa.WithAssertionPublicKeyCredentialHints(hs))
	}
	return opts
}

// BeginLogin starts authenticating u with one of their devices (§7.2, with
// allowCredentials): it returns the PublicKeyCredentialRequestOptions JSON
// and the encoded session data.
func (rp *RP) BeginLogin(u *store.User, devices []*store.AuthenticatorDevice, o Login) (options json.RawMessage, session []byte, err error) {
	usable := newUser(u, o.Usable(devices))
	if len(usable.creds) == 0 {
		return nil, nil, &Error{Code: "invalid", Message: "You have no security key that can be used here."}
	}
	return rp.beginLogin(usable, o)
}

// BeginDiscoverableLogin starts a passkey login (§7.2 with an empty
// allowCredentials: the authenticator offers its discoverable credentials
// for this RP ID, and the response names the user by its user handle).
func (rp *RP) BeginDiscoverableLogin(o Login) (options json.RawMessage, session []byte, err error) {
	return rp.beginLogin(nil, o)
}

func (rp *RP) beginLogin(u *user, o Login) (json.RawMessage, []byte, error) {
	lib, err := rp.library()
	if err != nil {
		return nil, nil, err
	}
	opts := append(o.options(), wa.WithLoginOrigin(rp.Origin))
	var (
		assertion *protocol.CredentialAssertion
		sd        *wa.SessionData
	)
	if u == nil {
		assertion, sd, err = lib.BeginDiscoverableLogin(opts...)
	} else {
		assertion, sd, err = lib.BeginLogin(u, opts...)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn login: %w", err)
	}
	options, err := json.Marshal(assertion.Response)
	if err != nil {
		return nil, nil, err
	}
	session, err := encodeSession(sd)
	if err != nil {
		return nil, nil, err
	}
	return options, session, nil
}

// Devices is what finishing a login needs from the store.
type Devices interface {
	DeviceByCredentialID(ctx context.Context, credentialID string) (*store.AuthenticatorDevice, error)
	SwapDevice(ctx context.Context, d *store.AuthenticatorDevice, old int64) (bool, error)
}

// FinishLogin verifies an assertion by one of u's devices (§7.2 "Verifying an
// Authentication Assertion") and records the device's use: sign counter and
// last use, through a compare-and-swap so that it counts once. It returns
// the device used; wrong answers are *Error.
func (rp *RP) FinishLogin(ctx context.Context, st Devices, u *store.User, devices []*store.AuthenticatorDevice, session, response []byte, o Login, now time.Time) (*store.AuthenticatorDevice, error) {
	sd, err := decodeSession(session)
	if err != nil {
		return nil, err
	}
	parsed, err := ParseAssertion(response)
	if err != nil {
		return nil, err
	}
	lib, err := rp.library()
	if err != nil {
		return nil, err
	}
	usable := o.Usable(devices)
	if _, err := lib.ValidateLogin(newUser(u, usable), *sd, parsed); err != nil {
		return nil, userError("invalid", "The security key could not be verified.", err)
	}
	var dev *store.AuthenticatorDevice
	for _, d := range usable {
		if id, err := decodeB64(d.CredentialID); err == nil && bytes.Equal(id, parsed.RawID) {
			dev = d
		}
	}
	if dev == nil {
		return nil, &Error{Code: "invalid", Message: "The security key could not be verified.", Detail: "credential not among the user's devices"}
	}
	if err := recordUse(ctx, st, dev, parsed, now); err != nil {
		return nil, err
	}
	return dev, nil
}

// FinishDiscoverableLogin verifies a passkey assertion (§7.2, the user
// identified by the credential: step 6 checks the user handle against the
// credential's owner) and records the device's use. It returns the user
// and the device; wrong answers are *Error.
func (rp *RP) FinishDiscoverableLogin(ctx context.Context, st Devices, users func(ctx context.Context, pk int64) (*store.User, error),
	session, response []byte, o Login, now time.Time) (*store.User, *store.AuthenticatorDevice, error) {
	sd, err := decodeSession(session)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := ParseAssertion(response)
	if err != nil {
		return nil, nil, err
	}
	lib, err := rp.library()
	if err != nil {
		return nil, nil, err
	}
	var (
		owner  *store.User
		dev    *store.AuthenticatorDevice
		lookup error
	)
	handler := func(rawID, userHandle []byte) (wa.User, error) {
		d, err := st.DeviceByCredentialID(ctx, b64.EncodeToString(rawID))
		if errors.Is(err, store.ErrNotFound) || (err == nil && (d.Type != store.DeviceWebAuthn || !d.Confirmed)) {
			lookup = &Error{Code: "invalid", Message: "This passkey is not registered here."}
			return nil, lookup
		} else if err != nil {
			lookup = err
			return nil, err
		}
		u, err := users(ctx, d.UserPK)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !u.IsActive) {
			lookup = &Error{Code: "invalid", Message: "This passkey is not registered here.", Detail: "owner missing or inactive"}
			return nil, lookup
		} else if err != nil {
			lookup = err
			return nil, err
		}
		if !bytes.Equal(userHandle, UserHandle(u)) {
			lookup = &Error{Code: "invalid", Message: "This passkey is not registered here.", Detail: "user handle does not match the owner"}
			return nil, lookup
		}
		owner, dev = u, d
		return newUser(u, []*store.AuthenticatorDevice{d}), nil
	}
	if _, _, err := lib.ValidatePasskeyLogin(handler, *sd, parsed); err != nil {
		if lookup != nil {
			return nil, nil, lookup
		}
		return nil, nil, userError("invalid", "The passkey could not be verified.", err)
	}
	if !aaguidAllowed(AAGUID(dev), o.AllowedAAGUIDs) {
		return nil, nil, &Error{Code: "invalid", Message: "This type of security key is not allowed here.", Detail: "aaguid " + AAGUID(dev)}
	}
	if err := recordUse(ctx, st, dev, parsed, now); err != nil {
		return nil, nil, err
	}
	return owner, dev, nil
}

// ErrCounter: the assertion's signature counter did not grow.
var ErrCounter = &Error{Code: "invalid", Message: "This security key's signature counter went backwards; it may have been cloned. Contact your administrator."}

// recordUse applies the sign counter rule of §6.1.1 and §7.2 step 22: when
// either the stored or the new counter is non-zero, the new one must be
// greater, else the authenticator may be cloned and the assertion is
// refused. The counter, backup state and last use are written with
// store.SwapDevice against the counter read before, so of two concurrent
// uses of one counter value only one succeeds.
func recordUse(ctx context.Context, st Devices, dev *store.AuthenticatorDevice, parsed *protocol.ParsedCredentialAssertionData, now time.Time) error {
	count := int64(parsed.Response.AuthenticatorData.Counter)
	old := dev.Counter
	if (count != 0 || old != 0) && count <= old {
		e := *ErrCounter
		e.Detail = fmt.Sprintf("device %d: sign count %d, stored %d", dev.PK, count, old)
		return &e
	}
	next := *dev
	next.Data = maps.Clone(dev.Data)
	if next.Data == nil {
		next.Data = store.Attributes{}
	}
	next.Counter = count
	next.Data[KeySignCount] = float64(count)
	next.Data[KeyBackupState] = parsed.Response.AuthenticatorData.Flags.HasBackupState()
	t := now
	next.LastUsed = &t
	ok, err := st.SwapDevice(ctx, &next, old)
	if err != nil {
		return fmt.Errorf("recording the use of webauthn device %d: %w", dev.PK, err)
	}
	if !ok {
		return &Error{Code: "invalid", Message: "This security key response was already used; please try again.",
			Detail: fmt.Sprintf("device %d: counter changed concurrently", dev.PK)}
	}
	*dev = next
	return nil
}
