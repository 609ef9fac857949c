package password

//go:generate go run gen_common.go

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

// commonTxt is the ranked list of common passwords and password words, one
// a line, most common first; gen_common.go says how it is made.
//
//go:embed common.txt
var commonTxt string

// minWordLen is the shortest dictionary word matched; shorter runs are left
// to the sequence, repeat and random-character estimates.
const minWordLen = 3

// maxUserTokens and maxTokenLen bound the work done for the user's inputs.
const (
	maxUserTokens = 32
	maxTokenLen   = 64
)

// trie is a ranked word list as a prefix tree. Edges live in one map keyed
// by (node, rune), which keeps the thousand-word list at a few thousand
// nodes without a child table per node.
type trie struct {
	edges map[trieEdge]int32
	rank  []int32 // rank[node] > 0: a word ends at node, with that rank
}

type trieEdge struct {
	node int32
	r    rune
}

func newTrie() *trie {
	return &trie{edges: make(map[trieEdge]int32), rank: []int32{0}}
}

// add inserts word with rank (1 = most common) unless it is there already
// with a better rank.
func (t *trie) add(word []rune, rank int32) {
	n := int32(0)
	for _, r := range word {
		next, ok := t.edges[trieEdge{n, r}]
		if !ok {
			next = int32(len(t.rank))
			t.rank = append(t.rank, 0)
			t.edges[trieEdge{n, r}] = next
		}
		n = next
	}
	if t.rank[n] == 0 || rank < t.rank[n] {
		t.rank[n] = rank
	}
}

func (t *trie) child(n int32, r rune) (int32, bool) {
	c, ok := t.edges[trieEdge{n, r}]
	return c, ok
}

var (
	commonOnce sync.Once
	commonTrie *trie
)

// common returns the trie of common.txt, built on first use.
func common() *trie {
	commonOnce.Do(func() {
		t := newTrie()
		rank := int32(0)
		for line := range strings.Lines(commonTxt) {
			w := strings.TrimSpace(line)
			if w == "" || strings.HasPrefix(w, "#") {
				continue
			}
			rank++
			t.add([]rune(w), rank)
		}
		commonTrie = t
	})
	return commonTrie
}

// userTrie builds the dictionary of the user's own inputs: each input whole
// (lower-cased) and each of its runs of letters and digits, so that
// "jane.doe@example.com" yields "jane.doe@example.com", "jane", "doe",
// "example" and "com". All rank 1: they are the first things an attacker who
// knows the user tries. nil when nothing is long enough.
func userTrie(inputs []string) *trie {
	var t *trie
	n := 0
	add := func(w []rune) {
		if len(w) < minWordLen || len(w) > maxTokenLen || n >= maxUserTokens {
			return
		}
		if t == nil {
			t = newTrie()
		}
		t.add(w, 1)
		n++
	}
	for _, in := range inputs {
		if n >= maxUserTokens {
			break
		}
		lower := []rune(strings.ToLower(in))
		if len(lower) > maxTokenLen {
			lower = lower[:maxTokenLen]
		}
		add(lower)
		start := -1
		for i := 0; i <= len(lower); i++ {
			alnum := i < len(lower) && (unicode.IsLetter(lower[i]) || unicode.IsDigit(lower[i]))
			switch {
			case alnum && start < 0:
				start = i
			case !alnum && start >= 0:
				if i-start < len(lower) { // the whole input is added already
					add(lower[start:i])
				}
				start = -1
			}
		}
	}
	return t
}
