package bus_test

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/bus"
	"github.com/gatehouse-idp/gatehouse/internal/bus/bustest"
)

func TestLocal(t *testing.T) {
	bustest.Run(t, func(t *testing.T) bustest.Harness {
		return bustest.Harness{Open: func(t *testing.T) bus.Bus {
			b := bus.NewLocal()
			t.Cleanup(func() { _ = b.Close() })
			return b
		}}
	})
}

// A handler that falls too far behind gets one Resync instead of the
// backlog, and later messages after it.
func TestHubBacklogCollapses(t *testing.T) {
	h := bus.NewHub()
	defer h.Close()
	release := make(chan struct{})
	var (
		mu  sync.Mutex
		got []bus.Message
	)
	done := make(chan struct{})
	h.Subscribe("c", func(m bus.Message) {
		if string(m.Payload) == "block" {
			<-release
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		if string(m.Payload) == "end" {
			close(done)
		}
	})
	h.Deliver(bus.Message{Channel: "c", Payload: []byte("block")})
	time.Sleep(50 * time.Millisecond) // the handler is now blocked on the first message
	for range 10001 {
		h.Deliver(bus.Message{Channel: "c", Payload: []byte("x")})
	}
	h.Deliver(bus.Message{Channel: "c", Payload: []byte("end")})
	close(release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the last message was not delivered")
	}
	mu.Lock()
	defer mu.Unlock()
	resyncs := 0
	for _, m := range got {
		if m.Resync {
			resyncs++
		}
	}
	if resyncs != 1 || len(got) > 10003 || len(got) < 3 {
		t.Errorf("got %d messages with %d resyncs; want the backlog collapsed into one resync", len(got), resyncs)
	}
}
