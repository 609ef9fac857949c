// Package worker runs Gatehouse's background tasks. In embedded mode it runs
// inside `gatehouse server`; in production as `gatehouse worker` replicas.
//
// A Worker is one replica of:
//
//   - a queue consumer (internal/queue) running the tasks enqueued by name:
//     the periodic Tasks listed in lifecycle, and any extra Handlers;
//   - the scheduler: every Task has a schedule row (task_schedules, seeded
//     from the code and then editable through /api/v3/tasks/schedules/),
//     and when its next_run comes, the replica that moves next_run forward
//     with a compare-and-swap enqueues the task: once per tick across all
//     replicas. At start, and when a Task's Trigger fires (a file watch),
//     it is enqueued too. Runs are enqueued with a unique key, so a run
//     already waiting absorbs the request (one that is running does not: a
//     change it may have missed gets a run of its own);
//   - the recorder: every run is a system_tasks row (status, duration,
//     messages, error), kept for Retention;
//   - a heartbeat row (worker_statuses) every HeartbeatInterval, listed by
//     /api/v3/tasks/workers/ and dropped when stale.
//
// Tasks must be idempotent: delivery is at least once.
package worker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-idp/gatehouse/internal/cron"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Task is one periodic job.
type Task struct {
	Name string
	// Interval is how often it runs, made into a crontab when Crontab is
	// empty. It is also the run's time limit unless Timeout is set.
	Interval time.Duration
	// Crontab is the schedule seeded on first start (cron(5) syntax).
	Crontab string
	Timeout time.Duration
	// Run does the work and returns a short summary, recorded as the
	// run's message.
	Run func(ctx context.Context) (string, error)
	// Trigger, when set, runs the task before its schedule (a file watch
	// signals it).
	Trigger <-chan struct{}
	// Paused: the schedule is seeded paused, and the task is not run at
	// start; it runs when sent from the API.
	Paused bool
}

// crontab is the task's schedule: Crontab, or every Interval when it
// divides an hour or a day evenly, else hourly.
func (t Task) crontab() string {
	if t.Crontab != "" {
		return t.Crontab
	}
	switch m := int(t.Interval / time.Minute); {
	case m <= 1:
		return "* * * * *"
	case m < 60 && 60%m == 0:
		return fmt.Sprintf("*/%d * * * *", m)
	case m%60 == 0 && m < 24*60 && (24*60)%m == 0:
		return fmt.Sprintf("0 */%d * * *", m/60)
	case m == 24*60:
		return "0 0 * * *"
	}
	return "0 * * * *"
}

func (t Task) timeout() time.Duration {
	switch {
	case t.Timeout > 0:
		return t.Timeout
	case t.Interval > 0:
		return t.Interval
	}
	return queue.DefaultTimeout
}

// TxEnqueuer is a queue that can enqueue in a store transaction (the SQL
// queue); the scheduler then claims a tick and enqueues its task atomically.
type TxEnqueuer interface {
	EnqueueTx(ctx context.Context, tx store.Store, t queue.Task) (string, error)
}

// Purger is a queue that keeps dead tasks and can delete old ones.
type Purger interface {
	PurgeDead(ctx context.Context, before time.Time) (int64, error)
}

// Defaults of the Worker's zero values.
const (
	DefaultHeartbeat = 5 * time.Second
	DefaultTick      = 5 * time.Second
	DefaultRetention = 30 * 24 * time.Hour // authentik's task_expiration
)

// StaleAfter is how long a worker may miss heartbeats before it is no
// longer listed.
func StaleAfter(heartbeat time.Duration) time.Duration { return 3 * heartbeat }

// Worker runs Tasks until its context ends.
type Worker struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	Tasks    []Task
	// Handlers are queued tasks beyond the periodic ones.
	Handlers queue.Handlers
	Store    store.Store
	Queue    queue.Backend
	// ID names this replica (heartbeat, task claims); empty: host-pid-random.
	ID      string
	Version string
	// Concurrency is how many tasks run at once (default 4).
	Concurrency int
	// HeartbeatInterval, Tick (how often schedules are checked) and
	// Retention (of run records and dead tasks) default to the constants.
	HeartbeatInterval time.Duration
	Tick              time.Duration
	Retention         time.Duration
	// Lease is the grace added to a task's time limit before another worker
	// may take it over (default 30 s).
	Lease time.Duration
	Now   func() time.Time

	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	started  time.Time
	inited   bool
	all      []Task // the cleanup task and Tasks
	handlers queue.Handlers
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// NewID is a worker id: host name, process id and a random suffix.
func NewID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Init checks the tasks and seeds their schedules; Run calls it if the
// caller did not, which lets a caller fail its start-up on an error.
func (w *Worker) Init(ctx context.Context) error {
	if w.inited {
		return nil
	}
	if w.Store == nil || w.Queue == nil {
		return errors.New("worker: Store and Queue are required")
	}
	if w.ID == "" {
		w.ID = NewID()
	}
	if w.HeartbeatInterval <= 0 {
		w.HeartbeatInterval = DefaultHeartbeat
	}
	if w.Tick <= 0 {
		w.Tick = DefaultTick
	}
	if w.Retention <= 0 {
		w.Retention = DefaultRetention
	}
	w.started = w.now()
	w.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_worker_task_runs_total", Help: "Background task runs by task and status.",
	}, []string{"task", "status"})
	w.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gatehouse_worker_task_duration_seconds", Help: "Background task duration.",
	}, []string{"task"})
	if w.Registry != nil {
		w.Registry.MustRegister(w.runs, w.duration)
	}
	w.all = append([]Task{w.cleanupTask()}, w.Tasks...)
	w.handlers = queue.Handlers{}
	for name, h := range w.Handlers {
		w.handlers.Register(name, h)
	}
	for _, t := range w.all {
		if _, err := cron.Parse(t.crontab()); err != nil {
			return fmt.Errorf("task %s: %w", t.Name, err)
		}
		w.handlers.Register(t.Name, periodicHandler(t))
	}
	if err := w.seed(ctx, w.all); err != nil {
		return fmt.Errorf("seed the task schedules: %w", err)
	}
	w.inited = true
	return nil
}

// Run blocks until ctx is done, then waits for running tasks to return.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.Init(ctx); err != nil {
		return err
	}
	tasks, handlers := w.all, w.handlers
	// Heartbeat first: the worker is listed while it starts its tasks.
	if err := w.heartbeat(ctx); err != nil {
		w.Log.Warn("worker heartbeat", "error", err)
	}

	var wg sync.WaitGroup
	spawn := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	consumer := &queue.Consumer{Backend: w.Queue, Handlers: handlers, Log: w.Log, WorkerID: w.ID,
		Concurrency: w.Concurrency, Grace: w.Lease, Now: w.Now, Observe: w.record}
	spawn(func() { consumer.Run(ctx) })
	spawn(func() { w.heartbeatLoop(ctx) })
	spawn(func() { w.scheduleLoop(ctx) })
	for _, t := range tasks {
		// At start, as authentik's discovery tasks do, and on each trigger.
		if !t.Paused {
			w.enqueue(ctx, t, "start")
		}
		if t.Trigger != nil {
			spawn(func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.Trigger:
						w.enqueue(ctx, t, "trigger")
					}
				}
			})
		}
	}
	w.Log.Info("worker started", "id", w.ID, "tasks", len(tasks))
	wg.Wait()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.Store.DeleteWorker(sctx, w.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		w.Log.Warn("removing the worker's heartbeat", "error", err)
	}
	w.Log.Info("worker stopped")
	return nil
}

// periodicHandler runs a Task as a queued task; its summary is the run's
// message.
func periodicHandler(t Task) queue.Handler {
	return func(ctx context.Context, j *queue.Job) error {
		summary, err := t.Run(ctx)
		if summary != "" {
			Info(ctx, summary)
		}
		return err
	}
}

// UniqueKey is the key a schedule's runs are enqueued with: while one
// waits to run, another tick or trigger adds nothing.
func UniqueKey(schedule string) string { return "schedule:" + schedule }

// enqueue adds a run of a periodic task now (unless one is waiting).
func (w *Worker) enqueue(ctx context.Context, t Task, why string) {
	_, err := w.Queue.Enqueue(ctx, queue.Task{Name: t.Name, UniqueKey: UniqueKey(t.Name), Timeout: t.timeout(), MaxAttempts: 3})
	switch {
	case errors.Is(err, queue.ErrDuplicate):
		w.Log.Debug("task already queued", "task", t.Name, "reason", why)
	case err != nil && ctx.Err() == nil:
		w.Log.Error("cannot enqueue a task", "task", t.Name, "reason", why, "error", err)
	}
}

func (w *Worker) heartbeat(ctx context.Context) error {
	host, _ := os.Hostname()
	return w.Store.HeartbeatWorker(ctx, &store.WorkerStatus{ID: w.ID, Hostname: host, Version: w.Version,
		Started: w.started, LastSeen: w.now()})
}

func (w *Worker) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(w.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := w.heartbeat(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("worker heartbeat", "error", err)
		}
	}
}

// cleanupTask is the worker's own housekeeping (authentik's
// clean_worker_statuses and task purge): run records and dead tasks past
// the retention, and workers whose heartbeat stopped long ago.
func (w *Worker) cleanupTask() Task {
	return Task{
		Name:    "clean_system_tasks",
		Crontab: "17 * * * *",
		Timeout: 10 * time.Minute,
		Run: func(ctx context.Context) (string, error) {
			now := w.now()
			records, err := w.Store.DeleteSystemTasksBefore(ctx, now.Add(-w.Retention))
			if err != nil {
				return "", fmt.Errorf("task records: %w", err)
			}
			var dead int64
			if p, ok := w.Queue.(Purger); ok {
				if dead, err = p.PurgeDead(ctx, now.Add(-w.Retention)); err != nil {
					return "", fmt.Errorf("dead tasks: %w", err)
				}
			}
			workers, err := w.Store.DeleteWorkersBefore(ctx, now.Add(-time.Hour))
			if err != nil {
				return "", fmt.Errorf("worker statuses: %w", err)
			}
			return fmt.Sprintf("deleted %d task records, %d dead tasks, %d stale workers", records, dead, workers), nil
		},
	}
}

// expiryNotices bounds the expired sessions told to sessionEnded per run;
// the rest are deleted without (their relying parties' tokens still end
// with the grants, and expire on their own).
const expiryNotices = 1000

// CleanExpiredModels deletes expired sessions, tokens and events (authentik's
// clean_expired_models, every 5 minutes). sessionEnded, when set, is told of
// each expired session with OAuth2 grants before it is deleted (back-channel
// logout tokens for its relying parties, OpenID Connect Back-Channel Logout
// 1.0 §2.7: the OP sends them when the session ends, expiry included).
func CleanExpiredModels(st store.Store, now func() time.Time, sessionEnded func(context.Context, *store.Session)) Task {
	return Task{
		Name:     "clean_expired_models",
		Interval: 5 * time.Minute,
		Crontab:  "2-59/5 * * * *", // authentik's
		Run: func(ctx context.Context) (string, error) {
			t := now()
			if sessionEnded != nil {
				ended, err := st.ExpiredSessionsWithGrants(ctx, t, expiryNotices)
				if err != nil {
					return "", fmt.Errorf("expired sessions: %w", err)
				}
				for _, s := range ended {
					sessionEnded(ctx, s)
				}
			}
			sessions, err := st.DeleteExpiredSessions(ctx, t)
			if err != nil {
				return "", fmt.Errorf("sessions: %w", err)
			}
			tokens, err := st.DeleteExpiredTokens(ctx, t)
			if err != nil {
				return "", fmt.Errorf("tokens: %w", err)
			}
			events, err := st.DeleteExpiredEvents(ctx, t)
			if err != nil {
				return "", fmt.Errorf("events: %w", err)
			}
			rep, err := st.DeleteExpiredReputation(ctx, t)
			if err != nil {
				return "", fmt.Errorf("reputation: %w", err)
			}
			return fmt.Sprintf("deleted %d sessions, %d tokens, %d events, %d reputation scores", sessions, tokens, events, rep), nil
		},
	}
}
