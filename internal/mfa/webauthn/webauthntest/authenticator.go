// Package webauthntest is a software WebAuthn authenticator for tests: it
// answers creation and request options with a P-256 (ES256) credential,
// "none" attestation, and assertions signed as W3C WebAuthn L3 §6.3.3
// describes (the signature over authenticatorData || SHA-256(clientDataJSON)).
// It lets tests and benchmarks drive the relying party without a browser.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/google/uuid"
)

var b64 = base64.RawURLEncoding

// Authenticator holds one credential.
type Authenticator struct {
	// Origin is what the "browser" reports in clientDataJSON.
	Origin string
	// RPID overrides the RP ID the authenticator hashes (default: the
	// options' RP ID).
	RPID   string
	AAGUID uuid.UUID
	// UserVerified sets the UV flag; BackupEligible and BackupState the BE
	// and BS flags.
	UserVerified, BackupEligible, BackupState bool
	// SignCount is the counter of the next assertion minus one; Get
	// increments it first. FixedCount keeps it (0 stays 0).
	SignCount  uint32
	FixedCount bool

	Key          *ecdsa.PrivateKey
	CredentialID []byte
	UserHandle   []byte
	rpID         string
}

// New makes an authenticator with a fresh key pair and credential ID.
func New(origin string) *Authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	return &Authenticator{Origin: origin, Key: key, CredentialID: id, UserVerified: true,
		AAGUID: uuid.MustParse("01020304-0506-0708-090a-0b0c0d0e0f10")}
}

func (a *Authenticator) flags(attested bool) byte {
	f := byte(0x01) // UP
	if a.UserVerified {
		f |= 0x04
	}
	if a.BackupEligible {
		f |= 0x08
	}
	if a.BackupState {
		f |= 0x10
	}
	if attested {
		f |= 0x40
	}
	return f
}

// COSEKey is the credential public key as a COSE_Key (RFC 9052 §7, EC2
// P-256, alg ES256).
func (a *Authenticator) COSEKey() []byte {
	x := make([]byte, 32)
	y := make([]byte, 32)
	pub, _ := a.Key.PublicKey.ECDH()
	raw := pub.Bytes() // 0x04 || X || Y
	copy(x, raw[1:33])
	copy(y, raw[33:65])
	b, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		panic(err)
	}
	return b
}

func clientData(typ, challenge, origin string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// Create answers PublicKeyCredentialCreationOptions JSON with a
// RegistrationResponseJSON (attestation "none").
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("creation options: %w", err)
	}
	a.rpID = o.RP.ID
	if a.RPID != "" {
		a.rpID = a.RPID
	}
	uh, err := b64.DecodeString(o.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user.id: %w", err)
	}
	a.UserHandle = uh
	rpHash := sha256.Sum256([]byte(a.rpID))
	auth := append([]byte{}, rpHash[:]...)
	auth = append(auth, a.flags(true))
	auth = binary.BigEndian.AppendUint32(auth, a.SignCount)
	auth = append(auth, a.AAGUID[:]...)
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(a.CredentialID)))
	auth = append(auth, a.CredentialID...)
	auth = append(auth, a.COSEKey()...)
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData("webauthn.create", o.Challenge, a.Origin)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
	})
}

// Get answers PublicKeyCredentialRequestOptions JSON with an
// AuthenticationResponseJSON, counting the signature.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("request options: %w", err)
	}
	if o.RPID != "" && a.RPID == "" {
		a.rpID = o.RPID
	}
	if !a.FixedCount {
		a.SignCount++
	}
	return a.Assert(o.Challenge, a.SignCount), nil
}

// Assert builds an assertion for challenge with the given counter.
func (a *Authenticator) Assert(challenge string, count uint32) []byte {
	rpID := a.rpID
	if a.RPID != "" {
		rpID = a.RPID
	}
	rpHash := sha256.Sum256([]byte(rpID))
	auth := append([]byte{}, rpHash[:]...)
	auth = append(auth, a.flags(false))
	auth = binary.BigEndian.AppendUint32(auth, count)
	cd := clientData("webauthn.get", challenge, a.Origin)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, auth...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.Key, digest[:])
	if err != nil {
		panic(err)
	}
	resp := map[string]any{
		"clientDataJSON":    b64.EncodeToString(cd),
		"authenticatorData": b64.EncodeToString(auth),
		"signature":         b64.EncodeToString(sig),
	}
	if a.UserHandle != nil {
		resp["userHandle"] = b64.EncodeToString(a.UserHandle)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.CredentialID), "rawId": b64.EncodeToString(a.CredentialID), "type": "public-key",
		"clientExtensionResults": map[string]any{}, "response": resp,
	})
	return b
}
