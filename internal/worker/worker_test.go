package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/queue/sqlqueue"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

func TestCleanExpiredModels(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, exp := range []time.Time{now.Add(-time.Minute), now.Add(time.Hour)} {
		if err := s.CreateSession(ctx, &store.Session{Key: string(rune('a' + i)), Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	task := worker.CleanExpiredModels(s, func() time.Time { return now }, nil)
	got, err := task.Run(ctx)
	if err != nil || got != "deleted 1 sessions, 0 tokens, 0 events, 0 reputation scores" {
		t.Fatalf("Run = %q, %v", got, err)
	}
	if _, err := s.SessionByKey(ctx, "b", now); err != nil {
		t.Errorf("live session deleted: %v", err)
	}
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

func startWorker(t *testing.T, w *worker.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("worker did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

// A worker seeds the schedules, runs its tasks at start and on their
// trigger, records every run, and shows a heartbeat while it runs.
func TestWorkerRunsRecordsAndStops(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	q := sqlqueue.New(st, sqlqueue.Options{})
	t.Cleanup(func() { _ = q.Close() })
	var n atomic.Int32
	trigger := make(chan struct{})
	w := &worker.Worker{Log: slog.New(slog.DiscardHandler), Store: st, Queue: q, ID: "w1", Version: "v1",
		HeartbeatInterval: 50 * time.Millisecond,
		Tasks: []worker.Task{
			{Name: "count", Interval: 10 * time.Minute, Trigger: trigger,
				Run: func(ctx context.Context) (string, error) {
					if n.Add(1) == 2 {
						worker.Warn(ctx, "second run")
						return "", errors.New("boom")
					}
					return "counted", nil
				}},
			{Name: "manual", Crontab: "@daily", Paused: true,
				Run: func(ctx context.Context) (string, error) { return "", nil }},
		}}
	stop := startWorker(t, w)
	waitFor(t, "the run at start", func() bool { return n.Load() == 1 })
	trigger <- struct{}{}
	waitFor(t, "the triggered run", func() bool { return n.Load() >= 2 })
	var runs []*store.SystemTask
	waitFor(t, "two finished records", func() bool {
		var err error
		runs, _, err = st.ListSystemTasks(ctx, store.SystemTaskFilter{Name: "count", Ordering: "started"})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs) >= 2 && runs[1].Status != store.TaskRunning
	})
	if r := runs[0]; r.Status != store.TaskSuccessful || r.Worker != "w1" || r.Attempt != 1 || r.Finished == nil ||
		len(r.Messages) != 1 || r.Messages[0].Text != "counted" || r.Messages[0].Level != "info" {
		t.Errorf("first run: %+v", r)
	}
	if r := runs[1]; r.Status != store.TaskError || r.Error != "boom" || len(r.Messages) != 1 || r.Messages[0].Level != "warning" {
		t.Errorf("second run: %+v", r)
	}
	ws, err := st.ListWorkers(ctx, time.Now().Add(-time.Minute))
	if err != nil || len(ws) != 1 || ws[0].ID != "w1" || ws[0].Version != "v1" {
		t.Errorf("workers while running: %v %v", ws, err)
	}
	scheds, _, err := st.ListTaskSchedules(ctx, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sc := range scheds {
		got = append(got, sc.Identifier+" "+sc.Crontab+map[bool]string{true: " paused"}[sc.Paused])
	}
	if strings.Join(got, ",") != "clean_system_tasks 17 * * * *,count */10 * * * *,manual @daily paused" {
		t.Errorf("schedules: %v", got)
	}
	if runs, _, _ := st.ListSystemTasks(ctx, store.SystemTaskFilter{Name: "manual"}); len(runs) != 0 {
		t.Errorf("a paused task ran at start: %v", runs)
	}
	stop()
	if ws, _ := st.ListWorkers(ctx, time.Now().Add(-time.Minute)); len(ws) != 0 {
		t.Errorf("a stopped worker is listed: %v", ws)
	}
}

// Two replicas see the same due schedule; exactly one enqueues it.
func TestScheduleRunsOncePerTick(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	q := sqlqueue.New(st, sqlqueue.Options{})
	t.Cleanup(func() { _ = q.Close() })
	var runs atomic.Int32
	task := worker.Task{Name: "tick", Crontab: "0 0 1 1 *", Paused: true,
		Run: func(ctx context.Context) (string, error) { runs.Add(1); return "", nil }}
	for i := range 2 {
		startWorker(t, &worker.Worker{Log: slog.New(slog.DiscardHandler), Store: st, Queue: q,
			Tick: 20 * time.Millisecond, Tasks: []worker.Task{task}, ID: string(rune('a' + i))})
	}
	var sc *store.TaskSchedule
	waitFor(t, "the schedule", func() bool {
		list, _, _ := st.ListTaskSchedules(ctx, store.ListOptions{Search: "tick"})
		if len(list) == 1 {
			sc = list[0]
		}
		return sc != nil
	})
	// Due now, unpaused: both replicas' ticks see it.
	sc.Paused, sc.NextRun = false, time.Now().Add(-time.Second)
	if err := st.UpdateTaskSchedule(ctx, sc); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the scheduled run", func() bool { return runs.Load() >= 1 })
	time.Sleep(300 * time.Millisecond) // a second run would show now
	if runs.Load() != 1 {
		t.Errorf("ran %d times for one tick", runs.Load())
	}
	got, err := st.TaskScheduleByUUID(ctx, sc.UUID)
	if err != nil || got.LastRun == nil || !got.NextRun.After(time.Now()) {
		t.Errorf("schedule after its tick: %+v %v", got, err)
	}
	if _, err := q.Enqueue(ctx, queue.Task{Name: "tick"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a run sent by hand", func() bool { return runs.Load() == 2 })
}
