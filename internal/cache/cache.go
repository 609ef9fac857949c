// Package cache is Gatehouse's in-process cache of configuration and other
// values read on hot paths, kept consistent across replicas: every cache
// belongs to namespaces (Config, Users, ...), and a write anywhere
// invalidates the namespaces it affects here at once and in every other
// process through the bus.
//
//	API write ──> Group.Invalidate(ns, key) ──> this process: caches of ns drop key (or everything)
//	                                        └─> bus channel "gatehouse.invalidate" ──> other processes: the same
//	bus reconnected (Resync) ──> every cache drops everything
//
// A TTL stays on every cache as a safety net (a write that bypasses the
// API, a message lost before the bus noticed its connection was down).
// Sessions and API tokens are not cached in process: the SQL store answers
// them through prepared statements, so a deleted one fails on every replica
// as soon as the delete returns.
package cache

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/bus"
)

// Channel is the bus channel of invalidations.
const Channel = "gatehouse.invalidate"

// Namespaces: what a write affects, and what a cache depends on.
const (
	// Config is the configuration: flows, stages, policies and bindings,
	// providers, applications, brands, certificates, property mappings,
	// notification rules and transports, blueprints.
	Config = "config"
	// Users is users, groups, memberships and roles (group bindings,
	// expression policies and claims read them).
	Users = "users"
	// Sessions is browser sessions (key: the session's uuid).
	Sessions = "sessions"
	// Tokens is API and app-password tokens (key: the identifier).
	Tokens = "tokens"
)

// message is an invalidation on the bus.
type message struct {
	Origin    string `json:"origin"`
	Namespace string `json:"namespace"`
	Key       string `json:"key,omitempty"`
}

// Group holds the caches of one process and applies invalidations to them.
// A nil *Group is valid: caches are then local only.
type Group struct {
	log    *slog.Logger
	origin string

	mu      sync.Mutex
	bus     bus.Bus
	cancel  func()
	members map[string][]func(key string)
	// Received counts invalidations applied from other processes (and
	// resyncs), for tests and metrics.
	received atomic.Int64
}

// NewGroup makes a group that sends and receives invalidations on b
// (nil: this process alone, until Connect).
func NewGroup(b bus.Bus, log *slog.Logger) *Group {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Group{log: log, origin: rand.Text(), members: map[string][]func(string){}}
	g.Connect(b)
	return g
}

// Connect makes the group send and receive invalidations on b from now
// on, in place of the previous bus: caches are made before the bus exists
// (it needs the store). Everything cached so far is dropped, as after a
// Resync, since invalidations sent before were not heard.
func (g *Group) Connect(b bus.Bus) {
	g.mu.Lock()
	if g.cancel != nil {
		g.cancel()
	}
	g.bus, g.cancel = b, nil
	if b != nil {
		g.cancel = b.Subscribe(Channel, g.receive)
	}
	g.mu.Unlock()
	g.dropAll()
}

// Close stops receiving invalidations.
func (g *Group) Close() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cancel != nil {
		g.cancel()
		g.cancel = nil
	}
}

// Received is how many invalidations (and resyncs) came from the bus.
func (g *Group) Received() int64 {
	if g == nil {
		return 0
	}
	return g.received.Load()
}

// OnInvalidate calls fn for every invalidation of namespace ns, here or
// from another process, with its key ("": everything). fn must be quick.
func (g *Group) OnInvalidate(ns string, fn func(key string)) {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.members[ns] = append(g.members[ns], fn)
	g.mu.Unlock()
}

// Invalidate drops key ("": everything) from the caches of ns in this
// process before it returns, then tells the other processes. An error
// means they may not have heard (their TTLs still apply).
func (g *Group) Invalidate(ctx context.Context, ns, key string) error {
	if g == nil {
		return nil
	}
	g.apply(ns, key)
	g.mu.Lock()
	b := g.bus
	g.mu.Unlock()
	if b == nil {
		return nil
	}
	payload, err := json.Marshal(message{Origin: g.origin, Namespace: ns, Key: key})
	if err != nil {
		return err
	}
	if err := b.Publish(ctx, Channel, payload); err != nil {
		return fmt.Errorf("cache: invalidating %s on the other replicas: %w", ns, err)
	}
	return nil
}

func (g *Group) apply(ns, key string) {
	g.mu.Lock()
	fns := append([]func(string){}, g.members[ns]...)
	g.mu.Unlock()
	for _, fn := range fns {
		fn(key)
	}
}

func (g *Group) dropAll() {
	g.mu.Lock()
	var fns []func(string)
	for _, ms := range g.members {
		fns = append(fns, ms...)
	}
	g.mu.Unlock()
	for _, fn := range fns {
		fn("")
	}
}

func (g *Group) receive(m bus.Message) {
	if m.Resync {
		g.received.Add(1)
		g.log.Info("cache: the bus reconnected; dropping every cache")
		g.dropAll()
		return
	}
	var msg message
	if err := json.Unmarshal(m.Payload, &msg); err != nil || msg.Namespace == "" {
		g.log.Warn("cache: ignoring a malformed invalidation", "error", err)
		return
	}
	if msg.Origin == g.origin {
		return // applied before it was sent
	}
	g.received.Add(1)
	g.apply(msg.Namespace, msg.Key)
}

// Options configure a Cache.
type Options struct {
	// Namespaces whose invalidations drop entries of this cache.
	Namespaces []string
	// TTL bounds an entry's life (0: until invalidated or evicted).
	TTL time.Duration
	// MaxEntries bounds the size (0: DefaultMaxEntries); when full, expired
	// entries go first, then arbitrary ones down to three quarters.
	MaxEntries int
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// DefaultMaxEntries is a cache's size bound unless set.
const DefaultMaxEntries = 10000

// Cache maps keys to values for a TTL, dropped by its namespaces'
// invalidations: an invalidation with a key drops that key when K is a
// string, everything otherwise.
type Cache[K comparable, V any] struct {
	opts Options
	mu   sync.RWMutex
	m    map[K]entry[V]
	gen  uint64 // bumped by every invalidation
}

type entry[V any] struct {
	v       V
	expires time.Time // zero: never
}

// New makes a cache in g (nil: invalidated only by its own Delete/Clear).
func New[K comparable, V any](g *Group, o Options) *Cache[K, V] {
	if o.MaxEntries <= 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	c := &Cache[K, V]{opts: o, m: map[K]entry[V]{}}
	for _, ns := range o.Namespaces {
		g.OnInvalidate(ns, c.invalidate)
	}
	return c
}

func (c *Cache[K, V]) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

// Get returns the live value of k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || (!e.expires.IsZero() && !c.now().Before(e.expires)) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Set stores v under k.
func (c *Cache[K, V]) Set(k K, v V) {
	c.mu.Lock()
	c.set(k, v)
	c.mu.Unlock()
}

func (c *Cache[K, V]) set(k K, v V) {
	now := c.now()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.opts.MaxEntries {
		c.evict(now)
	}
	e := entry[V]{v: v}
	if c.opts.TTL > 0 {
		e.expires = now.Add(c.opts.TTL)
	}
	c.m[k] = e
}

// evict makes room (c.mu held).
func (c *Cache[K, V]) evict(now time.Time) {
	for k, e := range c.m {
		if !e.expires.IsZero() && !now.Before(e.expires) {
			delete(c.m, k)
		}
	}
	for k := range c.m { // map order is arbitrary enough
		if len(c.m) < c.opts.MaxEntries*3/4 {
			break
		}
		delete(c.m, k)
	}
}

// Load returns k's value, calling load when it is missing. A value loaded
// while an invalidation happened is returned but not kept: it may predate
// the write that caused the invalidation.
func (c *Cache[K, V]) Load(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	if v, ok := c.Get(k); ok {
		return v, nil
	}
	c.mu.RLock()
	gen := c.gen
	c.mu.RUnlock()
	v, err := load(ctx)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.set(k, v)
	}
	c.mu.Unlock()
	return v, nil
}

// Delete drops k in this process.
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	c.gen++
	delete(c.m, k)
	c.mu.Unlock()
}

// Clear drops everything in this process.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	c.gen++
	clear(c.m)
	c.mu.Unlock()
}

// Len is the number of entries, expired ones included.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

func (c *Cache[K, V]) invalidate(key string) {
	if k, ok := any(key).(K); ok && key != "" {
		c.Delete(k)
		return
	}
	c.Clear()
}
