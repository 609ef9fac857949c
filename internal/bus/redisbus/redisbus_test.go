package redisbus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/bus"
	"github.com/gatehouse-idp/gatehouse/internal/bus/bustest"
	"github.com/gatehouse-idp/gatehouse/internal/bus/redisbus"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

func random() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func TestRedis(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Harness {
		opts, err := redis.ParseURL(testenv.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		admin := redis.NewClient(opts)
		t.Cleanup(func() { _ = admin.Close() })
		if err := admin.Ping(context.Background()).Err(); err != nil {
			testenv.Missing(t, "Redis at %s: %v", testenv.EnvRedis, err)
		}
		prefix := "gatehouse-test:" + random() + ":" // pub/sub ignores the db number
		name := "gatehouse-bustest-" + random()
		return bustest.Harness{
			Open: func(t *testing.T) bus.Bus {
				o := *opts
				o.ClientName = name
				rdb := redis.NewClient(&o)
				b := redisbus.New(rdb, redisbus.Options{Prefix: prefix, Log: bustest.Log(t)})
				t.Cleanup(func() { _ = b.Close(); _ = rdb.Close() })
				return b
			},
			Shared: true,
			Disconnect: func(t *testing.T, _ bus.Bus) {
				// Kill the connections of this test's clients only.
				list, err := admin.ClientList(context.Background()).Result()
				if err != nil {
					t.Fatal(err)
				}
				killed := 0
				for line := range strings.SplitSeq(list, "\n") {
					var id, client string
					for f := range strings.FieldsSeq(line) {
						if v, ok := strings.CutPrefix(f, "id="); ok {
							id = v
						} else if v, ok := strings.CutPrefix(f, "name="); ok {
							client = v
						}
					}
					if client == name && strings.Contains(line, " psub=1") {
						if err := admin.Do(context.Background(), "CLIENT", "KILL", "ID", id).Err(); err != nil {
							t.Fatal(err)
						}
						killed++
					}
				}
				if killed == 0 {
					t.Fatal("no subscribed client to kill")
				}
			},
		}
	})
}
