package oauth2

import (
	"context"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/expr"
)

// A configuration invalidation (from any replica, through the group)
// drops the cached provider configurations at once, well within configTTL;
// a users invalidation drops the expression users only.
func TestConfigCacheInvalidation(t *testing.T) {
	g := cache.NewGroup(nil, nil)
	s := &Server{}
	s.SetCaches(g)
	ctx := context.Background()
	fill := func() {
		s.remember("client:abc", &providerConfig{})
		s.caches().users.Set(7, &expr.User{Username: "svc"})
	}
	fill()
	if s.cached("client:abc") == nil {
		t.Fatal("not cached")
	}
	if err := g.Invalidate(ctx, cache.Users, ""); err != nil {
		t.Fatal(err)
	}
	if s.cached("client:abc") == nil {
		t.Error("a users invalidation dropped provider configurations")
	}
	if _, ok := s.caches().users.Get(7); ok {
		t.Error("a users invalidation kept the expression users")
	}
	fill()
	if err := g.Invalidate(ctx, cache.Config, ""); err != nil {
		t.Fatal(err)
	}
	if s.cached("client:abc") != nil {
		t.Error("a configuration invalidation kept the provider configuration")
	}
}
