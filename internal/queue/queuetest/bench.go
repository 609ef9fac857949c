package queuetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
)

// Throughput enqueues b.N no-op tasks from 4 goroutines while one consumer
// (concurrency 16) runs them, and reports tasks/s from the first enqueue to
// the last run.
func Throughput(b *testing.B, q queue.Backend) {
	var ran atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	c := &queue.Consumer{Backend: q, WorkerID: "bench", Concurrency: 16,
		Handlers: queue.Handlers{"noop": func(ctx context.Context, j *queue.Job) error {
			if ran.Add(1) == n {
				close(all)
			}
			return nil
		}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	_ = q.Wake() // listeners are up before the clock starts
	time.Sleep(50 * time.Millisecond)

	b.ResetTimer()
	start := time.Now()
	const producers = 4
	var wg sync.WaitGroup
	var next atomic.Int64
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= n {
				if _, err := q.Enqueue(context.Background(), queue.Task{Name: "noop"}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("ran %d of %d tasks", ran.Load(), n)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "tasks/s")
}
