package bus

import "context"

// Local is the in-process bus: one process (embedded mode) is the whole
// cluster, so a message goes straight to this process's subscribers.
type Local struct{ hub *Hub }

var _ Bus = (*Local)(nil)

// NewLocal makes an in-process bus.
func NewLocal() *Local { return &Local{hub: NewHub()} }

// Publish implements Bus.
func (l *Local) Publish(ctx context.Context, channel string, payload []byte) error {
	if l.hub.Closed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	l.hub.Deliver(Message{Channel: channel, Payload: append([]byte(nil), payload...)})
	return nil
}

// Subscribe implements Bus.
func (l *Local) Subscribe(channel string, h Handler) func() { return l.hub.Subscribe(channel, h) }

// Health implements Bus: an in-process bus is always connected.
func (l *Local) Health() error { return nil }

// Close implements Bus.
func (l *Local) Close() error { l.hub.Close(); return nil }
