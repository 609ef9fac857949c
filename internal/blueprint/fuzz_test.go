package blueprint

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// FuzzParse parses arbitrary input and, when it is a blueprint, orders its
// entries and resolves them with fake hooks and small limits. Nothing may
// panic, every error must be an *Error, and each input must be done within
// a second. The seeds are in testdata/fuzz/FuzzParse and below.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"authentication-flow.yaml", "templated.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		"version: 1\nentries: []\n",
		"version: 1\nentries: {a: [{model: a.b, identifiers: {x: !KeyOf y}}], b: [{model: a.c, id: y, identifiers: {z: 1}}]}\n",
		"version: 1\ncontext: {l: [a, b]}\nentries:\n- model: a.b\n  identifiers: {n: !Enumerate [!Context l, MAP, [!Index 0, !Format ['%s-%d', !Value 0, !Index 0]]]}\n",
		"version: 1\nentries:\n- {model: a.b, identifiers: {n: !If [!Condition [XOR, 1, 0], !AtIndex [[a], -1], !ParseJSON '[1]']}}\n",
		"version: 1\nentries:\n- {model: a.b, identifiers: {n: !Env [A_B, !File [x, d]]}, conditions: [!Find [a.b, [c, d]]]}\n",
		"version: 1\nx: &a [1, 2]\ny: &b {<<: {k: *a}}\nentries:\n- {model: a.b, identifiers: {<<: *b}}\n",
		"version: 1\nx: &a [*a]\nentries: []\n",
		"version: 1\nentries:\n- {model: a.b, identifiers: {a: 1}, permissions: [{permission: p, user: !FindObject [a.b, [c, d]]}]}\n",
		"version: 1\nentries:\n- model: a.b\n  identifiers: {a: !Context x.0.y}\n  attrs: {b: !Enumerate [!Enumerate [abc, SEQ, !Value 0], SEQ, !Enumerate [!Value 0, MAP, {k: !Value 1}]]}\n",
		"%YAML 1.1\n---\nversion: 1\nentries: []\n...\n",
		"version: 1\nentries:\n- {model: a.b, identifiers: {a: !!binary aGVsbG8=, b: 2001-12-14t21:59:43.10-05:00, c: .nan}}\n",
	} {
		f.Add([]byte(seed))
	}
	root := f.TempDir()
	if err := os.WriteFile(filepath.Join(root, "x"), []byte("file content"), 0o600); err != nil {
		f.Fatal(err)
	}
	limits := Limits{MaxNodes: 20000, MaxFileBytes: 1 << 10, MaxStringBytes: 1 << 16}

	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		// A hang never reaches the check below: crash the worker, with
		// every goroutine's stack, so that the fuzzer keeps the input.
		watchdog := time.AfterFunc(10*time.Second, func() {
			debug.SetTraceback("all")
			panic("FuzzParse: an input ran for 10 seconds")
		})
		defer watchdog.Stop()
		defer func() {
			if d := time.Since(start); d > time.Second {
				t.Fatalf("took %v", d)
			}
		}()
		bp, err := limits.Parse(data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse returned %T: %v", err, err)
			}
			return
		}
		if bp.Version != 1 {
			t.Fatalf("version %d", bp.Version)
		}
		for i, e := range bp.Entries {
			if e.Index != i || !e.State.valid() || !strings.Contains(e.Model, ".") {
				t.Fatalf("entry %d: %+v", i, e)
			}
		}
		order, err := Order(bp)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Order returned %T: %v", err, err)
			}
			order = make([]int, len(bp.Entries))
			for i := range order {
				order[i] = i
			}
		} else if len(order) != len(bp.Entries) {
			t.Fatalf("Order returned %d of %d entries", len(order), len(bp.Entries))
		}
		r := &Resolver{
			Context:    MergeContext(map[string]any{ContextRBACModels: map[string]string{"user": "authentik_core"}}, bp.Context),
			LookupEnv:  func(name string) (string, bool) { return "value of " + name, true },
			EnvPolicy:  EnvPolicy{Prefixes: []string{"A"}},
			FileRoot:   root,
			KeyOf:      func(id string, _ *Entry) (any, error) { return id, nil },
			Find:       func(model string, _ []Filter) (any, error) { return model, nil },
			FindObject: func(model string, _ []Filter) (map[string]any, error) { return map[string]any{"model": model}, nil },
			Limits:     limits,
		}
		check := func(err error) {
			var e *Error
			if err != nil && !errors.As(err, &e) {
				t.Fatalf("resolving returned %T: %v", err, err)
			}
		}
		for _, i := range order {
			e := &bp.Entries[i]
			_, err := r.Conditions(e)
			check(err)
			_, err = r.Identifiers(e)
			check(err)
			_, err = r.Attrs(e)
			check(err)
			_, err = r.Permissions(e)
			check(err)
		}
	})
}
