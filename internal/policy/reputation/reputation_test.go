package reputation_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/policy/reputation"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// counters is what both implementations of the scores offer.
type counters interface {
	AdjustReputation(ctx context.Context, identifier, ip string, delta, lower, upper int, now, expires time.Time) error
	ReputationScore(ctx context.Context, identifier, ip string, now time.Time) (int, error)
}

func sqlite(t *testing.T) counters {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func postgres(t *testing.T) counters {
	ctx := context.Background()
	st, err := sqlstore.OpenPostgres(ctx, testenv.PostgresDB(t), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

func inRedis(t *testing.T) counters {
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
	t.Cleanup(func() {
		if keys, _ := rdb.Keys(ctx, prefix+"*").Result(); len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
		_ = rdb.Close()
	})
	return &reputation.Redis{Client: rdb, Prefix: prefix}
}

// TestCounters runs one scenario on every place scores can live: the
// Redis implementation must behave as the SQL one.
func TestCounters(t *testing.T) {
	for name, open := range map[string]func(*testing.T) counters{"sqlite": sqlite, "postgres": postgres, "redis": inRedis} {
		t.Run(name, func(t *testing.T) { testCounters(t, open(t)) })
	}
}

func testCounters(t *testing.T, c counters) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	exp := now.Add(time.Hour)
	adjust := func(id, ip string, delta int, at, until time.Time) {
		t.Helper()
		if err := c.AdjustReputation(ctx, id, ip, delta, -5, 5, at, until); err != nil {
			t.Fatal(err)
		}
	}
	score := func(id, ip string, at time.Time) int {
		t.Helper()
		n, err := c.ReputationScore(ctx, id, ip, at)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for range 7 {
		adjust("alice", "192.0.2.1", -1, now, exp) // clamped at -5
	}
	adjust("bob", "192.0.2.1", 1, now, exp)
	adjust("alice", "198.51.100.7", 9, now, exp) // a first delta is clamped too
	adjust("dave", "", -2, now, exp)             // no client IP
	for _, tc := range []struct {
		id, ip string
		want   int
	}{
		{"alice", "", 0},            // -5 + 5
		{"", "192.0.2.1", -4},       // alice -5, bob +1
		{"alice", "192.0.2.1", 1},   // alice's records, and bob's by IP; alice@192.0.2.1 once
		{"bob", "198.51.100.7", 6},  // bob +1, alice@198.51.100.7 +5
		{"carol", "203.0.113.9", 0}, // nobody
		{"dave", "", -2},
		{"", "", 0},
	} {
		if got := score(tc.id, tc.ip, now); got != tc.want {
			t.Errorf("ReputationScore(%q, %q) = %d, want %d", tc.id, tc.ip, got, tc.want)
		}
	}
	// An expired record counts for nothing and restarts from the delta.
	later := exp.Add(time.Minute)
	if got := score("alice", "", later); got != 0 {
		t.Errorf("expired score = %d", got)
	}
	adjust("alice", "192.0.2.1", 1, later, later.Add(time.Hour))
	if got := score("alice", "", later); got != 1 {
		t.Errorf("score after expiry and +1 = %d, want 1", got)
	}
	if got := score("", "192.0.2.1", later); got != 1 {
		t.Errorf("IP score after expiry = %d, want 1 (bob's record expired)", got)
	}
}

// The policy reads the scores through whatever store it is given:
// InRedis puts Redis behind the SQL store's other methods.
func TestPolicyInRedis(t *testing.T) {
	r := inRedis(t).(*reputation.Redis)
	st := reputation.InRedis(sqlite(t).(store.Store), r)
	ctx := context.Background()
	now := time.Now()
	for range 3 {
		if err := st.AdjustReputation(ctx, "mallory", "192.0.2.66", -1, -5, 5, now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := r.ReputationScore(ctx, "mallory", "", now); n != -3 {
		t.Fatalf("Redis has %d for mallory, want -3", n)
	}
	p := &store.Policy{Type: reputation.Type, Settings: store.Attributes{"threshold": float64(-3)}}
	for _, tc := range []struct {
		ip   string
		pass bool
	}{{"192.0.2.66", true}, {"203.0.113.1", true}} {
		res, err := reputation.Evaluator{Store: st}.Evaluate(ctx, p, policy.Request{
			ClientIP: tc.ip, Context: map[string]any{"pending_user_identifier": "mallory"}})
		if err != nil || res.Passing != tc.pass {
			t.Errorf("from %s: passing=%v, %v; want %v", tc.ip, res.Passing, err, tc.pass)
		}
	}
	res, _ := reputation.Evaluator{Store: st}.Evaluate(ctx, p, policy.Request{ClientIP: "203.0.113.1",
		Context: map[string]any{"pending_user_identifier": "someone-else"}})
	if res.Passing {
		t.Error("a clean client passed a threshold of -3")
	}
}
