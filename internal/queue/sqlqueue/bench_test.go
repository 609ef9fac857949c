package sqlqueue_test

import (
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/queue/queuetest"
	"github.com/gatehouse-idp/gatehouse/internal/queue/sqlqueue"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

func bench(b *testing.B, st *sqlstore.Store) {
	q := sqlqueue.New(st, sqlqueue.Options{})
	b.Cleanup(func() { _ = q.Close() })
	queuetest.Throughput(b, q)
}

func BenchmarkThroughputSQLite(b *testing.B) { bench(b, openSQLite(b)) }

func BenchmarkThroughputPostgres(b *testing.B) { bench(b, openPostgres(b)) }
