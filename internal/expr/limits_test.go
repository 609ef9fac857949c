package expr

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// quick is how long a run that hits a limit may take: the limits must stop
// it within a policy's default 30 s timeout. It is generous because CI
// runs this under the race detector on a shared 2-core machine, next to
// other test binaries (typical runs take 3-200 ms; a loaded machine has
// taken 20 s; the figures are in the benchmarks, not here).
const quick = 30 * time.Second

func runTimed(t *testing.T, p *Program, ctx context.Context) (Result, error) {
	t.Helper()
	start := time.Now()
	res, err := p.Run(ctx, testEnv())
	if d := time.Since(start); d > quick {
		t.Errorf("Run took %v, want under %v", d, quick)
	}
	return res, err
}

func TestStepLimit(t *testing.T) {
	for _, src := range []string{
		"while True:\n    pass",
		"for x in range(1000000000000):\n    pass",
		"n = 0\nfor x in range(1000000):\n    for y in range(1000000):\n        n += 1",
		"def f():\n    return [x for x in range(100000000)]\nreturn f()",
		"return sorted(range(10000), key=lambda x: [y for y in range(1000)])",
	} {
		t.Run(src, func(t *testing.T) {
			p := mustCompile(t, src, Options{})
			_, err := runTimed(t, p, context.Background())
			if !errors.Is(err, ErrStepLimit) {
				t.Fatalf("err = %v, want ErrStepLimit", err)
			}
			var re *RuntimeError
			if !errors.As(err, &re) || re.Line == 0 || !strings.Contains(re.Msg, "1000000 steps") {
				t.Errorf("err = %#v, want a positioned error naming the limit", err)
			}
		})
	}
	// A smaller limit applies.
	p := mustCompile(t, "n = 0\nfor i in range(100):\n    n += i\nreturn n", Options{MaxSteps: 50})
	if _, err := p.Run(context.Background(), testEnv()); !errors.Is(err, ErrStepLimit) {
		t.Errorf("MaxSteps 50: err = %v", err)
	}
}

func TestTimeout(t *testing.T) {
	p := mustCompile(t, "while True:\n    pass", Options{MaxSteps: 1 << 62})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := runTimed(t, p, ctx)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout and DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("returned after %v, before the deadline", d)
	}
	var re *RuntimeError
	if !errors.As(err, &re) || re.Line != 1 {
		t.Errorf("err = %#v, want it at line 1", err)
	}

	// A context that is already done does not start the run.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := p.Run(ctx, testEnv()); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
}

// blockingHelpers blocks in UserBy, ignoring its context, until released:
// an operation the interpreter cannot interrupt.
type blockingHelpers struct {
	NoHelpers
	release chan struct{}
}

func (h blockingHelpers) UserBy(context.Context, map[string]any) (*User, error) {
	<-h.release
	return nil, nil
}

func TestTimeoutAbandonsStuckRun(t *testing.T) {
	h := blockingHelpers{release: make(chan struct{})}
	defer close(h.release)
	p := mustCompile(t, `return ak_user_by(username="x")`, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	env := testEnv()
	env.Helpers = h
	start := time.Now()
	_, err := p.Run(ctx, env)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond+stopGrace+200*time.Millisecond {
		t.Errorf("Run returned after %v", d)
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []string{
		`return "x" * 1000000000`,
		`return 1000000000 * "x"`,
		`return [0] * 1000000000`,
		`return (1, 2) * 1000000000`,
		`return list(range(1000000000))`,
		`return tuple(range(1000000000))`,
		`return sorted(range(100000000))`,
		`return set(range(100000000))`,
		`return dict(zip(range(100000000), range(100000000)))`,
		`return list(enumerate(range(100000000)))`,
		"s = 'ab'\nfor i in range(64):\n    s = s + s",
		"s = 'ab'\nfor i in range(64):\n    s += s",
		"l = [1]\nfor i in range(64):\n    l.extend(l)",
		"l = [1]\nfor i in range(64):\n    l += l",
		"l = [1]\nfor i in range(64):\n    l = l + l",
		"d = {'k': [1]}\nfor i in range(64):\n    d['k'] += d['k']",
		"s = set([1])\nfor i in range(64):\n    s = s | set(range(len(s) * 2))",
		"keep = []\ns = 'x' * 1000000\nfor i in range(1000):\n    keep.append(s + 'y')",
		"keep = []\ns = 'x' * 1000000\nfor i in range(1000):\n    keep.append(s[::-1])",
		"keep = []\nl = [0] * 1000000\nfor i in range(100):\n    keep.append(l[:])",
		"keep = []\nd = dict(zip(range(100000), range(100000)))\nfor i in range(1000):\n    keep.append(d.items())",
		"s = 'x' * 30000\nreturn s.replace('', s)",
		`return ",".join(["x" * 100000] * 1000)`,
		`return ("%s" * 100000) % tuple(["x" * 10000] * 100000)`,
		`return ("{0}" * 100000).format("x" * 10000)`,
		`return ("x" * 10000000).split("x")`,
		`return ("x" * 10000000).upper() + ("x" * 20000000).lower()`,
		`return max(*([0] * 2000000))`,
		"x = [1]\nfor i in range(64):\n    x = [x, x]\nreturn str(x)",
		"x = [1]\nfor i in range(64):\n    x = [x, x]\nreturn '%s' % (x,)",
		"x = [1]\nfor i in range(64):\n    x = [x, x]\nak_message(x)",
		"x = [1]\nfor i in range(64):\n    x = [x, x]\nfail(x)",
		`return regex_replace("x" * 1000000, "", "y" * 100)`,
		`return bytes("x" * 10000000) + bytes("y" * 30000000)`,
		"keep = []\nl = ['x'] * 100000\nfor i in range(1000):\n    keep.append(' '.join(l).split())",
	}
	for _, src := range tests {
		t.Run(src, func(t *testing.T) {
			p := mustCompile(t, src, Options{})
			_, err := runTimed(t, p, context.Background())
			if !errors.Is(err, ErrMemoryLimit) {
				t.Fatalf("err = %v, want ErrMemoryLimit", err)
			}
			var re *RuntimeError
			if !errors.As(err, &re) || re.Line == 0 {
				t.Errorf("err = %#v, want a positioned error", err)
			}
		})
	}
}

func TestIntegerLimit(t *testing.T) {
	for _, src := range []string{
		"x = 3\nfor i in range(100):\n    x = x * x",
		"x = 3\nfor i in range(100):\n    x *= x",
		"x = 1\nfor i in range(100):\n    x = x << 500",
		`return pow(3, 100000)`,
	} {
		p := mustCompile(t, src, Options{})
		if _, err := runTimed(t, p, context.Background()); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("%q: err = %v, want integer too large", src, err)
		}
	}
}

// TestModerateSizesPass guards against the memory guards refusing
// ordinary work.
func TestModerateSizesPass(t *testing.T) {
	for _, src := range []string{
		`return len("x" * 1000000)`,
		`return len(",".join([str(i) for i in range(10000)]))`,
		"s = ''\nfor i in range(2000):\n    s += 'ab'\nreturn len(s)",
		"l = []\nfor i in range(10000):\n    l.append(i)\nreturn len(l[::2])",
		`return len(sorted(range(100000), reverse=True))`,
		`return len(("a b " * 10000).split())`,
		`return len(regex_replace("a" * 10000, "a", "bb"))`,
	} {
		p := mustCompile(t, src, Options{})
		if _, err := p.Run(context.Background(), testEnv()); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestMemoryLimitOption(t *testing.T) {
	p := mustCompile(t, `return "x" * 2000`, Options{MaxMemory: 1000})
	if _, err := p.Run(context.Background(), testEnv()); !errors.Is(err, ErrMemoryLimit) {
		t.Errorf("err = %v, want ErrMemoryLimit", err)
	}
}
