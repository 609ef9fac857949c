package policy_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// With Caches set, a changed binding (a cache.Config invalidation) or
// membership (cache.Users) is seen at once, within the TTL.
func TestEngineCacheInvalidation(t *testing.T) {
	for _, ns := range []string{cache.Config, cache.Users} {
		t.Run(ns, func(t *testing.T) {
			uid := int64(7)
			fs := &fakeStore{bindings: []*store.PolicyBinding{{UUID: uuid.New(), UserPK: &uid, Enabled: true}}}
			now := time.Unix(1000, 0)
			g := cache.NewGroup(nil, nil)
			e := &policy.Engine{Store: fs, CacheTTL: time.Minute, Caches: g, Now: func() time.Time { return now }}
			target, bob := uuid.New(), &store.User{PK: 8}
			eval := func() bool {
				t.Helper()
				r, err := e.Evaluate(context.Background(), target, "any", policy.Request{User: bob, Cacheable: true})
				if err != nil {
					t.Fatal(err)
				}
				return r.Passing
			}
			if eval() {
				t.Fatal("bob passed a binding to alice")
			}
			fs.bindings[0].Enabled = false
			if eval() {
				t.Fatal("the cached answer changed without an invalidation")
			}
			if err := g.Invalidate(context.Background(), cache.Sessions, ""); err != nil {
				t.Fatal(err)
			}
			if eval() {
				t.Error("a sessions invalidation dropped policy results")
			}
			if err := g.Invalidate(context.Background(), ns, ""); err != nil {
				t.Fatal(err)
			}
			if !eval() {
				t.Errorf("after a %s invalidation the old answer is still served", ns)
			}
		})
	}
}
