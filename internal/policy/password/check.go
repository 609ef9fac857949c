package password

import (
	"context"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// HIBPChecker tells how many times a password appears in a breach corpus.
// HIBPClient implements it with the Pwned Passwords range API; tests and
// offline deployments can supply their own.
type HIBPChecker interface {
	Count(ctx context.Context, password string) (int, error)
}

// Messages, worded as authentik words them where authentik has a message of
// its own (authentik has none per static rule: it returns error_message).
const (
	// MsgNotSet is authentik's message when the password field is missing or
	// empty.
	MsgNotSet = "Password not set in context"
	// MsgTooWeak leads the messages of a failed strength check.
	MsgTooWeak = "Password is too weak."
)

// msgBreached is authentik's message for a password found more than
// hibp_allowed_count times.
func msgBreached(count int) string {
	return fmt.Sprintf("Password exists on %d online lists.", count)
}

// ErrNoHIBPChecker: CheckHIBP is set but Check was given no HIBPChecker.
var ErrNoHIBPChecker = errors.New("password policy: have i been pwned check enabled without a checker")

// Check evaluates password against cfg. ok reports whether it passes;
// messages, shown to the user, say why it does not. The checks run in
// authentik's order (static rules, breached, strength) and Check returns at
// the first that fails, so a password the static rules reject is never sent
// to the breach corpus.
//
// userInputs are strings the user is known by (username, name, email, the
// brand's title); the strength check treats them as the cheapest guesses.
//
// err is non-nil when cfg is invalid (wrapping ErrInvalidConfig) or when the
// breached check could not be made; ok is then false and messages nil, and
// the caller chooses between failing closed (authentik's behaviour: the
// policy fails with the error text) and open. hibp may be nil unless
// cfg.CheckHIBP is set.
func Check(ctx context.Context, cfg Config, password string, userInputs []string, hibp HIBPChecker) (ok bool, messages []string, err error) {
	if err := cfg.Validate(); err != nil {
		return false, nil, err
	}
	if password == "" {
		return false, []string{MsgNotSet}, nil
	}
	if cfg.CheckStatic {
		if msgs := staticRules(cfg, password); len(msgs) > 0 {
			if cfg.ErrorMessage != "" {
				msgs = []string{cfg.ErrorMessage}
			}
			return false, msgs, nil
		}
	}
	if cfg.CheckHIBP {
		if hibp == nil {
			return false, nil, ErrNoHIBPChecker
		}
		n, err := hibp.Count(ctx, password)
		if err != nil {
			return false, nil, fmt.Errorf("password policy: have i been pwned: %w", err)
		}
		if n > cfg.HIBPAllowedCount {
			return false, []string{msgBreached(n)}, nil
		}
	}
	if cfg.CheckZxcvbn {
		s := EstimateStrength(password, userInputs)
		if s.Score <= cfg.ZxcvbnScoreThreshold {
			msgs := append([]string{MsgTooWeak}, s.Warnings...)
			return false, append(msgs, Suggestion), nil
		}
	}
	return true, nil, nil
}

// staticRules returns one message per static rule the password breaks, in
// authentik's order of checking (length, digits, lowercase, uppercase,
// symbols). authentik stops at the first; listing them all tells the user
// everything at once.
func staticRules(cfg Config, password string) []string {
	var length, digits, upper, lower, symbols int
	charset := cfg.symbolCharset()
	isSymbol := runeSet(charset)
	for _, r := range password {
		length++
		switch {
		case unicode.IsDigit(r):
			digits++
		case unicode.IsUpper(r):
			upper++
		case unicode.IsLower(r):
			lower++
		}
		// A symbol is any rune of the charset, even a letter or digit put
		// there on purpose, so it is counted apart from the classes above.
		if isSymbol(r) {
			symbols++
		}
	}
	var msgs []string
	if length < cfg.LengthMin {
		msgs = append(msgs, fmt.Sprintf("Password must be at least %s long.", plural(cfg.LengthMin, "character", "characters")))
	}
	if digits < cfg.AmountDigits {
		msgs = append(msgs, fmt.Sprintf("Password must contain at least %s.", plural(cfg.AmountDigits, "digit", "digits")))
	}
	if lower < cfg.AmountLowercase {
		msgs = append(msgs, fmt.Sprintf("Password must contain at least %s.", plural(cfg.AmountLowercase, "lowercase letter", "lowercase letters")))
	}
	if upper < cfg.AmountUppercase {
		msgs = append(msgs, fmt.Sprintf("Password must contain at least %s.", plural(cfg.AmountUppercase, "uppercase letter", "uppercase letters")))
	}
	if symbols < cfg.AmountSymbols {
		msg := fmt.Sprintf("Password must contain at least %s", plural(cfg.AmountSymbols, "symbol", "symbols"))
		if charset != DefaultSymbolCharset {
			// A custom charset is not what users expect "symbol" to mean.
			msg += fmt.Sprintf(" (from %q)", charset)
		}
		msgs = append(msgs, msg+".")
	}
	return msgs
}

// runeSet returns a membership test for the runes of s that costs O(1) per
// rune however long s is.
func runeSet(s string) func(rune) bool {
	var ascii [utf8.RuneSelf]bool
	var other map[rune]bool
	for _, r := range s {
		if r < utf8.RuneSelf {
			ascii[r] = true
			continue
		}
		if other == nil {
			other = make(map[rune]bool)
		}
		other[r] = true
	}
	return func(r rune) bool {
		if r >= 0 && r < utf8.RuneSelf {
			return ascii[r]
		}
		return other[r]
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
