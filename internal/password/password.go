// Package password hashes and verifies user passwords.
//
// New hashes are argon2id (RFC 9106) in Django's encoding, so a hash written
// by Gatehouse is also readable by authentik/Django and the other way round:
//
//	argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>
//
// (base64 is the standard alphabet without padding).
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	SaltLen   int
	KeyLen    uint32
}

// DefaultParams follow OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane):
// about 20 ms and 19 MiB per hash on one core (docs/benchmarks.md), so memory
// stays bounded under a login storm.
var DefaultParams = Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrUnknownFormat: the encoded hash is not one this package reads.
var ErrUnknownFormat = errors.New("password: unknown hash format")

var b64 = base64.RawStdEncoding

// Hash returns the encoded argon2id hash of pw with DefaultParams.
func Hash(pw string) (string, error) { return HashWith(pw, DefaultParams) }

// HashWith hashes with explicit parameters.
func HashWith(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return fmt.Sprintf("argon2$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.MemoryKiB, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks pw against an encoded hash in constant time. NeedsRehash is
// true when the hash is valid but weaker than DefaultParams (or of another
// algorithm), so the caller should store a fresh Hash after a successful login.
func Verify(pw, encoded string) (ok, needsRehash bool, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "argon2" || parts[1] != "argon2id" {
		return false, false, ErrUnknownFormat
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, fmt.Errorf("%w: argon2 version %q", ErrUnknownFormat, parts[2])
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &p.Threads); err != nil {
		return false, false, fmt.Errorf("%w: argon2 parameters %q", ErrUnknownFormat, parts[3])
	}
	// Bound the cost a stored hash can make us pay (1 GiB, 16 passes).
	if p.MemoryKiB == 0 || p.MemoryKiB > 1<<20 || p.Time == 0 || p.Time > 16 || p.Threads == 0 {
		return false, false, fmt.Errorf("%w: argon2 parameters out of range", ErrUnknownFormat)
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) < 16 || len(want) > 128 {
		return false, false, fmt.Errorf("%w: argon2 salt or hash encoding", ErrUnknownFormat)
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	d := DefaultParams
	weaker := p.MemoryKiB < d.MemoryKiB || p.Time < d.Time || uint32(len(want)) < d.KeyLen
	return true, weaker, nil
}
