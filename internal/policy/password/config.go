package password

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Defaults of authentik's PasswordPolicy model.
const (
	// DefaultPasswordField is the prompt field (or flow context key) that
	// holds the password.
	DefaultPasswordField = "password"
	// DefaultSymbolCharset is authentik's symbol_charset: ASCII punctuation
	// and the space.
	DefaultSymbolCharset = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ "
	// DefaultZxcvbnScoreThreshold: a score of 2 or less fails, so a password
	// needs a score of 3 or 4.
	DefaultZxcvbnScoreThreshold = 2
	// MaxScore is the highest strength score.
	MaxScore = 4
	// MaxCount bounds length_min and the amount_* counts (not
	// hibp_allowed_count). authentik has no bound; no sane policy comes near
	// it, and it keeps a mistyped value from locking every user out.
	MaxCount = 1024
)

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("password policy: invalid configuration")

// Config is a Password policy, field for field as authentik stores it
// (the JSON names are authentik's API names).
//
// The zero value checks nothing; DefaultConfig returns authentik's defaults.
// An empty PasswordField or SymbolCharset means its default.
type Config struct {
	// PasswordField is the key of the password in the prompt data or the
	// flow context (password_field); see Lookup.
	PasswordField string `json:"password_field"`

	// Static rules, checked when CheckStatic is set. Letters and digits are
	// counted by Unicode category (unicode.IsUpper, IsLower, IsDigit) where
	// authentik counts only ASCII [A-Z], [a-z] and [0-9]; lengths are in
	// runes, as Python's len counts code points.
	LengthMin       int `json:"length_min"`
	AmountDigits    int `json:"amount_digits"`
	AmountUppercase int `json:"amount_uppercase"`
	AmountLowercase int `json:"amount_lowercase"`
	AmountSymbols   int `json:"amount_symbols"`
	// SymbolCharset lists the runes that count as symbols (symbol_charset).
	SymbolCharset string `json:"symbol_charset"`

	CheckStatic bool `json:"check_static_rules"`
	CheckHIBP   bool `json:"check_have_i_been_pwned"`
	CheckZxcvbn bool `json:"check_zxcvbn"`

	// HIBPAllowedCount is how many times the password may appear in Pwned
	// Passwords before the check fails (hibp_allowed_count).
	HIBPAllowedCount int `json:"hibp_allowed_count"`
	// ZxcvbnScoreThreshold: a strength score at or below it fails
	// (zxcvbn_score_threshold, 0-4). As in authentik, 4 fails every
	// password, since no score is above it.
	ZxcvbnScoreThreshold int `json:"zxcvbn_score_threshold"`

	// ErrorMessage, when set, replaces the messages of the static rules
	// (error_message). As in authentik, the breached and strength checks keep
	// their own messages.
	ErrorMessage string `json:"error_message"`
}

// DefaultConfig returns authentik's defaults: static rules on (with every
// count at 0), the breached and strength checks off, threshold 2.
func DefaultConfig() Config {
	return Config{
		PasswordField:        DefaultPasswordField,
		SymbolCharset:        DefaultSymbolCharset,
		CheckStatic:          true,
		ZxcvbnScoreThreshold: DefaultZxcvbnScoreThreshold,
	}
}

// Validate reports every invalid field at once, each error wrapping
// ErrInvalidConfig and naming the field as authentik's API does.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"length_min", c.LengthMin},
		{"amount_digits", c.AmountDigits},
		{"amount_uppercase", c.AmountUppercase},
		{"amount_lowercase", c.AmountLowercase},
		{"amount_symbols", c.AmountSymbols},
	} {
		switch {
		case f.v < 0:
			bad("%s must not be negative (got %d)", f.name, f.v)
		case f.v > MaxCount:
			bad("%s must be at most %d (got %d)", f.name, MaxCount, f.v)
		}
	}
	if c.HIBPAllowedCount < 0 {
		bad("hibp_allowed_count must not be negative (got %d)", c.HIBPAllowedCount)
	}
	if c.ZxcvbnScoreThreshold < 0 || c.ZxcvbnScoreThreshold > MaxScore {
		bad("zxcvbn_score_threshold must be between 0 and %d (got %d)", MaxScore, c.ZxcvbnScoreThreshold)
	}
	if !utf8.ValidString(c.SymbolCharset) {
		bad("symbol_charset is not valid UTF-8")
	}
	if !utf8.ValidString(c.ErrorMessage) {
		bad("error_message is not valid UTF-8")
	}
	return errors.Join(errs...)
}

func (c Config) passwordField() string {
	if c.PasswordField == "" {
		return DefaultPasswordField
	}
	return c.PasswordField
}

func (c Config) symbolCharset() string {
	if c.SymbolCharset == "" {
		return DefaultSymbolCharset
	}
	return c.SymbolCharset
}

// Lookup finds the password the policy checks, as authentik does: the
// PasswordField of the prompt data first, then of the flow context. A value
// that is not a string is formatted with fmt.Sprint (authentik calls str on
// it). ok is false when the field is missing or empty, which authentik
// reports as "Password not set in context" (see Check).
func (c Config) Lookup(promptData, flowContext map[string]any) (password string, ok bool) {
	field := c.passwordField()
	v, found := promptData[field]
	if !found {
		v, found = flowContext[field]
	}
	if !found || v == nil {
		return "", false
	}
	s, isString := v.(string)
	if !isString {
		s = fmt.Sprint(v)
	}
	return s, s != ""
}
