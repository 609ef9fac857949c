package password

import (
	"math"
	"testing"
	"time"
)

// FuzzCheck runs the static rules and the strength estimate on arbitrary
// passwords, configurations and user inputs: they must not panic, must
// agree with Validate, and must stay fast however long or odd the input.
func FuzzCheck(f *testing.F) {
	f.Add("password1", 8, 1, 1, 1, 1, 2, "", "jdoe")
	f.Add("Summer2024!", 12, 2, 1, 1, 1, 2, "!", "Jane Doe")
	f.Add("", 0, 0, 0, 0, 0, 0, "", "")
	f.Add("p@ssw0rd", -1, 0, 0, 0, 0, 5, "\xff", "")
	f.Add("31.12.1999qwertyaaaaaabcabc", 0, 0, 0, 0, 3, 4, "€$", "jane.doe@example.com")
	f.Add("1|1|1|1|1|1|1|1|1|1|1|1|", 0, 0, 0, 0, 0, 1, "|", "1|1|")
	f.Add("ÉÖßé٣٤\u00a0\U0001F600", 4, 2, 2, 2, 2, 3, "\U0001F600", "ß")
	f.Fuzz(func(t *testing.T, password string, lengthMin, digits, upper, lower, symbols, threshold int, charset, user string) {
		cfg := Config{
			LengthMin: lengthMin, AmountDigits: digits, AmountUppercase: upper,
			AmountLowercase: lower, AmountSymbols: symbols, SymbolCharset: charset,
			CheckStatic: true, CheckZxcvbn: true, ZxcvbnScoreThreshold: threshold,
		}
		start := time.Now()
		ok, msgs, err := Check(t.Context(), cfg, password, []string{user}, nil)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Check took %v on %d bytes", d, len(password))
		}
		if verr := cfg.Validate(); verr != nil {
			if err == nil || ok {
				t.Fatalf("invalid config (%v), Check() = %v, %v", verr, ok, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Check() error = %v with a valid config", err)
		}
		if ok != (len(msgs) == 0) {
			t.Fatalf("Check() = %v with messages %q", ok, msgs)
		}
		for _, m := range msgs {
			if m == "" {
				t.Fatalf("empty message among %q", msgs)
			}
		}

		s := EstimateStrength(password, []string{user})
		if s.Score < 0 || s.Score > MaxScore || math.IsNaN(s.GuessesLog10) || math.IsInf(s.GuessesLog10, 0) || s.GuessesLog10 < 0 {
			t.Fatalf("EstimateStrength() = %+v", s)
		}
		if s.Score != score(s.GuessesLog10) {
			t.Fatalf("Score %d does not match log10 guesses %v", s.Score, s.GuessesLog10)
		}
		// No estimate is above that of random characters.
		var brute float64
		for i, r := range []rune(password) {
			if i == MaxAnalysedRunes {
				break
			}
			brute += bruteforceLog10(r)
		}
		if s.GuessesLog10 > brute+1e-9 {
			t.Fatalf("estimate %v above brute force %v", s.GuessesLog10, brute)
		}
	})
}
