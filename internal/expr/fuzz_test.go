package expr

import (
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzCompileRun compiles arbitrary source and runs it with a tiny step
// limit and a 50 ms deadline. It must never panic (a recovered panic shows
// up as an "internal error") and must return in time.
func FuzzCompileRun(f *testing.F) {
	for _, seed := range []string{
		`return request.user.username == "alice"`,
		"if ak_is_group_member(request.user, name=\"admins\"):\n    return True\nak_message(\"not allowed\")\nreturn False",
		`return request.user.attributes.get("department") == "it"`,
		`return request.user.email.lower().endswith("@example.com") and "x" in "xyz"`,
		`return regex_replace(request.user.username, "(a)(l)", "\\2\\1") + str(regex_match("a", "^a"))`,
		"x = request.user.attributes.get('x') is not None\nreturn x",
		"while True:\n    pass",
		`return "x" * 1000000000`,
		"s = 'ab'\nfor i in range(64):\n    s += s",
		"d = {}\nd['a'] = [1]\nd['a'] += [2]\nreturn d['a'][::-1]",
		"def f(x):\n    return [y * 2 for y in x]\nreturn f([1, 2])",
		`return "%s %d" % ("a", 1) + "{}".format([1, {"a": (1, 2)}])`,
		`return ak_client_ip in ip_network("10.0.0.0/8")`,
		`return pow(2, 100) // 3 << 4`,
		`import os`,
		`return f"x"`,
		`return 1 < 2 < 3`,
		"x = [1]\nfor i in range(64):\n    x = [x, x]\nreturn str(x)",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := CompileOptions("fuzz", src, Options{MaxSteps: 1000, MaxMemory: 1 << 20})
		if err != nil {
			if _, ok := err.(*CompileError); !ok {
				t.Fatalf("Compile returned %T: %v", err, err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err = p.Bool(ctx, testEnv())
		// The deadline, the grace period for a stuck operation, and slack
		// for a loaded fuzzing machine.
		if d := time.Since(start); d > 50*time.Millisecond+stopGrace+400*time.Millisecond {
			t.Fatalf("Run took %v", d)
		}
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Fatalf("Run: %v", err)
		}
	})
}
