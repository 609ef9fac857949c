// Package sidechannel is the one-time code of the devices that receive it
// over another channel: email and SMS (authentik's SideChannelDevice). A
// code is six digits from crypto/rand, kept only as an HMAC-SHA256 (RFC 2104) in the
// device's Data with its expiry. The HMAC key is random per code and, when
// a Sealer is given (the executor's Secrets), sealed with the server's
// secret: a copy of the database alone does not let anyone try the million
// codes offline. Codes are compared in constant time (hmac.Equal), and
//
//   - sent at most once per ResendAfter per device (Issue);
//   - tried at most MaxAttempts times, then void until a new one is sent;
//   - accepted once (Verify): every change of the pending code goes through
//     store.SwapDevice on the device's Counter, so two concurrent requests
//     with the right code cannot both pass, and concurrent wrong guesses
//     cannot get more than MaxAttempts comparisons.
//
// The states of a device's code:
//
//	none ──Issue──> pending ──Verify (match)──> none (Counter+1, LastUsed)
//	                  │ ├─ Verify (no match): attempts+1 ─> pending, void at MaxAttempts
//	                  │ ├─ expiry passes ───────────────> void
//	                  │ └─ Withdraw (sending failed) ────> none
//	                  └─ Issue again after ResendAfter ─> pending (new code; also when void)
package sidechannel

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Code shape and limits.
const (
	Digits = 6
	// ResendAfter is the least time between two codes sent to one device.
	ResendAfter = 60 * time.Second
	// MaxAttempts is how many codes may be tried against one sent code.
	MaxAttempts = 5
	// dataKey is where the pending code lives in the device's Data.
	dataKey = "otp"
	// casRetries bounds the compare-and-swap loops under contention.
	casRetries = 8
)

// Errors of Issue and Verify. Their Error texts are safe to show users.
var (
	// ErrNoCode: no code is pending, it expired, or it was already used.
	ErrNoCode = errors.New("no valid code was sent, or it expired or was used; ask for a new code")
	// ErrTooManyAttempts: the pending code is void after MaxAttempts tries.
	ErrTooManyAttempts = errors.New("too many wrong codes; ask for a new code")
	// ErrWrongCode: the code does not match.
	ErrWrongCode = errors.New("the code is not correct")
	// ErrMalformed: the answer is not a code (see ParseCode).
	ErrMalformed = fmt.Errorf("the code is %d digits", Digits)
	// ErrContention: the device changed on every try (a flood of requests).
	ErrContention = errors.New("the device is busy; try again")
)

// ThrottledError is Issue's answer within ResendAfter of the last code.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string {
	s := int((e.Wait + time.Second - 1) / time.Second)
	return fmt.Sprintf("a code was sent a moment ago; wait %d seconds before asking for another", s)
}

// pending is the stored state of a sent code.
type pending struct {
	// Salt is the HMAC key: base64, or sealed (Sealed) by the Sealer.
	Salt     string `json:"salt"`
	Sealed   bool   `json:"sealed,omitempty"`
	MAC      string `json:"mac"`
	Sent     int64  `json:"sent"`    // unix seconds
	Expires  int64  `json:"expires"` // unix seconds
	Attempts int    `json:"attempts"`
}

func pendingOf(d *store.AuthenticatorDevice) *pending {
	raw, ok := d.Data[dataKey]
	if !ok || raw == nil {
		return nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil
	}
	var p pending
	if json.Unmarshal(b, &p) != nil {
		return nil
	}
	return &p
}

// usable reports whether p holds a code (Retarget keeps only the time).
func (p *pending) usable() bool { return p != nil && p.Salt != "" && p.MAC != "" }

// withPending returns a copy of d's Data with the pending code p (nil: none).
func withPending(d *store.AuthenticatorDevice, p *pending) store.Attributes {
	out := store.Attributes{}
	for k, v := range d.Data {
		out[k] = v
	}
	if p == nil {
		delete(out, dataKey)
		return out
	}
	out[dataKey] = map[string]any{"salt": p.Salt, "sealed": p.Sealed, "mac": p.MAC, "sent": p.Sent, "expires": p.Expires,
		"attempts": p.Attempts}
	return out
}

// Pending reports whether d has a code that can still be tried at now.
func Pending(d *store.AuthenticatorDevice, now time.Time) bool {
	p := pendingOf(d)
	return p.usable() && now.Unix() < p.Expires && p.Attempts < MaxAttempts
}

// NewCode draws a code of Digits digits, uniformly, from r (crypto/rand's
// Reader when nil).
func NewCode(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	n, err := rand.Int(r, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("drawing a code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

func mac(salt []byte, code string) []byte {
	h := hmac.New(sha256.New, salt)
	h.Write([]byte(code))
	return h.Sum(nil)
}

// Sealer encrypts each code's HMAC key at rest (crypto.Sealer, the
// executor's Secrets). Nil keeps the key in clear.
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// Store is what this package needs of the store.
type Store interface {
	Device(ctx context.Context, pk int64) (*store.AuthenticatorDevice, error)
	SwapDevice(ctx context.Context, d *store.AuthenticatorDevice, old int64) (bool, error)
}

// Issue makes a new code for d, valid for ttl, and saves it (replacing any
// pending one) unless one was sent less than ResendAfter ago, which is a
// *ThrottledError. It returns the code to send and updates d. rnd is the
// randomness (nil: crypto/rand).
func Issue(ctx context.Context, st Store, keys Sealer, d *store.AuthenticatorDevice, now time.Time, ttl time.Duration, rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	code, err := NewCode(rnd)
	if err != nil {
		return "", err
	}
	salt := make([]byte, 32)
	if _, err := io.ReadFull(rnd, salt); err != nil {
		return "", fmt.Errorf("drawing a key: %w", err)
	}
	stored, sealed := base64.RawURLEncoding.EncodeToString(salt), false
	if keys != nil {
		if stored, err = keys.Seal(salt); err != nil {
			return "", fmt.Errorf("sealing a code's key: %w", err)
		}
		sealed = true
	}
	orig := d
	defer func() { *orig = *d }()
	for range casRetries {
		if p := pendingOf(d); p != nil {
			if wait := time.Unix(p.Sent, 0).Add(ResendAfter).Sub(now); wait > 0 {
				return "", &ThrottledError{Wait: wait}
			}
		}
		next := *d
		next.Counter = d.Counter + 1
		next.Data = withPending(d, &pending{Salt: stored, Sealed: sealed,
			MAC: base64.RawURLEncoding.EncodeToString(mac(salt, code)), Sent: now.Unix(), Expires: now.Add(ttl).Unix()})
		ok, err := st.SwapDevice(ctx, &next, d.Counter)
		if err != nil {
			return "", err
		}
		if ok {
			d = &next
			return code, nil
		}
		if d, err = reload(ctx, st, d); err != nil {
			return "", err
		}
	}
	return "", ErrContention
}

// LastSent is when d's last code was sent (zero when none was, or the
// last one was used or withdrawn).
func LastSent(d *store.AuthenticatorDevice) time.Time {
	if p := pendingOf(d); p != nil && p.Sent > 0 {
		return time.Unix(p.Sent, 0)
	}
	return time.Time{}
}

// KeepThrottle records in data, a new device's, that a code was sent at t:
// a setup stage that replaces an abandoned unconfirmed device with a new
// one keeps the old one's throttle, so starting over does not send more.
func KeepThrottle(data store.Attributes, t time.Time) {
	if !t.IsZero() {
		data[dataKey] = map[string]any{"sent": t.Unix()}
	}
}

// Withdraw drops d's pending code (sending it failed), so that the user can
// ask again at once. Losing a race is not an error: someone else changed it.
func Withdraw(ctx context.Context, st Store, d *store.AuthenticatorDevice) error {
	if pendingOf(d) == nil {
		return nil
	}
	next := *d
	next.Counter = d.Counter + 1
	next.Data = withPending(d, nil)
	ok, err := st.SwapDevice(ctx, &next, d.Counter)
	if ok {
		*d = next
	}
	return err
}

// Retarget changes d's Data with edit (a new address) and voids its
// pending code, which went to the old one, keeping when it was sent so
// that the next Issue is still throttled: changing the address does not
// send more mail.
func Retarget(ctx context.Context, st Store, d *store.AuthenticatorDevice, edit func(store.Attributes)) error {
	orig := d
	defer func() { *orig = *d }()
	for range casRetries {
		var keep *pending
		if p := pendingOf(d); p != nil {
			keep = &pending{Sent: p.Sent}
		}
		next := *d
		next.Counter = d.Counter + 1
		next.Data = withPending(d, keep)
		edit(next.Data)
		ok, err := st.SwapDevice(ctx, &next, d.Counter)
		if err != nil {
			return err
		}
		if ok {
			d = &next
			return nil
		}
		if d, err = reload(ctx, st, d); err != nil {
			return err
		}
	}
	return ErrContention
}

// Verify checks code against d's pending code and, when it matches, uses
// it up (the pending code is dropped, Counter and LastUsed are written),
// updating d. Each call counts one attempt before comparing, so that
// concurrent guesses cannot get past MaxAttempts. Wrong answers are
// ErrNoCode, ErrTooManyAttempts or ErrWrongCode.
func Verify(ctx context.Context, st Store, keys Sealer, d *store.AuthenticatorDevice, code string, now time.Time) error {
	orig := d
	defer func() { *orig = *d }()
	// 1. Reserve an attempt.
	var p *pending
	reserved := false
	for range casRetries {
		p = pendingOf(d)
		if !p.usable() || now.Unix() >= p.Expires {
			return ErrNoCode
		}
		if p.Attempts >= MaxAttempts {
			return ErrTooManyAttempts
		}
		p.Attempts++
		next := *d
		next.Counter = d.Counter + 1
		next.Data = withPending(d, p)
		ok, err := st.SwapDevice(ctx, &next, d.Counter)
		if err != nil {
			return err
		}
		if ok {
			d, reserved = &next, true
			break
		}
		if d, err = reload(ctx, st, d); err != nil {
			return err
		}
	}
	if !reserved {
		return ErrContention
	}
	// 2. Compare in constant time.
	var salt []byte
	var err error
	switch {
	case !p.Sealed:
		salt, err = base64.RawURLEncoding.DecodeString(p.Salt)
	case keys == nil:
		err = errors.New("sealed code key and no sealer")
	default:
		salt, err = keys.Open(p.Salt)
	}
	if err != nil {
		// A key sealed under another secret_key: the code cannot be
		// checked, and a new one is needed.
		return fmt.Errorf("%w (the key of device %d's code cannot be opened: %v)", ErrNoCode, d.PK, err)
	}
	want, err := base64.RawURLEncoding.DecodeString(p.MAC)
	if err != nil || !hmac.Equal(mac(salt, code), want) {
		return ErrWrongCode
	}
	// 3. Use it up, unless it was used (or replaced) meanwhile.
	for range casRetries {
		cur := pendingOf(d)
		if !cur.usable() || cur.Salt != p.Salt {
			return ErrNoCode
		}
		next := *d
		next.Counter = d.Counter + 1
		// Used: gone. The throttle goes with it, as whoever asks next has
		// just proved to hold the device.
		next.Data = withPending(d, nil)
		used := now
		next.LastUsed = &used
		ok, err := st.SwapDevice(ctx, &next, d.Counter)
		if err != nil {
			return err
		}
		if ok {
			d = &next
			return nil
		}
		if d, err = reload(ctx, st, d); err != nil {
			return err
		}
	}
	return ErrContention
}

// reload reads d again; on error it returns d itself.
func reload(ctx context.Context, st Store, d *store.AuthenticatorDevice) (*store.AuthenticatorDevice, error) {
	fresh, err := st.Device(ctx, d.PK)
	if err != nil {
		return d, fmt.Errorf("reloading device %d: %w", d.PK, err)
	}
	return fresh, nil
}

// maxCodeInput bounds what ParseCode looks at (a code with spaces).
const maxCodeInput = 64

// ParseCode reads a response's code field: a JSON string of Digits digits
// (spaces ignored, as people copy "123 456"), or a JSON integer (authentik's
// IntegerField; leading zeros are restored). Anything else is ErrMalformed.
func ParseCode(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || len(raw) > maxCodeInput {
		return "", ErrMalformed
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", ErrMalformed
		}
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, s)
	} else {
		// A JSON integer: no sign, fraction, exponent or leading zero.
		if len(raw) > 1 && raw[0] == '0' {
			return "", ErrMalformed
		}
		for _, c := range raw {
			if c < '0' || c > '9' {
				return "", ErrMalformed
			}
		}
		n, err := strconv.ParseUint(string(raw), 10, 32)
		if err != nil || n > 999_999 {
			return "", ErrMalformed
		}
		s = fmt.Sprintf("%06d", n)
	}
	if len(s) != Digits {
		return "", ErrMalformed
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", ErrMalformed
		}
	}
	return s, nil
}

// UserMessage is the text shown for an error of this package, and whether
// err is one (else it is an internal failure).
func UserMessage(err error) (string, bool) {
	var th *ThrottledError
	switch {
	case errors.As(err, &th):
		return capitalize(th.Error()) + ".", true
	}
	for _, e := range []error{ErrNoCode, ErrTooManyAttempts, ErrWrongCode, ErrMalformed, ErrContention} {
		if errors.Is(err, e) {
			return capitalize(e.Error()) + ".", true
		}
	}
	return "", false
}

// ErrorCode is the response_errors code for a user error.
func ErrorCode(err error) string {
	var th *ThrottledError
	switch {
	case errors.As(err, &th):
		return "throttled"
	case errors.Is(err, ErrTooManyAttempts):
		return "too_many_attempts"
	case errors.Is(err, ErrNoCode):
		return "expired"
	}
	return "invalid"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
