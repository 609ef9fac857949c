package mfa_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/mfa"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// RFC 6238 Appendix B, the SHA-1 rows: the 20-byte ASCII key
// "12345678901234567890", 8 digits.
func TestTOTPRFC6238Vectors(t *testing.T) {
	k := mfa.TOTP{Secret: []byte("12345678901234567890"), Digits: 8}
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got, err := k.Code(mfa.Step(time.Unix(tc.unix, 0)))
		if err != nil || got != tc.want {
			t.Errorf("T=%d: %q %v, want %q", tc.unix, got, err, tc.want)
		}
	}
}

func TestTOTPMatch(t *testing.T) {
	k := mfa.TOTP{Secret: mfa.NewTOTPSecret(), Digits: 6}
	now := time.Unix(1_700_000_015, 0)
	cur := mfa.Step(now)
	code := func(step int64) string {
		c, err := k.Code(step)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name    string
		step    int64 // the code's step
		last    int64 // the device's last accepted step
		want    int64
		wantErr error
	}{
		{"now", cur, 0, cur, nil},
		{"one step behind (clock skew)", cur - 1, 0, cur - 1, nil},
		{"one step ahead", cur + 1, 0, cur + 1, nil},
		{"two steps behind", cur - 2, 0, 0, mfa.ErrWrongCode},
		{"two steps ahead", cur + 2, 0, 0, mfa.ErrWrongCode},
		{"the step already accepted", cur, cur, 0, mfa.ErrReplayed},
		{"an older step after a newer one", cur - 1, cur, 0, mfa.ErrReplayed},
		{"a later step after an older one", cur + 1, cur, cur + 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := k.Match(code(tc.step), now, tc.last)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("Match = %d, %v; want %d, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
	// A code of none of the three steps: wrong.
	valid := map[string]bool{code(cur - 1): true, code(cur): true, code(cur + 1): true}
	wrong := "000000"
	for i := 1; valid[wrong]; i++ {
		wrong = fmt.Sprintf("%06d", i)
	}
	if _, err := k.Match(wrong, now, 0); !errors.Is(err, mfa.ErrWrongCode) {
		t.Errorf("Match(a wrong code) = %v", err)
	}
}

// pquerna/otp's own validator agrees with Match (an independent check of
// the window arithmetic).
func TestTOTPAgreesWithPquerna(t *testing.T) {
	k := mfa.TOTP{Secret: mfa.NewTOTPSecret(), Digits: 8}
	raw, err := k.ConfigURL("Gatehouse", "alice")
	if err != nil {
		t.Fatal(err)
	}
	key, err := otp.NewKeyFromURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	code, err := totp.GenerateCodeCustom(key.Secret(), now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	if step, err := k.Match(code, now, 0); err != nil || step != mfa.Step(now) {
		t.Errorf("Match(pquerna's code) = %d, %v", step, err)
	}
}

func TestParseDigits(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		digits   int
		errLike  string
	}{
		{"123456", "123456", 6, ""},
		{" 123456\n", "123456", 6, ""},
		{"12345678", "12345678", 8, ""},
		{"", "", 6, "enter a code"},
		{"   ", "", 6, "enter a code"},
		{"12345a", "", 6, "only digits"},
		{"abcdef", "", 6, "only digits"},
		{"123 456", "", 6, "only digits"},
		{"１２３４５６", "", 6, "only digits"}, // full-width digits
		{"١٢٣٤٥٦", "", 6, "only digits"}, // Arabic-Indic digits
		{"12345", "", 6, "6 digits long"},
		{"1234567", "", 6, "6 digits long"},
		{"123456", "", 8, "8 digits long"},
		{strings.Repeat("1", 100), "", 6, "6 digits long"},
		{strings.Repeat("1", 1<<20), "", 6, "6 digits long"},
		{"-12345", "", 6, "only digits"},
		{"0x1234", "", 6, "only digits"},
	} {
		got, err := mfa.ParseDigits(tc.in, tc.digits)
		var ce *mfa.CodeError
		switch {
		case tc.errLike == "" && (err != nil || got != tc.want):
			t.Errorf("ParseDigits(%.20q, %d) = %q, %v", tc.in, tc.digits, got, err)
		case tc.errLike != "" && (!errors.As(err, &ce) || !strings.Contains(strings.ToLower(ce.Message), tc.errLike)):
			t.Errorf("ParseDigits(%.20q, %d) = %q, %v; want an error about %q", tc.in, tc.digits, got, err, tc.errLike)
		}
	}
}

func TestConfigURLAndQRCode(t *testing.T) {
	secret := []byte("12345678901234567890")
	k := mfa.TOTP{Secret: secret, Digits: 8}
	raw, err := k.ConfigURL("Acme: SSO", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Acme  SSO:alice@example.com" ||
		q.Get("secret") != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" || q.Get("issuer") != "Acme  SSO" ||
		q.Get("digits") != "8" || q.Get("algorithm") != "SHA1" || q.Get("period") != "30" {
		t.Errorf("config URL = %s", raw)
	}
	if _, err := k.ConfigURL("", ""); err == nil {
		t.Error("an empty account name was accepted")
	}
	if raw, _ := k.ConfigURL("", "bob"); !strings.Contains(raw, "issuer=gatehouse") {
		t.Errorf("no issuer: %s", raw)
	}

	uri, err := k.QRCode("Acme", "alice")
	if err != nil {
		t.Fatal(err)
	}
	b64, ok := strings.CutPrefix(uri, "data:image/png;base64,")
	if !ok {
		t.Fatalf("QR code = %.40s...", uri)
	}
	img, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width != 240 || cfg.Height != 240 {
		t.Errorf("QR PNG: %+v %v", cfg, err)
	}
}

func TestStaticCodes(t *testing.T) {
	codes := mfa.NewStaticCodes(100, 12)
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 12 || strings.Trim(c, mfa.StaticAlphabet) != "" || seen[c] {
			t.Errorf("code %q: wrong length, alphabet or repeated", c)
		}
		seen[c] = true
		if p, err := mfa.ParseStaticCode(" " + strings.ToUpper(c) + " "); err != nil || p != c {
			t.Errorf("ParseStaticCode(%q) = %q, %v", c, p, err)
		}
	}
	// Every symbol turns up (the sampling is not stuck on part of the alphabet).
	all := strings.Join(mfa.NewStaticCodes(50, 64), "")
	for _, r := range mfa.StaticAlphabet {
		if !strings.ContainsRune(all, r) {
			t.Errorf("symbol %q never drawn in 3200", r)
		}
	}
	for _, bad := range []string{"", "short", "abc-def-ghij", "abcdefgh!", strings.Repeat("a", 65), strings.Repeat("a", 10000), "ａｂｃｄｅｆｇｈ"} {
		var ce *mfa.CodeError
		if _, err := mfa.ParseStaticCode(bad); !errors.As(err, &ce) {
			t.Errorf("ParseStaticCode(%.20q) = %v, want a CodeError", bad, err)
		}
	}
	if h := mfa.HashStaticCode("abc"); h != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("HashStaticCode = %s, want SHA-256", h)
	}
}

type fixture struct {
	st     *sqlstore.Store
	sealer *crypto.Sealer
	user   *store.User
}

// engines runs fn on SQLite, and on PostgreSQL when
// GATEHOUSE_TEST_POSTGRES_URL is set (compare-and-swap must hold on both).
func engines(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newFixture(t)) })
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.PostgresDB(t)
		fn(t, newFixtureOn(t, func() (*sqlstore.Store, error) {
			return sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.Options{MaxConns: 8})
		}))
	})
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, func() (*sqlstore.Store, error) {
		return sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	})
}

func newFixtureOn(t testing.TB, open func() (*sqlstore.Store, error)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	u := &store.User{Username: "alice", IsActive: true, Type: store.UserInternal, Path: "users", Attributes: store.Attributes{}}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s, err := crypto.NewSealer("a test secret key of some length", "authenticator-secret")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, sealer: s, user: u}
}

func TestVerifyTOTPOnceUnderConcurrency(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		k := mfa.TOTP{Secret: mfa.NewTOTPSecret(), Digits: 6}
		now := time.Now()
		d, err := mfa.NewTOTPDevice(f.sealer, f.user.PK, "phone", k, mfa.Step(now)-5)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.st.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(dataText(t, d.Data)), string(k.Secret)) {
			t.Fatal("the key is stored in the clear")
		}
		code, _ := k.Code(mfa.Step(now))

		const n = 8
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Go(func() {
				stored, err := f.st.Device(ctx, d.PK)
				if err != nil {
					results[i] = err
					return
				}
				_, results[i] = mfa.VerifyTOTP(ctx, f.st, f.sealer, []*store.AuthenticatorDevice{stored}, code, now)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, mfa.ErrReplayed):
				t.Errorf("a concurrent use failed with %v, want ErrReplayed", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d concurrent uses of one code passed, want 1", ok, n)
		}
		stored, _ := f.st.Device(ctx, d.PK)
		if stored.Counter != mfa.Step(now) || stored.LastUsed == nil {
			t.Errorf("device after use: counter %d (want %d), last used %v", stored.Counter, mfa.Step(now), stored.LastUsed)
		}
		// The same code later in its window: a replay. The next step's code: fine.
		if _, err := mfa.VerifyTOTP(ctx, f.st, f.sealer, []*store.AuthenticatorDevice{stored}, code, now.Add(20*time.Second)); !errors.Is(err, mfa.ErrReplayed) {
			t.Errorf("replayed code: %v", err)
		}
		next, _ := k.Code(mfa.Step(now) + 1)
		if _, err := mfa.VerifyTOTP(ctx, f.st, f.sealer, []*store.AuthenticatorDevice{stored}, next, now.Add(30*time.Second)); err != nil {
			t.Errorf("the next code: %v", err)
		}
		var ce *mfa.CodeError
		if _, err := mfa.VerifyTOTP(ctx, f.st, f.sealer, []*store.AuthenticatorDevice{stored}, "12a456", now); !errors.As(err, &ce) {
			t.Errorf("letters: %v", err)
		}
		// A key sealed under another secret key does not open: an error, not a pass.
		other, _ := crypto.NewSealer("another secret key, also long", "authenticator-secret")
		if _, err := mfa.VerifyTOTP(ctx, f.st, other, []*store.AuthenticatorDevice{stored}, next, now); err == nil || errors.Is(err, mfa.ErrWrongCode) {
			t.Errorf("foreign sealer: %v", err)
		}
	})
}

func TestVerifyStaticSingleUse(t *testing.T) {
	engines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		codes := mfa.NewStaticCodes(6, 12)
		d := mfa.NewStaticDevice(f.user.PK, "Static Token", codes)
		if err := f.st.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
		raw := string(dataText(t, d.Data))
		for _, c := range codes {
			if strings.Contains(raw, c) {
				t.Fatal("a code is stored in the clear")
			}
		}
		now := time.Now()

		const n = 8
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Go(func() {
				stored, err := f.st.Device(ctx, d.PK)
				if err != nil {
					results[i] = err
					return
				}
				_, results[i] = mfa.VerifyStatic(ctx, f.st, []*store.AuthenticatorDevice{stored}, codes[2], now)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			if err == nil {
				ok++
			} else if !errors.Is(err, mfa.ErrWrongCode) {
				t.Errorf("concurrent use: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d concurrent uses of one code passed, want 1", ok, n)
		}
		stored, _ := f.st.Device(ctx, d.PK)
		if mfa.StaticRemaining(stored) != 5 || stored.Counter != 1 {
			t.Errorf("after one use: %d codes left, counter %d", mfa.StaticRemaining(stored), stored.Counter)
		}
		if _, err := mfa.VerifyStatic(ctx, f.st, []*store.AuthenticatorDevice{stored}, codes[2], now); !errors.Is(err, mfa.ErrWrongCode) {
			t.Errorf("the used code again: %v", err)
		}
		if _, err := mfa.VerifyStatic(ctx, f.st, []*store.AuthenticatorDevice{stored}, strings.ToUpper(codes[4]), now); err != nil {
			t.Errorf("another code, in capitals: %v", err)
		}
		var ce *mfa.CodeError
		if _, err := mfa.VerifyStatic(ctx, f.st, []*store.AuthenticatorDevice{stored}, "not a code!", now); !errors.As(err, &ce) {
			t.Errorf("malformed: %v", err)
		}
	})
}

// dataText concatenates a device data map's keys and string values, to
// look for a secret in it.
func dataText(t *testing.T, v store.Attributes) []byte {
	t.Helper()
	var b bytes.Buffer
	for k, x := range v {
		b.WriteString(k)
		if s, ok := x.(string); ok {
			b.WriteString(s)
		}
		if l, ok := x.([]any); ok {
			for _, y := range l {
				b.WriteString(y.(string))
			}
		}
	}
	return b.Bytes()
}

// BenchmarkTOTPValidate is one code check as the validate stage does it:
// open the sealed key, parse the code, compute and compare the three
// candidate steps (the store write is measured by the login benchmarks).
// Figure: <= 100 us per validation.
func BenchmarkTOTPValidate(b *testing.B) {
	s, err := crypto.NewSealer("a test secret key of some length", "authenticator-secret")
	if err != nil {
		b.Fatal(err)
	}
	k := mfa.TOTP{Secret: mfa.NewTOTPSecret(), Digits: 6}
	now := time.Now()
	d, err := mfa.NewTOTPDevice(s, 1, "phone", k, 0)
	if err != nil {
		b.Fatal(err)
	}
	code, _ := k.Code(mfa.Step(now) + 1) // the last candidate tried
	for b.Loop() {
		dk, err := mfa.DeviceTOTP(s, d)
		if err != nil {
			b.Fatal(err)
		}
		c, err := mfa.ParseDigits(code, dk.Digits)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := dk.Match(c, now, d.Counter); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyTOTPStore is VerifyTOTP with its compare-and-swap write
// on SQLite (each iteration accepts the next time step's code).
func BenchmarkVerifyTOTPStore(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	k := mfa.TOTP{Secret: mfa.NewTOTPSecret(), Digits: 6}
	d, err := mfa.NewTOTPDevice(f.sealer, f.user.PK, "phone", k, 0)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.st.CreateDevice(ctx, d); err != nil {
		b.Fatal(err)
	}
	step := mfa.Step(time.Now())
	for b.Loop() {
		step++
		now := time.Unix(step*mfa.TOTPPeriod, 0)
		code, _ := k.Code(step)
		if _, err := mfa.VerifyTOTP(ctx, f.st, f.sealer, []*store.AuthenticatorDevice{d}, code, now); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParseDigits(f *testing.F) {
	for _, s := range []string{"123456", "12345678", "", "abc", " 1 ", "١٢٣٤٥٦", strings.Repeat("9", 100)} {
		f.Add(s, 6)
	}
	f.Fuzz(func(t *testing.T, in string, digits int) {
		if digits != 6 && digits != 8 {
			digits = 6
		}
		got, err := mfa.ParseDigits(in, digits)
		var ce *mfa.CodeError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %v is not a CodeError", err)
		}
		if err == nil && (len(got) != digits || strings.Trim(got, "0123456789") != "") {
			t.Fatalf("ParseDigits(%q) = %q", in, got)
		}
	})
}

func FuzzParseStaticCode(f *testing.F) {
	for _, s := range []string{"abcdefghjkmn", "ABCDEFGHJKMN", "", "a", "ａｂｃ", strings.Repeat("z", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := mfa.ParseStaticCode(in)
		var ce *mfa.CodeError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %v is not a CodeError", err)
		}
		if err == nil && (len(got) < mfa.MinTokenLength || len(got) > mfa.MaxTokenLength || strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789") != "") {
			t.Fatalf("ParseStaticCode(%q) = %q", in, got)
		}
	})
}
