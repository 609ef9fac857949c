// Package queuetest is the conformance suite every queue backend passes:
// ordering by run time, unique keys, retries then dead, the time limit,
// concurrent consumers running each task once, recovery of a task whose
// worker died once its lease is over, and (for backends with transactions)
// a task enqueued in a rolled-back transaction never running.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
)

// Clock is real time plus an offset that tests move forward, so leases and
// backoffs can pass without waiting while timers still work.
type Clock struct{ offset atomic.Int64 }

// Now is the clock's time.
func (c *Clock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Harness is one fresh, empty backend.
type Harness struct {
	Backend queue.Backend
	// Enqueue enqueues t in a transaction that commits or, with rollback,
	// rolls back after the enqueue. Nil: the backend has no transactions.
	EnqueueTx func(ctx context.Context, t queue.Task, rollback bool) error
	// Second, when set, opens another instance on the same storage, as
	// another process would: its consumers must wake up on the first's
	// enqueues without polling.
	Second func() queue.Backend
}

// Open makes a fresh backend whose clock is clock.Now.
type Open func(t *testing.T, clock *Clock) Harness

// Run runs the suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness, c *Clock)
	}{
		{"OrderByRunAt", testOrder},
		{"UniqueKey", testUnique},
		{"RetryThenDead", testRetryThenDead},
		{"Final", testFinal},
		{"TimeLimit", testTimeLimit},
		{"Concurrency", testConcurrency},
		{"LeaseExpiry", testLeaseExpiry},
		{"Transactions", testTransactions},
		{"WakeAcrossInstances", testWake},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Clock{}
			h := open(t, c)
			tc.fn(t, h, c)
		})
	}
}

func enqueue(t *testing.T, q queue.Queue, task queue.Task) string {
	t.Helper()
	id, err := q.Enqueue(context.Background(), task)
	if err != nil {
		t.Fatalf("enqueue %s: %v", task.Name, err)
	}
	return id
}

func claim(t *testing.T, b queue.Backend, worker string, n int) []*queue.Job {
	t.Helper()
	jobs, err := b.Claim(context.Background(), worker, n, time.Second)
	if err != nil {
		t.Fatalf("claim: %v", err)
	}
	return jobs
}

// waitFor polls cond for up to a minute (the machine may be loaded).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// consume runs a consumer until the test ends or stop is called.
func consume(t *testing.T, c *queue.Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

func testOrder(t *testing.T, h Harness, c *Clock) {
	now := c.Now()
	enqueue(t, h.Backend, queue.Task{Name: "a", RunAt: now.Add(3 * time.Second)})
	enqueue(t, h.Backend, queue.Task{Name: "b", RunAt: now.Add(time.Second)})
	enqueue(t, h.Backend, queue.Task{Name: "c", RunAt: now.Add(2 * time.Second)})
	enqueue(t, h.Backend, queue.Task{Name: "later", RunAt: now.Add(time.Hour)})
	if jobs := claim(t, h.Backend, "w", 10); len(jobs) != 0 {
		t.Fatalf("claimed %d tasks before they were due", len(jobs))
	}
	c.Advance(5 * time.Second)
	var got []string
	for {
		jobs := claim(t, h.Backend, "w", 1)
		if len(jobs) == 0 {
			break
		}
		j := jobs[0]
		if j.Attempt != 1 || j.MaxAttempts != queue.DefaultMaxAttempts || j.Timeout != queue.DefaultTimeout || string(j.Args) != "{}" {
			t.Errorf("job %s: %+v", j.Name, j)
		}
		got = append(got, j.Name)
		if err := h.Backend.Complete(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(got, ",") != "b,c,a" {
		t.Errorf("claimed %v, want b,c,a (later not yet due)", got)
	}
}

func testUnique(t *testing.T, h Harness, c *Clock) {
	ctx := context.Background()
	task := queue.Task{Name: "tick", UniqueKey: "schedule:tick", Args: []byte(`{"n":1}`)}
	enqueue(t, h.Backend, task)
	if _, err := h.Backend.Enqueue(ctx, task); !errors.Is(err, queue.ErrDuplicate) {
		t.Fatalf("second enqueue with the key: %v, want ErrDuplicate", err)
	}
	enqueue(t, h.Backend, queue.Task{Name: "tick"}) // no key: no limit
	jobs := claim(t, h.Backend, "w", 10)
	if len(jobs) != 2 {
		t.Fatalf("claimed %d, want 2", len(jobs))
	}
	// Claimed: the key is free again, for a run after this one.
	again := enqueue(t, h.Backend, task)
	if _, err := h.Backend.Enqueue(ctx, task); !errors.Is(err, queue.ErrDuplicate) {
		t.Fatalf("enqueue while one runs and one waits: %v, want ErrDuplicate", err)
	}
	// A retried task does not take the key back.
	if err := h.Backend.Retry(ctx, jobs[0], c.Now(), "again"); err != nil {
		t.Fatal(err)
	}
	if err := h.Backend.Complete(ctx, jobs[1]); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range claim(t, h.Backend, "w", 10) {
		ids = append(ids, j.ID)
		if err := h.Backend.Complete(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if len(ids) != 2 || !slices.Contains(ids, again) || !slices.Contains(ids, jobs[0].ID) {
		t.Errorf("claimed %v, want the retried task and %s", ids, again)
	}
	enqueue(t, h.Backend, task) // none waits: the key is free
	if _, err := h.Backend.Enqueue(ctx, queue.Task{Name: "bad", Args: []byte("{")}); err == nil {
		t.Error("args that are not JSON were enqueued")
	}
	if _, err := h.Backend.Enqueue(ctx, queue.Task{}); err == nil {
		t.Error("a task without a name was enqueued")
	}
}

func testRetryThenDead(t *testing.T, h Harness, c *Clock) {
	var runs atomic.Int32
	var attempts sync.Map
	cons := &queue.Consumer{Backend: h.Backend, WorkerID: "w1", Now: c.Now, Poll: 20 * time.Millisecond,
		Backoff: queue.Backoff{Base: 10 * time.Millisecond, Max: 40 * time.Millisecond},
		Handlers: queue.Handlers{
			"flaky": func(ctx context.Context, j *queue.Job) error {
				attempts.Store(j.Attempt, true)
				if j.Attempt < 3 {
					return fmt.Errorf("flaky %d", j.Attempt)
				}
				return nil
			},
			"broken": func(ctx context.Context, j *queue.Job) error {
				runs.Add(1)
				if j.Attempt == 2 {
					panic("broken 2")
				}
				return fmt.Errorf("broken %d", j.Attempt)
			},
		}}
	flaky := enqueue(t, h.Backend, queue.Task{Name: "flaky", MaxAttempts: 3})
	broken := enqueue(t, h.Backend, queue.Task{Name: "broken", MaxAttempts: 3, Args: []byte(`{"x":[1,2]}`)})
	enqueue(t, h.Backend, queue.Task{Name: "unknown"})
	consume(t, cons)
	lister, _ := h.Backend.(queue.DeadLister)
	var dead []queue.Dead
	waitFor(t, "two dead tasks", func() bool {
		if lister == nil {
			return runs.Load() >= 3
		}
		var err error
		dead, err = lister.DeadTasks(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(dead) == 2
	})
	waitFor(t, "the flaky task's third attempt", func() bool { _, ok := attempts.Load(3); return ok })
	if lister == nil {
		return
	}
	byName := map[string]queue.Dead{}
	for _, d := range dead {
		byName[d.Name] = d
	}
	if d := byName["broken"]; d.ID != broken || d.Attempts != 3 || d.LastError != "broken 3" || string(d.Args) != `{"x":[1,2]}` {
		t.Errorf("dead broken task: %+v", d)
	}
	if d := byName["unknown"]; d.Attempts != 1 || !strings.Contains(d.LastError, "no handler") {
		t.Errorf("dead unknown task: %+v", d)
	}
	if runs.Load() != 3 {
		t.Errorf("broken ran %d times, want 3", runs.Load())
	}
	for _, d := range dead {
		if d.ID == flaky {
			t.Errorf("the task that succeeded on its third attempt is dead: %+v", d)
		}
	}
}

func testTimeLimit(t *testing.T, h Harness, c *Clock) {
	cons := &queue.Consumer{Backend: h.Backend, WorkerID: "w1", Now: c.Now, Poll: 20 * time.Millisecond,
		Handlers: queue.Handlers{"slow": func(ctx context.Context, j *queue.Job) error {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Minute):
				return nil
			}
		}}}
	enqueue(t, h.Backend, queue.Task{Name: "slow", MaxAttempts: 1, Timeout: 50 * time.Millisecond})
	consume(t, cons)
	lister, ok := h.Backend.(queue.DeadLister)
	if !ok {
		t.Skip("the backend does not list dead tasks")
	}
	waitFor(t, "the slow task to die", func() bool {
		dead, err := lister.DeadTasks(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(dead) == 1 {
			if !strings.Contains(dead[0].LastError, "time limit of 50ms exceeded") {
				t.Errorf("last error = %q", dead[0].LastError)
			}
			return true
		}
		return false
	})
}

func testConcurrency(t *testing.T, h Harness, c *Clock) {
	const tasks, consumers = 200, 4
	var mu sync.Mutex
	ran := map[string]int{}
	var total atomic.Int32
	handler := func(ctx context.Context, j *queue.Job) error {
		mu.Lock()
		ran[j.ID]++
		mu.Unlock()
		total.Add(1)
		return nil
	}
	ids := map[string]bool{}
	for i := range tasks {
		ids[enqueue(t, h.Backend, queue.Task{Name: "noop", Args: []byte(fmt.Sprintf(`{"i":%d}`, i))})] = true
	}
	var stops []func()
	for i := range consumers {
		stops = append(stops, consume(t, &queue.Consumer{Backend: h.Backend, WorkerID: fmt.Sprintf("w%d", i), Concurrency: 4, Now: c.Now,
			Poll: 20 * time.Millisecond, Handlers: queue.Handlers{"noop": handler}}))
	}
	waitFor(t, "every task to run", func() bool { return total.Load() >= tasks })
	time.Sleep(100 * time.Millisecond) // a duplicate run would show up now
	for _, stop := range stops {
		stop() // and completions batched meanwhile are written
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ran) != tasks {
		t.Errorf("%d distinct tasks ran, want %d", len(ran), tasks)
	}
	for id, n := range ran {
		if n != 1 || !ids[id] {
			t.Errorf("task %s ran %d times (enqueued: %v)", id, n, ids[id])
		}
	}
	c.Advance(time.Hour) // past every lease: a task not completed would show
	if jobs := claim(t, h.Backend, "check", 10); len(jobs) != 0 {
		t.Errorf("%d tasks left after they ran", len(jobs))
	}
}

func testLeaseExpiry(t *testing.T, h Harness, c *Clock) {
	ctx := context.Background()
	id := enqueue(t, h.Backend, queue.Task{Name: "job", Timeout: time.Minute, MaxAttempts: 2})
	first := claim(t, h.Backend, "killed", 1)
	if len(first) != 1 || first[0].ID != id {
		t.Fatalf("first claim: %v", first)
	}
	// The lease is the timeout plus the grace (1 s here).
	c.Advance(30 * time.Second)
	if jobs := claim(t, h.Backend, "other", 1); len(jobs) != 0 {
		t.Fatalf("claimed a task within its lease: %v", jobs)
	}
	c.Advance(31*time.Second + 100*time.Millisecond)
	second := claim(t, h.Backend, "other", 1)
	if len(second) != 1 || second[0].ID != id || second[0].Attempt != 2 {
		t.Fatalf("claim after the lease: %+v", second)
	}
	// The first worker wakes up: its claim is stale and settles nothing.
	if err := h.Backend.Complete(ctx, first[0]); err != nil {
		t.Fatal(err)
	}
	if err := h.Backend.Retry(ctx, first[0], c.Now(), "stale"); err != nil {
		t.Fatal(err)
	}
	if jobs := claim(t, h.Backend, "third", 1); len(jobs) != 0 {
		t.Fatalf("a stale settle released the task: %v", jobs)
	}
	if err := h.Backend.Complete(ctx, second[0]); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	if jobs := claim(t, h.Backend, "third", 1); len(jobs) != 0 {
		t.Fatalf("the completed task is claimable again: %v", jobs)
	}

	// A consumer picks up a task whose worker died on its own.
	id = enqueue(t, h.Backend, queue.Task{Name: "job", Timeout: time.Minute, MaxAttempts: 3})
	if jobs := claim(t, h.Backend, "killed", 1); len(jobs) != 1 {
		t.Fatalf("claim: %v", jobs)
	}
	var ranBy atomic.Value
	stop := consume(t, &queue.Consumer{Backend: h.Backend, WorkerID: "survivor", Now: c.Now, Poll: 20 * time.Millisecond,
		Handlers: queue.Handlers{"job": func(ctx context.Context, j *queue.Job) error {
			ranBy.Store(fmt.Sprintf("%s/%d", j.ID, j.Attempt))
			return nil
		}}})
	time.Sleep(100 * time.Millisecond)
	if v := ranBy.Load(); v != nil {
		t.Fatalf("ran %v within the dead worker's lease", v)
	}
	c.Advance(2 * time.Minute)
	waitFor(t, "the survivor to run the task", func() bool { return ranBy.Load() != nil })
	if got := ranBy.Load(); got != id+"/2" {
		t.Errorf("ran %v, want %s/2", got, id)
	}

	stop()

	// A task lost on its last attempt is dead, not run again.
	lister, ok := h.Backend.(queue.DeadLister)
	if !ok {
		return
	}
	last := enqueue(t, h.Backend, queue.Task{Name: "lost", Timeout: time.Second, MaxAttempts: 1})
	if jobs := claim(t, h.Backend, "killed", 1); len(jobs) != 1 {
		t.Fatalf("claim: %v", jobs)
	}
	var lostRan atomic.Bool
	consume(t, &queue.Consumer{Backend: h.Backend, WorkerID: "survivor", Now: c.Now, Poll: 20 * time.Millisecond,
		Handlers: queue.Handlers{"lost": func(ctx context.Context, j *queue.Job) error { lostRan.Store(true); return nil }}})
	c.Advance(time.Minute)
	waitFor(t, "the lost task to be buried", func() bool {
		dead, err := lister.DeadTasks(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(dead) == 1 && dead[0].ID == last && strings.Contains(dead[0].LastError, "lease expired")
	})
	if lostRan.Load() {
		t.Error("a task was run again after its last attempt")
	}
}

func testTransactions(t *testing.T, h Harness, c *Clock) {
	if h.EnqueueTx == nil {
		t.Skip("the backend has no transactions")
	}
	ctx := context.Background()
	if err := h.EnqueueTx(ctx, queue.Task{Name: "rolled-back"}, true); err != nil {
		t.Fatal(err)
	}
	if err := h.EnqueueTx(ctx, queue.Task{Name: "committed"}, false); err != nil {
		t.Fatal(err)
	}
	var got []string
	ran := make(chan string, 10)
	consume(t, &queue.Consumer{Backend: h.Backend, WorkerID: "w", Now: c.Now, Poll: 20 * time.Millisecond,
		Handlers: queue.Handlers{
			"rolled-back": func(ctx context.Context, j *queue.Job) error { ran <- j.Name; return nil },
			"committed":   func(ctx context.Context, j *queue.Job) error { ran <- j.Name; return nil },
		}})
	select {
	case n := <-ran:
		got = append(got, n)
	case <-time.After(time.Minute):
		t.Fatal("the committed task did not run")
	}
	select {
	case n := <-ran:
		got = append(got, n)
	case <-time.After(300 * time.Millisecond):
	}
	if strings.Join(got, ",") != "committed" {
		t.Errorf("ran %v, want only the committed task", got)
	}
}

func testWake(t *testing.T, h Harness, c *Clock) {
	if h.Second == nil {
		t.Skip("the backend has one instance per storage")
	}
	other := h.Second()
	ran := make(chan string, 10)
	// A poll interval longer than the test: only a wake-up runs the task.
	consume(t, &queue.Consumer{Backend: other, WorkerID: "other", Now: c.Now, Poll: time.Hour,
		Handlers: queue.Handlers{"wake": func(ctx context.Context, j *queue.Job) error { ran <- string(j.Args); return nil }}})
	time.Sleep(200 * time.Millisecond) // the consumer is idle, waiting
	for i, tx := range []bool{false, true} {
		args := fmt.Sprintf(`{"n":%d}`, i)
		if tx && h.EnqueueTx != nil {
			if err := h.EnqueueTx(context.Background(), queue.Task{Name: "wake", Args: []byte(args)}, false); err != nil {
				t.Fatal(err)
			}
		} else {
			enqueue(t, h.Backend, queue.Task{Name: "wake", Args: []byte(args)})
		}
		select {
		case got := <-ran:
			if got != args {
				t.Errorf("ran %s, want %s", got, args)
			}
		case <-time.After(time.Minute):
			t.Fatalf("enqueue %d (in a transaction: %v) did not wake the other instance", i, tx)
		}
	}
}
