package sqlstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// Two stores on one database stand for two replicas starting at once:
// WithStartLock runs their bootstraps one after the other.
func TestStartLockSerialises(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gatehouse.db")
		open := func() *sqlstore.Store {
			s, err := sqlstore.OpenSQLite(context.Background(), path, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
		checkStartLock(t, open(), open())
	})
	t.Run("postgres", func(t *testing.T) {
		url := testenv.PostgresDB(t)
		open := func() *sqlstore.Store {
			s, err := sqlstore.OpenPostgres(context.Background(), url, sqlstore.Options{MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
		checkStartLock(t, open(), open())
	})
}

func checkStartLock(t *testing.T, a, b *sqlstore.Store) {
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for _, s := range []*sqlstore.Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.WithStartLock(context.Background(), func() error {
				n := inside.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(30 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Errorf("%d bootstraps ran at once; want 1", most.Load())
	}
}
