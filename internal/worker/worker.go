// Package worker runs Gatehouse's background tasks. In embedded mode it runs
// inside `gatehouse server`; in production as `gatehouse worker` replicas.
//
// This is the periodic-task runner of the foundation: each task runs at start
// and then on its interval, with its outcome logged and counted. Tasks must be
// idempotent, since every worker replica runs them.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Task is one periodic job.
type Task struct {
	Name     string
	Interval time.Duration
	// Run does the work and returns a short summary for the log.
	Run func(ctx context.Context) (string, error)
	// Trigger, when set, runs the task before its interval is up (a file
	// watch signals it).
	Trigger <-chan struct{}
}

// Worker runs Tasks until its context ends.
type Worker struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
	Tasks    []Task

	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// Run blocks until ctx is done, then waits for running tasks to return.
func (w *Worker) Run(ctx context.Context) {
	w.runs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gatehouse_worker_task_runs_total", Help: "Background task runs by task and status.",
	}, []string{"task", "status"})
	w.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gatehouse_worker_task_duration_seconds", Help: "Background task duration.",
	}, []string{"task"})
	if w.Registry != nil {
		w.Registry.MustRegister(w.runs, w.duration)
	}
	var wg sync.WaitGroup
	for _, t := range w.Tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx, t)
		}()
	}
	w.Log.Info("worker started", "tasks", len(w.Tasks))
	wg.Wait()
	w.Log.Info("worker stopped")
}

func (w *Worker) loop(ctx context.Context, t Task) {
	for {
		w.runOnce(ctx, t)
		// Up to 10% jitter so replicas do not run in lockstep.
		wait := t.Interval + time.Duration(rand.Int64N(int64(t.Interval)/10+1))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-t.Trigger: // a nil Trigger never fires
		}
	}
}

func (w *Worker) runOnce(ctx context.Context, t Task) {
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, t.Interval)
	defer cancel()
	summary, err := t.Run(tctx)
	w.duration.WithLabelValues(t.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down
		}
		w.runs.WithLabelValues(t.Name, "error").Inc()
		w.Log.Error("task failed", "task", t.Name, "error", err, "duration", time.Since(start))
		return
	}
	w.runs.WithLabelValues(t.Name, "successful").Inc()
	w.Log.Info("task done", "task", t.Name, "result", summary, "duration", time.Since(start))
}

// CleanExpiredModels deletes expired sessions, tokens and events (authentik's
// clean_expired_models, every 5 minutes).
func CleanExpiredModels(st store.Store, now func() time.Time) Task {
	return Task{
		Name:     "clean_expired_models",
		Interval: 5 * time.Minute,
		Run: func(ctx context.Context) (string, error) {
			t := now()
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
