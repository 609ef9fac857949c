// Package password hashes and verifies user passwords.
//
// New hashes are argon2id (RFC 9106) in Django's encoding, so a hash written
// by Gatehouse is also readable by authentik/Django and the other way round:
//
//	argon2$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>
//
// (base64 is the standard alphabet without padding).
//
// Verify also reads the other hashes Django and authentik store, so users
// imported from authentik keep their passwords and are re-hashed with
// argon2id at their next login: argon2$argon2id$... and Django's older
// argon2$argon2i$... (Argon2, RFC 9106), pbkdf2_sha256$<iterations>$<salt>$<hash>
// and pbkdf2_sha1$... (PBKDF2 with HMAC-SHA-256 or HMAC-SHA-1, RFC 8018
// section 5.2), bcrypt_sha256$$2b$<cost>$... (bcrypt of the hex SHA-256 of
// the password) and bcrypt$$2b$<cost>$... (bcrypt of the password), plus
// Django's unusable-password marker ("!...") and the empty string, which
// never match.
package password

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
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

// BenchParams are a deliberately cheap argon2id (64 KiB, 1 pass) for
// benchmarks that measure the work around the hash: they are DefaultParams
// in a benchmark build only (-tags benchhash, benchhash.go), never a setting.
var BenchParams = Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

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

// Verify checks pw against an encoded hash in constant time. It is the single
// entry point for every accepted format (see the package documentation) and
// dispatches on the algorithm prefix before the first '$'.
//
// NeedsRehash is true when pw matched but the hash is of another algorithm
// than argon2id or weaker than DefaultParams, so the caller should store a
// fresh Hash after the successful login.
//
// An empty encoding or Django's unusable-password marker (a leading '!')
// gives (false, false, nil): the user has no usable password. Anything else
// that is not one of the accepted formats, or whose declared cost is beyond
// the bounds this package is willing to pay, gives an error wrapping
// ErrUnknownFormat.
func Verify(pw, encoded string) (ok, needsRehash bool, err error) {
	if encoded == "" || strings.HasPrefix(encoded, UnusablePrefix) {
		return false, false, nil
	}
	algorithm, rest, found := strings.Cut(encoded, "$")
	if !found {
		return false, false, fmt.Errorf("%w: no algorithm prefix", ErrUnknownFormat)
	}
	switch algorithm {
	case "argon2":
		return verifyArgon2(pw, rest)
	case "pbkdf2_sha256":
		return verifyPBKDF2(pw, rest, sha256.New)
	case "pbkdf2_sha1":
		return verifyPBKDF2(pw, rest, sha1.New)
	case "bcrypt_sha256":
		return verifyBcrypt(pw, rest, true)
	case "bcrypt":
		return verifyBcrypt(pw, rest, false)
	}
	return false, false, fmt.Errorf("%w: unsupported algorithm", ErrUnknownFormat)
}

// verifyArgon2 checks Django's argon2 encoding with the leading "argon2$"
// removed: "argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>" (or argon2i).
func verifyArgon2(pw, rest string) (ok, needsRehash bool, err error) {
	parts := strings.Split(rest, "$")
	if len(parts) != 5 {
		return false, false, fmt.Errorf("%w: argon2 field count", ErrUnknownFormat)
	}
	var key func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
	switch parts[0] {
	case "argon2id":
		key = argon2.IDKey
	case "argon2i":
		key = argon2.Key
	default:
		// argon2d is not offered by golang.org/x/crypto/argon2 (nor written by
		// Django).
		return false, false, fmt.Errorf("%w: argon2 variant", ErrUnknownFormat)
	}
	// Only version 0x13 (19) exists in x/crypto; Django's oldest argon2
	// hashes without "v=" (version 0x10) are not readable.
	v, isV := strings.CutPrefix(parts[1], "v=")
	if version, okV := argon2Decimal(v, 255); !isV || !okV || version != argon2.Version {
		return false, false, fmt.Errorf("%w: argon2 version %q", ErrUnknownFormat, parts[1])
	}
	p, okP := parseArgon2Params(parts[2])
	// Bound the cost a stored hash can make us pay (1 GiB, 16 passes); RFC
	// 9106 (section 3.1) requires at least 8 KiB per lane, which the
	// reference implementation enforces and x/crypto would silently round up.
	if !okP || p.MemoryKiB > 1<<20 || p.Time == 0 || p.Time > 16 || p.Threads == 0 ||
		p.MemoryKiB < 8*uint32(p.Threads) {
		return false, false, fmt.Errorf("%w: argon2 parameters %q", ErrUnknownFormat, parts[2])
	}
	salt, err1 := decodeBase64(b64, parts[3])
	want, err2 := decodeBase64(b64, parts[4])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 128 {
		return false, false, fmt.Errorf("%w: argon2 salt or hash encoding", ErrUnknownFormat)
	}
	got := key([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, false, nil
	}
	if parts[0] != "argon2id" {
		return true, true, nil
	}
	d := DefaultParams
	weaker := p.MemoryKiB < d.MemoryKiB || p.Time < d.Time || uint32(len(want)) < d.KeyLen
	return true, weaker, nil
}

// parseArgon2Params reads "m=<KiB>,t=<passes>,p=<lanes>" exactly, in the
// order every argon2 encoder writes.
func parseArgon2Params(s string) (p Params, ok bool) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return p, false
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		digits, found := strings.CutPrefix(fields[i], name)
		if !found {
			return p, false
		}
		if vals[i], ok = argon2Decimal(digits, 1<<32-1); !ok {
			return p, false
		}
	}
	if vals[2] > 255 {
		return p, false
	}
	return Params{MemoryKiB: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}, true
}

// argon2Decimal parses a decimal as the reference encoder writes it: digits
// only, no sign and no leading zero.
func argon2Decimal(s string, limit uint64) (uint64, bool) {
	if len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	return decimal(s, limit)
}
