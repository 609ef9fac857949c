package worker

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/cron"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// seed creates the schedules of tasks that have none; existing ones keep
// what an admin changed.
func (w *Worker) seed(ctx context.Context, tasks []Task) error {
	now := w.now()
	for _, t := range tasks {
		spec, _ := cron.Parse(t.crontab())
		sc := &store.TaskSchedule{Identifier: t.Name, Name: t.Name, Crontab: t.crontab(), Paused: t.Paused,
			TimeoutMS: t.timeout().Milliseconds(), NextRun: spec.Next(now)}
		if err := w.Store.EnsureTaskSchedule(ctx, sc); err != nil {
			return err
		}
	}
	return nil
}

// NextRun is when a schedule with this crontab runs after now; an
// expression with no next time (Feb 30) gives a year from now.
func NextRun(crontab string, now time.Time) (time.Time, error) {
	spec, err := cron.Parse(crontab)
	if err != nil {
		return time.Time{}, err
	}
	next := spec.Next(now.UTC())
	if next.IsZero() {
		next = now.AddDate(1, 0, 0)
	}
	return next, nil
}

func (w *Worker) scheduleLoop(ctx context.Context) {
	t := time.NewTicker(w.Tick)
	defer t.Stop()
	for {
		w.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tick enqueues the task of every schedule that is due and that this
// replica claims (another replica may claim the same tick first).
func (w *Worker) tick(ctx context.Context) {
	now := w.now()
	due, err := w.Store.DueTaskSchedules(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			w.Log.Warn("reading the task schedules", "error", err)
		}
		return
	}
	for _, sc := range due {
		next, err := NextRun(sc.Crontab, now)
		if err != nil {
			// Only the API writes crontabs, and it checks them.
			w.Log.Error("a schedule's crontab does not parse", "schedule", sc.Identifier, "error", err)
			next = now.Add(time.Hour)
		}
		won, err := w.claimTick(ctx, sc, next, now)
		switch {
		case err != nil && ctx.Err() == nil:
			w.Log.Warn("claiming a schedule's tick", "schedule", sc.Identifier, "error", err)
		case won:
			w.Log.Debug("schedule fired", "schedule", sc.Identifier, "task", sc.Name, "next_run", next)
		}
	}
}

// claimTick moves the schedule to next and enqueues its task: in one
// transaction when the queue is the SQL one, else one after the other (a
// crash between them skips one tick).
func (w *Worker) claimTick(ctx context.Context, sc *store.TaskSchedule, next, now time.Time) (bool, error) {
	task := queue.Task{Name: sc.Name, Args: []byte(sc.Args), UniqueKey: UniqueKey(sc.Identifier),
		Timeout: time.Duration(sc.TimeoutMS) * time.Millisecond, MaxAttempts: 3}
	if txq, ok := w.Queue.(TxEnqueuer); ok {
		won := false
		err := w.Store.InTx(ctx, func(tx store.Store) error {
			ok, err := tx.ClaimTaskSchedule(ctx, sc.UUID, sc.NextRun, next, now)
			if err != nil || !ok {
				return err
			}
			won = true
			if _, err := txq.EnqueueTx(ctx, tx, task); err != nil && !errors.Is(err, queue.ErrDuplicate) {
				return err
			}
			return nil
		})
		return won && err == nil, err
	}
	ok, err := w.Store.ClaimTaskSchedule(ctx, sc.UUID, sc.NextRun, next, now)
	if err != nil || !ok {
		return false, err
	}
	if _, err := w.Queue.Enqueue(ctx, task); err != nil && !errors.Is(err, queue.ErrDuplicate) {
		return true, err
	}
	return true, nil
}
