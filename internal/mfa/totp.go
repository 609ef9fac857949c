// Package mfa holds what the authenticator stages share: time-based one-time
// passwords (RFC 6238) for TOTP devices, and single-use recovery codes for
// static devices. Both keep their state in a store.AuthenticatorDevice and
// accept a code at most once: the device's Counter moves forward through
// store.SwapDevice (compare-and-swap), so two concurrent requests with the
// same code cannot both pass.
//
// Secrets are never logged: TOTP keys are sealed at rest (flow.Sealer, a
// crypto.Sealer keyed from secret_key) and recovery codes are kept only as
// hashes.
package mfa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// TOTP parameters, as django-otp and authentik use them: HMAC-SHA1, a 30 s
// time step from the Unix epoch (RFC 6238 §4.1: X = 30, T0 = 0), 6 or 8
// digits.
const (
	TOTPPeriod = 30
	// TOTPSkew is how many time steps either side of now a code is accepted
	// for (RFC 6238 §5.2 recommends at most one step of network delay).
	TOTPSkew = 1
	// TOTPSecretSize is the key length in bytes: 160 bits, as RFC 4226 §4
	// (R6) recommends and the HMAC-SHA1 output size.
	TOTPSecretSize = 20
)

// Device data keys of a TOTP device (store.AuthenticatorDevice.Data).
const (
	DataKeySealed = "key_sealed" // the sealed key (flow.Sealer)
	DataDigits    = "digits"     // 6 or 8
	DataPeriod    = "period"     // always TOTPPeriod
)

// CodeError is a code that cannot be right whatever the device: wrong
// characters or length. Its message is meant for the user.
type CodeError struct{ Message string }

func (e *CodeError) Error() string { return e.Message }

// ErrReplayed is a code whose time step was already accepted (or an older
// one): RFC 6238 §5.2 says a verifier must not accept the second attempt of
// the same OTP after a successful validation.
var ErrReplayed = errors.New("mfa: code already used")

// ErrWrongCode is a well-formed code that matches no device.
var ErrWrongCode = errors.New("mfa: wrong code")

// maxCodeInput bounds what ParseDigits looks at, so that a megabyte of
// input costs nothing.
const maxCodeInput = 64

// ParseDigits checks a code typed by the user against a TOTP (or any
// numeric) code of the given length: surrounding spaces are ignored, then
// only ASCII digits of exactly that length are accepted. Anything else is
// a *CodeError saying what is wrong.
func ParseDigits(code string, digits int) (string, error) {
	if len(code) > maxCodeInput {
		return "", &CodeError{fmt.Sprintf("The code must be %d digits long.", digits)}
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return "", &CodeError{"Please enter a code."}
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", &CodeError{"The code must contain only digits."}
		}
	}
	if len(code) != digits {
		return "", &CodeError{fmt.Sprintf("The code must be %d digits long.", digits)}
	}
	return code, nil
}

// NewTOTPSecret returns a random key of TOTPSecretSize bytes.
func NewTOTPSecret() []byte {
	b := make([]byte, TOTPSecretSize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// TOTP is one TOTP key with its code length.
type TOTP struct {
	Secret []byte
	Digits int // 6 or 8
}

// ValidDigits reports whether n is a code length TOTP devices may have.
func ValidDigits(n int) bool { return n == 6 || n == 8 }

// Step is the time step of t: T = floor((unix time - T0) / X) (RFC 6238 §4.2).
func Step(t time.Time) int64 { return t.Unix() / TOTPPeriod }

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func (k TOTP) opts() hotp.ValidateOpts {
	d := otp.DigitsSix
	if k.Digits == 8 {
		d = otp.DigitsEight
	}
	return hotp.ValidateOpts{Digits: d, Algorithm: otp.AlgorithmSHA1}
}

// Code is the TOTP value for time step step: HOTP(K, T) (RFC 6238 §4.2,
// RFC 4226 §5.3 dynamic truncation), computed by pquerna/otp.
func (k TOTP) Code(step int64) (string, error) {
	return hotp.GenerateCodeCustom(b32.EncodeToString(k.Secret), uint64(step), k.opts())
}

// Match looks for code among the time steps now-TOTPSkew..now+TOTPSkew
// that are later than last (the device's last accepted step; RFC 6238 §5.2:
// no replay) and returns the step it matched. Every candidate is compared
// in constant time. code must have been checked with ParseDigits.
func (k TOTP) Match(code string, now time.Time, last int64) (int64, error) {
	secret := b32.EncodeToString(k.Secret)
	opts := k.opts()
	cur := Step(now)
	matched, replayed := int64(-1), false
	for step := cur - TOTPSkew; step <= cur+TOTPSkew; step++ {
		want, err := hotp.GenerateCodeCustom(secret, uint64(step), opts)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			if step > last {
				if matched < 0 {
					matched = step
				}
			} else {
				replayed = true
			}
		}
	}
	switch {
	case matched >= 0:
		return matched, nil
	case replayed:
		return 0, ErrReplayed
	}
	return 0, ErrWrongCode
}

// ConfigURL is the otpauth:// URL authenticator apps read (Google
// Authenticator's Key Uri Format): label "issuer:account", and the secret,
// issuer, algorithm, digits and period as parameters. A colon would split
// the label, so colons in issuer and account become spaces.
func (k TOTP) ConfigURL(issuer, account string) (string, error) {
	key, err := k.key(issuer, account)
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

func (k TOTP) key(issuer, account string) (*otp.Key, error) {
	issuer = strings.TrimSpace(strings.ReplaceAll(issuer, ":", " "))
	account = strings.TrimSpace(strings.ReplaceAll(account, ":", " "))
	if issuer == "" {
		issuer = "gatehouse"
	}
	if account == "" {
		return nil, errors.New("mfa: TOTP account name is empty")
	}
	return totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: TOTPPeriod,
		Secret: k.Secret, Digits: k.opts().Digits, Algorithm: otp.AlgorithmSHA1})
}

// QRCode returns the ConfigURL as a QR code PNG in a data: URI, for pages
// that show it without JavaScript.
func (k TOTP) QRCode(issuer, account string) (string, error) {
	key, err := k.key(issuer, account)
	if err != nil {
		return "", err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return "", fmt.Errorf("mfa: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", fmt.Errorf("mfa: QR code: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// Sealer seals and opens secrets (flow.Sealer, crypto.Sealer).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// NewTOTPDevice returns an unsaved, confirmed TOTP device for user holding
// key sealed, whose code for step was just accepted: Counter starts there,
// so that code cannot be used again to log in.
func NewTOTPDevice(s Sealer, userPK int64, name string, k TOTP, step int64) (*store.AuthenticatorDevice, error) {
	sealed, err := s.Seal(k.Secret)
	if err != nil {
		return nil, err
	}
	return &store.AuthenticatorDevice{UserPK: userPK, Type: store.DeviceTOTP, Name: name, Confirmed: true, Counter: step,
		Data: store.Attributes{DataKeySealed: sealed, DataDigits: k.Digits, DataPeriod: TOTPPeriod}}, nil
}

// DeviceTOTP opens a TOTP device's key.
func DeviceTOTP(s Sealer, d *store.AuthenticatorDevice) (TOTP, error) {
	sealed, _ := d.Data[DataKeySealed].(string)
	if sealed == "" {
		return TOTP{}, fmt.Errorf("mfa: TOTP device %d has no key", d.PK)
	}
	secret, err := s.Open(sealed)
	if err != nil {
		return TOTP{}, fmt.Errorf("mfa: TOTP device %d: %w", d.PK, err)
	}
	digits := 6
	switch v := d.Data[DataDigits].(type) {
	case float64:
		digits = int(v)
	case int:
		digits = v
	case int64:
		digits = int(v)
	}
	if !ValidDigits(digits) {
		return TOTP{}, fmt.Errorf("mfa: TOTP device %d has %d digits", d.PK, digits)
	}
	return TOTP{Secret: secret, Digits: digits}, nil
}

// Swapper is the part of the store that records a device's use.
type Swapper interface {
	SwapDevice(ctx context.Context, d *store.AuthenticatorDevice, old int64) (bool, error)
	Device(ctx context.Context, pk int64) (*store.AuthenticatorDevice, error)
}

// VerifyTOTP checks code against the TOTP devices and records the use of
// the one it matches: its Counter becomes the matched time step and its
// LastUsed now, through SwapDevice, so a code is accepted once even when
// requests race. It returns the device, or a *CodeError (malformed code),
// ErrReplayed or ErrWrongCode.
func VerifyTOTP(ctx context.Context, st Swapper, s Sealer, devices []*store.AuthenticatorDevice, code string, now time.Time) (*store.AuthenticatorDevice, error) {
	var failure error
	for _, d := range devices {
		k, err := DeviceTOTP(s, d)
		if err != nil {
			return nil, err
		}
		c, err := ParseDigits(code, k.Digits)
		if err != nil {
			failure = worse(failure, err)
			continue
		}
		for attempt := 0; ; attempt++ {
			step, err := k.Match(c, now, d.Counter)
			if err != nil {
				failure = worse(failure, err)
				break
			}
			next := *d
			next.Counter, next.LastUsed = step, &now
			ok, err := st.SwapDevice(ctx, &next, d.Counter)
			if err != nil {
				return nil, err
			}
			if ok {
				*d = next
				return d, nil
			}
			if attempt == 2 {
				failure = worse(failure, ErrReplayed)
				break
			}
			// Another request used the device meanwhile: look again with
			// its counter (the same step is then a replay).
			fresh, err := st.Device(ctx, d.PK)
			if errors.Is(err, store.ErrNotFound) {
				failure = worse(failure, ErrWrongCode) // deleted meanwhile
				break
			} else if err != nil {
				return nil, err
			}
			d = fresh
		}
	}
	if failure == nil {
		failure = ErrWrongCode
	}
	return nil, failure
}

// worse keeps the more telling of two failures: a replayed code over a
// wrong one over a malformed one (a code may suit one device's length and
// not another's).
func worse(a, b error) error {
	rank := func(err error) int {
		switch {
		case err == nil:
			return 0
		case errors.Is(err, ErrReplayed):
			return 3
		case errors.Is(err, ErrWrongCode):
			return 2
		}
		return 1
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}
