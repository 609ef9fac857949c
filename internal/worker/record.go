package worker

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// run collects what a task logs while it runs.
type run struct {
	mu       sync.Mutex
	messages []store.TaskMessage
	warned   bool
}

type runKey struct{}

func logTo(ctx context.Context, level, text string) {
	r, _ := ctx.Value(runKey{}).(*run)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.messages = append(r.messages, store.TaskMessage{Time: time.Now().UTC(), Level: level, Text: text})
	if level == "warning" {
		r.warned = true
	}
}

// Info adds a message to the record of the task running with ctx.
func Info(ctx context.Context, text string) { logTo(ctx, "info", text) }

// Warn adds a warning to the record of the task running with ctx; the run
// then ends as "warning" instead of "successful".
func Warn(ctx context.Context, text string) { logTo(ctx, "warning", text) }

// record is the consumer's Observe: it writes the run's system_tasks row
// when it starts (status running) and when it ends.
func (w *Worker) record(ctx context.Context, j *queue.Job, fn func(context.Context) error) error {
	r := &run{}
	start := w.now()
	if j.Attempt > 1 {
		// An earlier attempt may still read "running": its worker died.
		if _, err := w.Store.AbandonSystemTasks(ctx, j.ID, "the worker stopped before this run finished", start); err != nil {
			w.Log.Warn("cannot close the record of an earlier attempt", "task", j.Name, "error", err)
		}
	}
	rec := &store.SystemTask{TaskID: j.ID, Name: j.Name, UID: uidOf(j), Status: store.TaskRunning,
		Attempt: j.Attempt, Worker: w.ID, Started: start}
	if err := w.Store.CreateSystemTask(ctx, rec); err != nil {
		w.Log.Warn("cannot record a task run", "task", j.Name, "error", err)
		rec = nil
	}
	err := fn(context.WithValue(ctx, runKey{}, r))
	end := w.now()
	status := store.TaskSuccessful
	r.mu.Lock()
	switch {
	case err != nil:
		status = store.TaskError
	case r.warned:
		status = store.TaskWarning
	}
	messages := r.messages
	r.mu.Unlock()
	if w.runs != nil {
		w.runs.WithLabelValues(j.Name, string(status)).Inc()
		w.duration.WithLabelValues(j.Name).Observe(end.Sub(start).Seconds())
	}
	if err != nil {
		w.Log.Error("task failed", "task", j.Name, "id", j.ID, "attempt", j.Attempt, "error", err)
	} else {
		w.Log.Info("task done", "task", j.Name, "id", j.ID, "status", string(status), "messages", len(messages))
	}
	if rec == nil {
		return err
	}
	rec.Status, rec.Finished, rec.DurationMS, rec.Messages = status, &end, end.Sub(start).Milliseconds(), messages
	if err != nil {
		rec.Error = err.Error()
	}
	// Recorded even when the run was cut short by a shutdown.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if uerr := w.Store.UpdateSystemTask(sctx, rec); uerr != nil {
		w.Log.Warn("cannot record a task run", "task", j.Name, "error", uerr)
	}
	return err
}

// uidOf is the object a task ran for: its args' "uid", when it has one.
func uidOf(j *queue.Job) string {
	var a struct {
		UID string `json:"uid"`
	}
	_ = json.Unmarshal(j.Args, &a)
	return a.UID
}
