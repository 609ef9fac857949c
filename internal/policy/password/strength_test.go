package password

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
)

var testUser = []string{"jdoe", "Jane Doe", "jane.doe@example.com"}

func TestEstimateStrengthWeak(t *testing.T) {
	tests := []struct {
		password string
		maxScore int
		warning  string // expected among Warnings
	}{
		{"password1", 0, WarnCommonWhole},
		{"qwerty123", 0, WarnCommonWhole},
		{"12345678", 0, WarnCommonWhole},
		{"aaaaaaaaaaa", 0, WarnRepeat},
		{"jdoe", 0, WarnUserInput},
		{"JDoe", 0, WarnUserInput},
		{"janedoe", 1, WarnUserInput},
		{"jane.doe@example.com", 0, WarnUserInput},
		{"Summer2024!", 2, WarnDate},
		{"p@ssw0rd", 0, WarnL33t},
		{"P4$$w0rd", 1, WarnL33t},
		{"drowssap", 0, WarnReversed},
		{"PASSWORD", 0, WarnCapitals},
		{"abcdefghij", 1, WarnSequence},
		{"zyxwvuts", 0, WarnSequence},
		{"9876543210", 0, WarnReversed}, // "0123456789" backwards
		{"zxcvbnm,./", 1, WarnKeyboard},
		{"1qaz2wsx3edc", 1, WarnCommonWhole},
		{"3edcvfr4", 1, WarnKeyboard},
		{"asdfgh", 1, WarnCommonWhole},
		{"753951", 1, WarnKeyboard}, // a keypad walk
		{"31.12.1999", 1, WarnDate},
		{"19870412", 1, WarnDate},
		{"abcabcabc", 0, WarnRepeat},
		{"passpasspass", 1, WarnRepeat},
		{"Jennifer1987", 2, WarnDate},
		{"iloveyou2024", 2, WarnCommon},
		{"Monkey123!", 2, WarnCommon},
		{"jdoe2024", 1, WarnUserInput},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			s := EstimateStrength(tt.password, testUser)
			if s.Score > tt.maxScore {
				t.Errorf("Score = %d (log10 guesses %.2f), want at most %d", s.Score, s.GuessesLog10, tt.maxScore)
			}
			if !slices.Contains(s.Warnings, tt.warning) {
				t.Errorf("Warnings = %q, want %q among them", s.Warnings, tt.warning)
			}
		})
	}
}

func TestEstimateStrengthUserInputsMatter(t *testing.T) {
	// The same password is weak only for the user it names.
	const pw = "gwendolyn"
	without := EstimateStrength(pw, nil)
	with := EstimateStrength(pw, []string{"Gwendolyn Smith"})
	if without.Score < 3 || with.Score != 0 {
		t.Fatalf("score without inputs %d, with %d; want >= 3 and 0", without.Score, with.Score)
	}
}

func TestEstimateStrengthStrongRandom(t *testing.T) {
	const printable = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, 16)
		for i := range b {
			b[i] = printable[r.IntN(len(printable))]
		}
		pw := string(b)
		if s := EstimateStrength(pw, testUser); s.Score != 4 {
			t.Errorf("random %q: Score = %d (log10 %.2f), want 4", pw, s.Score, s.GuessesLog10)
		}
	}
}

// passphraseWords are ordinary words, none in common.txt; five of them drawn
// at random make a strong password (log2(len^5) is over 40 bits).
var passphraseWords = strings.Fields(`
acorn almond anchor ankle apron arcade atlas attic badge bakery ballot
bamboo banjo barley basin beacon beetle bellow bench biscuit blanket
blossom bonnet bottle boulder bracket breeze bridle brook bucket buckle
cabin cactus canal candle canvas carpet castle cellar chalk channel chapel
cherub chimney cinder circus clover cobalt collar comet copper corner
cotton cradle crater crayon crimson cuckoo curtain cushion dagger dawn
denim desert dial domino donkey drawer dune easel elbow ember engine
fabric feather fennel ferry fiddle flannel flask fossil fountain
fringe gable garlic gazebo glacier goblet gravel griddle gutter hamlet
harbor harness hazel helmet hinge hollow hornet husk igloo inlet island
ivory jacket jigsaw jungle kettle kennel kiln ladder lagoon lantern lattice
ledger lentil lever linen lobster locket lumber magnet mantle marble meadow
mitten molar mosaic muffler nectar needle nickel nozzle nutmeg oatmeal
orchard oyster paddle pantry parcel pebble pelican pillow pinecone
pistol plank plaster pocket pollen porch potato pottery pulley quarry
quilt radish raft rattle ribbon ridge rivet saddle saffron salmon satchel
scarf scroll shovel shutter sickle sleeve slipper socket spindle sponge
spruce squirrel stable staple stencil stool stump summit swamp tablet
tassel teapot thimble thistle timber toffee trellis trolley trumpet tulip
tunnel turnip umbrella valley velvet vessel violin walnut wagon whistle
wicker willow window wreath yarn zipper
`)

func TestEstimateStrengthStrongPassphrase(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		words := make([]string, 5)
		for i := range words {
			words[i] = passphraseWords[r.IntN(len(passphraseWords))]
		}
		for _, pw := range []string{strings.Join(words, ""), strings.Join(words, " ")} {
			if s := EstimateStrength(pw, testUser); s.Score != 4 {
				t.Errorf("passphrase %q: Score = %d (log10 %.2f), want 4", pw, s.Score, s.GuessesLog10)
			}
		}
	}
}

func TestPassphraseWordsAreUncommon(t *testing.T) {
	for _, w := range passphraseWords {
		if n, ok := walkWord(common(), w); ok && common().rank[n] > 0 {
			t.Errorf("%q is in common.txt; the passphrase test needs uncommon words", w)
		}
	}
}

func walkWord(t *trie, w string) (int32, bool) {
	n := int32(0)
	for _, r := range w {
		var ok bool
		if n, ok = t.child(n, r); !ok {
			return 0, false
		}
	}
	return n, true
}

func TestScoreThresholds(t *testing.T) {
	tests := []struct {
		log10 float64
		want  int
	}{
		{0, 0}, {2.99, 0}, {3, 1}, {5.99, 1}, {6, 2}, {7.99, 2}, {8, 3}, {9.99, 3}, {10, 4}, {300, 4},
	}
	for _, tt := range tests {
		if got := score(tt.log10); got != tt.want {
			t.Errorf("score(%v) = %d, want %d", tt.log10, got, tt.want)
		}
	}
}

func TestEstimateStrengthEmpty(t *testing.T) {
	s := EstimateStrength("", nil)
	if s.Score != 0 || s.GuessesLog10 != 0 || s.Warnings != nil {
		t.Fatalf("EstimateStrength(\"\") = %+v, want zero", s)
	}
}

func TestEstimateStrengthDeterministic(t *testing.T) {
	for _, pw := range []string{"Summer2024!", "p@ssw0rd", "vG7#qLm2!xTe9$wR", strings.Repeat("ab1", 100)} {
		a, b := EstimateStrength(pw, testUser), EstimateStrength(pw, testUser)
		if a.Score != b.Score || a.GuessesLog10 != b.GuessesLog10 || !slices.Equal(a.Warnings, b.Warnings) {
			t.Fatalf("%q: %+v then %+v", pw, a, b)
		}
	}
}

func TestEstimateStrengthCapsLength(t *testing.T) {
	head := strings.Repeat("x7#Q", MaxAnalysedRunes/4)
	long := head + strings.Repeat("password", 10_000)
	if a, b := EstimateStrength(long, nil), EstimateStrength(head, nil); a.GuessesLog10 != b.GuessesLog10 {
		t.Fatalf("estimate of a long password %.2f, of its first %d runes %.2f; want equal", a.GuessesLog10, MaxAnalysedRunes, b.GuessesLog10)
	}
	// A long repeat stays weak however long it is.
	if s := EstimateStrength(strings.Repeat("a", 100_000), nil); s.Score > 1 {
		t.Fatalf("100,000 x 'a' scores %d, want at most 1", s.Score)
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		s                 string
		ok, longYear, sep bool
	}{
		{"31121999", true, true, false},
		{"19991231", true, true, false},
		{"12311999", true, true, false},
		{"311299", true, false, false},
		{"1299", true, false, false},
		{"31.12.1999", true, true, true},
		{"1999-12-31", true, true, true},
		{"1/2/03", true, false, true},
		{"12 31 99", true, false, true},
		{"31.12-1999", false, false, false}, // mixed separators
		{"32131999", false, false, false},   // no valid split
		{"31.13.1999", false, false, false},
		{"31.12.2199", false, false, false},
		{"1..2", false, false, false},
		{"12.31.", false, false, false},
		{"1.2.3.4", false, false, false},
		{"12a31", false, false, false},
		{"123456789", false, false, false},
	}
	for _, tt := range tests {
		ok, longYear, sep := parseDate([]rune(tt.s))
		if ok != tt.ok || longYear != tt.longYear || sep != tt.sep {
			t.Errorf("parseDate(%q) = %v, %v, %v, want %v, %v, %v", tt.s, ok, longYear, sep, tt.ok, tt.longYear, tt.sep)
		}
	}
}

func TestCaseVariations(t *testing.T) {
	tests := []struct {
		s    string
		want float64 // guesses, not log10
	}{
		{"password", 1},
		{"Password", 2},
		{"passworD", 2},
		{"PASSWORD", 2},
		{"pAssword", 8},      // C(8,1)
		{"PAssword", 8 + 28}, // C(8,1)+C(8,2)
		{"p4ssw0rd", 1},
		{"pAsSwOrD", 8 + 28 + 56 + 70}, // 4 of 8: C(8,1..4)
	}
	for _, tt := range tests {
		if got := math.Pow(10, caseVariationsLog10([]rune(tt.s))); math.Abs(got-tt.want) > 1e-6*tt.want {
			t.Errorf("caseVariations(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}

func TestPrimitive(t *testing.T) {
	for s, want := range map[string]bool{"a": true, "ab": true, "aa": false, "abab": false, "aba": true, "abcabc": false, "abcab": true} {
		if got := primitive([]rune(s)); got != want {
			t.Errorf("primitive(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestKeyboardWalks(t *testing.T) {
	tests := []struct {
		s     string
		walks []string // the walks found, in order
	}{
		{"qwerty", []string{"qwerty"}},
		{"1qaz", []string{"1qaz"}},
		{"!QAZ", []string{"!QAZ"}},
		{"zaq1", []string{"zaq1"}},
		{"xq", nil},
		{"qaz2wsx", []string{"qaz", "2wsx"}},
		{"147", []string{"147"}}, // keypad only: 1, 4 and 7 are far apart on the top row
		{"qqq", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, m := range keyboardMatches(nil, []rune(tt.s)) {
			got = append(got, string([]rune(tt.s)[m.i:m.j]))
		}
		if !slices.Equal(got, tt.walks) {
			t.Errorf("keyboard walks of %q = %q, want %q", tt.s, got, tt.walks)
		}
	}
	// A straight row is cheaper than the same length with turns.
	straight := keyboardMatches(nil, []rune("qwerty"))[0].guesses
	turning := keyboardMatches(nil, []rune("qazxsw"))[0].guesses
	if straight >= turning {
		t.Errorf("qwerty costs %.2f, qazxsw %.2f; want the straight row cheaper", straight, turning)
	}
}

func TestUserTrie(t *testing.T) {
	tr := userTrie([]string{"Jane.Doe@Example.com", "ab", ""})
	for _, w := range []string{"jane.doe@example.com", "jane", "doe", "example", "com"} {
		if n, ok := walkWord(tr, w); !ok || tr.rank[n] != 1 {
			t.Errorf("user dictionary lacks %q", w)
		}
	}
	if n, ok := walkWord(tr, "ab"); ok && tr.rank[n] > 0 {
		t.Errorf("user dictionary has %q, shorter than %d", "ab", minWordLen)
	}
	if userTrie(nil) != nil || userTrie([]string{"", "x"}) != nil {
		t.Error("userTrie of nothing long enough is not nil")
	}
	many := make([]string, 100)
	for i := range many {
		many[i] = strings.Repeat(string(rune('a'+i%26)), 3+i/26)
	}
	if n := len(userTrie(many).rank); n > maxUserTokens*maxTokenLen+1 {
		t.Errorf("user dictionary has %d nodes for 100 inputs, want it bounded", n)
	}
}

func TestCommonList(t *testing.T) {
	seen := map[string]bool{}
	n := 0
	for line := range strings.Lines(commonTxt) {
		w := strings.TrimSpace(line)
		n++
		if seen[w] {
			t.Errorf("%q listed twice", w)
		}
		seen[w] = true
		if len([]rune(w)) < minWordLen {
			t.Errorf("%q is shorter than %d runes", w, minWordLen)
		}
		if strings.IndexFunc(w, unicode.IsUpper) >= 0 || strings.IndexFunc(w, unicode.IsSpace) >= 0 {
			t.Errorf("%q is not lower-case without spaces", w)
		}
	}
	if n < 900 || n > 2000 {
		t.Errorf("common.txt has %d entries, want about 1,000", n)
	}
	if n, _ := walkWord(common(), "123456"); common().rank[n] != 1 {
		t.Errorf("123456 has rank %d, want 1", common().rank[n])
	}
}

func BenchmarkEstimateStrength(b *testing.B) {
	for _, bc := range []struct{ name, password string }{
		{"16", "vG7#qLm2!xTe9$wR"},
		{"64", "kX9#mP2$vL5@nQ8!Summer2024!password1qwerty1111aaaaabcdefjane.doe"},
		{"256-mixed", strings.Repeat("kX9#mP2$vL5@nQ8!Summer2024!password1qwerty1111aaaaabcdefjane.doe", 4)},
		{"256-repeat", strings.Repeat("a", 256)},
		{"256-digits", strings.Repeat("1212", 64)},
		{"256-l33t", strings.Repeat("1|", 128)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				EstimateStrength(bc.password, testUser)
			}
		})
	}
}
