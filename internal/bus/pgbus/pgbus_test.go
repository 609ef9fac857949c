package pgbus_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/gatehouse-idp/gatehouse/internal/bus"
	"github.com/gatehouse-idp/gatehouse/internal/bus/bustest"
	"github.com/gatehouse-idp/gatehouse/internal/bus/pgbus"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

func TestPostgres(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Harness {
		url := testenv.PostgresDB(t) // NOTIFY is per database: the test's own
		open := func(t *testing.T) *sql.DB {
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			return db
		}
		return bustest.Harness{
			Open: func(t *testing.T) bus.Bus {
				b := pgbus.New(open(t), pgbus.Options{Log: bustest.Log(t)})
				t.Cleanup(func() { _ = b.Close() })
				return b
			},
			Shared:     true,
			MaxPayload: pgbus.MaxPayload,
			Disconnect: func(t *testing.T, _ bus.Bus) {
				// The test database has only this test's listener.
				res, err := open(t).ExecContext(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
					WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n != 1 {
					t.Fatalf("terminated %d listeners, want 1", n)
				}
			},
		}
	})
}
