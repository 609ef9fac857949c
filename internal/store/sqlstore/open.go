package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations
var migrations embed.FS

// Options tune the pools. Zero values take defaults.
type Options struct {
	// MaxConns bounds the PostgreSQL pool (default 20) or the SQLite read pool
	// (default 2 x GOMAXPROCS). The SQLite write pool always has one connection.
	MaxConns int
	// ConnMaxLifetime recycles PostgreSQL connections; zero keeps them.
	ConnMaxLifetime time.Duration
	// Now is the clock for timestamps the store sets; nil means time.Now.
	Now func() time.Time
}

func (o Options) clock() func() time.Time {
	if o.Now != nil {
		return func() time.Time { return o.Now().UTC() }
	}
	return func() time.Time { return time.Now().UTC() }
}

// sqlitePragmas are applied to every SQLite connection.
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"

// OpenSQLite opens (creating if needed) the SQLite database at path.
func OpenSQLite(ctx context.Context, path string, opts Options) (*Store, error) {
	// The database holds password hashes: create it private. SQLite gives the
	// -wal and -shm files the database file's permissions.
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
		_ = f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("create sqlite database %s: %w", path, err)
	}
	u := url.URL{Scheme: "file", Opaque: url.PathEscape(path)}
	base := u.String() + "?" + sqlitePragmas
	wdb, err := sql.Open("sqlite", base+"&_txlock=immediate"+writerPragmas)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One writer: SQLite allows one write transaction at a time, and queuing
	// in Go is cheaper than spinning on SQLITE_BUSY.
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := wdb.PingContext(ctx); err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rdb, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	readers := opts.MaxConns
	if readers <= 0 {
		readers = 2 * runtime.GOMAXPROCS(0)
	}
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	ckpt, err := startCheckpointer(base, checkpointEvery, slog.Default())
	if err != nil {
		_ = wdb.Close()
		_ = rdb.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	eng := &engine{
		ckpt:     ckpt,
		dialect:  dialect.SQLite,
		write:    bun.NewDB(wdb, sqlitedialect.New()),
		read:     bun.NewDB(rdb, sqlitedialect.New()),
		lockPath: path + ".migrate-lock",
		now:      opts.clock(),
	}
	return newStore(eng), nil
}

// OpenPostgres connects to PostgreSQL with a pgx connection string (URL or
// key=value form). It does not retry: callers decide how to wait.
func OpenPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgresql connection settings: %w", err)
	}
	// bun formats every query with its arguments inlined (and escaped), so
	// the simple protocol needs one round trip and no prepared statement cache
	// that would fill up with distinct texts.
	cc.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	db := stdlib.OpenDB(*cc)
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = 20
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxLifetime(opts.ConnMaxLifetime)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to postgresql %s:%d/%s: %w", cc.Host, cc.Port, cc.Database, err)
	}
	bdb := bun.NewDB(db, pgdialect.New())
	return newStore(&engine{dialect: dialect.PG, read: bdb, write: bdb, now: opts.clock()}), nil
}

// MigrationResult says what Migrate did.
type MigrationResult struct {
	// Applied lists the versions applied by this call, in order.
	Applied []int64
	// Version is the schema version after the call.
	Version int64
}

// Migrate applies every pending embedded migration of the store's dialect.
// It holds a lock while it runs, so concurrent callers (replicas starting at
// once, two `gatehouse migrate`) apply each migration once: the others wait,
// then find nothing to do.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) (MigrationResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var (
		gd   goose.Dialect
		dir  string
		opts []goose.ProviderOption
	)
	switch s.eng.dialect {
	case dialect.PG:
		gd, dir = goose.DialectPostgres, "migrations/postgres"
		// Retry once a second for up to ten minutes while another replica migrates.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600), lock.WithLockID(0x6761746568))
		if err != nil {
			return MigrationResult{}, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		gd, dir = goose.DialectSQLite3, "migrations/sqlite"
		unlock, err := fileLock(ctx, s.eng.lockPath)
		if err != nil {
			return MigrationResult{}, err
		}
		defer unlock()
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return MigrationResult{}, err
	}
	p, err := goose.NewProvider(gd, s.eng.write.DB, sub, append(opts, goose.WithDisableGlobalRegistry(true))...)
	if err != nil {
		return MigrationResult{}, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return MigrationResult{}, fmt.Errorf("apply migrations: %w", err)
	}
	var res MigrationResult
	for _, r := range results {
		res.Applied = append(res.Applied, r.Source.Version)
		log.Info("applied migration", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	if res.Version, err = p.GetDBVersion(ctx); err != nil {
		return res, fmt.Errorf("read schema version: %w", err)
	}
	return res, nil
}

// SchemaVersion returns the newest applied migration version, or 0 before the
// first migration. Readiness uses it to tell that migrations are done.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.r.NewRaw("SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(ctx, &v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// LatestSchemaVersion is the newest migration embedded in this binary.
func (s *Store) LatestSchemaVersion() (int64, error) {
	dir := "migrations/sqlite"
	if s.eng.dialect == dialect.PG {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil && v > latest {
			latest = v
		}
	}
	return latest, nil
}

// fileLock takes an exclusive flock on path, waiting until ctx is done.
func fileLock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("migration lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			_ = f.Close()
			return nil, fmt.Errorf("migration lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("migration lock %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
