package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrSealed is wrapped by every error of Sealer.Open and NewSealer.
var ErrSealed = errors.New("sealed value")

// sealV1 prefixes values sealed with AES-256-GCM under an HKDF-SHA256 key.
const sealV1 = "v1:"

const (
	sealKeyLen   = 32 // AES-256
	sealNonceLen = 12 // the GCM standard nonce size
	minSecretLen = 16 // what config and LoadOrCreateSecretKey require
)

// Sealer encrypts small secrets at rest, such as the private keys of
// certificate keypairs, under a key derived from the installation's
// secret_key. Every replica sharing secret_key opens what another sealed.
//
// The key is HKDF-SHA256 (RFC 5869) of secret_key with info "gatehouse/" +
// purpose and no salt. RFC 5869 makes the salt optional; it adds strength
// when the input keying material is not uniformly random, but secret_key is
// meant to be high-entropy (the generated one holds 384 random bits), and a
// salt would have to be stored and shared by all replicas, so it would add
// nothing an attacker holding the database lacks. A low-entropy secret_key
// is not saved by a salt either: HKDF does no key stretching.
//
// Seal picks a random 96-bit nonce per value, so one key must not seal more
// than about 2^32 values; that is far beyond the number of keypairs an
// installation stores. The purpose is also the GCM additional data, so a
// value sealed for one purpose does not open under another even if the keys
// were to collide.
//
// Changing secret_key makes sealed values unreadable.
//
// A Sealer is safe for concurrent use.
type Sealer struct {
	purpose string
	aead    cipher.AEAD
}

// NewSealer derives the key for purpose (e.g. "crypto/keypair") from the
// installation's secret key.
func NewSealer(secretKey string, purpose string) (*Sealer, error) {
	if len(secretKey) < minSecretLen {
		return nil, fmt.Errorf("%w: secret key shorter than %d characters", ErrSealed, minSecretLen)
	}
	if purpose == "" {
		return nil, fmt.Errorf("%w: empty purpose", ErrSealed)
	}
	key, err := hkdf.Key(sha256.New, []byte(secretKey), nil, "gatehouse/"+purpose, sealKeyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: derive key: %v", ErrSealed, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	return &Sealer{purpose: purpose, aead: aead}, nil
}

// Seal encrypts plaintext and returns "v1:" followed by the unpadded
// base64url encoding of nonce || ciphertext || tag.
func (s *Sealer) Seal(plaintext []byte) (string, error) {
	buf := make([]byte, sealNonceLen, sealNonceLen+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("%w: %v", ErrSealed, err)
	}
	buf = s.aead.Seal(buf, buf[:sealNonceLen], plaintext, []byte(s.purpose))
	return sealV1 + base64.RawURLEncoding.EncodeToString(buf), nil
}

// Open decrypts a value made by Seal for the same secret key and purpose.
// Unknown versions, bad encodings, truncated values and values that fail
// authentication (tampered, another secret key or purpose) give an error
// wrapping ErrSealed.
func (s *Sealer) Open(sealed string) ([]byte, error) {
	version, body, ok := strings.Cut(sealed, ":")
	if !ok {
		return nil, fmt.Errorf("%w: no version prefix", ErrSealed)
	}
	if version+":" != sealV1 {
		return nil, fmt.Errorf("%w: unknown version %s", ErrSealed, quoteShort(version))
	}
	// The decoder skips CR and LF; refuse them so that one value has one
	// spelling.
	if strings.ContainsAny(body, "\r\n") {
		return nil, fmt.Errorf("%w: bad encoding: line breaks", ErrSealed)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: bad encoding: %v", ErrSealed, err)
	}
	if len(raw) < sealNonceLen+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrSealed)
	}
	plaintext, err := s.aead.Open(nil, raw[:sealNonceLen], raw[sealNonceLen:], []byte(s.purpose))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed (tampered, or sealed with another secret key or purpose)", ErrSealed)
	}
	return plaintext, nil
}

// String names the Sealer without showing key material, also under %v and
// %+v.
func (s *Sealer) String() string { return "crypto.Sealer(" + s.purpose + ")" }

// GoString does the same for %#v.
func (s *Sealer) GoString() string { return s.String() }
