// Package redisbus is the message bus over Redis pub/sub: a bus channel is
// the Redis channel Prefix+name, and each Bus PSUBSCRIBEs to Prefix+"*" on
// a connection of its own (go-redis PubSub).
//
// go-redis reconnects a broken pub/sub connection and subscribes again on
// the next receive; the bus retries with exponential backoff (0.2 s
// doubling to 5 s), pings an idle connection every 30 s to find a silently
// dead one, and after a reconnect delivers a Resync to every subscriber:
// Redis does not keep messages for a disconnected subscriber.
package redisbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/bus"
)

// DefaultPrefix prefixes the Redis channels.
const DefaultPrefix = "gatehouse:bus:"

// pingEvery is how long the receiver waits for a message before it pings.
const pingEvery = 30 * time.Second

// Options tunes a Bus.
type Options struct {
	Log *slog.Logger
	// Prefix of the Redis channels; "" means DefaultPrefix.
	Prefix string
}

// Bus is the Redis bus.
type Bus struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
	hub    *bus.Hub
	ps     *redis.PubSub
	cancel context.CancelFunc
	wg     sync.WaitGroup
	link   *bus.Link
}

var _ bus.Bus = (*Bus)(nil)

// New starts a bus on rdb. The subscription is made in the background:
// Health is nil once Redis confirmed it.
func New(rdb redis.UniversalClient, opts Options) *Bus {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bus{rdb: rdb, prefix: opts.Prefix, log: opts.Log, hub: bus.NewHub(), cancel: cancel, link: bus.NewLink("redis subscription")}
	// PSubscribe without patterns only makes the PubSub; the receive loop
	// subscribes, so a Redis that is down at start is retried like a lost one.
	b.ps = rdb.PSubscribe(ctx)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.receive(ctx)
	}()
	return b
}

// Publish implements bus.Bus.
func (b *Bus) Publish(ctx context.Context, channel string, payload []byte) error {
	if b.hub.Closed() {
		return bus.ErrClosed
	}
	if channel == "" {
		return errors.New("redisbus: empty channel name")
	}
	if err := b.rdb.Publish(ctx, b.prefix+channel, payload).Err(); err != nil {
		return fmt.Errorf("redisbus: publish on %s: %w", channel, err)
	}
	return nil
}

// Subscribe implements bus.Bus.
func (b *Bus) Subscribe(channel string, h bus.Handler) func() { return b.hub.Subscribe(channel, h) }

// Health implements bus.Bus: nil while the subscription is in place.
func (b *Bus) Health() error { return b.link.Health() }

// Close implements bus.Bus.
func (b *Bus) Close() error {
	b.hub.Close()
	b.cancel()
	err := b.ps.Close()
	b.wg.Wait()
	return err
}

func (b *Bus) receive(ctx context.Context) {
	backoff := 200 * time.Millisecond
	subscribed, lost := false, false
	for ctx.Err() == nil {
		if !subscribed {
			// Once made, the pattern is renewed by go-redis on every reconnect.
			if err := b.ps.PSubscribe(ctx, b.prefix+"*"); err != nil {
				b.failed(ctx, err, &backoff)
				lost = true
				continue
			}
			subscribed = true
		}
		msg, err := b.ps.ReceiveTimeout(ctx, pingEvery)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if err := b.ps.Ping(ctx); err == nil {
					continue
				}
			}
			lost = true
			b.failed(ctx, err, &backoff)
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "psubscribe" {
				b.link.Set(true, nil)
				backoff = 200 * time.Millisecond
				if lost {
					lost = false
					b.log.Info("bus subscription to redis restored")
					b.hub.Resync()
				}
			}
		case *redis.Message:
			ch, ok := strings.CutPrefix(m.Channel, b.prefix)
			if ok {
				b.hub.Deliver(bus.Message{Channel: ch, Payload: []byte(m.Payload)})
			}
		}
	}
}

// failed logs a lost connection and waits before the next try.
func (b *Bus) failed(ctx context.Context, err error, backoff *time.Duration) {
	b.link.Set(false, err)
	b.log.Warn("bus lost its redis subscription; retrying", "error", err, "retry_in", backoff.String())
	select {
	case <-ctx.Done():
	case <-time.After(*backoff):
	}
	*backoff = min(*backoff*2, 5*time.Second)
}
