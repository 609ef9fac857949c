package redisqueue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/queue/queuetest"
	"github.com/gatehouse-idp/gatehouse/internal/queue/redisqueue"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// open makes a queue under a key prefix of its own, deleted at the end,
// and a function opening a second one on the same keys.
func open(t testing.TB, c *queuetest.Clock) (*redisqueue.Queue, func() queue.Backend) {
	q, _, second := openRaw(t, c)
	return q, second
}

// openRaw is open that also returns the queue's client and key prefix.
func openRaw(t testing.TB, c *queuetest.Clock) (*redisqueue.Queue, func(key string) string, func() queue.Backend) {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		testenv.Missing(t, "Redis at %s: %v", testenv.EnvRedis, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "gatehouse-test:" + hex.EncodeToString(b) + ":"
	o := redisqueue.Options{Prefix: prefix}
	if c != nil {
		o.Now = c.Now
	}
	q, err := redisqueue.New(ctx, rdb, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = q.Close()
		keys, _ := rdb.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
		_ = rdb.Close()
	})
	second := func() queue.Backend {
		rdb2 := redis.NewClient(opts)
		q2, err := redisqueue.New(ctx, rdb2, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q2.Close(); _ = rdb2.Close() })
		return q2
	}
	del := func(key string) string {
		if err := rdb.Del(ctx, prefix+key).Err(); err != nil {
			t.Fatal(err)
		}
		return prefix + key
	}
	return q, del, second
}

func TestRedis(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, c *queuetest.Clock) queuetest.Harness {
		q, second := open(t, c)
		return queuetest.Harness{Backend: q, Second: second}
	})
}

// Redis losing its data (a restart without persistence) loses the stream
// and its consumer group; the next enqueue makes a stream without a group.
// Claims make the group again and read what was enqueued since.
func TestRedisLostConsumerGroup(t *testing.T) {
	ctx := context.Background()
	q, del, second := openRaw(t, nil)
	other := second() // a replica that enqueues, as a server does
	del("stream")
	for _, b := range []queue.Backend{other, q} {
		if _, err := b.Enqueue(ctx, queue.Task{Name: "after-restart"}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := q.Claim(ctx, "w1", 10, time.Minute)
	if err != nil {
		t.Fatalf("claim after the group was lost: %v", err)
	}
	if len(got) != 2 || got[0].Name != "after-restart" || got[1].Name != "after-restart" {
		t.Fatalf("claimed %v, want both tasks enqueued after the loss", got)
	}
	for _, j := range got {
		if err := q.Complete(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if again, err := q.Claim(ctx, "w2", 10, time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("second claim: %v, %v", again, err)
	}
}
