package api_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/bus"
	"github.com/gatehouse-idp/gatehouse/internal/bus/bustest"
	"github.com/gatehouse-idp/gatehouse/internal/bus/pgbus"
	"github.com/gatehouse-idp/gatehouse/internal/bus/redisbus"
	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// replica is one API process: its own store connections, bus and caches,
// with one probe cache per namespace.
type replica struct {
	env    *oauth2Env
	group  *cache.Group
	probes map[string]*cache.Cache[string, int]
}

func (r *replica) fill(keys ...string) {
	for _, p := range r.probes {
		for _, k := range keys {
			p.Set(k, 1)
		}
	}
}

func (r *replica) has(ns, key string) bool { _, ok := r.probes[ns].Get(key); return ok }

// TestInvalidationAcrossReplicas runs two API instances on one PostgreSQL
// database, with the PostgreSQL and the Redis bus: a successful write on
// one drops the affected namespaces of both, the writer's before it
// answers; a failed write drops nothing.
func TestInvalidationAcrossReplicas(t *testing.T) {
	buses := map[string]func(t *testing.T, st *sqlstore.Store) bus.Bus{
		"postgres": func(t *testing.T, st *sqlstore.Store) bus.Bus {
			return pgbus.New(st.DBs()["primary"], pgbus.Options{Log: bustest.Log(t)})
		},
		"redis": redisBus(t),
	}
	for name, open := range buses {
		t.Run(name, func(t *testing.T) {
			url := testenv.PostgresDB(t)
			a, b := newReplica(t, url, open, true), newReplica(t, url, open, false)
			testReplicas(t, a, b)
		})
	}
}

// redisBus returns an opener of Redis buses sharing a channel prefix.
func redisBus(t *testing.T) func(t *testing.T, st *sqlstore.Store) bus.Bus {
	prefix := make([]byte, 6)
	_, _ = rand.Read(prefix)
	return func(t *testing.T, _ *sqlstore.Store) bus.Bus {
		opts, err := redis.ParseURL(testenv.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { _ = rdb.Close() })
		if err := rdb.Ping(context.Background()).Err(); err != nil {
			testenv.Missing(t, "Redis at %s: %v", testenv.EnvRedis, err)
		}
		return redisbus.New(rdb, redisbus.Options{Prefix: "gatehouse-test:" + hex.EncodeToString(prefix) + ":", Log: bustest.Log(t)})
	}
}

func newReplica(t *testing.T, url string, open func(*testing.T, *sqlstore.Store) bus.Bus, migrate bool) *replica {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenPostgres(ctx, url, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if migrate {
		if _, err := st.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	b := open(t, st)
	t.Cleanup(func() { _ = b.Close(); _ = st.Close() }) // after the server (cleanups run last first)
	srv := apitest.NewWithStore(t, st)
	r := &replica{env: &oauth2Env{t: t, srv: srv}, group: cache.NewGroup(b, bustest.Log(t)),
		probes: map[string]*cache.Cache[string, int]{}}
	for _, ns := range []string{cache.Config, cache.Users, cache.Sessions, cache.Tokens} {
		r.probes[ns] = cache.New[string, int](r.group, cache.Options{Namespaces: []string{ns}})
	}
	srv.API.Caches = r.group
	deadline := time.Now().Add(10 * time.Second)
	for b.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("bus not connected: %v", b.Health())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r
}

// eventually waits for cond on the other replica (the bus's delivery).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func testReplicas(t *testing.T, a, b *replica) {
	var brands struct {
		Results []struct {
			UUID string `json:"brand_uuid"`
		} `json:"results"`
	}
	a.env.admin("GET", "/core/brands/", nil, &brands)
	if len(brands.Results) == 0 {
		t.Fatal("no brand")
	}
	brand := "/core/brands/" + brands.Results[0].UUID + "/"

	// A configuration write: config goes everywhere, the rest stays.
	a.fill("k")
	b.fill("k")
	a.env.admin("PATCH", brand, map[string]any{"branding_title": "Changed on A"}, nil)
	if a.has(cache.Config, "k") {
		t.Error("the writer still had its config cache when the response came")
	}
	eventually(t, "B's config cache dropped", func() bool { return !b.has(cache.Config, "k") })
	for _, ns := range []string{cache.Users, cache.Sessions, cache.Tokens} {
		if !a.has(ns, "k") || !b.has(ns, "k") {
			t.Errorf("a brand change dropped the %s namespace", ns)
		}
	}

	// A token's deletion drops that token only, and no configuration.
	received := b.group.Received()
	a.env.admin("POST", "/core/tokens/", map[string]any{"identifier": "replica-token", "intent": "api"}, nil)
	eventually(t, "the token's creation reached B", func() bool { return b.group.Received() > received })
	a.fill("k", "replica-token")
	b.fill("k", "replica-token")
	a.env.admin("DELETE", "/core/tokens/replica-token/", nil, nil)
	eventually(t, "B's token dropped", func() bool { return !b.has(cache.Tokens, "replica-token") })
	if a.has(cache.Tokens, "replica-token") {
		t.Error("the writer still had the token cached when the response came")
	}
	for _, r := range []*replica{a, b} {
		if !r.has(cache.Tokens, "k") || !r.has(cache.Config, "k") || !r.has(cache.Users, "k") {
			t.Error("a token deletion dropped more than the token")
		}
	}

	// A group change: the users namespace.
	a.env.admin("POST", "/core/groups/", map[string]any{"name": "replicas"}, nil)
	eventually(t, "B's users cache dropped", func() bool { return !b.has(cache.Users, "k") })
	if !b.has(cache.Config, "k") {
		t.Error("a group change dropped the configuration")
	}

	// A failed write drops nothing.
	a.fill("k")
	b.fill("k")
	received = b.group.Received()
	if got, _ := a.env.call(apitest.AdminToken, "PATCH", "/core/brands/00000000-0000-0000-0000-000000000000/",
		map[string]any{"branding_title": "x"}); got != http.StatusNotFound {
		t.Fatalf("PATCH of a missing brand = %d", got)
	}
	// A later write is the marker that anything sent before has arrived.
	a.env.admin("PATCH", brand, map[string]any{"branding_title": "Again"}, nil)
	eventually(t, "the marker write arrived", func() bool { return b.group.Received() > received })
	if got := b.group.Received() - received; got != 1 {
		t.Errorf("B received %d invalidations for one successful and one failed write", got)
	}
	if !a.has(cache.Users, "k") || !b.has(cache.Users, "k") {
		t.Error("a failed write dropped something")
	}
}
