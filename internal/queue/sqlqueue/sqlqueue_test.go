package sqlqueue_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/queue/queuetest"
	"github.com/gatehouse-idp/gatehouse/internal/queue/sqlqueue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

func openSQLite(t testing.TB) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, st)
}

func openPostgres(t testing.TB) *sqlstore.Store {
	t.Helper()
	return openPostgresDSN(t, testenv.PostgresDB(t))
}

func openPostgresDSN(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.Options{MaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, st)
}

func migrated(t testing.TB, st *sqlstore.Store) *sqlstore.Store {
	t.Helper()
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return st
}

var errRollback = errors.New("roll back")

func harness(t *testing.T, st *sqlstore.Store, c *queuetest.Clock) queuetest.Harness {
	q := sqlqueue.New(st, sqlqueue.Options{Now: c.Now})
	t.Cleanup(func() { _ = q.Close() })
	return queuetest.Harness{
		Backend: q,
		EnqueueTx: func(ctx context.Context, task queue.Task, rollback bool) error {
			err := st.InTx(ctx, func(tx store.Store) error {
				if _, err := q.EnqueueTx(ctx, tx, task); err != nil {
					return err
				}
				if rollback {
					return errRollback
				}
				return nil
			})
			if rollback && errors.Is(err, errRollback) {
				return nil
			}
			return err
		},
	}
}

func TestSQLite(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, c *queuetest.Clock) queuetest.Harness { return harness(t, openSQLite(t), c) })
}

func TestPostgres(t *testing.T) {
	queuetest.Run(t, func(t *testing.T, c *queuetest.Clock) queuetest.Harness {
		dsn := testenv.PostgresDB(t)
		h := harness(t, openPostgresDSN(t, dsn), c)
		h.Second = func() queue.Backend {
			q := sqlqueue.New(openPostgresDSN(t, dsn), sqlqueue.Options{Now: c.Now})
			t.Cleanup(func() { _ = q.Close() })
			return q
		}
		return h
	})
}
