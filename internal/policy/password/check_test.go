package password

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// fakeHIBP is an HIBPChecker that answers from a map and records the
// passwords it was asked about.
type fakeHIBP struct {
	counts map[string]int
	err    error
	asked  []string
}

func (f *fakeHIBP) Count(_ context.Context, password string) (int, error) {
	f.asked = append(f.asked, password)
	if f.err != nil {
		return 0, f.err
	}
	return f.counts[password], nil
}

var _ HIBPChecker = (*fakeHIBP)(nil)

func static(c Config) Config {
	c.CheckStatic = true
	return c
}

func TestCheckStaticRules(t *testing.T) {
	tests := []struct {
		name     string
		cfg      Config
		password string
		want     []string // nil: passes
	}{
		{"no rules", static(Config{}), "x", nil},
		{"length met", static(Config{LengthMin: 8}), "abcdefgh", nil},
		{"length short", static(Config{LengthMin: 8}), "abcdefg", []string{"Password must be at least 8 characters long."}},
		{"length 1", static(Config{LengthMin: 2}), "a", []string{"Password must be at least 2 characters long."}},
		{"length singular", static(Config{LengthMin: 1}), "a", nil},
		{"length counts runes not bytes", static(Config{LengthMin: 4}), "äöüß", nil},
		{"length of runes short", static(Config{LengthMin: 5}), "äöüß", []string{"Password must be at least 5 characters long."}},
		{"digits met", static(Config{AmountDigits: 2}), "a1b2", nil},
		{"digits short", static(Config{AmountDigits: 2}), "a1b", []string{"Password must contain at least 2 digits."}},
		{"digit singular", static(Config{AmountDigits: 1}), "abc", []string{"Password must contain at least 1 digit."}},
		{"non-ASCII digits count", static(Config{AmountDigits: 2}), "٣٤abc", nil},
		{"uppercase met", static(Config{AmountUppercase: 2}), "ABc", nil},
		{"uppercase short", static(Config{AmountUppercase: 2}), "Abc", []string{"Password must contain at least 2 uppercase letters."}},
		{"non-ASCII uppercase counts", static(Config{AmountUppercase: 2}), "ÉÖ", nil},
		{"lowercase met", static(Config{AmountLowercase: 3}), "ABcde", nil},
		{"lowercase short", static(Config{AmountLowercase: 1}), "ABC", []string{"Password must contain at least 1 lowercase letter."}},
		{"non-ASCII lowercase counts", static(Config{AmountLowercase: 2}), "ßé", nil},
		{"symbols met", static(Config{AmountSymbols: 2}), "a!b c", nil},
		{"symbols short", static(Config{AmountSymbols: 2}), "a!bc", []string{"Password must contain at least 2 symbols."}},
		{"symbols outside the charset do not count", static(Config{AmountSymbols: 1}), "a€b", []string{"Password must contain at least 1 symbol."}},
		{"custom charset met", static(Config{AmountSymbols: 1, SymbolCharset: "€"}), "a€b", nil},
		{"custom charset named", static(Config{AmountSymbols: 1, SymbolCharset: "#*"}), "a!b", []string{`Password must contain at least 1 symbol (from "#*").`}},
		{"custom charset letters count as symbols", static(Config{AmountSymbols: 2, SymbolCharset: "xy"}), "xy", nil},
		{"every rule broken, in authentik's order", static(Config{LengthMin: 10, AmountDigits: 1, AmountUppercase: 1, AmountLowercase: 1, AmountSymbols: 1}), "   ", []string{
			"Password must be at least 10 characters long.",
			"Password must contain at least 1 digit.",
			"Password must contain at least 1 lowercase letter.",
			"Password must contain at least 1 uppercase letter.",
		}},
		{"error message replaces every rule's", static(Config{LengthMin: 10, AmountDigits: 1, ErrorMessage: "Use 10 characters and a digit."}), "short", []string{"Use 10 characters and a digit."}},
		{"error message unused when passing", static(Config{LengthMin: 3, ErrorMessage: "nope"}), "long enough", nil},
		{"rules off", Config{LengthMin: 50, AmountDigits: 5}, "short", nil},
		{"empty password", Config{}, "", []string{MsgNotSet}},
		{"empty password, error message kept for rules", static(Config{ErrorMessage: "custom"}), "", []string{MsgNotSet}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, msgs, err := Check(t.Context(), tt.cfg, tt.password, nil, nil)
			if err != nil {
				t.Fatalf("Check() error = %v", err)
			}
			if ok != (tt.want == nil) || !slices.Equal(msgs, tt.want) {
				t.Fatalf("Check() = %v, %q, want %v, %q", ok, msgs, tt.want == nil, tt.want)
			}
		})
	}
}

func TestCheckInvalidConfig(t *testing.T) {
	ok, msgs, err := Check(t.Context(), Config{AmountDigits: -1}, "whatever", nil, nil)
	if ok || msgs != nil || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Check() = %v, %q, %v, want false, nil, ErrInvalidConfig", ok, msgs, err)
	}
}

func TestCheckHIBP(t *testing.T) {
	const pw = "correct horse battery staple"
	tests := []struct {
		name    string
		allowed int
		counts  map[string]int
		wantOK  bool
		want    []string
	}{
		{"not listed", 0, nil, true, nil},
		{"listed above the allowed count", 10, map[string]int{pw: 11}, false, []string{"Password exists on 11 online lists."}},
		{"listed at the allowed count", 10, map[string]int{pw: 10}, true, nil},
		{"listed once, none allowed", 0, map[string]int{pw: 1}, false, []string{"Password exists on 1 online lists."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHIBP{counts: tt.counts}
			cfg := Config{CheckHIBP: true, HIBPAllowedCount: tt.allowed}
			ok, msgs, err := Check(t.Context(), cfg, pw, nil, h)
			if err != nil {
				t.Fatalf("Check() error = %v", err)
			}
			if ok != tt.wantOK || !slices.Equal(msgs, tt.want) {
				t.Fatalf("Check() = %v, %q, want %v, %q", ok, msgs, tt.wantOK, tt.want)
			}
			if !slices.Equal(h.asked, []string{pw}) {
				t.Fatalf("checker asked about %q, want exactly the password once", h.asked)
			}
		})
	}

	t.Run("checker error is returned, not a verdict", func(t *testing.T) {
		boom := errors.New("range API unreachable")
		ok, msgs, err := Check(t.Context(), Config{CheckHIBP: true}, pw, nil, &fakeHIBP{err: boom})
		if ok || msgs != nil || !errors.Is(err, boom) {
			t.Fatalf("Check() = %v, %q, %v, want false, nil, %v", ok, msgs, err, boom)
		}
	})
	t.Run("no checker", func(t *testing.T) {
		ok, _, err := Check(t.Context(), Config{CheckHIBP: true}, pw, nil, nil)
		if ok || !errors.Is(err, ErrNoHIBPChecker) {
			t.Fatalf("Check() = %v, %v, want false, ErrNoHIBPChecker", ok, err)
		}
	})
	t.Run("static failure is never sent", func(t *testing.T) {
		h := &fakeHIBP{}
		cfg := Config{CheckStatic: true, LengthMin: 100, CheckHIBP: true}
		if ok, _, err := Check(t.Context(), cfg, pw, nil, h); ok || err != nil {
			t.Fatalf("Check() = %v, %v, want a static failure", ok, err)
		}
		if len(h.asked) != 0 {
			t.Fatalf("checker was asked about %q after the static rules failed", h.asked)
		}
	})
	t.Run("error message does not replace the breach message", func(t *testing.T) {
		cfg := Config{CheckHIBP: true, ErrorMessage: "custom"}
		_, msgs, _ := Check(t.Context(), cfg, pw, nil, &fakeHIBP{counts: map[string]int{pw: 3}})
		if want := []string{"Password exists on 3 online lists."}; !slices.Equal(msgs, want) {
			t.Fatalf("messages = %q, want %q", msgs, want)
		}
	})
}

func TestCheckStrength(t *testing.T) {
	strong := "vG7#qLm2!xTe9$wR" // score 4
	if s := EstimateStrength(strong, nil); s.Score != 4 {
		t.Fatalf("fixture %q scores %d, want 4", strong, s.Score)
	}
	tests := []struct {
		name      string
		threshold int
		password  string
		inputs    []string
		wantOK    bool
		wantWarn  string // a warning expected among the messages
	}{
		{"common password fails the default", 2, "password1", nil, false, WarnCommonWhole},
		{"season and year fail the default", 2, "Summer2024!", nil, false, WarnDate},
		{"username fails", 2, "jdoe1", []string{"jdoe"}, false, WarnUserInput},
		{"strong passes the default", 2, strong, nil, true, ""},
		{"threshold 0 lets score 1 through", 0, "xk9#", nil, true, ""},
		{"threshold 0 still stops score 0", 0, "password", nil, false, WarnCommonWhole},
		{"threshold 3 stops score 3", 3, "Xk9#mQ2", nil, false, ""},
		{"threshold 4 stops everything", 4, strong, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{CheckZxcvbn: true, ZxcvbnScoreThreshold: tt.threshold}
			ok, msgs, err := Check(t.Context(), cfg, tt.password, tt.inputs, nil)
			if err != nil {
				t.Fatalf("Check() error = %v", err)
			}
			if ok != tt.wantOK {
				t.Fatalf("Check(%q) = %v (score %d), want %v; messages %q", tt.password, ok, EstimateStrength(tt.password, tt.inputs).Score, tt.wantOK, msgs)
			}
			if ok {
				if msgs != nil {
					t.Fatalf("passing Check returned messages %q", msgs)
				}
				return
			}
			if len(msgs) < 2 || msgs[0] != MsgTooWeak || msgs[len(msgs)-1] != Suggestion {
				t.Fatalf("messages = %q, want %q first and the suggestion last", msgs, MsgTooWeak)
			}
			if tt.wantWarn != "" && !slices.Contains(msgs, tt.wantWarn) {
				t.Fatalf("messages = %q, want them to contain %q", msgs, tt.wantWarn)
			}
		})
	}
}

func TestCheckOrder(t *testing.T) {
	// A password that fails all three checks reports only the first.
	cfg := Config{CheckStatic: true, LengthMin: 20, CheckHIBP: true, CheckZxcvbn: true, ZxcvbnScoreThreshold: 2}
	h := &fakeHIBP{counts: map[string]int{"password": 9_000_000}}
	_, msgs, _ := Check(t.Context(), cfg, "password", nil, h)
	if want := []string{"Password must be at least 20 characters long."}; !slices.Equal(msgs, want) {
		t.Fatalf("messages = %q, want %q", msgs, want)
	}
	cfg.LengthMin = 0
	_, msgs, _ = Check(t.Context(), cfg, "password", nil, h)
	if want := []string{"Password exists on 9000000 online lists."}; !slices.Equal(msgs, want) {
		t.Fatalf("messages = %q, want %q", msgs, want)
	}
	h.counts = nil
	_, msgs, _ = Check(t.Context(), cfg, "password", nil, h)
	if len(msgs) == 0 || msgs[0] != MsgTooWeak {
		t.Fatalf("messages = %q, want the strength check's", msgs)
	}
}

// BenchmarkCheck is the usual configuration: static rules and the strength
// estimate on a 16-character password.
func BenchmarkCheck(b *testing.B) {
	cfg := DefaultConfig()
	cfg.LengthMin, cfg.AmountDigits, cfg.AmountUppercase, cfg.AmountLowercase, cfg.AmountSymbols = 12, 1, 1, 1, 1
	cfg.CheckZxcvbn = true
	inputs := []string{"jdoe", "Jane Doe", "jane.doe@example.com"}
	ctx := b.Context()
	for b.Loop() {
		if ok, msgs, err := Check(ctx, cfg, "vG7#qLm2!xTe9$wR", inputs, nil); !ok || err != nil {
			b.Fatalf("Check() = %v, %q, %v", ok, msgs, err)
		}
	}
}
