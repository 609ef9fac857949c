package blueprint

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// The expected strings come from CPython 3.11 (format % tuple(args)).
func TestPyFormat(t *testing.T) {
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"my-policy-%s", []any{"x"}, "my-policy-x"},
		{"%s-%s", []any{"a", 1}, "a-1"},
		{"%d", []any{42}, "42"},
		{"%d", []any{3.99}, "3"},
		{"%d", []any{true}, "1"},
		{"%i|%u", []any{-7, 7}, "-7|7"},
		{"%5d|%-5d|%05d|%+d|% d", []any{42, 42, -42, 42, 42}, "   42|42   |-0042|+42| 42"},
		{"%.3d", []any{7}, "007"},
		{"%x %X %o %#x %#o %#X", []any{255, 255, 8, 255, 8, 255}, "ff FF 10 0xff 0o10 0XFF"},
		{"%x", []any{-255}, "-ff"},
		{"%f", []any{1.5}, "1.500000"},
		{"%.2f", []any{3.14159}, "3.14"},
		{"%e", []any{12345.678}, "1.234568e+04"},
		{"%g %g %g", []any{0.0001, 1e-05, 1234567.0}, "0.0001 1e-05 1.23457e+06"},
		{"%#g", []any{1.0}, "1.00000"},
		{"%G", []any{1e-10}, "1E-10"},
		{"%10.3f|", []any{-3.14159}, "    -3.142|"},
		{"%f %f", []any{math.Inf(1), math.Inf(-1)}, "inf -inf"},
		{"%s", []any{nil}, "None"},
		{"%s %s", []any{true, false}, "True False"},
		{"%s", []any{[]any{1, "a", nil, true}}, "[1, 'a', None, True]"},
		{"%s", []any{map[string]any{"a": "x", "b": 1}}, "{'a': 'x', 'b': 1}"},
		{"%r", []any{"it's"}, `"it's"`},
		{"%r", []any{`a"b`}, `'a"b'`},
		{"%r", []any{"x\ny"}, `'x\ny'`},
		{"%a", []any{"é"}, `'\xe9'`},
		{"%.2s", []any{"abcdef"}, "ab"},
		{"%5s|%-5s|", []any{"ab", "ab"}, "   ab|ab   |"},
		{"%c%c", []any{65, "z"}, "Az"},
		{"100%%", nil, "100%"},
		{"%*d|%-*d|%.*f", []any{5, 1, 4, 2, 1, 2.55}, "    1|2   |2.5"},
		{"%s", []any{1.0}, "1.0"},
		{"%s %s %s", []any{1e16, 1e15, 1.5e-07}, "1e+16 1000000000000000.0 1.5e-07"},
		{"%s", []any{0.1}, "0.1"},
		{"%ld", []any{5}, "5"},
		{"no conversions", nil, "no conversions"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			got, err := pyFormat(tt.format, tt.args, 1<<20)
			if err != nil {
				t.Fatalf("pyFormat(%q, %v): %v", tt.format, tt.args, err)
			}
			if got != tt.want {
				t.Errorf("pyFormat(%q, %v) = %q, want %q", tt.format, tt.args, got, tt.want)
			}
		})
	}
}

func TestPyFormatErrors(t *testing.T) {
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"%d", []any{"x"}, "%d format: a real number is required, not str"},
		{"%s %s", []any{"a"}, "not enough arguments for format string"},
		{"%s", []any{"a", "b"}, "not all arguments converted during string formatting"},
		{"plain", []any{"a"}, "not all arguments converted during string formatting"},
		{"%x", []any{1.5}, "%x format: an integer is required, not float"},
		{"%(a)s", []any{"x"}, "format requires a mapping"},
		{"%q", []any{1}, "unsupported format character 'q' (0x71) at index 1"},
		{"%", nil, "incomplete format"},
		{"%5", []any{1}, "incomplete format"},
		{"%c", []any{"ab"}, "%c requires int or char"},
		{"%d", []any{math.NaN()}, "cannot convert float nan to integer"},
		{"%f", []any{"x"}, "must be real number, not str"},
		{"%99999s", []any{"x"}, "width or precision larger than 4096"},
		{"%.99999f", []any{1.0}, "width or precision larger than 4096"},
		{"%*s", []any{100000, "x"}, "width or precision larger than 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			_, err := pyFormat(tt.format, tt.args, 1<<20)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, errFormat) {
				t.Errorf("pyFormat(%q, %v) error = %v, want %q", tt.format, tt.args, err, tt.want)
			}
		})
	}
}

type stringer struct{}

func (stringer) String() string { return "3f2504e0-4f89-11d3-9a0c-0305e82c3301" }

func TestTruthy(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want bool
	}{
		{nil, false}, {false, false}, {true, true}, {0, false}, {-1, true},
		{0.0, false}, {math.NaN(), true}, {"", false}, {"False", true},
		{[]any{}, false}, {[]any{nil}, true}, {map[string]any{}, false},
		{map[string]any{"a": nil}, true}, {stringer{}, true}, {int64(0), false},
		{(*int)(nil), false}, {[]string{}, false},
	} {
		if got := truthy(tt.v); got != tt.want {
			t.Errorf("truthy(%#v) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestPyEqual(t *testing.T) {
	for _, tt := range []struct {
		a, b any
		want bool
	}{
		{1, 1, true}, {1, 1.0, true}, {true, 1, true}, {false, 0.0, true}, {1, "1", false},
		{"a", "a", true}, {nil, nil, true}, {nil, false, false},
		{[]any{1, "a"}, []any{1.0, "a"}, true}, {[]any{1}, []any{1, 2}, false},
		{map[string]any{"a": 1}, map[string]any{"a": true}, true},
		{map[string]any{"a": 1}, map[string]any{"b": 1}, false},
		{stringer{}, stringer{}, true}, {stringer{}, "x", false},
	} {
		if got := pyEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("pyEqual(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestPyRepr(t *testing.T) {
	for _, tt := range []struct {
		v    any
		want string
	}{
		{nil, "None"},
		{[]any{1.5, map[string]any{"k": []any{}}, "a'b\"c"}, `[1.5, {'k': []}, 'a\'b"c']`},
		{stringer{}, "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
		{math.NaN(), "nan"},
		{-0.0001, "-0.0001"},
		{123456789012345678.0, "1.2345678901234568e+17"},
	} {
		if got := pyRepr(tt.v); got != tt.want {
			t.Errorf("pyRepr(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}
