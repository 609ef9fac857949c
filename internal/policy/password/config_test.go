package password

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	want := Config{
		PasswordField:        "password",
		SymbolCharset:        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ",
		CheckStatic:          true,
		ZxcvbnScoreThreshold: 2,
	}
	if c != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error, one per problem; none: valid
	}{
		{"zero value", Config{}, nil},
		{"all set", Config{LengthMin: 12, AmountDigits: 1, AmountUppercase: 1, AmountLowercase: 1, AmountSymbols: 1, HIBPAllowedCount: 5, ZxcvbnScoreThreshold: 4}, nil},
		{"max counts", Config{LengthMin: MaxCount, AmountSymbols: MaxCount}, nil},
		{"negative length", Config{LengthMin: -1}, []string{"length_min must not be negative (got -1)"}},
		{"negative digits", Config{AmountDigits: -2}, []string{"amount_digits must not be negative (got -2)"}},
		{"negative uppercase", Config{AmountUppercase: -3}, []string{"amount_uppercase must not be negative"}},
		{"negative lowercase", Config{AmountLowercase: -4}, []string{"amount_lowercase must not be negative"}},
		{"negative symbols", Config{AmountSymbols: -5}, []string{"amount_symbols must not be negative"}},
		{"huge length", Config{LengthMin: MaxCount + 1}, []string{"length_min must be at most 1024 (got 1025)"}},
		{"negative hibp count", Config{HIBPAllowedCount: -1}, []string{"hibp_allowed_count must not be negative"}},
		{"threshold below", Config{ZxcvbnScoreThreshold: -1}, []string{"zxcvbn_score_threshold must be between 0 and 4 (got -1)"}},
		{"threshold above", Config{ZxcvbnScoreThreshold: 5}, []string{"zxcvbn_score_threshold must be between 0 and 4 (got 5)"}},
		{"charset not utf-8", Config{SymbolCharset: "!\xff"}, []string{"symbol_charset is not valid UTF-8"}},
		{"message not utf-8", Config{ErrorMessage: "\xc3"}, []string{"error_message is not valid UTF-8"}},
		{"every problem at once", Config{LengthMin: -1, AmountDigits: -1, ZxcvbnScoreThreshold: 9}, []string{"length_min", "amount_digits", "zxcvbn_score_threshold"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want an error wrapping ErrInvalidConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			if got := strings.Count(err.Error(), "\n") + 1; got != len(tt.want) {
				t.Errorf("Validate() reported %d problems, want %d: %q", got, len(tt.want), err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name         string
		field        string
		prompt, flow map[string]any
		want         string
		wantOK       bool
	}{
		{"default field from prompt", "", map[string]any{"password": "hunter2"}, nil, "hunter2", true},
		{"prompt wins over context", "", map[string]any{"password": "a"}, map[string]any{"password": "b"}, "a", true},
		{"context when prompt lacks it", "", map[string]any{"other": "a"}, map[string]any{"password": "b"}, "b", true},
		{"custom field", "new_password", map[string]any{"password": "a", "new_password": "c"}, nil, "c", true},
		{"missing", "", map[string]any{"username": "x"}, map[string]any{}, "", false},
		{"empty", "", map[string]any{"password": ""}, nil, "", false},
		{"nil in prompt does not fall back", "", map[string]any{"password": nil}, map[string]any{"password": "b"}, "", false},
		{"non-string is formatted", "", map[string]any{"password": 123456}, nil, "123456", true},
		{"nil maps", "", nil, nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Config{PasswordField: tt.field}.Lookup(tt.prompt, tt.flow)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("Lookup() = %q, %v, want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
