package cache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/bus"
	"github.com/gatehouse-idp/gatehouse/internal/cache"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestTTL(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := cache.New[string, int](nil, cache.Options{TTL: time.Second, Now: clk.now})
	c.Set("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("Get = %d, %v; want 1, true", v, ok)
	}
	clk.t = clk.t.Add(time.Second)
	if _, ok := c.Get("a"); ok {
		t.Error("an entry outlived its TTL")
	}
}

func TestNamespacesAndKeys(t *testing.T) {
	g := cache.NewGroup(nil, nil)
	config := cache.New[string, int](g, cache.Options{Namespaces: []string{cache.Config}})
	both := cache.New[int64, int](g, cache.Options{Namespaces: []string{cache.Config, cache.Users}})
	sessions := cache.New[string, int](g, cache.Options{Namespaces: []string{cache.Sessions}})
	var hooked []string
	g.OnInvalidate(cache.Users, func(key string) { hooked = append(hooked, key) })
	fill := func() {
		config.Set("x", 1)
		both.Set(7, 1)
		sessions.Set("s1", 1)
		sessions.Set("s2", 2)
	}
	fill()
	ctx := context.Background()

	// A key names one entry of a string-keyed cache.
	if err := g.Invalidate(ctx, cache.Sessions, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := sessions.Get("s1"); ok {
		t.Error("s1 survived its invalidation")
	}
	if _, ok := sessions.Get("s2"); !ok {
		t.Error("s2 was dropped by s1's invalidation")
	}
	if config.Len() != 1 || both.Len() != 1 {
		t.Error("a sessions invalidation dropped other namespaces")
	}

	// Users: the cache in both namespaces (its keys are not strings: all of
	// it) and the hook; config stays.
	if err := g.Invalidate(ctx, cache.Users, "42"); err != nil {
		t.Fatal(err)
	}
	if both.Len() != 0 || config.Len() != 1 {
		t.Errorf("after a users invalidation: both=%d config=%d, want 0 and 1", both.Len(), config.Len())
	}
	if len(hooked) != 1 || hooked[0] != "42" {
		t.Errorf("hook got %q, want [42]", hooked)
	}

	fill()
	if err := g.Invalidate(ctx, cache.Config, ""); err != nil {
		t.Fatal(err)
	}
	if config.Len() != 0 || both.Len() != 0 || sessions.Len() != 2 {
		t.Errorf("after a config invalidation: config=%d both=%d sessions=%d, want 0 0 2", config.Len(), both.Len(), sessions.Len())
	}
}

func TestLoadOvertakenByInvalidation(t *testing.T) {
	g := cache.NewGroup(nil, nil)
	c := cache.New[string, string](g, cache.Options{Namespaces: []string{cache.Config}})
	ctx := context.Background()
	v, err := c.Load(ctx, "k", func(context.Context) (string, error) {
		// The write and its invalidation happen while the old value is read.
		_ = g.Invalidate(ctx, cache.Config, "")
		return "old", nil
	})
	if err != nil || v != "old" {
		t.Fatalf("Load = %q, %v", v, err)
	}
	if _, ok := c.Get("k"); ok {
		t.Error("a value loaded across an invalidation was kept")
	}
	if v, _ := c.Load(ctx, "k", func(context.Context) (string, error) { return "new", nil }); v != "new" {
		t.Errorf("Load = %q, want new", v)
	}
	if v, ok := c.Get("k"); !ok || v != "new" {
		t.Errorf("Get = %q, %v; want new, true", v, ok)
	}
	boom := errors.New("boom")
	if _, err := c.Load(ctx, "e", func(context.Context) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Errorf("Load error = %v", err)
	}
	if _, ok := c.Get("e"); ok {
		t.Error("a failed load was cached")
	}
}

func TestSizeBound(t *testing.T) {
	c := cache.New[int, int](nil, cache.Options{MaxEntries: 100})
	for i := range 1000 {
		c.Set(i, i)
		if c.Len() > 100 {
			t.Fatalf("%d entries, bound 100", c.Len())
		}
	}
	if v, ok := c.Get(999); !ok || v != 999 {
		t.Error("the newest entry was evicted")
	}
}

// Two groups on one bus are two replicas.
func TestAcrossGroups(t *testing.T) {
	b := bus.NewLocal()
	defer b.Close()
	g1, g2 := cache.NewGroup(b, nil), cache.NewGroup(b, nil)
	defer g1.Close()
	defer g2.Close()
	c1 := cache.New[string, int](g1, cache.Options{Namespaces: []string{cache.Config}})
	c2 := cache.New[string, int](g2, cache.Options{Namespaces: []string{cache.Config}})
	c1.Set("a", 1)
	c2.Set("a", 1)
	if err := g1.Invalidate(context.Background(), cache.Config, "a"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c1.Get("a"); ok {
		t.Error("the local cache still has the entry after Invalidate returned")
	}
	waitFor(t, func() bool { _, ok := c2.Get("a"); return !ok })
	if g1.Received() != 0 || g2.Received() != 1 {
		t.Errorf("received: %d and %d, want 0 (its own) and 1", g1.Received(), g2.Received())
	}
}

// resyncBus is a bus whose test can deliver a Resync, as a reconnect does.
type resyncBus struct{ *bus.Hub }

func (b resyncBus) Publish(_ context.Context, ch string, p []byte) error {
	b.Deliver(bus.Message{Channel: ch, Payload: p})
	return nil
}
func (b resyncBus) Health() error { return nil }
func (b resyncBus) Close() error  { b.Hub.Close(); return nil }

func TestResyncDropsEverything(t *testing.T) {
	b := resyncBus{bus.NewHub()}
	defer b.Close()
	g := cache.NewGroup(b, nil)
	config := cache.New[string, int](g, cache.Options{Namespaces: []string{cache.Config}})
	users := cache.New[string, int](g, cache.Options{Namespaces: []string{cache.Users}})
	config.Set("a", 1)
	users.Set("b", 1)
	b.Resync()
	waitFor(t, func() bool { return config.Len() == 0 && users.Len() == 0 })
	// Malformed messages are ignored.
	_ = b.Publish(context.Background(), cache.Channel, []byte("not json"))
	config.Set("a", 1)
	_ = b.Publish(context.Background(), cache.Channel, []byte(`{"origin":"x","namespace":"config"}`))
	waitFor(t, func() bool { return config.Len() == 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := cache.New[string, int](nil, cache.Options{TTL: time.Minute})
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("client:", i)
		c.Set(keys[i], i)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := c.Get(keys[i%len(keys)]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
}
