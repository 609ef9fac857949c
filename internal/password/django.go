package password

// Django's (and so authentik's) other password hashers, read by Verify so
// that imported users can log in once and be re-hashed with argon2id. See
// django/contrib/auth/hashers.py for the encodings reproduced here.

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// UnusablePrefix starts Django's unusable-password marker
// (django.contrib.auth.hashers.UNUSABLE_PASSWORD_PREFIX): a user whose stored
// hash begins with it, like one with an empty hash, has no password.
const UnusablePrefix = "!"

// Bounds on the cost a stored hash can make Verify pay. Django's defaults are
// far below them (1,000,000 PBKDF2 iterations in Django 5.2, bcrypt cost 12).
const (
	maxPBKDF2Iterations = 10_000_000
	maxBcryptCost       = 16
)

// verifyPBKDF2 checks Django's PBKDF2PasswordHasher and PBKDF2SHA1PasswordHasher
// encodings with the algorithm prefix removed: "<iterations>$<salt>$<hash>",
// where hash is the standard, padded base64 of PBKDF2 (RFC 8018 section 5.2)
// with HMAC over h, one block long (h's output size), and salt is used as
// its UTF-8 bytes.
//
// Django verifies by re-encoding and comparing strings, so non-canonical
// spellings (leading zeros, non-canonical base64) never verify there; they
// are rejected here as malformed.
func verifyPBKDF2[H hash.Hash](pw, rest string, h func() H) (ok, needsRehash bool, err error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return false, false, fmt.Errorf("%w: pbkdf2 field count", ErrUnknownFormat)
	}
	iterations, okI := decimal(parts[0], maxPBKDF2Iterations)
	if !okI || iterations == 0 || parts[0][0] == '0' {
		return false, false, fmt.Errorf("%w: pbkdf2 iterations %q", ErrUnknownFormat, parts[0])
	}
	salt := parts[1]
	if salt == "" {
		return false, false, fmt.Errorf("%w: pbkdf2 empty salt", ErrUnknownFormat)
	}
	size := h().Size()
	want, err := decodeBase64(base64.StdEncoding, parts[2])
	if err != nil || len(want) != size {
		return false, false, fmt.Errorf("%w: pbkdf2 hash encoding", ErrUnknownFormat)
	}
	got, err := pbkdf2.Key(h, pw, []byte(salt), int(iterations), size)
	if err != nil {
		// Only reachable in FIPS 140-3 "only" mode (e.g. salts under 16 bytes).
		return false, false, fmt.Errorf("password: pbkdf2: %w", err)
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	return true, true, nil
}

// verifyBcrypt checks Django's BCryptSHA256PasswordHasher (sha256First: bcrypt
// over the lowercase hex SHA-256 of the password, so it is not truncated at
// bcrypt's 72 bytes) and BCryptPasswordHasher encodings with the algorithm
// prefix removed, which leaves the bcrypt hash itself:
// "$2b$<cost>$<22 chars salt><31 chars hash>".
func verifyBcrypt(pw, rest string, sha256First bool) (ok, needsRehash bool, err error) {
	if !wellFormedBcrypt(rest) {
		return false, false, fmt.Errorf("%w: bcrypt encoding", ErrUnknownFormat)
	}
	cost := int(rest[4]-'0')*10 + int(rest[5]-'0')
	if cost < bcrypt.MinCost || cost > maxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d", ErrUnknownFormat, cost)
	}
	secret := []byte(pw)
	if sha256First {
		sum := sha256.Sum256(secret)
		secret = []byte(hex.EncodeToString(sum[:]))
	}
	// CompareHashAndPassword compares with subtle.ConstantTimeCompare.
	switch err := bcrypt.CompareHashAndPassword([]byte(rest), secret); {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("%w: bcrypt: %v", ErrUnknownFormat, err)
	}
}

// wellFormedBcrypt reports whether s is exactly a modular-crypt bcrypt hash:
// "$2a$", "$2b$" or "$2y$", two cost digits, '$', then 53 characters of
// bcrypt's base64 alphabet.
func wellFormedBcrypt(s string) bool {
	if len(s) != 60 || s[0] != '$' || s[1] != '2' || !strings.ContainsRune("aby", rune(s[2])) ||
		s[3] != '$' || !isDigit(s[4]) || !isDigit(s[5]) || s[6] != '$' {
		return false
	}
	for i := 7; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || isDigit(c) || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// decimal parses a non-empty run of ASCII digits (no sign, no spaces) whose
// value is at most limit; limit must stay below 2^64/10.
func decimal(s string, limit uint64) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
		if n > limit {
			return 0, false
		}
	}
	return n, true
}

// decodeBase64 decodes s only if it is the canonical encoding under enc:
// no line breaks (which encoding/base64 skips), no stray bits in the last
// character, and the right padding.
func decodeBase64(enc *base64.Encoding, s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("password: line break in base64")
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	if enc.EncodeToString(b) != s {
		return nil, errors.New("password: non-canonical base64")
	}
	return b, nil
}
