package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
)

// Hot reads (token and session lookups, the caller's user, groups and
// permissions on every API request) and the hot writes of a login (the
// session's insert, update and delete, last_login, reputation) go through
// prepared statements. bun inlines arguments into the SQL text, so each call
// would otherwise be parsed and planned again: on SQLite that was a third of
// the CPU of an authenticated request, and 10% of a login's.

// stmts caches prepared statements by pool and query text.
type stmts struct {
	mu sync.Mutex
	m  map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	write bool // on the write pool (SQLite has two pools)
	query string
}

// stmt prepares query on the read pool (or the write pool), once.
func (e *engine) stmt(ctx context.Context, query string, write bool) (*sql.Stmt, error) {
	e.prep.mu.Lock()
	defer e.prep.mu.Unlock()
	k := stmtKey{write, query}
	if st, ok := e.prep.m[k]; ok {
		return st, nil
	}
	q := query
	if e.dialect == dialect.PG {
		q = rebindDollar(query)
	}
	db := e.read.DB
	if write {
		db = e.write.DB
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if e.prep.m == nil {
		e.prep.m = map[stmtKey]*sql.Stmt{}
	}
	e.prep.m[k] = st
	return st, nil
}

func (e *engine) closeStmts() {
	e.prep.mu.Lock()
	defer e.prep.mu.Unlock()
	for _, st := range e.prep.m {
		_ = st.Close()
	}
	e.prep.m = nil
}

// rebindDollar turns ? placeholders into $1, $2, ... (queries here have no
// ? inside string literals).
func rebindDollar(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// queryPrepared runs a read through a prepared statement (the transaction's
// connection inside InTx) and scans the rows with bun into dest, a pointer
// to a slice of models or of scalars.
func (s *Store) queryPrepared(ctx context.Context, dest any, query string, args ...any) error {
	ctx = s.hot(ctx)
	var rows *sql.Rows
	if tx, ok := s.r.(bun.Tx); ok && s.inTx {
		// Transactions are rare on these paths: no statement cache there
		// (on SQLite the tx is on the write pool, the cache on the read pool).
		q := query
		if s.eng.dialect == dialect.PG {
			q = rebindDollar(query)
		}
		r, err := tx.Tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		rows = r
	} else {
		st, err := s.eng.stmt(ctx, query, false)
		if err != nil {
			return err
		}
		if rows, err = st.QueryContext(ctx, args...); err != nil {
			return err
		}
	}
	return s.eng.read.ScanRows(ctx, rows, dest)
}

// execPrepared runs a write through a prepared statement on the write pool
// (the transaction's connection inside InTx, unprepared there as in
// queryPrepared). Arguments are database/sql values: times through
// timeArg, JSON as a string.
func (s *Store) execPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = s.hot(ctx)
	if tx, ok := s.w.(bun.Tx); ok && s.inTx {
		q := query
		if s.eng.dialect == dialect.PG {
			q = rebindDollar(query)
		}
		return tx.Tx.ExecContext(ctx, q, args...)
	}
	st, err := s.eng.stmt(ctx, query, true)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// hot is the context of a prepared statement. On SQLite it is not
// cancelled with the request: the driver watches a cancellable context with
// a goroutine per statement (to interrupt it), which costs more than these
// single-row lookups and writes by key take to run (the goroutine and its
// scheduler wake-ups were about 10% of a login's CPU). Such a statement
// runs to its end after the client went away (as a write should), and its
// wait for a connection (SQLite has one writer) is not cut short either.
func (s *Store) hot(ctx context.Context) context.Context {
	if s.eng.dialect == dialect.SQLite {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// one returns the first element of a prepared query's result, or sql.ErrNoRows.
func one[T any](ctx context.Context, s *Store, object, query string, args ...any) (*T, error) {
	if hasNUL(args) {
		return nil, mapErr(object, sql.ErrNoRows)
	}
	var out []*T
	if err := s.queryPrepared(ctx, &out, query, args...); err != nil {
		return nil, mapErr(object, err)
	}
	if len(out) == 0 {
		return nil, mapErr(object, sql.ErrNoRows)
	}
	return out[0], nil
}

// timeArg formats a time argument the way bun stores times, so that SQLite's
// text comparison of timestamps stays exact.
func (s *Store) timeArg(t time.Time) any {
	if s.eng.dialect == dialect.SQLite {
		return t.UTC().Format("2006-01-02 15:04:05.999999-07:00")
	}
	return t.UTC()
}
