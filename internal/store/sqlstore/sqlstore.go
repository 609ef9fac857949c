// Package sqlstore implements store.Store once, over two engines:
//
//   - SQLite (modernc.org/sqlite, pure Go) for the embedded default: WAL
//     journal, a busy timeout, one writer connection with BEGIN IMMEDIATE
//     transactions and a separate read-only pool;
//   - PostgreSQL (pgx) for production, with a bounded pool.
//
// Queries go through bun, whose dialects hide the differences. Migrations are
// embedded per dialect (migrations/sqlite, migrations/postgres) and applied by
// Migrate under a lock: a PostgreSQL advisory lock, or a file lock next to the
// SQLite database, so replicas starting together do not race.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Store is the SQL implementation of store.Store. The zero value is not usable;
// open one with OpenSQLite or OpenPostgres.
type Store struct {
	// r runs reads, w runs writes. Outside a transaction they are the read
	// and write pools (the same pool on PostgreSQL); inside one, both are the tx.
	r, w bun.IDB
	inTx bool
	eng  *engine
}

var _ store.Store = (*Store)(nil)

// engine is what a Store and the transactions derived from it share.
type engine struct {
	dialect dialect.Name
	read    *bun.DB
	write   *bun.DB
	// lockPath is the SQLite migration lock file; empty on PostgreSQL.
	lockPath string
	now      func() time.Time
	prep     stmts
	batch    batcher
	events   eventCount    // the unfiltered events list's total (eventcount.go)
	ckpt     *checkpointer // SQLite's background WAL checkpoints (checkpoint.go)
}

func newStore(eng *engine) *Store {
	return &Store{r: eng.read, w: eng.write, eng: eng}
}

// Dialect names the engine ("sqlite" or "pg").
func (s *Store) Dialect() string { return s.eng.dialect.String() }

// DBs returns the underlying pools (one on PostgreSQL), for metrics.
func (s *Store) DBs() map[string]*sql.DB {
	if s.eng.read == s.eng.write {
		return map[string]*sql.DB{"primary": s.eng.write.DB}
	}
	return map[string]*sql.DB{"write": s.eng.write.DB, "read": s.eng.read.DB}
}

// Ping checks both pools.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.eng.write.PingContext(ctx); err != nil {
		return fmt.Errorf("database ping: %w", err)
	}
	if s.eng.read != s.eng.write {
		if err := s.eng.read.PingContext(ctx); err != nil {
			return fmt.Errorf("database ping (read pool): %w", err)
		}
	}
	return nil
}

// Close closes the pools.
func (s *Store) Close() error {
	if s.inTx {
		return errors.New("sqlstore: Close called inside a transaction")
	}
	s.eng.stopBatches()
	s.eng.closeStmts()
	err := errors.Join(s.eng.ckpt.close(), s.eng.write.Close())
	if s.eng.read != s.eng.write {
		err = errors.Join(err, s.eng.read.Close())
	}
	return err
}

// InTx runs fn in one transaction on the write connection. A nested call
// joins the outer transaction.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Store) error) (err error) {
	if s.inTx {
		return fn(s)
	}
	tx, err := s.eng.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback() // fn panicked; the panic goes on
		}
	}()
	err = fn(&Store{r: tx, w: tx, inTx: true, eng: s.eng})
	done = true
	if err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr("transaction", err))
	}
	return nil
}

// mapErr turns engine errors into the store's sentinel errors.
func mapErr(object string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", object, store.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &store.ConflictError{Object: object, Field: pgConstraintField(pgErr), Err: err}
		case "23503": // foreign_key_violation
			return fmt.Errorf("%s: a referenced object does not exist: %w", object, store.ErrInvalid)
		}
		return fmt.Errorf("%s: %w", object, err)
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return &store.ConflictError{Object: object, Field: sqliteConstraintField(liteErr.Error()), Err: err}
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%s: a referenced object does not exist: %w", object, store.ErrInvalid)
		}
	}
	return fmt.Errorf("%s: %w", object, err)
}

// pgConstraintField takes "username" from "users_username_key" and from the
// detail "Key (username)=(x) already exists.".
func pgConstraintField(e *pgconn.PgError) string {
	if i := strings.Index(e.Detail, "Key ("); i >= 0 {
		rest := e.Detail[i+len("Key ("):]
		if j := strings.Index(rest, ")"); j > 0 {
			return rest[:j]
		}
	}
	name := strings.TrimSuffix(strings.TrimSuffix(e.ConstraintName, "_key"), "_pkey")
	if e.TableName != "" {
		name = strings.TrimPrefix(name, e.TableName+"_")
	}
	return name
}

// sqliteConstraintField takes "username" from "... UNIQUE constraint failed: users.username (2067)".
func sqliteConstraintField(msg string) string {
	_, rest, ok := strings.Cut(msg, "constraint failed: ")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, " (")
	var fields []string
	for _, col := range strings.Split(rest, ", ") {
		_, f, _ := strings.Cut(col, ".")
		fields = append(fields, f)
	}
	return strings.Join(fields, ",")
}

// like builds a case-insensitive substring pattern with LIKE's wildcards escaped.
func like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(s)) + "%"
}

func pageOf(p store.Page) (offset, limit int64) {
	limit = int64(p.Limit)
	if limit <= 0 {
		limit = store.DefaultPageLimit
	}
	return int64(max(p.Offset, 0)), limit
}

// affected returns ErrNotFound when a write touched no row.
func affected(object string, res sql.Result, err error) error {
	if err != nil {
		return mapErr(object, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapErr(object, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", object, store.ErrNotFound)
	}
	return nil
}

func rowsAffected(object string, res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, mapErr(object, err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr(object, err)
}
