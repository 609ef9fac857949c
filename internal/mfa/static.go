package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Static (recovery) codes, authentik's static tokens.
const (
	// StaticAlphabet is what codes are made of: lower-case letters and
	// digits without the look-alikes 0/o, 1/l/i, so a code copied from
	// paper is read right. 31 symbols: about 4.95 bits each.
	StaticAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	// DefaultTokenCount and DefaultTokenLength are authentik's defaults.
	DefaultTokenCount  = 6
	DefaultTokenLength = 12
	// MinTokenLength keeps codes at 39 bits or more (12 characters: 59).
	MinTokenLength = 8
	MaxTokenLength = 64
	MaxTokenCount  = 100
)

// DataTokens is the static device data key holding the unused codes'
// hashes (hex SHA-256).
const DataTokens = "tokens"

// NewStaticCodes returns count random codes of length characters from
// StaticAlphabet (crypto/rand, uniform: bytes that would bias the modulo
// are drawn again).
func NewStaticCodes(count, length int) []string {
	const limit = 256 - 256%len(StaticAlphabet)
	out := make([]string, count)
	buf := make([]byte, 64)
	for i := range out {
		var b strings.Builder
		for b.Len() < length {
			_, _ = rand.Read(buf) // never fails (Go 1.24+)
			for _, x := range buf {
				if int(x) < limit && b.Len() < length {
					b.WriteByte(StaticAlphabet[int(x)%len(StaticAlphabet)])
				}
			}
		}
		out[i] = b.String()
	}
	return out
}

// HashStaticCode is how a code is kept at rest: hex SHA-256 of the code.
// A fast unsalted hash is enough because the codes are random and long (59
// bits at the default length, never under 39), not chosen by people: there
// is no dictionary to try, a salt would only matter against precomputation
// over the whole code space, and the hash is compared, not looked up, so a
// slow hash would only slow logins. A database dump holds no usable code.
func HashStaticCode(code string) string {
	h := sha256.Sum256([]byte(code))
	return hex.EncodeToString(h[:])
}

// ParseStaticCode checks a recovery code typed by the user: surrounding
// spaces are ignored and capitals read as small letters; then it must be
// MinTokenLength to MaxTokenLength letters and digits. Anything else is a
// *CodeError.
func ParseStaticCode(code string) (string, error) {
	if len(code) > 2*MaxTokenLength {
		return "", &CodeError{"This recovery code is too long."}
	}
	code = strings.ToLower(strings.TrimSpace(code))
	if code == "" {
		return "", &CodeError{"Please enter a code."}
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return "", &CodeError{"Recovery codes contain only letters and digits."}
		}
	}
	if len(code) < MinTokenLength || len(code) > MaxTokenLength {
		return "", &CodeError{fmt.Sprintf("Recovery codes are %d to %d characters long.", MinTokenLength, MaxTokenLength)}
	}
	return code, nil
}

// NewStaticDevice returns an unsaved, confirmed static device for user
// holding the hashes of codes.
func NewStaticDevice(userPK int64, name string, codes []string) *store.AuthenticatorDevice {
	hashes := make([]any, len(codes))
	for i, c := range codes {
		hashes[i] = HashStaticCode(c)
	}
	return &store.AuthenticatorDevice{UserPK: userPK, Type: store.DeviceStatic, Name: name, Confirmed: true,
		Data: store.Attributes{DataTokens: hashes}}
}

// staticHashes reads a static device's unused code hashes.
func staticHashes(d *store.AuthenticatorDevice) []string {
	list, _ := d.Data[DataTokens].([]any)
	out := make([]string, 0, len(list))
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// StaticRemaining is how many unused codes a static device holds.
func StaticRemaining(d *store.AuthenticatorDevice) int { return len(staticHashes(d)) }

// VerifyStatic checks code against the static devices and uses it up on
// the one that holds it: the code's hash leaves the device's data and its
// Counter (a version) goes up by one through SwapDevice, so a code is
// accepted once even when requests race. Every stored hash is compared, in
// constant time. It returns the device, or a *CodeError (malformed code)
// or ErrWrongCode.
func VerifyStatic(ctx context.Context, st Swapper, devices []*store.AuthenticatorDevice, code string, now time.Time) (*store.AuthenticatorDevice, error) {
	c, err := ParseStaticCode(code)
	if err != nil {
		return nil, err
	}
	want := []byte(HashStaticCode(c))
	for _, d := range devices {
		for attempt := 0; attempt < 3; attempt++ {
			hashes := staticHashes(d)
			found := -1
			for i, h := range hashes {
				if subtle.ConstantTimeCompare([]byte(h), want) == 1 {
					found = i
				}
			}
			if found < 0 {
				break
			}
			left := make([]any, 0, len(hashes)-1)
			for i, h := range hashes {
				if i != found {
					left = append(left, h)
				}
			}
			next := *d
			next.Data = store.Attributes{}
			for k, v := range d.Data {
				next.Data[k] = v
			}
			next.Data[DataTokens] = left
			next.Counter, next.LastUsed = d.Counter+1, &now
			ok, err := st.SwapDevice(ctx, &next, d.Counter)
			if err != nil {
				return nil, err
			}
			if ok {
				*d = next
				return d, nil
			}
			// Changed meanwhile (maybe this very code was used): read the
			// device again and look once more.
			fresh, err := st.Device(ctx, d.PK)
			if errors.Is(err, store.ErrNotFound) {
				break
			} else if err != nil {
				return nil, err
			}
			d = fresh
		}
	}
	return nil, ErrWrongCode
}
