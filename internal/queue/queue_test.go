package queue

import (
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 10 * time.Second}
	for _, tc := range []struct {
		attempt int
		lo, hi  time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{4, 4 * time.Second, 8 * time.Second},
		{5, 5 * time.Second, 10 * time.Second}, // capped
		{60, 5 * time.Second, 10 * time.Second},
	} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := b.Delay(tc.attempt)
			if d < tc.lo || d > tc.hi {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", tc.attempt, d, tc.lo, tc.hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: only %d distinct delays: no jitter", tc.attempt, len(seen))
		}
	}
}

func TestNormalize(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	task := Task{Name: "x"}
	if err := task.Normalize(now); err != nil {
		t.Fatal(err)
	}
	if string(task.Args) != "{}" || !task.RunAt.Equal(now) || task.MaxAttempts != DefaultMaxAttempts || task.Timeout != DefaultTimeout {
		t.Errorf("defaults: %+v", task)
	}
	for _, bad := range []Task{{}, {Name: "x", Args: []byte("{")}} {
		if err := bad.Normalize(now); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
