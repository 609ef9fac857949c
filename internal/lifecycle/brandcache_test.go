package lifecycle

import (
	"context"
	"log/slog"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

type countingBrands struct {
	store.Store
	calls int
	title string
}

func (s *countingBrands) ListBrands(context.Context) ([]*store.Brand, error) {
	s.calls++
	return []*store.Brand{{Domain: "example.com", BrandingTitle: s.title}}, nil
}

// The executor's brands are read once, then from the cache until a config
// invalidation (any key: a brand's key, or another object's).
func TestBrandCache(t *testing.T) {
	ctx := context.Background()
	p := &Process{caches: cache.NewGroup(nil, slog.New(slog.DiscardHandler))}
	raw := &countingBrands{title: "one"}
	st := p.withBrandCache(raw)
	for range 3 {
		if b, err := st.ListBrands(ctx); err != nil || b[0].BrandingTitle != "one" {
			t.Fatalf("ListBrands = %v, %v", b, err)
		}
	}
	if raw.calls != 1 {
		t.Fatalf("%d reads of the table for 3 lookups; want 1", raw.calls)
	}
	raw.title = "two"
	for i, key := range []string{"", "some-brand-uuid"} {
		if err := p.caches.Invalidate(ctx, cache.Config, key); err != nil {
			t.Fatal(err)
		}
		if b, _ := st.ListBrands(ctx); b[0].BrandingTitle != "two" || raw.calls != 2+i {
			t.Errorf("after invalidating %q: %q, %d reads", key, b[0].BrandingTitle, raw.calls)
		}
	}
	// Other namespaces leave it alone.
	if err := p.caches.Invalidate(ctx, cache.Sessions, "x"); err != nil {
		t.Fatal(err)
	}
	_, _ = st.ListBrands(ctx)
	if raw.calls != 3 {
		t.Errorf("a session invalidation dropped the brands (%d reads)", raw.calls)
	}
}
