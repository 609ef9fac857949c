package sidechannel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// newDevice opens a fresh SQLite store with a user and one email device.
func newDevice(t testing.TB) (*sqlstore.Store, *store.AuthenticatorDevice) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
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
	d := &store.AuthenticatorDevice{UserPK: u.PK, Type: store.DeviceEmail, Name: "Email Device", Confirmed: true,
		Data: store.Attributes{"email": "alice@example.com"}}
	if err := st.CreateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	return st, d
}

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestIssueVerifyOnce(t *testing.T) {
	ctx := context.Background()
	st, d := newDevice(t)
	code, err := Issue(ctx, st, nil, d, t0, 30*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) != Digits || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("code %q", code)
	}
	stored, _ := st.Device(ctx, d.PK)
	b, _ := json.Marshal(stored.Data)
	if strings.Contains(string(b), code) {
		t.Fatalf("the code is stored in clear: %s", b)
	}
	if stored.Data["email"] != "alice@example.com" {
		t.Errorf("Issue lost the device's data: %v", stored.Data)
	}
	if !Pending(stored, t0) {
		t.Fatal("no code pending after Issue")
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if err := Verify(ctx, st, nil, stored, wrong, t0.Add(time.Minute)); !errors.Is(err, ErrWrongCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if err := Verify(ctx, st, nil, stored, code, t0.Add(time.Minute)); err != nil {
		t.Fatalf("right code: %v", err)
	}
	if stored.LastUsed == nil || !stored.LastUsed.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastUsed = %v", stored.LastUsed)
	}
	again, _ := st.Device(ctx, d.PK)
	if err := Verify(ctx, st, nil, again, code, t0.Add(time.Minute)); !errors.Is(err, ErrNoCode) {
		t.Fatalf("the code a second time: %v", err)
	}
	if again.LastUsed == nil {
		t.Error("LastUsed not stored")
	}
}

func TestExpiryAndAttempts(t *testing.T) {
	ctx := context.Background()
	t.Run("expired", func(t *testing.T) {
		st, d := newDevice(t)
		code, err := Issue(ctx, st, nil, d, t0, 30*time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(ctx, st, nil, d, code, t0.Add(30*time.Minute)); !errors.Is(err, ErrNoCode) {
			t.Fatalf("at expiry: %v", err)
		}
	})
	t.Run("five wrong codes void it", func(t *testing.T) {
		st, d := newDevice(t)
		code, err := Issue(ctx, st, nil, d, t0, 30*time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		wrong := "123456"
		if code == wrong {
			wrong = "654321"
		}
		for i := range MaxAttempts {
			if err := Verify(ctx, st, nil, d, wrong, t0); !errors.Is(err, ErrWrongCode) {
				t.Fatalf("attempt %d: %v", i+1, err)
			}
		}
		if err := Verify(ctx, st, nil, d, code, t0); !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("the right code after %d wrong ones: %v", MaxAttempts, err)
		}
		if Pending(d, t0) {
			t.Error("a void code counts as pending")
		}
		// A new code after the resend delay works.
		code, err = Issue(ctx, st, nil, d, t0.Add(ResendAfter), 30*time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(ctx, st, nil, d, code, t0.Add(ResendAfter)); err != nil {
			t.Fatalf("a new code: %v", err)
		}
	})
}

func TestThrottleRetargetWithdraw(t *testing.T) {
	ctx := context.Background()
	st, d := newDevice(t)
	first, err := Issue(ctx, st, nil, d, t0, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Issue(ctx, st, nil, d, t0.Add(59*time.Second), time.Hour, nil)
	var th *ThrottledError
	if !errors.As(err, &th) || th.Wait != time.Second {
		t.Fatalf("second code within a minute: %v", err)
	}
	if msg, ok := UserMessage(err); !ok || !strings.Contains(msg, "wait 1 seconds") {
		t.Errorf("message %q", msg)
	}
	// A new address voids the code but keeps the throttle.
	if err := Retarget(ctx, st, d, func(a store.Attributes) { a["email"] = "alice@example.org" }); err != nil {
		t.Fatal(err)
	}
	if d.Data["email"] != "alice@example.org" || Pending(d, t0) {
		t.Fatalf("after Retarget: %v", d.Data)
	}
	if err := Verify(ctx, st, nil, d, first, t0); !errors.Is(err, ErrNoCode) {
		t.Fatalf("the code sent to the old address: %v", err)
	}
	if _, err := Issue(ctx, st, nil, d, t0.Add(30*time.Second), time.Hour, nil); !errors.As(err, &th) {
		t.Fatalf("Retarget lifted the throttle: %v", err)
	}
	second, err := Issue(ctx, st, nil, d, t0.Add(ResendAfter), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A code that could not be sent is withdrawn: asking again works at once.
	if err := Withdraw(ctx, st, d); err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, st, nil, d, second, t0.Add(ResendAfter)); !errors.Is(err, ErrNoCode) {
		t.Fatalf("a withdrawn code: %v", err)
	}
	if _, err := Issue(ctx, st, nil, d, t0.Add(ResendAfter+time.Second), time.Hour, nil); err != nil {
		t.Fatalf("after Withdraw: %v", err)
	}
}

// Concurrent requests with the right code: exactly one passes (the code is
// accepted once, through SwapDevice).
func TestVerifyConcurrentOnce(t *testing.T) {
	ctx := context.Background()
	st, d := newDevice(t)
	code, err := Issue(ctx, st, nil, d, t0, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 4 // MaxAttempts bounds the tries, so at most that many can even compare
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine, err := st.Device(ctx, d.PK)
			if err != nil {
				t.Error(err)
				return
			}
			err = Verify(ctx, st, nil, mine, code, t0)
			if err == nil {
				mu.Lock()
				passed++
				mu.Unlock()
			} else if _, ok := UserMessage(err); !ok {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if passed != 1 {
		t.Fatalf("%d requests passed with one code, want 1", passed)
	}
}

// Concurrent wrong guesses get at most MaxAttempts comparisons in all: the
// attempt is counted before the code is compared.
func TestVerifyConcurrentGuessesBounded(t *testing.T) {
	ctx := context.Background()
	st, d := newDevice(t)
	code, err := Issue(ctx, st, nil, d, t0, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	compared, passed := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			guess := code // one of them has the right code
			if i != n-1 {
				guess = "999999"
				if code == guess {
					guess = "888888"
				}
			}
			mine, err := st.Device(ctx, d.PK)
			if err != nil {
				t.Error(err)
				return
			}
			err = Verify(ctx, st, nil, mine, guess, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				passed++
				compared++
			case errors.Is(err, ErrWrongCode):
				compared++
			case errors.Is(err, ErrTooManyAttempts), errors.Is(err, ErrNoCode), errors.Is(err, ErrContention):
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if compared > MaxAttempts {
		t.Fatalf("%d codes compared against one sent code, at most %d allowed", compared, MaxAttempts)
	}
	if passed > 1 {
		t.Fatalf("%d passed", passed)
	}
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := NewCode(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseCode(json.RawMessage(`"` + c + `"`)); err != nil {
			t.Fatalf("NewCode made %q, which ParseCode refuses", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Errorf("only %d distinct codes in 200", len(seen))
	}
	if _, err := NewCode(strings.NewReader("")); err == nil {
		t.Error("NewCode with no randomness did not fail")
	}
}

func TestParseCode(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
	}{
		{`"123456"`, "123456"},
		{`" 123 456 "`, "123456"},
		{`"012345"`, "012345"},
		{`123456`, "123456"},
		{`12345`, "012345"}, // authentik's IntegerField drops the leading zero
		{`0`, "000000"},
		{`"12345"`, ""},
		{`"1234567"`, ""},
		{`"12a456"`, ""},
		{`"١٢٣٤٥٦"`, ""}, // Arabic-Indic digits are not ASCII digits
		{`"` + strings.Repeat("1", 100) + `"`, ""},
		{strings.Repeat("1", 100), ""},
		{`1234567`, ""},
		{`-12345`, ""},
		{`1e5`, ""},
		{`123456.0`, ""},
		{`true`, ""},
		{`null`, ""},
		{`{"code":1}`, ""},
		{`["123456"]`, ""},
		{`"123456`, ""},
		{``, ""},
	} {
		got, err := ParseCode(json.RawMessage(tc.raw))
		if tc.want == "" {
			if err == nil || !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseCode(%s) = %q, %v; want ErrMalformed", tc.raw, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseCode(%s) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{`"123456"`, `123456`, `"12 34 56"`, `12`, `"abc"`, `1e9`, `null`, `"\u0031\u0032\u0033\u0034\u0035\u0036"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := ParseCode(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if len(got) != Digits || strings.Trim(got, "0123456789") != "" {
			t.Fatalf("ParseCode(%q) = %q", raw, got)
		}
		// What it accepts is valid JSON holding those digits.
		var v any
		if json.Unmarshal(raw, &v) != nil {
			t.Fatalf("accepted invalid JSON %q", raw)
		}
	})
}

// With a Sealer, the code's HMAC key is sealed: the database alone does not
// let anyone test codes, and a key sealed under another secret is no code.
func TestSealedKey(t *testing.T) {
	ctx := context.Background()
	keys, err := crypto.NewSealer("a secret key of the test, long enough", "sidechannel")
	if err != nil {
		t.Fatal(err)
	}
	other, _ := crypto.NewSealer("another secret key, also long enough", "sidechannel")
	st, d := newDevice(t)
	code, err := Issue(ctx, st, keys, d, t0, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := pendingOf(d)
	if !p.Sealed {
		t.Fatalf("key not sealed: %+v", p)
	}
	if _, err := keys.Open(p.Salt); err != nil {
		t.Fatalf("the stored key does not open: %v", err)
	}
	if err := Verify(ctx, st, other, d, code, t0); !errors.Is(err, ErrNoCode) {
		t.Fatalf("under another secret: %v", err)
	}
	if msg, _ := UserMessage(fmt.Errorf("wrapped: %w", err)); strings.Contains(msg, "opened") {
		t.Errorf("internal detail in the user message %q", msg)
	}
	if err := Verify(ctx, st, keys, d, code, t0); err != nil {
		t.Fatalf("the right code: %v", err)
	}
}

// BenchmarkVerify is one right code checked and used up on SQLite (two
// compare-and-swap writes), after its Issue (not timed).
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	st, d := newDevice(b)
	now := t0
	for b.Loop() {
		b.StopTimer()
		now = now.Add(ResendAfter)
		code, err := Issue(ctx, st, nil, d, now, time.Hour, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := Verify(ctx, st, nil, d, code, now); err != nil {
			b.Fatal(err)
		}
	}
}
