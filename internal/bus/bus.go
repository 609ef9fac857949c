// Package bus is Gatehouse's cross-replica message bus: small messages
// published on a named channel reach every subscriber of that channel in
// every process sharing the backend (the publisher's own included). It
// carries cache invalidations (internal/cache) and other broadcasts; it is
// not a queue: a message published while a replica is disconnected is lost
// to it, which is why a reconnect delivers a Resync message instead.
//
//	Publish(ch, payload) ──> backend ──> every process: Hub ──> handlers of ch (one goroutine, in order)
//	backend reconnected  ──────────────> every handler: Message{Resync: true}
//
// Backends (each passes bustest.Run):
//   - Local: in process (embedded mode, SQLite, one process).
//   - pgbus: PostgreSQL LISTEN/NOTIFY on a dedicated connection.
//   - redisbus: Redis pub/sub.
package bus

import (
	"context"
	"errors"
	"sync"
)

// Message is one delivery to a handler.
type Message struct {
	Channel string
	Payload []byte
	// Resync is set on a synthetic message delivered (with Channel set,
	// Payload nil) after the backend lost its connection and got it back,
	// or after the handlers fell too far behind: messages may have been
	// lost, so whatever they would have invalidated must be dropped.
	Resync bool
}

// Handler receives messages. Handlers of one bus run one at a time, in
// the order messages arrived; a handler must not block for long.
type Handler func(Message)

// Bus is a message bus backend.
type Bus interface {
	// Publish sends payload to the channel's subscribers in every process.
	// A nil error means the backend accepted it, not that anyone got it.
	Publish(ctx context.Context, channel string, payload []byte) error
	// Subscribe calls h for each message on channel until cancel is
	// called or the bus is closed.
	Subscribe(channel string, h Handler) (cancel func())
	// Health is nil while the bus can deliver across processes, else why
	// not (the listener is disconnected).
	Health() error
	Close() error
}

// ErrClosed is Publish's answer after Close.
var ErrClosed = errors.New("bus: closed")

// ErrTooLarge is Publish's answer for a payload the backend cannot carry
// (PostgreSQL NOTIFY payloads are limited to 8000 bytes).
var ErrTooLarge = errors.New("bus: payload too large")

// maxBacklog bounds the messages waiting for slow handlers; past it they
// are replaced by one Resync per channel.
const maxBacklog = 10000

// Hub routes received messages to the subscribers in this process: the
// part every backend shares. Deliveries run on one goroutine, in order.
type Hub struct {
	mu      sync.Mutex
	subs    map[string]map[int]Handler
	next    int
	backlog []Message
	wake    chan struct{}
	closed  bool
}

// NewHub starts a hub's delivery goroutine; Close stops it.
func NewHub() *Hub {
	h := &Hub{subs: map[string]map[int]Handler{}, wake: make(chan struct{}, 1)}
	go h.run()
	return h
}

// Subscribe implements Bus.Subscribe.
func (h *Hub) Subscribe(channel string, fn Handler) (cancel func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return func() {}
	}
	id := h.next
	h.next++
	if h.subs[channel] == nil {
		h.subs[channel] = map[int]Handler{}
	}
	h.subs[channel][id] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[channel], id)
			if len(h.subs[channel]) == 0 {
				delete(h.subs, channel)
			}
			h.mu.Unlock()
		})
	}
}

// Deliver queues a message for the channel's subscribers; it never blocks.
func (h *Hub) Deliver(m Message) {
	h.mu.Lock()
	if h.closed || h.subs[m.Channel] == nil {
		h.mu.Unlock()
		return
	}
	if len(h.backlog) >= maxBacklog {
		h.collapse()
	}
	h.backlog = append(h.backlog, m)
	h.signal()
	h.mu.Unlock()
}

// Resync queues a Resync message for every subscribed channel.
func (h *Hub) Resync() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.backlog = h.backlog[:0]
	for ch := range h.subs {
		h.backlog = append(h.backlog, Message{Channel: ch, Resync: true})
	}
	h.signal()
	h.mu.Unlock()
}

// collapse replaces the backlog by a Resync per channel (h.mu held).
func (h *Hub) collapse() {
	seen := map[string]bool{}
	out := h.backlog[:0]
	for _, m := range h.backlog {
		if !seen[m.Channel] {
			seen[m.Channel] = true
			out = append(out, Message{Channel: m.Channel, Resync: true})
		}
	}
	h.backlog = out
}

// signal wakes the delivery goroutine (h.mu held, h not closed).
func (h *Hub) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *Hub) run() {
	for range h.wake {
		for {
			h.mu.Lock()
			if h.closed {
				h.mu.Unlock()
				return
			}
			if len(h.backlog) == 0 {
				h.mu.Unlock()
				break
			}
			m := h.backlog[0]
			h.backlog = h.backlog[1:]
			var fns []Handler
			for _, fn := range h.subs[m.Channel] {
				fns = append(fns, fn)
			}
			h.mu.Unlock()
			for _, fn := range fns {
				fn(m)
			}
		}
	}
}

// Close stops deliveries (a handler already running finishes).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	h.subs, h.backlog = nil, nil
	close(h.wake)
}

// Closed reports whether Close was called.
func (h *Hub) Closed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}
