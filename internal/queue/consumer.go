package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"
)

// Handler runs one task. Returning an error retries it (or buries it after
// its last attempt; at once when the error is marked Final); so does a panic. A handler should return when ctx is
// done: the run's time limit, or the consumer stopping.
type Handler func(ctx context.Context, j *Job) error

// Handlers maps task names to their handlers.
type Handlers map[string]Handler

// Register adds h for name; a name registered twice panics (a wiring bug).
func (hs Handlers) Register(name string, h Handler) {
	if _, dup := hs[name]; dup {
		panic("queue: handler " + name + " registered twice")
	}
	hs[name] = h
}

// Backoff computes the wait before attempt+1 after attempt failed:
// Base·2^(attempt-1), at most Max, of which the upper half is random
// (jitter, so tasks failing together do not retry together).
type Backoff struct {
	Base, Max time.Duration
}

// DefaultBackoff waits about 5 s, 10 s, 20 s ... up to 10 minutes.
var DefaultBackoff = Backoff{Base: 5 * time.Second, Max: 10 * time.Minute}

// Delay is the wait after the given failed attempt (1-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// Consumer runs tasks from a Backend until its context ends.
type Consumer struct {
	Backend  Backend
	Handlers Handlers
	Log      *slog.Logger
	// WorkerID names this consumer in claims (the worker heartbeat id).
	WorkerID string
	// Concurrency is how many tasks run at once; zero means 4.
	Concurrency int
	// Poll is how often the backend is asked when nothing woke the
	// consumer; zero means 1 s.
	Poll time.Duration
	// Grace is added to a task's Timeout for its lease; zero means 30 s.
	Grace   time.Duration
	Backoff Backoff
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Observe, when set, wraps every run: the system-task recorder. It must
	// call run and return its error.
	Observe func(ctx context.Context, j *Job, run func(context.Context) error) error

	completed chan *Job // to completeBatches, with a BatchCompleter
}

// completeBatches completes what arrives on c.completed, taking what has
// queued up meanwhile (up to 256) as one batch, until the channel closes.
func (c *Consumer) completeBatches(bc BatchCompleter, log *slog.Logger) {
	batch := make([]*Job, 0, 256)
	for j := range c.completed {
		batch = append(batch[:0], j)
	more:
		for len(batch) < cap(batch) {
			select {
			case j, ok := <-c.completed:
				if !ok {
					break more
				}
				batch = append(batch, j)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := bc.CompleteBatch(ctx, batch); err != nil {
			// The tasks run again after their leases: at least once.
			log.Error("cannot mark tasks done", "tasks", len(batch), "error", err)
		}
		cancel()
	}
}

// ErrNoHandler fails a task whose name has no handler in this consumer.
var ErrNoHandler = errors.New("queue: no handler for this task")

func (c *Consumer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Run claims and runs tasks until ctx ends, then waits for the running ones
// (which see ctx done) to return.
func (c *Consumer) Run(ctx context.Context) {
	conc := c.Concurrency
	if conc <= 0 {
		conc = 4
	}
	poll := c.Poll
	if poll <= 0 {
		poll = time.Second
	}
	grace := c.Grace
	if grace <= 0 {
		grace = 30 * time.Second
	}
	if c.Backoff == (Backoff{}) {
		c.Backoff = DefaultBackoff
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	slots := make(chan struct{}, conc)
	done := make(chan struct{}, conc) // a slot was freed
	var wg sync.WaitGroup
	defer wg.Wait()
	if bc, ok := c.Backend.(BatchCompleter); ok {
		c.completed = make(chan *Job, conc)
		settled := make(chan struct{})
		go func() {
			defer close(settled)
			c.completeBatches(bc, log)
		}()
		defer func() {
			wg.Wait()
			close(c.completed)
			<-settled
		}()
	}
	wake := c.Backend.Wake()
	timer := time.NewTimer(0)
	defer timer.Stop()
	failures := 0
	for {
		free := conc - len(slots)
		var jobs []*Job
		if free > 0 {
			var err error
			jobs, err = c.Backend.Claim(ctx, c.WorkerID, free, grace)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				log.Warn("cannot claim tasks", "error", err)
			} else {
				failures = 0
			}
		}
		for _, j := range jobs {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					<-slots
					select {
					case done <- struct{}{}:
					default:
					}
				}()
				c.run(ctx, log, j)
			}()
		}
		if len(jobs) > 0 && len(jobs) == free {
			// There may be more waiting: ask again once half the slots are
			// free, or soon after the first one is, so short tasks are
			// claimed in batches rather than one round trip each.
			select {
			case <-ctx.Done():
				return
			case <-done:
			}
			soon := time.NewTimer(2 * time.Millisecond)
		gather:
			for len(slots) > conc/2 {
				select {
				case <-ctx.Done():
					soon.Stop()
					return
				case <-done:
				case <-soon.C:
					break gather
				}
			}
			soon.Stop()
			continue
		}
		if len(jobs) > 0 {
			continue // the queue may have more than this claim saw
		}
		wait := poll
		if failures > 0 {
			wait = min(poll*time.Duration(1<<min(failures, 5)), 30*time.Second)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-wake: // nil: never
		case <-done:
		case <-timer.C:
		}
	}
}

// run runs one job and settles it with the backend. Settling uses a context
// that outlives a consumer stop by a little, so a finished task is not
// run again only because the process was shutting down.
func (c *Consumer) run(ctx context.Context, log *slog.Logger, j *Job) {
	start := c.now()
	if j.Attempt > j.MaxAttempts {
		// The worker of the last attempt stopped before settling it.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		log.Error("task lost its worker on its last attempt", "task", j.Name, "id", j.ID)
		if err := c.Backend.Bury(sctx, j, "the worker running its last attempt stopped (lease expired)"); err != nil {
			log.Error("cannot bury a task", "task", j.Name, "id", j.ID, "error", err)
		}
		return
	}
	err := c.call(ctx, j)
	if ctx.Err() != nil && err != nil {
		// Stopping: leave the task to its lease, so another worker (or this
		// one after a restart) runs it again in full.
		log.Info("task interrupted by shutdown", "task", j.Name, "id", j.ID)
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case err == nil && c.completed != nil:
		c.completed <- j
		log.Debug("task done", "task", j.Name, "id", j.ID, "attempt", j.Attempt, "duration", c.now().Sub(start))
	case err == nil:
		if serr := c.Backend.Complete(sctx, j); serr != nil {
			log.Error("cannot mark a task done", "task", j.Name, "id", j.ID, "error", serr)
		}
		log.Debug("task done", "task", j.Name, "id", j.ID, "attempt", j.Attempt, "duration", c.now().Sub(start))
	case j.Attempt >= j.MaxAttempts || errors.Is(err, ErrNoHandler) || IsFinal(err):
		log.Error("task failed for the last time", "task", j.Name, "id", j.ID, "attempt", j.Attempt, "error", err)
		if serr := c.Backend.Bury(sctx, j, err.Error()); serr != nil {
			log.Error("cannot bury a task", "task", j.Name, "id", j.ID, "error", serr)
		}
	default:
		delay := c.Backoff.Delay(j.Attempt)
		log.Warn("task failed; retrying", "task", j.Name, "id", j.ID, "attempt", j.Attempt, "retry_in", delay, "error", err)
		if serr := c.Backend.Retry(sctx, j, c.now().Add(delay), err.Error()); serr != nil {
			log.Error("cannot retry a task", "task", j.Name, "id", j.ID, "error", serr)
		}
	}
}

// call runs the handler under the task's time limit, turning a panic into
// an error.
func (c *Consumer) call(ctx context.Context, j *Job) (err error) {
	h := c.Handlers[j.Name]
	if h == nil {
		return fmt.Errorf("%w %q", ErrNoHandler, j.Name)
	}
	tctx, cancel := context.WithTimeout(ctx, j.Timeout)
	defer cancel()
	run := func(ctx context.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		return h(ctx, j)
	}
	if c.Observe != nil {
		err = c.Observe(tctx, j, run)
	} else {
		err = run(tctx)
	}
	if err == nil && tctx.Err() != nil && ctx.Err() == nil {
		// The handler ignored its deadline and returned nil late: the
		// lease may already be another worker's. Count it as done anyway.
		return nil
	}
	if err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return fmt.Errorf("time limit of %s exceeded: %w", j.Timeout, err)
	}
	return err
}
