package worker_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

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
	task := worker.CleanExpiredModels(s, func() time.Time { return now })
	got, err := task.Run(ctx)
	if err != nil || got != "deleted 1 sessions, 0 tokens, 0 events, 0 reputation scores" {
		t.Fatalf("Run = %q, %v", got, err)
	}
	if _, err := s.SessionByKey(ctx, "b", now); err != nil {
		t.Errorf("live session deleted: %v", err)
	}
}

func TestWorkerRunsAndStops(t *testing.T) {
	var n atomic.Int32
	w := &worker.Worker{Log: slog.New(slog.DiscardHandler), Tasks: []worker.Task{{
		Name: "count", Interval: 10 * time.Millisecond,
		Run: func(context.Context) (string, error) { n.Add(1); return "", nil },
	}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	deadline := time.After(5 * time.Second)
	for n.Load() < 3 {
		select {
		case <-deadline:
			t.Fatalf("task ran %d times in 5s", n.Load())
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not stop")
	}
}
