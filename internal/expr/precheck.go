package expr

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// precheck scans the source the way Python would tokenize it (skipping
// strings and comments) and reports the Python constructs Starlark lacks,
// with a hint on what to write instead. The Starlark parser would reject
// them too, but with messages such as "got import, want primary
// expression" that do not help someone porting an authentik expression.
//
// It also rewrites the one Python idiom that has an exact Starlark
// equivalent: "x is None" and "x is not None" (and the same with True and
// False) become "x == None" and "x != None". The rewrite keeps every byte
// offset, so positions reported later still point into the user's text.
//
// Anything precheck does not understand is left to the Starlark parser,
// which reports it with its own message.
func precheck(src string) (string, *posError) {
	return scan(src, nil)
}

// span is where a token starts and where the next character is.
type span struct{ line, col, endLine, endCol int }

// tokenStart maps the position just after a token, where the Starlark
// parser reports most of its errors ("got X, want Y"), to the start of
// that token. A position that ends no token is returned unchanged.
func tokenStart(src string, line, col int) (int, int) {
	var spans []span
	scan(src, &spans)
	for _, sp := range spans {
		if sp.endLine == line && sp.endCol == col {
			return sp.line, sp.col
		}
	}
	return line, col
}

// scan is precheck, also recording token spans if spans is not nil.
func scan(src string, spans *[]span) (string, *posError) {
	s := scanner{src: src, line: 1, col: 1, stmtStart: true}
	var edits []edit
	for s.i < len(s.src) {
		c := s.src[s.i]
		line, col := s.line, s.col
		token := true
		switch {
		case c == '\n':
			if s.depth == 0 {
				s.stmtStart = true
				s.prevOperand = false
			}
			s.next()
			token = false
		case c == ' ' || c == '\t' || c == '\f':
			s.next()
			token = false
		case c == '\\' && s.peek(1) == '\n':
			s.next()
			s.next()
			token = false
		case c == '#':
			for s.i < len(s.src) && s.src[s.i] != '\n' {
				s.next()
			}
			token = false
		case c == '"' || c == '\'':
			if !s.skipString() {
				return applyEdits(src, edits), nil // unterminated: the parser reports it
			}
			s.operand()
		case c >= '0' && c <= '9' || c == '.' && isDigit(s.peek(1)):
			num := s.number()
			if strings.Contains(num, "_") {
				return "", &posError{line, col, "digit separators are not supported in numbers (" + num + "); write " + strings.ReplaceAll(num, "_", "")}
			}
			s.operand()
		case isIdentStart(s.runeAt(s.i)):
			if e, err := s.word(); err != nil {
				return "", err
			} else if e != nil {
				edits = append(edits, e...)
			}
		default:
			if err := s.punct(); err != nil {
				return "", err
			}
		}
		if token && spans != nil {
			*spans = append(*spans, span{line, col, s.line, s.col})
		}
	}
	return applyEdits(src, edits), nil
}

// posError is an error at a 1-based line and column (in runes), the
// convention of go.starlark.net/syntax.
type posError struct {
	line, col int
	msg       string
}

type edit struct {
	off  int
	text string // replaces len(text) bytes at off
}

func applyEdits(src string, edits []edit) string {
	if len(edits) == 0 {
		return src
	}
	b := []byte(src)
	for _, e := range edits {
		copy(b[e.off:], e.text)
	}
	return string(b)
}

type scanner struct {
	src         string
	i           int // byte offset
	line, col   int // of src[i]
	depth       int // bracket nesting
	stmtStart   bool
	prevOperand bool // the previous token ends an operand (so ** would be binary)
}

func (s *scanner) peek(n int) byte {
	if s.i+n < len(s.src) {
		return s.src[s.i+n]
	}
	return 0
}

func (s *scanner) runeAt(i int) rune {
	r, _ := utf8.DecodeRuneInString(s.src[i:])
	return r
}

// next advances one rune, keeping line and column.
func (s *scanner) next() {
	r, n := utf8.DecodeRuneInString(s.src[s.i:])
	s.i += n
	if r == '\n' {
		s.line++
		s.col = 1
	} else {
		s.col++
	}
}

func (s *scanner) operand() {
	s.prevOperand = true
	s.stmtStart = false
}

func (s *scanner) other() {
	s.prevOperand = false
	s.stmtStart = false
}

// skipString skips a string literal starting at the quote at s.i.
// It reports false if the string is not terminated.
func (s *scanner) skipString() bool {
	q := s.src[s.i]
	triple := s.peek(1) == q && s.peek(2) == q
	if triple {
		s.next()
		s.next()
	}
	s.next()
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\\':
			s.next()
			if s.i < len(s.src) {
				s.next()
			}
		case c == q && (!triple || s.peek(1) == q && s.peek(2) == q):
			s.next()
			if triple {
				s.next()
				s.next()
			}
			return true
		case c == '\n' && !triple:
			return false
		default:
			s.next()
		}
	}
	return false
}

func (s *scanner) number() string {
	start := s.i
	hex := s.src[s.i] == '0' && (s.peek(1) == 'x' || s.peek(1) == 'X')
	for s.i < len(s.src) {
		c := s.src[s.i]
		if isDigit(c) || isASCIILetter(c) || c == '_' || c == '.' {
			s.next()
			continue
		}
		if (c == '+' || c == '-') && !hex && (s.src[s.i-1] == 'e' || s.src[s.i-1] == 'E') {
			s.next()
			continue
		}
		break
	}
	return s.src[start:s.i]
}

// reserved maps the Python keywords Starlark does not implement to what
// to write instead.
var reserved = map[string]string{
	"import":   "import statements are not supported: expressions cannot load modules; the helpers (ak_*, regex_match, regex_replace, ip_address, ip_network) are predefined",
	"from":     "import statements are not supported: expressions cannot load modules; the helpers (ak_*, regex_match, regex_replace, ip_address, ip_network) are predefined",
	"try":      "try/except is not supported: an error ends the expression (the policy fails); check values first, e.g. d.get(key) instead of d[key]",
	"except":   "try/except is not supported: an error ends the expression (the policy fails); check values first, e.g. d.get(key) instead of d[key]",
	"finally":  "try/finally is not supported",
	"raise":    "raise is not supported; return False, or call fail(\"message\") to stop with an error",
	"class":    "class definitions are not supported; use dicts and functions",
	"with":     "with statements are not supported",
	"global":   "global is not supported; pass values to functions as arguments and return results",
	"nonlocal": "nonlocal is not supported; pass values to functions as arguments and return results",
	"del":      "del is not supported; use d.pop(key) for a dict, l.pop(i) or l.remove(x) for a list",
	"yield":    "generators (yield) are not supported; build a list and return it",
	"async":    "async functions are not supported",
	"await":    "await is not supported",
	"as":       "\"as\" is not supported (there is no import, except or with)",
}

// word scans an identifier or keyword (or a prefixed string literal).
func (s *scanner) word() ([]edit, *posError) {
	line, col, start := s.line, s.col, s.i
	for s.i < len(s.src) && isIdentPart(s.runeAt(s.i)) {
		s.next()
	}
	w := s.src[start:s.i]
	if c := s.peek(0); (c == '"' || c == '\'') && isStringPrefix(w) {
		switch {
		case strings.ContainsAny(w, "fF"):
			return nil, &posError{line, col, "f-strings are not supported; write \"Hello {}\".format(name) or \"Hello %s\" % name"}
		case w != "r" && w != "b" && w != "rb":
			return nil, &posError{line, col, "string prefix " + w + " is not supported; the prefixes are r, b and rb (lower case)"}
		}
		if !s.skipString() {
			s.i = len(s.src)
			return nil, nil
		}
		s.operand()
		return nil, nil
	}
	if hint, ok := reserved[w]; ok {
		return nil, &posError{line, col, hint}
	}
	switch w {
	case "assert":
		if s.stmtStart {
			return nil, &posError{line, col, "assert is not supported; write: if not <condition>: return False"}
		}
		s.operand()
	case "is":
		e, err := s.is(start, line, col)
		if err != nil {
			return nil, err
		}
		s.other()
		return e, nil
	case "and", "or", "not", "in", "if", "elif", "else", "for", "while", "def", "lambda", "return", "load":
		s.other()
	default:
		s.operand()
	}
	return nil, nil
}

// is handles the "is" operator at offset off: "is [not] None|True|False"
// is rewritten in place to "==" or "!="; anything else is an error.
func (s *scanner) is(off, line, col int) ([]edit, *posError) {
	j := skipBlanks(s.src, s.i)
	edits := []edit{{off, "=="}}
	if w := identAt(s.src, j); w == "not" {
		edits = []edit{{off, "!="}, {j, "   "}}
		j = skipBlanks(s.src, j+len(w))
	}
	switch identAt(s.src, j) {
	case "None", "True", "False":
		return edits, nil
	}
	return nil, &posError{line, col, "\"is\" is only supported with None, True or False (x is None, x is not None); compare other values with == or !="}
}

func (s *scanner) punct() *posError {
	line, col := s.line, s.col
	c := s.src[s.i]
	switch {
	case c == '*' && s.peek(1) == '*':
		if s.prevOperand {
			return &posError{line, col, "the ** operator is not supported; write pow(x, y)"}
		}
		s.next()
	case c == ':' && s.peek(1) == '=':
		return &posError{line, col, "assignment expressions (:=) are not supported; assign to a variable on its own line"}
	case c == ':' && s.depth == 0:
		s.next()
		s.stmtStart = true // a statement may follow on the same line: "if x: return y"
		s.prevOperand = false
		return nil
	case c == '@':
		return &posError{line, col, "decorators and the @ operator are not supported"}
	case c == '&' && s.peek(1) == '&':
		return &posError{line, col, "&& is not an operator; write and"}
	case c == '|' && s.peek(1) == '|':
		return &posError{line, col, "|| is not an operator; write or"}
	case c == '(' || c == '[' || c == '{':
		s.depth++
	case c == ')' || c == ']' || c == '}':
		if s.depth > 0 {
			s.depth--
		}
		s.next()
		s.operand()
		return nil
	case c == ';':
		s.next()
		s.stmtStart = true
		s.prevOperand = false
		return nil
	}
	s.next()
	if strings.ContainsRune("=!<>*/+-%&|^", rune(c)) && s.i < len(s.src) {
		switch op := s.src[s.i-1 : min(s.i+2, len(s.src))]; {
		case strings.HasPrefix(op, "//=") || strings.HasPrefix(op, "<<=") || strings.HasPrefix(op, ">>=") || strings.HasPrefix(op, "**="):
			s.next()
			s.next()
		case op[1] == '=' || op[:2] == "//" || op[:2] == "<<" || op[:2] == ">>" || op[:2] == "**":
			s.next()
		}
	}
	s.other()
	return nil
}

func skipBlanks(src string, i int) int {
	for i < len(src) {
		switch {
		case src[i] == ' ' || src[i] == '\t':
			i++
		case src[i] == '\\' && i+1 < len(src) && src[i+1] == '\n':
			i += 2
		default:
			return i
		}
	}
	return i
}

// identAt returns the identifier starting at src[i], or "".
func identAt(src string, i int) string {
	j := i
	for j < len(src) {
		r, n := utf8.DecodeRuneInString(src[j:])
		if !isIdentPart(r) || j == i && !isIdentStart(r) {
			break
		}
		j += n
	}
	return src[i:j]
}

func isStringPrefix(w string) bool {
	if len(w) > 2 {
		return false
	}
	for _, c := range w {
		if !strings.ContainsRune("rRbBfFuU", c) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool       { return c >= '0' && c <= '9' }
func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
