// Package queue is Gatehouse's task queue: tasks are enqueued by name with
// JSON arguments, and a Consumer runs them with the Handler registered for
// that name.
//
// Delivery is at least once: a task whose worker dies (SIGKILL, a lost
// connection) before it finished is run again once its lease has passed, so
// handlers must be idempotent. A failed run is retried after an exponential
// backoff with jitter, up to the task's MaxAttempts; then the task is dead,
// kept with its last error. Every run has a time limit (Task.Timeout), which
// is also the lease: the backend may hand the task to another worker only
// after Timeout plus a grace period.
//
//	Enqueue ──> queued ──claim──> running ──ok──> (deleted)
//	              ^                  │  │
//	              └──── backoff ─────┘  └── last attempt failed ──> dead (kept with its error)
//	              └──── lease over (the worker died) ───┘
//
// Backends (each passes queuetest.Run):
//   - sqlqueue: a table in the SQL store. Enqueue joins the caller's
//     transaction, so a task is enqueued exactly when the data change
//     commits. PostgreSQL claims with FOR UPDATE SKIP LOCKED and wakes
//     consumers with LISTEN/NOTIFY; SQLite (one process) polls and wakes
//     consumers in process.
//   - redisqueue: Redis Streams with a consumer group (worker.queue=redis).
package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Defaults for the zero values of Task.
const (
	DefaultMaxAttempts = 5
	DefaultTimeout     = 10 * time.Minute
)

// Task is a unit of work to enqueue.
type Task struct {
	// Name selects the handler.
	Name string
	// Args is the handler's input, JSON. Empty means {}.
	Args json.RawMessage
	// RunAt is the earliest time the task may run; zero means now.
	RunAt time.Time
	// MaxAttempts bounds the runs (the first included); zero means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Timeout limits one run; zero means DefaultTimeout.
	Timeout time.Duration
	// UniqueKey, when set, makes Enqueue a no-op (ErrDuplicate) while a task
	// with the same key waits to run: a schedule's tick, a file watch's
	// burst of changes are absorbed by the run already waiting. Once that
	// task is claimed the key is free again, so a change made while it runs
	// gets a run of its own.
	UniqueKey string
}

// ErrDuplicate is returned by Enqueue when a waiting task has the same
// UniqueKey.
var ErrDuplicate = errors.New("queue: a task with this unique key is already queued")

// Normalize fills in the defaults and checks the task.
func (t *Task) Normalize(now time.Time) error {
	if t.Name == "" {
		return errors.New("queue: task without a name")
	}
	if len(t.Args) == 0 {
		t.Args = json.RawMessage("{}")
	} else if !json.Valid(t.Args) {
		return fmt.Errorf("queue: task %s: args are not JSON", t.Name)
	}
	if t.RunAt.IsZero() {
		t.RunAt = now
	}
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = DefaultMaxAttempts
	}
	if t.Timeout <= 0 {
		t.Timeout = DefaultTimeout
	}
	return nil
}

// Job is a claimed task, as a handler sees it.
type Job struct {
	ID          string
	Name        string
	Args        json.RawMessage
	Attempt     int // 1 on the first run
	MaxAttempts int
	Timeout     time.Duration
	// Token identifies this claim; the backend ignores Complete/Fail from
	// a claim that was taken over after its lease ran out.
	Token string
}

// Queue enqueues tasks.
type Queue interface {
	// Enqueue adds t and returns its id. With a UniqueKey that a waiting
	// task already has, it returns ErrDuplicate.
	Enqueue(ctx context.Context, t Task) (string, error)
}

// Backend is a queue a Consumer can take tasks from.
type Backend interface {
	Queue
	// Claim takes up to n tasks that are due, for worker, and leases each
	// for its Timeout plus grace.
	Claim(ctx context.Context, worker string, n int, grace time.Duration) ([]*Job, error)
	// Complete removes a task that ran.
	Complete(ctx context.Context, j *Job) error
	// Retry puts a task that failed back for another attempt at runAt.
	Retry(ctx context.Context, j *Job, runAt time.Time, lastErr string) error
	// Bury keeps a task that failed its last attempt as dead.
	Bury(ctx context.Context, j *Job, lastErr string) error
	// Wake signals (without blocking) when tasks may have been enqueued,
	// so consumers need not wait for their next poll. It may be nil.
	Wake() <-chan struct{}
}

// BatchCompleter is a Backend that can complete many tasks in one round
// trip; the Consumer then completes in batches.
type BatchCompleter interface {
	CompleteBatch(ctx context.Context, js []*Job) error
}

// Dead is a task that failed every attempt.
type Dead struct {
	ID        string
	Name      string
	Args      json.RawMessage
	Attempts  int
	LastError string
}

// DeadLister lists dead tasks; backends that keep them implement it.
type DeadLister interface {
	DeadTasks(ctx context.Context, limit int) ([]Dead, error)
}
