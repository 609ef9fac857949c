package lifecycle

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/bus"
	"github.com/gatehouse-idp/gatehouse/internal/bus/pgbus"
	"github.com/gatehouse-idp/gatehouse/internal/bus/redisbus"
	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/policy/reputation"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/web"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

// busGrace is how long the Redis bus may be disconnected before the
// readiness check fails: go-redis reconnects within seconds, so longer
// means this replica no longer hears invalidations.
const busGrace = 30 * time.Second

// newRedisBus opens the Redis bus when redis.* is configured (in Run, so
// that the readiness check sees it from the start).
func (p *Process) newRedisBus() {
	if p.redis != nil {
		p.redisBus = redisbus.New(p.redis, redisbus.Options{Log: p.Log.With("component", "bus")})
	}
}

// openBus picks the message bus: Redis pub/sub when redis.* is configured,
// else PostgreSQL LISTEN/NOTIFY, else in process
// (embedded mode: one process).
func (p *Process) openBus(st *sqlstore.Store) bus.Bus {
	log := p.Log.With("component", "bus")
	var (
		b    bus.Bus
		kind string
	)
	switch {
	case p.redisBus != nil:
		b, kind = p.redisBus, "redis"
	case st.Dialect() == "pg":
		b, kind = pgbus.New(st.DBs()["primary"], pgbus.Options{Log: log}), "postgresql"
	default:
		b, kind = bus.NewLocal(), "local"
	}
	log.Info("message bus", "backend", kind)
	p.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gatehouse_bus_connected", Help: "1 while the message bus (cache invalidations) reaches the other replicas.",
		ConstLabels: prometheus.Labels{"backend": kind},
	}, func() float64 {
		if b.Health() != nil {
			return 0
		}
		return 1
	}))
	return b
}

// busCheck fails readiness when the Redis bus has been disconnected for
// longer than busGrace. The PostgreSQL listener is not checked: while the
// database answers (the database check), it reconnects within its backoff.
func (p *Process) busCheck() web.Check {
	var (
		mu   sync.Mutex
		down time.Time // when a check first saw it disconnected
	)
	return web.Check{Name: "bus", Fn: func(context.Context) error {
		b := p.redisBus
		if b == nil {
			return nil
		}
		err := b.Health()
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			down = time.Time{}
			return nil
		}
		if down.IsZero() {
			down = time.Now()
		}
		if time.Since(down) < busGrace {
			return nil
		}
		return fmt.Errorf("redis pub/sub: %w", err)
	}}
}

// invalidatesConfig makes t invalidate the configuration caches of every
// replica after each successful run (blueprints and certificates found
// on disk are written by the worker, not through the API).
func (p *Process) invalidatesConfig(t worker.Task) worker.Task {
	run := t.Run
	t.Run = func(ctx context.Context) (string, error) {
		msg, err := run(ctx)
		if err == nil {
			if ierr := p.caches.Invalidate(ctx, cache.Config, ""); ierr != nil {
				p.Log.Warn("cache invalidation not sent", "task", t.Name, "error", ierr)
			}
		}
		return msg, err
	}
	return t
}

// withScores is st for the request paths (API, flow executor, policies):
// with redis.* configured, the reputation scores (failed and successful
// logins per username and IP) are kept in Redis instead of the SQL table.
func (p *Process) withScores(st *sqlstore.Store) store.Store {
	if p.redis == nil {
		return st
	}
	return reputation.InRedis(st, &reputation.Redis{Client: p.redis})
}

// newRedisClient connects to the configured redis.* server.
func newRedisClient(cfg *config.Config) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: cfg.Redis.Host + ":" + strconv.Itoa(cfg.Redis.Port), DB: cfg.Redis.DB,
		Username: cfg.Redis.Username, Password: cfg.Redis.Password.Reveal(),
		TLSConfig: redisTLS(cfg.Redis.TLS, cfg.Redis.Host),
	})
}

// AnnounceConfigChange tells the running replicas that configuration
// changed behind their back (`gatehouse blueprint apply` writes to the
// database directly): it publishes a config invalidation on the bus the
// servers use, Redis pub/sub when redis.* is configured, else PostgreSQL
// NOTIFY. On SQLite there is no bus between processes; the server's caches
// expire within their TTLs (seconds).
func AnnounceConfigChange(ctx context.Context, cfg *config.Config, st *sqlstore.Store, log *slog.Logger) error {
	var b bus.Bus
	switch {
	case cfg.RedisEnabled():
		rdb := newRedisClient(cfg)
		defer rdb.Close()
		b = redisbus.New(rdb, redisbus.Options{Log: log})
	case st.Dialect() == "pg":
		b = pgbus.New(st.DBs()["primary"], pgbus.Options{Log: log})
	default:
		return nil
	}
	defer b.Close()
	return cache.NewGroup(b, log).Invalidate(ctx, cache.Config, "")
}

// brandsCached serves ListBrands from the config cache. The flow UI, the
// stages and the executor match the request's host against the brands on
// every page; brands change only through writes that invalidate the config
// namespace on every replica (the API, blueprints, the CLI), and these
// callers only read the list. Transactions (InTx) read the table.
type brandsCached struct {
	store.Store
	brands *cache.Cache[struct{}, []*store.Brand]
}

func (s brandsCached) ListBrands(ctx context.Context) ([]*store.Brand, error) {
	return s.brands.Load(ctx, struct{}{}, s.Store.ListBrands)
}

// withBrandCache wraps the flow executor's store with the brand cache.
func (p *Process) withBrandCache(st store.Store) store.Store {
	return brandsCached{st, cache.New[struct{}, []*store.Brand](p.caches,
		cache.Options{Namespaces: []string{cache.Config}, TTL: 10 * time.Second, MaxEntries: 1})}
}
