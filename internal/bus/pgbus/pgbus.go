// Package pgbus is the message bus over PostgreSQL LISTEN/NOTIFY, for
// replicas that share a database but no Redis. Every bus channel travels on
// one NOTIFY channel (Channel) as "<channel>\n<base64 payload>", so the
// listener LISTENs once and subscriptions are routed in process.
//
// The listener holds one connection of the pool for good. When it breaks,
// the bus connects again with exponential backoff (0.5 s doubling to 15 s)
// and then delivers a Resync to every subscriber: NOTIFYs sent meanwhile
// were not queued for it.
package pgbus

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-idp/gatehouse/internal/bus"
)

// Channel is the NOTIFY channel the bus uses.
const Channel = "gatehouse_bus"

// maxNotify is PostgreSQL's limit: a NOTIFY payload must be shorter than
// 8000 bytes (NOTIFY, "payload").
const maxNotify = 8000

// MaxPayload is the largest payload Publish accepts on a channel named ch.
func MaxPayload(ch string) int {
	room := maxNotify - 1 - len(ch) - 1 // "<ch>\n" and the shorter-than rule
	return base64.StdEncoding.DecodedLen(room - room%4)
}

// Options tunes a Bus.
type Options struct {
	Log *slog.Logger
	// Channel is the NOTIFY channel; "" means Channel (tests use their own).
	Channel string
}

// Bus is the PostgreSQL bus.
type Bus struct {
	db      *sql.DB
	channel string
	log     *slog.Logger
	hub     *bus.Hub
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	link    *bus.Link
}

var _ bus.Bus = (*Bus)(nil)

// New starts a bus whose listener takes one connection of db (a pgx
// stdlib pool) for good.
func New(db *sql.DB, opts Options) *Bus {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Channel == "" {
		opts.Channel = Channel
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bus{db: db, channel: opts.Channel, log: opts.Log, hub: bus.NewHub(), cancel: cancel, link: bus.NewLink("postgresql listener")}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.listenLoop(ctx)
	}()
	return b
}

// Publish implements bus.Bus with pg_notify, which takes effect when the
// statement's (implicit) transaction commits.
func (b *Bus) Publish(ctx context.Context, channel string, payload []byte) error {
	if b.hub.Closed() {
		return bus.ErrClosed
	}
	if channel == "" || strings.ContainsRune(channel, '\n') {
		return fmt.Errorf("pgbus: invalid channel name %q", channel)
	}
	if len(payload) > MaxPayload(channel) {
		return fmt.Errorf("%w: %d bytes on %s, at most %d over NOTIFY", bus.ErrTooLarge, len(payload), channel, MaxPayload(channel))
	}
	frame := channel + "\n" + base64.StdEncoding.EncodeToString(payload)
	if _, err := b.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", b.channel, frame); err != nil {
		return fmt.Errorf("pgbus: publish on %s: %w", channel, err)
	}
	return nil
}

// Subscribe implements bus.Bus.
func (b *Bus) Subscribe(channel string, h bus.Handler) func() { return b.hub.Subscribe(channel, h) }

// Health implements bus.Bus: nil while the listener is connected.
func (b *Bus) Health() error { return b.link.Health() }

// Close implements bus.Bus: it stops the listener and releases its connection.
func (b *Bus) Close() error {
	b.hub.Close()
	b.cancel()
	b.wg.Wait()
	return nil
}

func (b *Bus) listenLoop(ctx context.Context) {
	backoff := 500 * time.Millisecond
	for attempt := 0; ctx.Err() == nil; attempt++ {
		err := b.listenOnce(ctx, attempt > 0, func() { backoff = 500 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		b.link.Set(false, err)
		b.log.Warn("bus listener lost its connection to postgresql; reconnecting", "error", err, "retry_in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 15*time.Second)
	}
}

// listenOnce LISTENs and delivers until the connection breaks. After a
// reconnect (resync), subscribers get a Resync once the LISTEN is in place.
func (b *Bus) listenOnce(ctx context.Context, resync bool, connected func()) error {
	conn, err := b.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("pgbus: LISTEN needs the pgx driver, not %T", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+pgx.Identifier{b.channel}.Sanitize()); err != nil {
			return errors.Join(err, driver.ErrBadConn)
		}
		b.link.Set(true, nil)
		connected()
		if resync {
			b.log.Info("bus listener reconnected to postgresql")
			b.hub.Resync()
		}
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// Never give a listening connection back to the pool.
				return errors.Join(err, driver.ErrBadConn)
			}
			ch, enc, ok := strings.Cut(n.Payload, "\n")
			if !ok {
				continue // not ours
			}
			payload, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				continue
			}
			b.hub.Deliver(bus.Message{Channel: ch, Payload: payload})
		}
	})
}
