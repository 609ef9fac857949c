package webauthn

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"
	wa "github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Keys of a WebAuthn device's store.AuthenticatorDevice.Data. The credential
// ID is the CredentialID column (base64url, unique); the sign count is the
// Counter column, mirrored in Data for readers of the device.
const (
	KeyPublicKey         = "public_key"         // COSE_Key (§6.5.1.1), base64url
	KeyAAGUID            = "aaguid"             // the authenticator model (§6.5.1), UUID text
	KeySignCount         = "sign_count"         // last accepted signCount (§6.1.1)
	KeyTransports        = "transports"         // []string as the browser reported them
	KeyAttestationFormat = "attestation_format" // "none", "packed", "tpm", ...
	KeyAttestationType   = "attestation_type"   // "none", "self", "basic_full", ...
	KeyAttestationObject = "attestation_object" // the whole attestation object, base64url
	KeyBackupEligible    = "backup_eligible"    // BE flag (§6.1 flags bit 3)
	KeyBackupState       = "backup_state"       // BS flag (bit 4), as last seen
	KeyUserVerified      = "user_verified"      // UV flag at registration
	KeyDeviceType        = "device_type"        // the AAGUID's name, "" when unknown
	KeyRPID              = "rp_id"              // the RP ID the credential is bound to
	KeyAttachment        = "attachment"         // platform / cross-platform, when reported
)

var b64 = base64.RawURLEncoding

// decodeB64 accepts base64url with or without padding.
func decodeB64(s string) ([]byte, error) {
	return b64.DecodeString(strings.TrimRight(s, "="))
}

// newDevice turns a verified new credential into an unsaved device of user.
func newDevice(user *store.User, cred *wa.Credential, rpID, name string) *store.AuthenticatorDevice {
	aaguid := ""
	if id, err := uuid.FromBytes(cred.Authenticator.AAGUID); err == nil {
		aaguid = id.String()
	}
	transports := make([]any, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	data := store.Attributes{
		KeyPublicKey:         b64.EncodeToString(cred.PublicKey),
		KeyAAGUID:            aaguid,
		KeySignCount:         float64(cred.Authenticator.SignCount),
		KeyTransports:        transports,
		KeyAttestationFormat: cred.AttestationFormat,
		KeyAttestationType:   cred.AttestationType,
		KeyAttestationObject: b64.EncodeToString(cred.Attestation.Object),
		KeyBackupEligible:    cred.Flags.BackupEligible,
		KeyBackupState:       cred.Flags.BackupState,
		KeyUserVerified:      cred.Flags.UserVerified,
		KeyDeviceType:        DeviceTypeName(aaguid),
		KeyRPID:              rpID,
	}
	if cred.Authenticator.Attachment != "" {
		data[KeyAttachment] = string(cred.Authenticator.Attachment)
	}
	return &store.AuthenticatorDevice{UserPK: user.PK, Type: store.DeviceWebAuthn, Name: name, Confirmed: true,
		CredentialID: b64.EncodeToString(cred.ID), Counter: int64(cred.Authenticator.SignCount), Data: data}
}

// AAGUID returns a device's authenticator model ("" when unknown).
func AAGUID(d *store.AuthenticatorDevice) string {
	s, _ := d.Data[KeyAAGUID].(string)
	return s
}

// credential rebuilds go-webauthn's credential record from a device.
func credential(d *store.AuthenticatorDevice) (wa.Credential, error) {
	id, err := decodeB64(d.CredentialID)
	if err != nil || len(id) == 0 {
		return wa.Credential{}, fmt.Errorf("webauthn device %d: bad credential id", d.PK)
	}
	pkText, _ := d.Data[KeyPublicKey].(string)
	pk, err := decodeB64(pkText)
	if err != nil || len(pk) == 0 {
		return wa.Credential{}, fmt.Errorf("webauthn device %d: bad public key", d.PK)
	}
	c := wa.Credential{ID: id, PublicKey: pk}
	c.AttestationFormat, _ = d.Data[KeyAttestationFormat].(string)
	c.AttestationType, _ = d.Data[KeyAttestationType].(string)
	if ts, ok := d.Data[KeyTransports].([]any); ok {
		for _, t := range ts {
			if s, ok := t.(string); ok {
				c.Transport = append(c.Transport, protocol.AuthenticatorTransport(s))
			}
		}
	} else if ts, ok := d.Data[KeyTransports].([]string); ok {
		for _, s := range ts {
			c.Transport = append(c.Transport, protocol.AuthenticatorTransport(s))
		}
	}
	if aaguid, err := uuid.Parse(AAGUID(d)); err == nil {
		c.Authenticator.AAGUID = aaguid[:]
	}
	c.Authenticator.SignCount = uint32(d.Counter)
	c.Flags.UserPresent = true
	c.Flags.UserVerified, _ = d.Data[KeyUserVerified].(bool)
	c.Flags.BackupEligible, _ = d.Data[KeyBackupEligible].(bool)
	c.Flags.BackupState, _ = d.Data[KeyBackupState].(bool)
	return c, nil
}

// user is a store user with their WebAuthn credentials, for go-webauthn.
type user struct {
	u     *store.User
	creds []wa.Credential
}

var _ wa.User = (*user)(nil)

// UserHandle is the user handle (§5.4.3 user.id) Gatehouse gives a user: the
// 16 bytes of their UUID, stable and free of personal data.
func UserHandle(u *store.User) []byte { b := u.UUID; return b[:] }

func (x *user) WebAuthnID() []byte { return UserHandle(x.u) }
func (x *user) WebAuthnName() string {
	return x.u.Username
}
func (x *user) WebAuthnDisplayName() string {
	if x.u.Name != "" {
		return x.u.Name
	}
	return x.u.Username
}
func (x *user) WebAuthnCredentials() []wa.Credential { return x.creds }

// newUser wraps u with the credentials of its WebAuthn devices (others and
// unreadable ones are skipped).
func newUser(u *store.User, devices []*store.AuthenticatorDevice) *user {
	x := &user{u: u}
	for _, d := range devices {
		if d.Type != store.DeviceWebAuthn || d.UserPK != u.PK {
			continue
		}
		if c, err := credential(d); err == nil {
			x.creds = append(x.creds, c)
		}
	}
	return x
}
