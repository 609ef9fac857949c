package worker_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/queue/sqlqueue"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

// benchRecorded runs b.N no-op tasks through a whole Worker (concurrency
// 16): the queue plus the run's record (an insert and an update).
func benchRecorded(b *testing.B, st *sqlstore.Store) {
	ctx := context.Background()
	q := sqlqueue.New(st, sqlqueue.Options{})
	b.Cleanup(func() { _ = q.Close() })
	var ran atomic.Int64
	n := int64(b.N)
	all := make(chan struct{})
	w := &worker.Worker{Log: slog.New(slog.DiscardHandler), Store: st, Queue: q, Concurrency: 16,
		Handlers: queue.Handlers{"noop": func(context.Context, *queue.Job) error {
			if ran.Add(1) == n {
				close(all)
			}
			return nil
		}}}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(100 * time.Millisecond)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := q.Enqueue(ctx, queue.Task{Name: "noop"}); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("ran %d of %d", ran.Load(), n)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "tasks/s")
}

func BenchmarkRecordedSQLite(b *testing.B) {
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchRecorded(b, migrated(b, st))
}

func BenchmarkRecordedPostgres(b *testing.B) {
	st, err := sqlstore.OpenPostgres(context.Background(), testenv.PostgresDB(b), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchRecorded(b, migrated(b, st))
}

func migrated(b *testing.B, st *sqlstore.Store) *sqlstore.Store {
	b.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
	return st
}
