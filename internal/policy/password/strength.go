package password

import (
	"math"
	"slices"
	"unicode"
)

// MaxAnalysedRunes caps the part of a password the strength estimator reads.
// Past it a password is long enough that the estimate can only grow, and the
// cap keeps the cost bounded (the repeat search is quadratic in it).
const MaxAnalysedRunes = 256

// Score thresholds on log10(guesses): a password needing fewer than 10^3
// guesses scores 0, fewer than 10^6 scores 1, and so on. They follow
// zxcvbn's: 10^3 is an online attack with no throttling, 10^6 a throttled
// online attack, 10^8 and 10^10 offline attacks on a slow hash.
var scoreThresholds = [MaxScore]float64{3, 6, 8, 10}

// matchPenaltyLog10 is added for every pattern in the cheapest build of a
// password: the attacker also has to guess which patterns, in which order.
// 0.5 (a factor of about 3) keeps "password1" and "Summer2024!" weak while
// a run of random characters around a short pattern stays strong.
const matchPenaltyLog10 = 0.5

// maxUnitEstimates bounds the nested estimates made for the unit of a
// repeat ("abc" in "abcabcabc"); past it a unit is costed as random
// characters, so adversarial input cannot multiply the work.
const maxUnitEstimates = 64

// Strength is the result of EstimateStrength.
type Strength struct {
	// Score is 0 (too guessable) to 4 (very unguessable).
	Score int
	// GuessesLog10 is log10 of the estimated number of guesses.
	GuessesLog10 float64
	// Warnings name the patterns that make the password guessable, in the
	// order they appear in it; empty when none was found.
	Warnings []string
}

// Suggestion is the advice that ends the messages of a failed strength check.
const Suggestion = "Use a longer password: a few unrelated words are easy to remember and hard to guess."

// Warnings of Strength, one per kind of pattern.
const (
	WarnCommonWhole = "This is one of the most common passwords."
	WarnCommon      = "Common passwords and words are among the first guesses."
	WarnUserInput   = "Avoid your name, username or email address."
	WarnRepeat      = `Avoid repeated characters or words, such as "aaa" or "abcabc".`
	WarnSequence    = `Avoid sequences such as "abc" or "6543".`
	WarnKeyboard    = `Avoid rows or patterns of neighbouring keys, such as "qwerty".`
	WarnDate        = "Avoid dates and years, especially ones linked to you."
	WarnL33t        = `Look-alike substitutions such as "@" for "a" make a word hardly harder to guess.`
	WarnReversed    = "A word spelled backwards is hardly harder to guess."
	WarnCapitals    = "Capitals at the start or end, or in every letter, add little."
)

// EstimateStrength estimates how many guesses an attacker who knows the
// usual patterns needs to find password, and scores that number.
//
// It finds every pattern in the first MaxAnalysedRunes runes: common
// passwords and words (common.txt, also l33t-spelled, reversed and with
// capitals), the user's own inputs (userInputs: username, name, email...),
// repeats ("aaaa", "abcabc"), sequences ("abcd", "7531"), keyboard walks on
// a QWERTY keyboard and a numeric keypad ("qwerty", "1qaz", "147"), years
// (1900-2099) and dates ("31.12.99", "20240101"). Each has a guess count:
// its rank in the list, times the ways of capitalising and substituting it;
// the number of starting points, lengths and turns of a sequence or walk;
// the days and years of a date. A character outside every pattern costs the
// size of its class (26 for a letter, 10 for a digit, 33 for ASCII
// punctuation, 100 for anything else). A dynamic programme picks the
// cheapest cover of the password, adding matchPenaltyLog10 per pattern, and
// Score maps log10 of its guesses through the thresholds of the package
// comment. The result depends on nothing but the arguments.
func EstimateStrength(password string, userInputs []string) Strength {
	runes := []rune(password)
	if len(runes) > MaxAnalysedRunes {
		runes = runes[:MaxAnalysedRunes]
	}
	e := estimator{user: userTrie(userInputs), unitBudget: maxUnitEstimates}
	guesses, path := e.cheapest(runes, 0)
	return Strength{
		Score:        score(guesses),
		GuessesLog10: guesses,
		Warnings:     warnings(path, len(runes)),
	}
}

func score(log10Guesses float64) int {
	for s, t := range scoreThresholds {
		if log10Guesses < t {
			return s
		}
	}
	return MaxScore
}

type patternKind uint8

const (
	kindCommon patternKind = iota + 1
	kindUserInput
	kindRepeat
	kindSequence
	kindKeyboard
	kindDate // years too
)

// match is one pattern found in the password.
type match struct {
	i, j     int     // runes [i, j)
	guesses  float64 // log10 of its guesses
	kind     patternKind
	l33t     bool // a dictionary word spelled with look-alikes
	reversed bool // a dictionary word spelled backwards
	capitals bool // a dictionary word with capitals that add little
}

// estimator holds what one EstimateStrength shares across nested estimates.
type estimator struct {
	user       *trie
	unitBudget int
}

// cheapest returns log10 of the guesses of the cheapest cover of orig by
// patterns and single characters, and the patterns of that cover.
// depth 0 looks for repeats; the nested estimate of a repeat's unit does not.
func (e *estimator) cheapest(orig []rune, depth int) (float64, []match) {
	n := len(orig)
	if n == 0 {
		return 0, nil
	}
	lower := make([]rune, n)
	for i, r := range orig {
		lower[i] = unicode.ToLower(r)
	}
	var ms []match
	ms = dictionaryMatches(ms, orig, lower, common(), kindCommon)
	if e.user != nil {
		ms = dictionaryMatches(ms, orig, lower, e.user, kindUserInput)
	}
	ms = sequenceMatches(ms, orig, lower)
	ms = keyboardMatches(ms, orig)
	ms = dateMatches(ms, orig)
	if depth == 0 {
		ms = e.repeatMatches(ms, orig, lower)
	}
	slices.SortFunc(ms, func(a, b match) int { return a.j - b.j })

	// best[j] is the cheapest cover of orig[:j]; via[j] the match that ends
	// it, or -1 for a single character.
	best := make([]float64, n+1)
	via := make([]int, n+1)
	k := 0
	for j := 1; j <= n; j++ {
		best[j] = best[j-1] + bruteforceLog10(orig[j-1])
		via[j] = -1
		for ; k < len(ms) && ms[k].j == j; k++ {
			if c := best[ms[k].i] + ms[k].guesses + matchPenaltyLog10; c < best[j] {
				best[j], via[j] = c, k
			}
		}
	}
	var path []match
	for j := n; j > 0; {
		if via[j] < 0 {
			j--
			continue
		}
		m := ms[via[j]]
		path = append(path, m)
		j = m.i
	}
	slices.Reverse(path)
	return best[n], path
}

// bruteforceLog10 is log10 of the size of r's class.
func bruteforceLog10(r rune) float64 {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		return log10Of26
	case '0' <= r && r <= '9':
		return 1
	case r < 0x80:
		return log10Of33
	default:
		return 2
	}
}

var (
	log10Of2  = math.Log10(2)
	log10Of26 = math.Log10(26)
	log10Of33 = math.Log10(33)
)

func warnings(path []match, n int) []string {
	var out []string
	add := func(w string) {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	for _, m := range path {
		switch m.kind {
		case kindCommon:
			if m.i == 0 && m.j == n {
				add(WarnCommonWhole)
			} else {
				add(WarnCommon)
			}
		case kindUserInput:
			add(WarnUserInput)
		case kindRepeat:
			add(WarnRepeat)
		case kindSequence:
			add(WarnSequence)
		case kindKeyboard:
			add(WarnKeyboard)
		case kindDate:
			add(WarnDate)
		}
		if m.l33t {
			add(WarnL33t)
		}
		if m.reversed {
			add(WarnReversed)
		}
		if m.capitals {
			add(WarnCapitals)
		}
	}
	return out
}
