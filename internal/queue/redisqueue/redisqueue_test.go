package redisqueue_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/queue/queuetest"
	"github.com/gatehouse-idp/gatehouse/internal/queue/redisqueue"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// open makes a queue under a key prefix of its own, deleted at the end,
// and a function opening a second one on the same keys.
func open(t testing.TB, c *queuetest.Clock) (*redisqueue.Queue, func() queue.Backend) {
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
	return q, second
}

func TestRedis(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, c *queuetest.Clock) queuetest.Harness {
		q, second := open(t, c)
		return queuetest.Harness{Backend: q, Second: second}
	})
}
