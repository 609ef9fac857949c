package core

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// UserUID is authentik's stable, non-reversible user id (the API's uid, the
// OIDC hashed_user_id subject): an HMAC of the pk under the secret key.
func UserUID(secretKey string, pk int64) string {
	m := hmac.New(sha256.New, []byte(secretKey))
	fmt.Fprintf(m, "gatehouse/user-uid/%d", pk)
	return hex.EncodeToString(m.Sum(nil))
}

// HashTokenKey is how token keys are stored and looked up: SHA-256 of the key.
// Keys are high-entropy random strings, so a fast hash is enough; a database
// dump then holds no usable key.
func HashTokenKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// NewTokenKey returns a random key of 48 bytes of entropy, URL-safe.
func NewTokenKey() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
