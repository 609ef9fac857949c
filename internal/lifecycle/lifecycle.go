// Package lifecycle starts and stops a Gatehouse process: it prepares the data
// dir and secret key, binds the listeners (so a port in use fails at once),
// connects to the store in the background with retries while the health
// endpoints already answer, applies migrations under a lock, bootstraps, runs
// the worker where it belongs, and shuts everything down gracefully on
// SIGTERM/SIGINT.
//
//	start ──> listeners bound ──> store connected ──> migrated ──> bootstrapped ──> ready
//	             │ live=200           (retry with backoff; ready=503 meanwhile)          │ ready=200
//	signal ──> ready=503 ──> stop accepting, drain in-flight requests ──> stop worker ──> close store
package lifecycle

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/api"
	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/bus"
	"github.com/gatehouse-idp/gatehouse/internal/bus/redisbus"
	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/media"
	"github.com/gatehouse-idp/gatehouse/internal/notify"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/queue/redisqueue"
	"github.com/gatehouse-idp/gatehouse/internal/queue/sqlqueue"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/web"
	"github.com/gatehouse-idp/gatehouse/internal/web/adminui"
	"github.com/gatehouse-idp/gatehouse/internal/web/flowui"
	"github.com/gatehouse-idp/gatehouse/internal/web/userui"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

// Mode is the role of the process.
type Mode string

// Modes.
const (
	ModeServer Mode = "server"
	ModeWorker Mode = "worker"
)

// SQLiteFile is the embedded database's file name in the data dir.
const SQLiteFile = "gatehouse.db"

// SecretKeyFile holds the generated secret key in embedded mode.
const SecretKeyFile = "secret_key"

// Process is one running server or worker.
type Process struct {
	Config  *config.Config
	Log     *slog.Logger
	Mode    Mode
	Version string

	st       atomic.Pointer[sqlstore.Store]
	redis    *redis.Client
	registry *prometheus.Registry
	web      *web.Server
	api      *api.API
	executor *flow.Executor
	oauth    *oauth2.Server
	// blueprints applies blueprint instances: the worker's discovery and
	// file watch, and the API's apply/, share it.
	blueprints *blueprint.Instances
	queue      closingQueue
	secretKey  string
	httpAddr   string // the bound HTTP address, for log messages

	// caches are this process's caches, invalidated through bus (cluster.go).
	caches   *cache.Group
	bus      bus.Bus
	redisBus *redisbus.Bus
}

// Run runs the process until ctx ends (a signal) or a fatal error.
func (p *Process) Run(ctx context.Context) error {
	cfg := p.Config
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return err
	}
	if err := p.loadSecretKey(); err != nil {
		return err
	}
	p.registry = prometheus.NewRegistry()
	p.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo(p.Version, string(p.Mode)),
	)
	if cfg.RedisEnabled() {
		p.redis = newRedisClient(cfg)
		defer p.redis.Close()
	}
	p.caches = cache.NewGroup(nil, p.Log.With("component", "cache")) // the bus connects in start
	p.newRedisBus()
	p.web = &web.Server{
		Log:            p.Log.With("component", "web"),
		Registry:       p.registry,
		TrustedProxies: cfg.TrustedProxies(),
		Checks:         p.readinessChecks(),
	}
	if err := p.newBlueprints(); err != nil {
		return err
	}
	if p.Mode == ModeServer {
		a, err := api.New(api.Deps{Log: p.Log.With("component", "api"), Version: p.Version, SecretKey: p.secretKey,
			Blueprints: p.blueprints, Media: p.mediaStore(), Caches: p.caches})
		if err != nil {
			return err
		}
		p.api = a
		p.oauth = &oauth2.Server{Log: p.Log.With("component", "oauth2"), SecretKey: p.secretKey}
		p.oauth.SetCaches(p.caches)
		p.api.OnSessionEnd = p.oauth.SessionEnded
		mfaSealer, err := crypto.NewSealer(p.secretKey, "authenticator-secret")
		if err != nil {
			return err
		}
		p.executor = &flow.Executor{Stages: stageall.Registry(), Log: p.Log.With("component", "flow"), // Mail: the outbox (mailOutbox)
			Secrets: mfaSealer, MailTemplates: mail.NewTemplates(p.Config.Email.TemplateDir), Definitions: flow.NewDefinitions(p.caches, 0, nil),
			Builtins: map[string]flow.Stage{oauth2.FulfillmentStage: p.oauth.Fulfillment(), oauth2.DeviceFulfillmentStage: p.oauth.DeviceFulfillment()}}
		a.Flows = p.executor // recovery links
		// Cross-origin browser POSTs are refused (Sec-Fetch-Site / Origin,
		// Go's CrossOriginProtection); scripts without those headers pass,
		// as authentik's executor API allows.
		executor := http.NewCrossOriginProtection().Handler(p.executor)
		ui := &flowui.UI{Executor: p.executor, Log: p.Log.With("component", "flowui"),
			Store:    func() store.Store { return p.st.Load() },
			Sessions: func() *session.Manager { return p.executor.Sessions }, Home: userui.Prefix}
		user := &userui.UI{API: a.Handler(), Store: func() store.Store { return p.st.Load() }, Log: p.Log.With("component", "userui")}
		p.web.Mount = func(r chi.Router) {
			r.Handle(api.Prefix+"/flows/executor/{slug}/", executor)
			r.Mount(api.Prefix, a.Handler())
			r.Handle(media.Prefix+"*", a.Media.Handler())
			ui.Mount(r)
			user.Mount(r)
			(&adminui.UI{API: a.Handler(), Version: p.Version, Log: p.Log.With("component", "adminui")}).Mount(r)
			p.oauth.Routes(r)
		}
	}
	listeners, err := p.listen()
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fatal := make(chan error, len(listeners)+1)
	var serving sync.WaitGroup
	for _, l := range listeners {
		serving.Add(1)
		go func() {
			defer serving.Done()
			if err := l.Serve(); err != nil {
				fatal <- fmt.Errorf("%s listener: %w", l.Name, err)
			}
		}()
	}

	var background sync.WaitGroup
	background.Add(1)
	go func() {
		defer background.Done()
		if err := p.start(ctx, &background); err != nil && ctx.Err() == nil {
			fatal <- err
		}
	}()

	var runErr error
	select {
	case <-ctx.Done():
		p.Log.Info("shutting down", "reason", "signal")
	case runErr = <-fatal:
		p.Log.Error("shutting down", "error", runErr)
	}
	p.web.SetStarted(false)
	shutdownCtx, done := context.WithTimeout(context.Background(), cfg.Web.ShutdownTimeout)
	defer done()
	for _, l := range listeners {
		if err := l.Shutdown(shutdownCtx); err != nil {
			p.Log.Warn("listener did not drain in time", "listener", l.Name, "error", err)
		}
	}
	serving.Wait()
	cancel() // stops the worker and any start-up retry loop
	background.Wait()
	if p.queue != nil {
		_ = p.queue.Close()
	}
	if p.bus != nil {
		_ = p.bus.Close() // the Redis bus too
	} else if p.redisBus != nil {
		_ = p.redisBus.Close()
	}
	if st := p.st.Load(); st != nil {
		if err := st.Close(); err != nil {
			p.Log.Warn("closing the database", "error", err)
		}
	}
	p.Log.Info("stopped")
	return runErr
}

// listen binds every configured listener. An empty address disables one.
func (p *Process) listen() ([]*web.Listener, error) {
	cfg := p.Config
	t := web.Timeouts{
		ReadHeader: cfg.Web.TimeoutHTTPReadHeader, Read: cfg.Web.TimeoutHTTPRead,
		Write: cfg.Web.TimeoutHTTPWrite, Idle: cfg.Web.TimeoutHTTPIdle,
	}
	handler := p.web.Handler()
	type spec struct {
		name, setting, addr string
		tls                 bool
		metrics             bool
	}
	specs := []spec{{"http", "listen.http", cfg.Listen.HTTP, false, false}}
	if p.Mode == ModeServer {
		specs = append(specs, spec{"https", "listen.https", cfg.Listen.HTTPS, true, false})
	}
	specs = append(specs, spec{"metrics", "listen.metrics", cfg.Listen.Metrics, false, true})

	var out []*web.Listener
	closeAll := func() {
		for _, l := range out {
			_ = l.Shutdown(context.Background())
		}
	}
	for _, s := range specs {
		if s.addr == "" {
			continue
		}
		h := handler
		if s.metrics {
			h = web.MetricsHandler(p.registry, p.Log)
		}
		var tc *tls.Config
		if s.tls {
			cert, created, err := crypto.LoadOrCreateSelfSigned(cfg.DataDir, hostNames(), time.Now())
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("listen.https: %w", err)
			}
			if created {
				p.Log.Info("generated a self-signed certificate for the HTTPS listener",
					"path", filepath.Join(cfg.DataDir, crypto.SelfSignedCertFile))
			}
			if tc, err = p.httpsConfig(cert); err != nil { // per SNI: the brands' web certificates
				closeAll()
				return nil, err
			}
		}
		l, err := web.Listen(s.name, s.setting, s.addr, h, tc, t, p.Log)
		if err != nil {
			closeAll()
			return nil, err
		}
		out = append(out, l)
		p.Log.Info("listening", "listener", s.name, "address", l.Addr().String())
		if s.name == "http" {
			p.httpAddr = l.Addr().String()
		}
	}
	return out, nil
}

// start connects, migrates, bootstraps, and starts the worker. It returns a
// fatal error, or nil once the process is ready.
func (p *Process) start(ctx context.Context, background *sync.WaitGroup) error {
	began := time.Now()
	st, err := p.connect(ctx)
	if err != nil {
		return err
	}
	p.st.Store(st)
	for name, db := range st.DBs() {
		p.registry.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
	p.web.SetStartupStatus("applying migrations")
	if _, err := st.Migrate(ctx, p.Log.With("component", "migrate")); err != nil {
		return err
	}
	p.bus = p.openBus(st)
	p.caches.Connect(p.bus)
	if p.Mode == ModeServer {
		p.web.SetStartupStatus("bootstrapping")
		// Replicas starting at once on a new database take turns.
		if err := st.WithStartLock(ctx, func() error { return p.bootstrap(ctx, st) }); err != nil {
			return err
		}
	}
	// The API's store is set before the worker starts: they share the
	// blueprint instances (and the API's event recorder).
	p.blueprints.Store = st
	if p.api != nil {
		p.api.SetStore(p.withScores(st))
	}
	if p.blueprints.Events == nil {
		p.blueprints.Events = &event.Recorder{Store: st, Log: p.Log}
	}
	// The task queue: the worker consumes it, the API enqueues into it.
	if p.queue, err = p.openQueue(ctx, st); err != nil {
		return err
	}
	if p.api != nil {
		p.api.Queue = p.queue
	}
	// Notification rules: events are dispatched through the queue, delivered by the worker.
	outbox, err := p.mailOutbox()
	if err != nil {
		return err
	}
	notes := &notify.Service{Store: st, Queue: p.queue, Log: p.Log.With("component", "notify"), Version: p.Version,
		Mail: outbox, Templates: mail.NewTemplates(p.Config.Email.TemplateDir)}
	if p.api != nil {
		p.api.Notifications = notes
	}
	p.caches.OnInvalidate(cache.Config, func(string) { notes.Invalidate() })
	// Back-channel logout tokens go through the queue (retried by the
	// worker's BackchannelHandler).
	if p.oauth != nil {
		p.oauth.Queue = p.queue
	}
	if p.Mode == ModeWorker || p.Config.Embedded() || p.Config.Worker.Embedded {
		ended, err := p.expiredSessionLogout(st)
		if err != nil {
			return err
		}
		tasks := []worker.Task{worker.CleanExpiredModels(st, time.Now, ended), worker.NotificationCleanup(st, time.Now)}
		tasks = append(tasks, p.invalidatesConfig(p.certificateDiscovery(ctx, st, background)))
		if dir := p.Config.BlueprintsDir; dir != "" {
			// A changed file is applied about a second later; the hourly
			// discovery catches what the watch misses.
			changed := make(chan struct{}, 1)
			tasks = append(tasks, p.invalidatesConfig(worker.BlueprintsDiscovery(p.blueprints, changed)))
			// An instance the API creates or changes is applied as soon.
			p.blueprints.OnChange = func() {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
			background.Add(1)
			go func() {
				defer background.Done()
				worker.WatchBlueprints(ctx, p.Log.With("component", "blueprints"), dir, 500*time.Millisecond, changed)
			}()
		}
		w := &worker.Worker{
			Log:      p.Log.With("component", "worker"),
			Registry: p.registry,
			Tasks:    tasks,
			Handlers: notes.AddHandlers(queue.Handlers{oauth2.BackchannelTask: oauth2.BackchannelHandler(p.Log.With("component", "oauth2")), mail.SendTask: outbox.Handle}),
			Store:    st,
			Queue:    p.queue,
			Version:  p.Version,

			Concurrency: p.Config.Worker.Concurrency,
		}
		if os.Getenv(worker.TestTasksEnv) == "1" {
			worker.AddTestTasks(w)
		}
		if err := w.Init(ctx); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		background.Add(1)
		go func() {
			defer background.Done()
			if err := w.Run(ctx); err != nil {
				p.Log.Error("worker", "error", err)
			}
		}()
	}
	if p.executor != nil {
		p.executor.Store = p.withBrandCache(p.withScores(st))
		p.executor.Sessions = &session.Manager{Store: st, OnEnd: p.oauth.SessionEnded}
		events := &event.Recorder{Store: st, Log: p.Log, Retention: p.api.EventRetention, Notify: notes}
		p.executor.Events = events
		p.executor.Policies = policyall.Engine(p.executor.Store, p.Log, events)
		p.executor.Policies.Caches = p.caches
		sealer, err := crypto.NewSealer(p.secretKey, "certificate-private-key")
		if err != nil {
			return err
		}
		p.oauth.Store, p.oauth.Executor, p.oauth.Sessions = st, p.executor, p.executor.Sessions
		// Replicas run on PostgreSQL: single-use identifiers are shared.
		p.oauth.SharedReplay = st.Dialect() == "pg"
		p.oauth.Policies, p.oauth.Events, p.oauth.KeySealer = p.executor.Policies, events, sealer
	}
	p.web.SetStarted(true)
	p.Log.Info("ready", "mode", string(p.Mode), "store", st.Dialect(), "startup_ms", time.Since(began).Milliseconds())
	return nil
}

// closingQueue is a queue backend with connections of its own to release.
type closingQueue interface {
	queue.Backend
	Close() error
}

// openQueue opens the task queue worker.queue names: the SQL one on the
// store, or Redis Streams.
func (p *Process) openQueue(ctx context.Context, st *sqlstore.Store) (closingQueue, error) {
	log := p.Log.With("component", "queue")
	log.Info("task queue", "backend", p.Config.Worker.Queue)
	if p.Config.Worker.Queue == "redis" {
		q, err := redisqueue.New(ctx, p.redis, redisqueue.Options{Log: log})
		if err != nil {
			return nil, fmt.Errorf("worker.queue=redis: %w", err)
		}
		return q, nil
	}
	return sqlqueue.New(st, sqlqueue.Options{Log: log}), nil
}

// newBlueprints makes the blueprint instances applier (its store is set
// once connected). !Env in instances reads what the CLI reads by default:
// the bootstrap variables of authentik's bootstrap blueprint.
func (p *Process) newBlueprints() error {
	ks, err := crypto.NewSealer(p.secretKey, "certificate-private-key")
	if err != nil {
		return err
	}
	ts, err := crypto.NewSealer(p.secretKey, "token-key")
	if err != nil {
		return err
	}
	p.blueprints = &blueprint.Instances{Dir: p.Config.BlueprintsDir, Log: p.Log.With("component", "blueprints"),
		KeySealer: ks, TokenSealer: ts, LookupEnv: os.LookupEnv, EnvPolicy: blueprint.DefaultEnvPolicy()}
	return nil
}

// connect opens the store. SQLite either opens or fails; PostgreSQL is
// retried with exponential backoff (1 s doubling to 30 s) until it answers
// or the process is stopped, with one log line per attempt.
func (p *Process) connect(ctx context.Context) (*sqlstore.Store, error) {
	cfg := p.Config
	if cfg.Embedded() {
		path := filepath.Join(cfg.DataDir, SQLiteFile)
		return sqlstore.OpenSQLite(ctx, path, sqlstore.Options{})
	}
	dsn := PostgresDSN(cfg.PostgreSQL)
	opts := sqlstore.Options{
		MaxConns:        cfg.PostgreSQL.MaxConns,
		ConnMaxLifetime: time.Duration(cfg.PostgreSQL.ConnMaxAge) * time.Second,
	}
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		st, err := sqlstore.OpenPostgres(actx, dsn, opts)
		cancel()
		if err == nil {
			if attempt > 1 {
				p.Log.Info("connected to postgresql", "attempts", attempt)
			}
			return st, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p.web.SetStartupStatus("waiting for postgresql: " + err.Error())
		p.Log.Error("postgresql is not reachable, retrying", "attempt", attempt, "retry_in", backoff.String(), "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (p *Process) readinessChecks() []web.Check {
	checks := []web.Check{
		{Name: "database", Fn: func(ctx context.Context) error {
			st := p.st.Load()
			if st == nil {
				return errors.New("not connected")
			}
			return st.Ping(ctx)
		}},
		{Name: "migrations", Fn: func(ctx context.Context) error {
			st := p.st.Load()
			if st == nil {
				return errors.New("not connected")
			}
			have, err := st.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			want, err := st.LatestSchemaVersion()
			if err != nil {
				return err
			}
			if have < want {
				return fmt.Errorf("schema version %d, this binary needs %d", have, want)
			}
			return nil
		}},
	}
	if p.redis != nil {
		checks = append(checks, web.Check{Name: "redis", Fn: func(ctx context.Context) error {
			return p.redis.Ping(ctx).Err()
		}}, p.busCheck())
	}
	return checks
}

// loadSecretKey takes secret_key from the config, or in embedded mode from
// (or into) data_dir/secret_key. PostgreSQL mode requires it explicitly: all
// replicas must share it.
func (p *Process) loadSecretKey() error {
	if p.Config.SecretKey != "" {
		p.secretKey = p.Config.SecretKey.Reveal()
		return nil
	}
	if !p.Config.Embedded() {
		return errors.New("secret_key is not set: on PostgreSQL every replica must share one, so set it " +
			"(GATEHOUSE_SECRET_KEY or secret_key in the config file)")
	}
	path := filepath.Join(p.Config.DataDir, SecretKeyFile)
	key, created, err := crypto.LoadOrCreateSecretKey(path)
	if err != nil {
		return err
	}
	if created {
		p.Log.Info("generated a new secret_key and saved it; back it up with the database", "path", path)
	}
	p.secretKey = key
	return nil
}

// prepareDataDir creates the data dir and proves it is writable.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data_dir %s: cannot create it: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data_dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	_ = f.Close()
	_ = os.Remove(name)
	return nil
}

// PostgresDSN builds a libpq keyword/value connection string.
func PostgresDSN(c config.PostgreSQL) string {
	q := func(v string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	parts := []string{
		"host=" + q(c.Host), "port=" + strconv.Itoa(c.Port), "user=" + q(c.User),
		"dbname=" + q(c.Name), "sslmode=" + q(c.SSLMode),
		"application_name=gatehouse", "connect_timeout=10",
	}
	if pw := c.Password.Reveal(); pw != "" {
		parts = append(parts, "password="+q(pw))
	}
	for k, v := range map[string]string{"sslrootcert": c.SSLRootCert, "sslcert": c.SSLCert, "sslkey": c.SSLKey} {
		if v != "" {
			parts = append(parts, k+"="+q(v))
		}
	}
	return strings.Join(parts, " ")
}

func redisTLS(on bool, host string) *tls.Config {
	if !on {
		return nil
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
}

func hostNames() []string {
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		return []string{h, "127.0.0.1", "::1"}
	}
	return []string{"127.0.0.1", "::1"}
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(addr string) string {
	for _, wild := range []string{"0.0.0.0:", "[::]:", ":", "127.0.0.1:", "[::1]:"} {
		if strings.HasPrefix(addr, wild) {
			return "localhost:" + strings.TrimPrefix(addr, wild)
		}
	}
	return addr
}

func buildInfo(version, mode string) prometheus.Collector {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gatehouse_build_info", Help: "Version and role of this process.",
	}, []string{"version", "mode"})
	g.WithLabelValues(version, mode).Set(1)
	return g
}

// Migrate connects (without retrying) and applies pending migrations: the
// `gatehouse migrate` command.
func Migrate(ctx context.Context, cfg *config.Config, log *slog.Logger) (sqlstore.MigrationResult, error) {
	if err := prepareDataDir(cfg.DataDir); cfg.Embedded() && err != nil {
		return sqlstore.MigrationResult{}, err
	}
	var (
		st  *sqlstore.Store
		err error
	)
	if cfg.Embedded() {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(cfg.DataDir, SQLiteFile), sqlstore.Options{})
	} else {
		st, err = sqlstore.OpenPostgres(ctx, PostgresDSN(cfg.PostgreSQL), sqlstore.Options{MaxConns: 2})
	}
	if err != nil {
		return sqlstore.MigrationResult{}, err
	}
	defer st.Close()
	return st.Migrate(ctx, log.With("component", "migrate"))
}
