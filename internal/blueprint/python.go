package blueprint

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file gives resolved values the Python semantics authentik's tags
// have: str() and repr() for !Format, truth values for !If, !Condition and
// conditions, == for !Condition EQ, and the % operator for !Format.

// maxConversionWidth caps the width and precision of one %-conversion.
const maxConversionWidth = 4096

// typeName is the Python name of a value's type, for errors.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	case Tag:
		return "tag " + v.TagName()
	}
	return fmt.Sprintf("%T", v)
}

// truthy is Python's bool(v).
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int:
		return v != 0
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	// Values the caller's hooks return (primary keys and the like).
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !rv.IsNil()
	case reflect.Slice, reflect.Map, reflect.String:
		return rv.Len() > 0
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int() != 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() != 0
	case reflect.Float32, reflect.Float64:
		return rv.Float() != 0
	}
	return true
}

// number returns a bool, int or float64 as a float, like Python's numeric
// tower (bool is an int).
func number(v any) (float64, bool) {
	switch v := v.(type) {
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case int:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// pyEqual is Python's ==: numbers compare by value (True == 1), lists and
// dicts element by element.
func pyEqual(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		if !ok {
			return false
		}
		ai, aInt := intValue(a)
		bi, bInt := intValue(b)
		if aInt && bInt {
			return ai == bi
		}
		return x == y
	}
	switch a := a.(type) {
	case nil:
		return b == nil
	case string:
		s, ok := b.(string)
		return ok && a == s
	case []any:
		l, ok := b.([]any)
		if !ok || len(a) != len(l) {
			return false
		}
		for i := range a {
			if !pyEqual(a[i], l[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		m, ok := b.(map[string]any)
		if !ok || len(a) != len(m) {
			return false
		}
		for k, v := range a {
			w, ok := m[k]
			if !ok || !pyEqual(v, w) {
				return false
			}
		}
		return true
	}
	if b == nil {
		return false
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta != tb {
		return false
	}
	if ta.Comparable() {
		return a == b
	}
	return reflect.DeepEqual(a, b)
}

// intValue returns a bool or int as an int.
func intValue(v any) (int, bool) {
	switch v := v.(type) {
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case int:
		return v, true
	}
	return 0, false
}

// pyRepr is Python's repr(v). Dict keys come out sorted (Go maps have no
// order).
func pyRepr(v any) string {
	s, _ := reprLimit(v, math.MaxInt)
	return s
}

// shortRepr is a repr cut to a length fit for an error message.
func shortRepr(v any) string {
	s, complete := reprLimit(v, 100)
	if !complete {
		s += "..."
	}
	return s
}

// reprLimit is repr(v) cut at max bytes; complete is false when it was cut.
// It stops walking v once it has max bytes, so a huge value costs no more
// than max.
func reprLimit(v any, max int) (string, bool) {
	w := &reprWriter{max: max}
	w.value(v)
	return w.b.String(), !w.full
}

type reprWriter struct {
	b    strings.Builder
	max  int
	full bool
}

func (w *reprWriter) str(s string) {
	if w.full {
		return
	}
	if room := w.max - w.b.Len(); len(s) > room {
		w.b.WriteString(s[:room])
		w.full = true
		return
	}
	w.b.WriteString(s)
}

func (w *reprWriter) value(v any) {
	if w.full {
		return
	}
	switch v := v.(type) {
	case nil:
		w.str("None")
	case bool:
		if v {
			w.str("True")
		} else {
			w.str("False")
		}
	case int:
		w.str(strconv.Itoa(v))
	case float64:
		w.str(pyFloat(v))
	case string:
		w.str(quote(v))
	case []any:
		w.str("[")
		for i, e := range v {
			if w.full {
				return
			}
			if i > 0 {
				w.str(", ")
			}
			w.value(e)
		}
		w.str("]")
	case map[string]any:
		w.str("{")
		for i, k := range sortedKeys(v) {
			if w.full {
				return
			}
			if i > 0 {
				w.str(", ")
			}
			w.str(quote(k))
			w.str(": ")
			w.value(v[k])
		}
		w.str("}")
	case fmt.Stringer:
		w.str(v.String())
	default:
		w.str(fmt.Sprint(v))
	}
}

// sortedKeys returns a map's keys in order: Go maps have none, and output
// and errors must not change from one run to the next.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quote is Python's repr of a str: single quotes unless the text has a
// single quote and no double quote.
func quote(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyFloat is Python's repr of a float: the shortest form that reads back,
// in scientific notation when the exponent is below -4 or at least 16.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	if x < -4 || x >= 16 {
		return mant + "e" + exp
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// errFormat is the class of !Format errors Python raises as TypeError or
// ValueError.
var errFormat = errors.New("format")

func formatErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errFormat}, args...)...)
}

// pyFormat is Python's format % tuple(args): conversions d i u o x X e E f
// F g G c r s a and %%, with flags (# 0 - space +), width and precision
// (numbers or *). Mapping keys ("%(name)s") are refused, as they are in
// Python when the right operand is a tuple. A result longer than maxLen
// bytes is an ErrTooManyNodes error, raised before it is built.
func pyFormat(format string, args []any, maxLen int) (string, error) {
	var b strings.Builder
	tooLong := func() error {
		return limitError(ErrTooManyNodes, "the formatted string is longer than the %d bytes left", maxLen)
	}
	next := 0
	arg := func() (any, error) {
		if next >= len(args) {
			return nil, formatErrorf("not enough arguments for format string")
		}
		next++
		return args[next-1], nil
	}
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			j := strings.IndexByte(format[i:], '%')
			if j < 0 {
				j = len(format) - i
			}
			if b.Len()+j > maxLen {
				return "", tooLong()
			}
			b.WriteString(format[i : i+j])
			i += j
			continue
		}
		i++
		if i >= len(format) {
			return "", formatErrorf("incomplete format")
		}
		if format[i] == '(' {
			return "", formatErrorf("format requires a mapping")
		}
		var spec convSpec
		// Flags.
	flags:
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				spec.left = true
			case '+':
				spec.plus = true
			case ' ':
				spec.space = true
			case '#':
				spec.alt = true
			case '0':
				spec.zero = true
			default:
				break flags
			}
		}
		// Width.
		if i < len(format) && format[i] == '*' {
			i++
			v, err := arg()
			if err != nil {
				return "", err
			}
			w, ok := v.(int)
			if !ok {
				return "", formatErrorf("* wants int")
			}
			if w < 0 {
				spec.left, w = true, -w
			}
			spec.width = w
		} else {
			for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
				spec.width = spec.width*10 + int(format[i]-'0')
				if spec.width > maxConversionWidth {
					break
				}
			}
		}
		// Precision.
		spec.prec = -1
		if i < len(format) && format[i] == '.' {
			i++
			spec.prec = 0
			if i < len(format) && format[i] == '*' {
				i++
				v, err := arg()
				if err != nil {
					return "", err
				}
				p, ok := v.(int)
				if !ok {
					return "", formatErrorf("* wants int")
				}
				spec.prec = max(p, 0)
			} else {
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					spec.prec = spec.prec*10 + int(format[i]-'0')
					if spec.prec > maxConversionWidth {
						break
					}
				}
			}
		}
		if spec.width > maxConversionWidth || spec.prec > maxConversionWidth {
			return "", formatErrorf("width or precision larger than %d", maxConversionWidth)
		}
		// Length modifiers are accepted and ignored, as in Python.
		for i < len(format) && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L') {
			i++
		}
		if i >= len(format) {
			return "", formatErrorf("incomplete format")
		}
		verb, size := utf8.DecodeRuneInString(format[i:])
		i += size
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		v, err := arg()
		if err != nil {
			return "", err
		}
		s, err := spec.convert(verb, v, i-size, maxLen-b.Len())
		if err != nil {
			return "", err
		}
		if b.Len()+len(s) > maxLen {
			return "", tooLong()
		}
		b.WriteString(s)
	}
	if next < len(args) {
		return "", formatErrorf("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

type convSpec struct {
	left, plus, space, alt, zero bool
	width, prec                  int
}

// convert formats one argument; room is the most bytes the result may have.
func (c convSpec) convert(verb rune, v any, at, room int) (string, error) {
	switch verb {
	case 's', 'r', 'a':
		s, complete := "", true
		if str, ok := v.(string); ok && verb == 's' {
			s = str
		} else {
			s, complete = reprLimit(v, max(room, 0)+1)
		}
		if !complete {
			return "", limitError(ErrTooManyNodes, "the formatted string is longer than the %d bytes left", room)
		}
		if verb == 'a' {
			s = asciiRepr(s)
		}
		if c.prec >= 0 && utf8.RuneCountInString(s) > c.prec {
			s = string([]rune(s)[:c.prec])
		}
		return c.pad(s), nil
	case 'c':
		var r rune
		switch v := v.(type) {
		case int:
			if v < 0 || v > unicode10FFFF {
				return "", formatErrorf("%%c arg not in range(0x110000)")
			}
			r = rune(v)
		case string:
			if utf8.RuneCountInString(v) != 1 {
				return "", formatErrorf("%%c requires int or char")
			}
			r, _ = utf8.DecodeRuneInString(v)
		default:
			return "", formatErrorf("%%c requires int or char")
		}
		return c.pad(string(r)), nil
	case 'd', 'i', 'u':
		n, err := c.integer(verb, v, true)
		if err != nil {
			return "", err
		}
		digits := strconv.FormatUint(absInt(n), 10)
		return c.number(n < 0, "", c.precDigits(digits)), nil
	case 'o', 'x', 'X':
		n, err := c.integer(verb, v, false)
		if err != nil {
			return "", err
		}
		base, prefix := 16, "0x"
		if verb == 'o' {
			base, prefix = 8, "0o"
		}
		digits := strconv.FormatUint(absInt(n), base)
		if verb == 'X' {
			digits, prefix = strings.ToUpper(digits), "0X"
		}
		if !c.alt {
			prefix = ""
		}
		return c.number(n < 0, prefix, c.precDigits(digits)), nil
	case 'e', 'E', 'f', 'F', 'g', 'G':
		f, ok := number(v)
		if !ok {
			return "", formatErrorf("must be real number, not %s", typeName(v))
		}
		prec := c.prec
		if prec < 0 {
			prec = 6
		}
		var digits string
		switch {
		case math.IsNaN(f):
			digits = "nan"
		case math.IsInf(f, 0):
			digits = "inf"
		default:
			// Go's fmt matches Python here, '#' included (a decimal
			// point always, trailing zeros kept for %g).
			flags := ""
			if c.alt {
				flags = "#"
			}
			digits = fmt.Sprintf("%"+flags+".*"+string(verb|0x20), prec, math.Abs(f))
		}
		if verb == 'E' || verb == 'F' || verb == 'G' {
			digits = strings.ToUpper(digits)
		}
		zero := c.zero && !math.IsNaN(f) && !math.IsInf(f, 0)
		c.zero = zero
		return c.number(math.Signbit(f) && !math.IsNaN(f), "", digits), nil
	}
	return "", formatErrorf("unsupported format character %q (0x%x) at index %d", verb, verb, at)
}

const unicode10FFFF = 0x10FFFF

// integer converts the argument of an integer conversion: an int or bool,
// or for %d/%i/%u also a float (truncated).
func (c convSpec) integer(verb rune, v any, acceptFloat bool) (int, error) {
	switch v := v.(type) {
	case bool, int:
		n, _ := intValue(v)
		return n, nil
	case float64:
		if !acceptFloat {
			return 0, formatErrorf("%%%c format: an integer is required, not float", verb)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v >= math.MaxInt64 || v <= math.MinInt64 {
			return 0, formatErrorf("cannot convert float %s to integer", pyFloat(v))
		}
		return int(v), nil
	}
	if acceptFloat {
		return 0, formatErrorf("%%%c format: a real number is required, not %s", verb, typeName(v))
	}
	return 0, formatErrorf("%%%c format: an integer is required, not %s", verb, typeName(v))
}

func absInt(n int) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1
	}
	return uint64(n)
}

// precDigits applies an integer conversion's precision: the minimum number
// of digits.
func (c convSpec) precDigits(digits string) string {
	if c.prec > len(digits) {
		return strings.Repeat("0", c.prec-len(digits)) + digits
	}
	return digits
}

// number lays out a sign, a prefix and digits in the width.
func (c convSpec) number(negative bool, prefix, digits string) string {
	sign := ""
	switch {
	case negative:
		sign = "-"
	case c.plus:
		sign = "+"
	case c.space:
		sign = " "
	}
	body := sign + prefix + digits
	if c.zero && !c.left && len(body) < c.width {
		return sign + prefix + strings.Repeat("0", c.width-len(body)) + digits
	}
	return c.pad(body)
}

// pad fills to the width with spaces, on the left unless '-' was given.
func (c convSpec) pad(s string) string {
	n := utf8.RuneCountInString(s)
	if n >= c.width {
		return s
	}
	fill := strings.Repeat(" ", c.width-n)
	if c.left {
		return s + fill
	}
	return fill + s
}

// asciiRepr escapes the non-ASCII runes of a repr, like Python's ascii().
func asciiRepr(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	return b.String()
}
