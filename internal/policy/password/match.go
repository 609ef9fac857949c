package password

import (
	"math"
	"unicode"
)

// Pattern matchers of the strength estimator. Each appends the matches it
// finds, with log10 of their guesses, to ms.

// maxL33tSubs bounds the look-alike substitutions followed in one word, so
// that a run of ambiguous characters ("1|1|1|") cannot blow up the walk.
const maxL33tSubs = 8

// l33t returns the letters r may stand for, beyond itself.
func l33t(r rune) string {
	switch r {
	case '4', '@':
		return "a"
	case '8':
		return "b"
	case '(', '{', '[', '<':
		return "c"
	case '3':
		return "e"
	case '6', '9':
		return "g"
	case '1', '|':
		return "il"
	case '!':
		return "i"
	case '0':
		return "o"
	case '$', '5':
		return "s"
	case '7', '+':
		return "t"
	case '%':
		return "x"
	case '2':
		return "z"
	}
	return ""
}

// dictionaryMatches finds the words of t in lower, forwards and backwards,
// following look-alike substitutions as they go.
func dictionaryMatches(ms []match, orig, lower []rune, t *trie, kind patternKind) []match {
	n := len(lower)
	emit := func(i, j int, rank int32, subs int, reversed bool) {
		g := math.Log10(float64(rank)) + float64(subs)*log10Of2
		caps := caseVariationsLog10(orig[i:j])
		g += caps
		if reversed {
			g += log10Of2
		}
		ms = append(ms, match{
			i: i, j: j, guesses: g, kind: kind,
			l33t: subs > 0, reversed: reversed, capitals: caps > 0 && caps <= log10Of2,
		})
	}
	// walk follows t from node over lower[pos], lower[pos+dir], ...
	var walk func(start, pos, dir int, node int32, subs int)
	walk = func(start, pos, dir int, node int32, subs int) {
		if pos < 0 || pos >= n {
			return
		}
		step := func(r rune, sub int) {
			next, ok := t.child(node, r)
			if !ok {
				return
			}
			length := (pos-start)*dir + 1
			if rank := t.rank[next]; rank > 0 && length >= minWordLen {
				if dir > 0 {
					emit(start, pos+1, rank, subs+sub, false)
				} else {
					emit(pos, start+1, rank, subs+sub, true)
				}
			}
			walk(start, pos+dir, dir, next, subs+sub)
		}
		step(lower[pos], 0)
		if subs < maxL33tSubs {
			for _, r := range l33t(lower[pos]) {
				step(r, 1)
			}
		}
	}
	for i := range n {
		walk(i, i, +1, 0, 0)
		walk(i, i, -1, 0, 0)
	}
	return ms
}

// caseVariationsLog10 is log10 of the ways of capitalising a word as s is:
// 0 when all lower-case, log10(2) for a capital first or last letter or all
// capitals, otherwise the number of ways of placing up to min(U, L) capitals
// among its U+L letters.
func caseVariationsLog10(s []rune) float64 {
	upper, lower := 0, 0
	for _, r := range s {
		switch {
		case unicode.IsUpper(r):
			upper++
		case unicode.IsLower(r):
			lower++
		}
	}
	switch {
	case upper == 0:
		return 0
	case lower == 0:
		return log10Of2
	case upper == 1 && (unicode.IsUpper(s[0]) || unicode.IsUpper(s[len(s)-1])):
		return log10Of2
	}
	return math.Log10(sumBinomials(upper+lower, min(upper, lower)))
}

// sumBinomials is C(n,1) + ... + C(n,k), in float64 (n is at most
// MaxAnalysedRunes, so it cannot overflow).
func sumBinomials(n, k int) float64 {
	sum, c := 0.0, 1.0
	for i := 1; i <= k; i++ {
		c = c * float64(n-i+1) / float64(i)
		sum += c
	}
	return sum
}

// sequenceMatches finds runs of three or more letters or digits with a
// constant step of 1 or 2, up or down ("abcd", "9753", "acegi").
func sequenceMatches(ms []match, orig, lower []rune) []match {
	n := len(lower)
	class := func(r rune) int {
		switch {
		case 'a' <= r && r <= 'z':
			return 1
		case '0' <= r && r <= '9':
			return 2
		}
		return 0
	}
	for i := 0; i+2 < n; {
		c := class(lower[i])
		d := lower[i+1] - lower[i]
		if c == 0 || class(lower[i+1]) != c || d == 0 || d < -2 || d > 2 {
			i++
			continue
		}
		j := i + 1
		for j+1 < n && class(lower[j+1]) == c && lower[j+1]-lower[j] == d {
			j++
		}
		if length := j - i + 1; length >= 3 {
			// Starting points: an obvious first character, or any of its class.
			g := 0.0
			switch first := lower[i]; {
			case first == 'a' || first == 'z' || first == '0' || first == '1' || first == '9':
				g = math.Log10(4)
			case c == 2:
				g = 1
			default:
				g = log10Of26
			}
			g += math.Log10(float64(length))
			if d < 0 {
				g += log10Of2
			}
			if d == 2 || d == -2 {
				g += log10Of2
			}
			g += caseVariationsLog10(orig[i : j+1])
			ms = append(ms, match{i: i, j: j + 1, guesses: g, kind: kindSequence})
			i = j
			continue
		}
		i++
	}
	return ms
}

// keyPos is a key on a keyboard: its column x, row y and whether the rune is
// typed with shift.
type keyPos struct {
	x, y    int8
	shifted bool
}

// keyboard is a layout for walks: its keys and adjacency, and the log10 of
// its number of keys and of the average number of neighbours of a key.
type keyboard struct {
	keys     map[rune]keyPos
	adjacent func(a, b keyPos) bool
	keysLog  float64
	turnsLog float64
}

var keyboards = []keyboard{qwertyKeyboard(), keypadKeyboard()}

// qwertyKeyboard is the US QWERTY layout in half-key columns, each row
// shifted by half a key from the one above (as the keys are, roughly), so
// that two keys touch when they share a row and are one key apart, or are
// on neighbouring rows and half a key apart.
func qwertyKeyboard() keyboard {
	rows := []struct {
		plain, shifted string
		offset         int8
	}{
		{"`1234567890-=", "~!@#$%^&*()_+", 0},
		{"qwertyuiop[]\\", "QWERTYUIOP{}|", 3},
		{"asdfghjkl;'", "ASDFGHJKL:\"", 4},
		{"zxcvbnm,./", "ZXCVBNM<>?", 5},
	}
	keys := make(map[rune]keyPos)
	for y, row := range rows {
		plain, shifted := []rune(row.plain), []rune(row.shifted)
		for k := range plain {
			x := row.offset + 2*int8(k)
			keys[plain[k]] = keyPos{x: x, y: int8(y)}
			keys[shifted[k]] = keyPos{x: x, y: int8(y), shifted: true}
		}
	}
	return keyboard{
		keys: keys,
		adjacent: func(a, b keyPos) bool {
			dx, dy := abs8(a.x-b.x), abs8(a.y-b.y)
			return dy == 0 && dx == 2 || dy == 1 && dx == 1
		},
		keysLog:  math.Log10(47),
		turnsLog: math.Log10(4.6),
	}
}

// keypadKeyboard is a numeric keypad: 7 8 9 / 4 5 6 / 1 2 3 / 0, where the
// eight keys around a key are its neighbours.
func keypadKeyboard() keyboard {
	keys := make(map[rune]keyPos)
	for y, row := range []string{"789", "456", "123", "0"} {
		for x, r := range row {
			keys[r] = keyPos{x: int8(x), y: int8(y)}
		}
	}
	return keyboard{
		keys: keys,
		adjacent: func(a, b keyPos) bool {
			dx, dy := abs8(a.x-b.x), abs8(a.y-b.y)
			return max(dx, dy) == 1
		},
		keysLog:  1,
		turnsLog: math.Log10(5),
	}
}

func abs8(v int8) int8 {
	if v < 0 {
		return -v
	}
	return v
}

// keyboardMatches finds walks of three or more neighbouring keys. A walk
// costs its starting key, its length, and a choice of direction at every
// turn, and its shifted keys are costed as capitals are.
func keyboardMatches(ms []match, orig []rune) []match {
	n := len(orig)
	for _, kb := range keyboards {
		for i := 0; i+2 < n; {
			prev, ok := kb.keys[orig[i]]
			if !ok {
				i++
				continue
			}
			j := i
			turns := 0
			var dx, dy int8
			shifted, plain := 0, 0
			if prev.shifted {
				shifted++
			} else {
				plain++
			}
			for j+1 < n {
				next, ok := kb.keys[orig[j+1]]
				if !ok || !kb.adjacent(prev, next) {
					break
				}
				ndx, ndy := next.x-prev.x, next.y-prev.y
				if j == i || ndx != dx || ndy != dy {
					turns++
					dx, dy = ndx, ndy
				}
				if next.shifted {
					shifted++
				} else {
					plain++
				}
				prev = next
				j++
			}
			length := j - i + 1
			if length < 3 {
				i++
				continue
			}
			g := kb.keysLog + math.Log10(float64(length)) + float64(turns-1)*kb.turnsLog
			switch {
			case shifted == 0:
			case plain == 0:
				g += log10Of2
			default:
				g += math.Log10(sumBinomials(shifted+plain, min(shifted, plain)))
			}
			ms = append(ms, match{i: i, j: j + 1, guesses: g, kind: kindKeyboard})
			i = j
		}
	}
	return ms
}

// Guesses of years and dates: every year from 1900 to 2099 alike (so the
// estimate does not change with the calendar), 100 two-digit years, 366
// days, and a few separators.
var (
	yearLog10       = math.Log10(200)
	shortYearLog10  = 2.0
	dayLog10        = math.Log10(366)
	separatorsLog10 = math.Log10(4)
)

// dateMatches finds years (1900-2099) and dates: day, month and year in any
// of the usual orders, with a 2- or 4-digit year, run together ("311299",
// "20241231") or split by one separator used twice ("31.12.1999", "1-2-03").
func dateMatches(ms []match, orig []rune) []match {
	n := len(orig)
	for i := range n {
		if !isDigit(orig[i]) {
			continue
		}
		if i+4 <= n && allDigits(orig[i:i+4]) {
			if y := atoi(orig[i : i+4]); 1900 <= y && y <= 2099 {
				ms = append(ms, match{i: i, j: i + 4, guesses: yearLog10, kind: kindDate})
			}
		}
		for length := 4; length <= 10 && i+length <= n; length++ {
			s := orig[i : i+length]
			if !isDigit(s[length-1]) {
				continue
			}
			if ok, longYear, sep := parseDate(s); ok {
				g := dayLog10 + shortYearLog10
				if longYear {
					g = dayLog10 + yearLog10
				}
				if sep {
					g += separatorsLog10
				}
				ms = append(ms, match{i: i, j: i + length, guesses: g, kind: kindDate})
			}
		}
	}
	return ms
}

// parseDate reports whether s is a date, whether its year has four digits,
// and whether it has separators.
func parseDate(s []rune) (ok, longYear, sep bool) {
	var parts [3][]rune
	var sepRune rune
	np, start := 0, 0
	for k, r := range s {
		if isDigit(r) {
			continue
		}
		switch r {
		case '/', '-', '.', '_', ' ':
		default:
			return false, false, false
		}
		if sepRune != 0 && r != sepRune || np == 2 || k == start {
			return false, false, false
		}
		sepRune = r
		parts[np] = s[start:k]
		np++
		start = k + 1
	}
	if sepRune != 0 {
		if np != 2 || start == len(s) {
			return false, false, false
		}
		parts[2] = s[start:]
		ok, longYear = dayMonthYear(parts)
		return ok, longYear, ok
	}
	// No separator: try every split into parts of 1, 2 or 4 digits.
	if len(s) > 8 {
		return false, false, false
	}
	for _, a := range []int{1, 2, 4} {
		for _, b := range []int{1, 2} {
			c := len(s) - a - b
			if c != 1 && c != 2 && c != 4 {
				continue
			}
			if ok, longYear := dayMonthYear([3][]rune{s[:a], s[a : a+b], s[a+b:]}); ok {
				return true, longYear, false
			}
		}
	}
	return false, false, false
}

// dayMonthYear reports whether p is a date with the year first (Y M D) or
// last (D M Y, M D Y), and whether the year has four digits.
func dayMonthYear(p [3][]rune) (ok, longYear bool) {
	year := func(r []rune) (bool, bool) {
		switch len(r) {
		case 2:
			return true, false
		case 4:
			y := atoi(r)
			return 1900 <= y && y <= 2099, true
		}
		return false, false
	}
	small := func(r []rune, hi int) bool {
		if len(r) < 1 || len(r) > 2 {
			return false
		}
		v := atoi(r)
		return 1 <= v && v <= hi
	}
	dayMonth := func(a, b []rune) bool {
		return small(a, 31) && small(b, 12) || small(a, 12) && small(b, 31)
	}
	if y, long := year(p[2]); y && dayMonth(p[0], p[1]) {
		return true, long
	}
	if y, long := year(p[0]); y && dayMonth(p[2], p[1]) {
		return true, long
	}
	return false, false
}

func isDigit(r rune) bool { return '0' <= r && r <= '9' }

func allDigits(s []rune) bool {
	for _, r := range s {
		if !isDigit(r) {
			return false
		}
	}
	return true
}

// atoi reads a run of ASCII digits (at most 4 here).
func atoi(s []rune) int {
	v := 0
	for _, r := range s {
		v = v*10 + int(r-'0')
	}
	return v
}

// repeatMatches finds a unit repeated two or more times ("aaa", "abab",
// "passpass"). A repeat costs its unit, estimated on its own, times the
// number of repetitions. Only units that are not repeats themselves are
// tried, and only from where a repeat starts, so the search is
// O(MaxAnalysedRunes^2) at worst.
func (e *estimator) repeatMatches(ms []match, orig, lower []rune) []match {
	n := len(lower)
	for p := 1; 2*p <= n; p++ {
		for i := 0; i+2*p <= n; i++ {
			if i > 0 && lower[i-1] == lower[i-1+p] {
				continue // not the start of the repeat
			}
			end := i + p
			for end < n && lower[end] == lower[end-p] {
				end++
			}
			count := (end - i) / p
			if count < 2 || count*p < 3 || !primitive(lower[i:i+p]) {
				continue
			}
			var unit float64
			if e.unitBudget > 0 {
				e.unitBudget--
				unit, _ = e.cheapest(orig[i:i+p], 1)
			} else {
				for _, r := range orig[i : i+p] {
					unit += bruteforceLog10(r)
				}
			}
			g := unit + math.Log10(float64(count))
			ms = append(ms, match{i: i, j: i + count*p, guesses: g, kind: kindRepeat})
		}
	}
	return ms
}

// primitive reports whether u is not itself a repeat of a shorter unit.
func primitive(u []rune) bool {
	p := len(u)
outer:
	for d := 1; d < p; d++ {
		if p%d != 0 {
			continue
		}
		for k := d; k < p; k++ {
			if u[k] != u[k-d] {
				continue outer
			}
		}
		return false
	}
	return true
}
