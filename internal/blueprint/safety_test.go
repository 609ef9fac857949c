package blueprint

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fast fails the test when f takes longer than ten times d: hostile input
// must be refused quickly, not after the damage. d is what an idle machine
// takes with room to spare; the factor absorbs the race detector and a
// shared, loaded CI machine, so that only a real blow-up (minutes, or no
// end) fails here. The figures themselves belong in benchmarks.
func fast(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	start := time.Now()
	f()
	if took := time.Since(start); took > 10*d {
		t.Errorf("took %v, more than %v", took, 10*d)
	}
}

// lols builds the "billion laughs" document: levels of anchors, each
// listing the previous one ten times.
func lols(levels int, where string) string {
	var b strings.Builder
	b.WriteString("version: 1\nx-bomb:\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	switch where {
	case "attrs":
		fmt.Fprintf(&b, "entries:\n  - model: a.b\n    identifiers: {name: x}\n    attrs: {lols: *l%d}\n", levels)
	case "context":
		fmt.Fprintf(&b, "context: {lols: *l%d}\nentries: []\n", levels)
	default:
		b.WriteString("entries: []\n")
	}
	return b.String()
}

func TestAliasBombs(t *testing.T) {
	tests := map[string]string{
		"billion laughs in an ignored key": lols(9, ""),
		"billion laughs in attrs":          lols(9, "attrs"),
		"billion laughs in the context":    lols(9, "context"),
		"merge keys": func() string {
			var b strings.Builder
			b.WriteString("version: 1\nx:\n  m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n")
			for i := 1; i <= 9; i++ {
				fmt.Fprintf(&b, "  m%d: &m%d {<<: [*m%d, *m%d, *m%d, *m%d, *m%d, *m%d, *m%d, *m%d, *m%d, *m%d]}\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
			}
			b.WriteString("entries:\n  - model: a.b\n    identifiers: {<<: *m9}\n")
			return b.String()
		}(),
		"entries": func() string {
			var b strings.Builder
			b.WriteString("version: 1\nx:\n  e0: &e0 [{model: a.b, identifiers: {name: x}}, {model: a.b, identifiers: {name: x}}]\n")
			for i := 1; i <= 20; i++ {
				fmt.Fprintf(&b, "  e%d: &e%d [*e%d, *e%d]\n", i, i, i-1, i-1)
			}
			b.WriteString("entries: {all: *e20}\n")
			return b.String()
		}(),
	}
	for name, doc := range tests {
		t.Run(name, func(t *testing.T) {
			fast(t, 2*time.Second, func() {
				_, err := Parse([]byte(doc))
				if !errors.Is(err, ErrTooManyNodes) {
					t.Errorf("Parse: %v, want ErrTooManyNodes", err)
				}
			})
		})
	}
	// Moderate use of aliases is fine.
	if _, err := Parse([]byte(lols(3, "attrs"))); err != nil {
		t.Errorf("Parse of 10^4 laughs: %v", err)
	}
}

func TestAliasCycles(t *testing.T) {
	for name, doc := range map[string]string{
		"sequence": "version: 1\nx: &a [1, *a]\nentries: []\n",
		"mapping":  "version: 1\nx: &a {k: *a}\nentries: []\n",
		"merge":    "version: 1\nx: &a {<<: *a}\nentries: []\n",
		"entries":  "version: 1\nentries: &a [*a]\n",
		"attrs":    "version: 1\nentries:\n  - &e {model: a.b, identifiers: {name: x}, attrs: {self: *e}}\n",
		"tag":      "version: 1\nentries:\n  - {model: a.b, identifiers: {name: x}, attrs: {v: &t !If [true, *t, 1]}}\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(doc))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			// An anchored list of entries that holds itself is a list
			// whose item is not an entry.
			if name != "entries" && !strings.Contains(err.Error(), "inside its own anchor") {
				t.Errorf("Parse: %v, want an alias cycle error", err)
			}
		})
	}
}

func TestDeepNesting(t *testing.T) {
	deepFlow := "version: 1\nentries:\n  - {model: a.b, identifiers: {name: x}, attrs: {v: " + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "}}\n"
	var block strings.Builder
	block.WriteString("version: 1\ncontext:\n")
	for i := range 150 {
		fmt.Fprintf(&block, "%s k:\n", strings.Repeat(" ", i+1))
	}
	block.WriteString("entries: []\n")
	deepTags := "version: 1\nentries:\n  - {model: a.b, identifiers: {name: x}, attrs: {v: " + strings.Repeat("!If [true, ", 150) + "x" + strings.Repeat("]", 150) + "}}\n"
	for name, doc := range map[string]string{"flow": deepFlow, "block": block.String(), "tags": deepTags} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(doc))
			if !errors.Is(err, ErrTooDeep) {
				t.Errorf("Parse: %v, want ErrTooDeep", err)
			}
		})
	}
	t.Run("beyond the YAML parser's own limit", func(t *testing.T) {
		fast(t, 2*time.Second, func() {
			_, err := Parse([]byte("version: 1\nentries: " + strings.Repeat("[", 200000)))
			if err == nil || !strings.Contains(err.Error(), "exceeded max depth") {
				t.Errorf("Parse: %v", err)
			}
		})
	})
	t.Run("custom limit", func(t *testing.T) {
		doc := "version: 1\nentries:\n  - {model: a.b, identifiers: {name: x}, attrs: {v: [[[[[1]]]]]}}\n"
		if _, err := Parse([]byte(doc)); err != nil {
			t.Fatal(err)
		}
		if _, err := (Limits{MaxDepth: 5}).Parse([]byte(doc)); !errors.Is(err, ErrTooDeep) {
			t.Errorf("Parse with MaxDepth 5: %v", err)
		}
	})
}

func TestSizeLimits(t *testing.T) {
	t.Run("too many bytes", func(t *testing.T) {
		doc := "version: 1\nentries: []\n# " + strings.Repeat("x", DefaultMaxBytes) + "\n"
		_, err := Parse([]byte(doc))
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "limit of 8388608") {
			t.Errorf("Parse: %v, want ErrTooLarge", err)
		}
		if _, err := (Limits{MaxBytes: 10}).Parse([]byte("version: 1\nentries: []\n")); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Parse with MaxBytes 10: %v", err)
		}
	})
	// Each of these would make the YAML library allocate hundreds of
	// megabytes of nodes; they are refused before it parses them.
	for name, doc := range map[string]string{
		"empty flow sequences": "version: 1\nentries: [" + strings.Repeat("[],", 1<<20) + "]\n",
		"flow mappings":        "version: 1\nx: [" + strings.Repeat("{a},", 1<<20) + "]\nentries: []\n",
		"block sequence":       "version: 1\nx:\n" + strings.Repeat("- a\n", 1<<20) + "entries: []\n",
		"block mappings":       "version: 1\nx:\n" + strings.Repeat("- a: \n", 1<<20) + "entries: []\n",
	} {
		t.Run(name, func(t *testing.T) {
			fast(t, 500*time.Millisecond, func() {
				_, err := Parse([]byte(doc))
				if !errors.Is(err, ErrTooManyNodes) || !strings.Contains(err.Error(), "structural elements") {
					t.Errorf("Parse: %v, want ErrTooManyNodes before parsing", err)
				}
			})
		})
	}
	t.Run("at the limit", func(t *testing.T) {
		doc := "version: 1\nentries:\n  - model: a.b\n    identifiers: {name: x}\n    attrs:\n      v: [" + strings.Repeat("1,", DefaultMaxNodes/2) + "]\n"
		fast(t, 5*time.Second, func() {
			if _, err := Parse([]byte(doc)); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	})
	t.Run("prose does not count much", func(t *testing.T) {
		// Text with dashes, colons and commas inside words counts only
		// where they could start a node.
		text := strings.Repeat("default-authentication-flow https://example.com/a:b 3f2504e0-4f89-11d3 ", 20000)
		doc := "version: 1\nentries:\n  - model: a.b\n    identifiers: {name: x}\n    attrs:\n      v: " + text + "\n"
		if _, err := (Limits{MaxNodes: 100}).Parse([]byte(doc)); err != nil {
			t.Errorf("Parse: %v", err)
		}
	})
}

func TestResolutionBombs(t *testing.T) {
	hundred := "[" + strings.Repeat("x,", 99) + "x]"
	tests := map[string]struct {
		context, value string
	}{
		"nested Enumerate": {"l: " + hundred,
			"!Enumerate [!Context l, SEQ, !Enumerate [!Context l, SEQ, !Enumerate [!Context l, SEQ, !Enumerate [!Context l, SEQ, x]]]]"},
		"context reuse": {"a: " + hundred + "\nb: [" + strings.Repeat("!Context a, ", 100) + "x]\nc: [" + strings.Repeat("!Context b, ", 100) + "x]",
			"!Context c"},
		"format doubling": func() struct{ context, value string } {
			var b strings.Builder
			b.WriteString("s0: " + strings.Repeat("x", 1000) + "\n")
			for i := 1; i <= 40; i++ {
				fmt.Fprintf(&b, "s%d: !Format [\"%%s%%s\", !Context s%d, !Context s%d]\n", i, i-1, i-1)
			}
			return struct{ context, value string }{strings.TrimSuffix(b.String(), "\n"), "!Context s40"}
		}(),
		"Enumerate of a string": {"s: " + strings.Repeat("y", 5000),
			"!Enumerate [!Context s, SEQ, !Enumerate [!Context s, SEQ, !Value 0]]"},
		// Few values, but their repr would be 40 MB.
		"repr of a shared string": {"s: " + strings.Repeat("z", 20000) + "\nl: [" + strings.Repeat("!Context s, ", 2000) + "x]",
			`!Format ["%s", !Context l]`},
		"wide conversions": {"", `!Format ["` + strings.Repeat("%4096s", 5000) + `", ` + strings.Repeat("a, ", 4999) + "a]"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			bp := oneEntry(t, tt.context, tt.value)
			r := testResolver(t, bp)
			fast(t, 3*time.Second, func() {
				_, err := r.Attrs(&bp.Entries[0])
				if !errors.Is(err, ErrTooManyNodes) {
					t.Errorf("Attrs: %v, want ErrTooManyNodes", err)
				}
			})
			// The budget is the Resolver's: it stays spent.
			if _, err := r.Attrs(&bp.Entries[0]); !errors.Is(err, ErrTooManyNodes) {
				t.Errorf("Attrs after the budget is spent: %v", err)
			}
		})
	}
}

func TestResolutionDepth(t *testing.T) {
	// Each context value is fine on its own; spliced into one another
	// they nest too deeply.
	var b strings.Builder
	b.WriteString("c0: x\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "c%d: %s!Context c%d%s\n", i, strings.Repeat("[", 15), i-1, strings.Repeat("]", 15))
	}
	bp := oneEntry(t, strings.TrimSuffix(b.String(), "\n"), "!Context c10")
	_, err := testResolver(t, bp).Attrs(&bp.Entries[0])
	if !errors.Is(err, ErrTooDeep) {
		t.Errorf("Attrs: %v, want ErrTooDeep", err)
	}
}

func TestSecretsStayOut(t *testing.T) {
	// Even a policy that allows every prefix does not hand out the secret
	// key or passwords; only an explicit allow-list does.
	bp := oneEntry(t, "", "[!Env [GATEHOUSE_SECRET_KEY, a], !Env [AUTHENTIK_SECRET_KEY, b], !Env [AUTHENTIK_POSTGRESQL__PASSWORD, c], !Env [AUTHENTIK_EMAIL__PASSWORD, d]]")
	r := testResolver(t, bp)
	r.EnvPolicy = EnvPolicy{Prefixes: []string{""}}
	r.LookupEnv = func(string) (string, bool) { return "leaked", true }
	v, err := r.Attrs(&bp.Entries[0])
	if !errors.Is(err, ErrEnvNotAllowed) || strings.Contains(fmt.Sprint(v, err), "leaked") {
		t.Errorf("Attrs = %v, %v; want ErrEnvNotAllowed", v, err)
	}
}
