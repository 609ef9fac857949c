package queuetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
)

// testFinal: a handler's error marked queue.Final buries the task after
// that one run, with its error, though attempts remain.
func testFinal(t *testing.T, h Harness, c *Clock) {
	var runs atomic.Int32
	cons := &queue.Consumer{Backend: h.Backend, WorkerID: "w1", Now: c.Now, Poll: 20 * time.Millisecond,
		Backoff: queue.Backoff{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond},
		Handlers: queue.Handlers{"refused": func(ctx context.Context, j *queue.Job) error {
			runs.Add(1)
			return queue.Final(errors.New("550 no such user"))
		}}}
	id := enqueue(t, h.Backend, queue.Task{Name: "refused", MaxAttempts: 5})
	consume(t, cons)
	lister, ok := h.Backend.(queue.DeadLister)
	if !ok {
		waitFor(t, "the run", func() bool { return runs.Load() == 1 })
		time.Sleep(200 * time.Millisecond) // ten backoffs: a retry would have run
	} else {
		waitFor(t, "the dead task", func() bool {
			dead, err := lister.DeadTasks(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(dead) == 1 {
				if d := dead[0]; d.ID != id || d.Attempts != 1 || d.LastError != "550 no such user" {
					t.Errorf("dead task: %+v", d)
				}
			}
			return len(dead) == 1
		})
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("%d runs, want 1", n)
	}
}
