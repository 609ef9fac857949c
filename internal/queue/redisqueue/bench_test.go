package redisqueue_test

import (
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/queue/queuetest"
)

func BenchmarkThroughputRedis(b *testing.B) {
	q, _ := open(b, nil)
	queuetest.Throughput(b, q)
}
