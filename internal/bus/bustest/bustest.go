// Package bustest is the conformance suite every bus backend passes:
// delivery by channel and in order, to the publisher's own process and to
// another one, binary payloads, unsubscribing, the payload limit, Close,
// and a Resync after the backend lost its connection and got it back.
package bustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/bus"
)

// Harness opens instances of one backend.
type Harness struct {
	// Open makes a bus; instances opened by one harness share the backend,
	// as processes would. It registers Close with t.Cleanup.
	Open func(t *testing.T) bus.Bus
	// Shared: instances reach each other (false for an in-process bus).
	Shared bool
	// MaxPayload(channel) is the largest payload accepted; nil: no limit
	// worth testing.
	MaxPayload func(channel string) int
	// Disconnect breaks b's connection to the backend (it must reconnect
	// by itself); nil for a backend without one.
	Disconnect func(t *testing.T, b bus.Bus)
}

// wait bounds every expected delivery.
const wait = 10 * time.Second

// Run runs the suite; newHarness is called once per test.
func Run(t *testing.T, newHarness func(t *testing.T) Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"OrderAndChannels", testOrder},
		{"AcrossInstances", testAcross},
		{"Payloads", testPayloads},
		{"Cancel", testCancel},
		{"PayloadLimit", testLimit},
		{"Close", testClose},
		{"ResyncAfterReconnect", testResync},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newHarness(t)) })
	}
}

// recorder collects the messages of one subscription.
type recorder struct {
	mu   sync.Mutex
	msgs []bus.Message
	more chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 1)} }

func (r *recorder) handle(m bus.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	select {
	case r.more <- struct{}{}:
	default:
	}
}

// waitFor waits until r has n messages that pass keep, and returns them.
func (r *recorder) waitFor(t *testing.T, n int, keep func(bus.Message) bool) []bus.Message {
	t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		var got []bus.Message
		for _, m := range r.msgs {
			if keep == nil || keep(m) {
				got = append(got, m)
			}
		}
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("got %d messages after %s, want %d: %v", len(got), wait, n, got)
		}
	}
}

func (r *recorder) all() []bus.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.Message(nil), r.msgs...)
}

func notResync(m bus.Message) bool { return !m.Resync }

// ready waits until b can deliver across processes.
func ready(t *testing.T, b bus.Bus) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for b.Health() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("bus not ready after %s: %v", wait, b.Health())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func publish(t *testing.T, b bus.Bus, ch, payload string) {
	t.Helper()
	if err := b.Publish(context.Background(), ch, []byte(payload)); err != nil {
		t.Fatalf("Publish(%s, %q): %v", ch, payload, err)
	}
}

func testOrder(t *testing.T, h Harness) {
	b := h.Open(t)
	a, other := newRecorder(), newRecorder()
	b.Subscribe("test.a", a.handle)
	b.Subscribe("test.b", other.handle)
	ready(t, b)
	for i := range 20 {
		publish(t, b, "test.a", fmt.Sprint(i))
	}
	publish(t, b, "test.b", "last")
	other.waitFor(t, 1, notResync)
	got := a.waitFor(t, 20, notResync)
	for i, m := range got {
		if m.Channel != "test.a" || string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d = %s %q, want test.a %q", i, m.Channel, m.Payload, fmt.Sprint(i))
		}
	}
	if got := other.all(); len(got) != 1 || string(got[0].Payload) != "last" {
		t.Errorf("test.b got %v, want only \"last\"", got)
	}
}

func testAcross(t *testing.T, h Harness) {
	if !h.Shared {
		t.Skip("instances of this backend do not share messages")
	}
	b1, b2 := h.Open(t), h.Open(t)
	r1, r2 := newRecorder(), newRecorder()
	b1.Subscribe("test.x", r1.handle)
	b2.Subscribe("test.x", r2.handle)
	ready(t, b1)
	ready(t, b2)
	publish(t, b1, "test.x", "from 1")
	publish(t, b2, "test.x", "from 2")
	for name, r := range map[string]*recorder{"first": r1, "second": r2} {
		got := r.waitFor(t, 2, notResync)
		seen := map[string]bool{}
		for _, m := range got {
			seen[string(m.Payload)] = true
		}
		if !seen["from 1"] || !seen["from 2"] {
			t.Errorf("%s instance got %v, want both messages", name, got)
		}
	}
}

func testPayloads(t *testing.T, h Harness) {
	b := h.Open(t)
	r := newRecorder()
	b.Subscribe("test.bin", r.handle)
	ready(t, b)
	payloads := [][]byte{{}, {0, 1, 2, 0xff, '\n', '\r'}, []byte("naïve \"json\" {}"), bytes.Repeat([]byte{0xab}, 4000)}
	for _, p := range payloads {
		if err := b.Publish(context.Background(), "test.bin", p); err != nil {
			t.Fatal(err)
		}
	}
	got := r.waitFor(t, len(payloads), notResync)
	for i, p := range payloads {
		if !bytes.Equal(got[i].Payload, p) {
			t.Errorf("payload %d = %q, want %q", i, got[i].Payload, p)
		}
	}
}

func testCancel(t *testing.T, h Harness) {
	b := h.Open(t)
	gone, stays := newRecorder(), newRecorder()
	cancel := b.Subscribe("test.c", gone.handle)
	b.Subscribe("test.c", stays.handle)
	ready(t, b)
	publish(t, b, "test.c", "1")
	gone.waitFor(t, 1, notResync)
	cancel()
	cancel() // twice is fine
	publish(t, b, "test.c", "2")
	stays.waitFor(t, 2, notResync)
	if got := gone.all(); len(got) != 1 {
		t.Errorf("a cancelled subscription got %v, want only the first message", got)
	}
}

func testLimit(t *testing.T, h Harness) {
	if h.MaxPayload == nil {
		t.Skip("no payload limit")
	}
	b := h.Open(t)
	r := newRecorder()
	b.Subscribe("test.big", r.handle)
	ready(t, b)
	n := h.MaxPayload("test.big")
	if err := b.Publish(context.Background(), "test.big", bytes.Repeat([]byte{'x'}, n)); err != nil {
		t.Fatalf("Publish of the largest payload (%d bytes): %v", n, err)
	}
	err := b.Publish(context.Background(), "test.big", bytes.Repeat([]byte{'x'}, n+1))
	if !errors.Is(err, bus.ErrTooLarge) {
		t.Fatalf("Publish of %d bytes = %v, want ErrTooLarge", n+1, err)
	}
	if got := r.waitFor(t, 1, notResync); len(got[0].Payload) != n {
		t.Errorf("got %d bytes, want %d", len(got[0].Payload), n)
	}
}

func testClose(t *testing.T, h Harness) {
	b := h.Open(t)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Publish(context.Background(), "test.closed", []byte("x")); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	b.Subscribe("test.closed", func(bus.Message) {})() // harmless
}

func testResync(t *testing.T, h Harness) {
	if h.Disconnect == nil {
		t.Skip("the backend has no connection to lose")
	}
	b := h.Open(t)
	r := newRecorder()
	b.Subscribe("test.r", r.handle)
	ready(t, b)
	publish(t, b, "test.r", "before")
	r.waitFor(t, 1, notResync)
	h.Disconnect(t, b)
	resync := r.waitFor(t, 1, func(m bus.Message) bool { return m.Resync })
	if resync[0].Channel != "test.r" || resync[0].Payload != nil {
		t.Errorf("resync message = %+v, want channel test.r without payload", resync[0])
	}
	ready(t, b)
	publish(t, b, "test.r", "after")
	got := r.waitFor(t, 2, notResync)
	if string(got[1].Payload) != "after" {
		t.Errorf("after the reconnect got %q, want \"after\"", got[1].Payload)
	}
}

// Log is a logger writing to the test's output.
func Log(t testing.TB) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }
