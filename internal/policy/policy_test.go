package policy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/policy/dummy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

type fakeStore struct {
	bindings []*store.PolicyBinding
	policies map[uuid.UUID]*store.Policy
	groups   []*store.Group
}

func (f *fakeStore) PolicyBindings(context.Context, uuid.UUID) ([]*store.PolicyBinding, error) {
	return f.bindings, nil
}
func (f *fakeStore) PolicyByUUID(_ context.Context, id uuid.UUID) (*store.Policy, error) {
	if p, ok := f.policies[id]; ok {
		return p, nil
	}
	return nil, store.ErrNotFound
}
func (f *fakeStore) UserGroups(context.Context, int64, bool) ([]*store.Group, error) {
	return f.groups, nil
}

type failing struct{}

func (failing) Evaluate(context.Context, *store.Policy, policy.Request) (policy.Result, error) {
	return policy.Result{Messages: []string{"boom"}}, errors.New("boom")
}

type panicking struct{}

func (panicking) Evaluate(context.Context, *store.Policy, policy.Request) (policy.Result, error) {
	panic("oops")
}

func TestEngine(t *testing.T) {
	pass := &store.Policy{UUID: uuid.New(), Name: "pass", Type: "dummy", Settings: store.Attributes{"result": true}}
	deny := &store.Policy{UUID: uuid.New(), Name: "deny", Type: "dummy", Settings: store.Attributes{"result": false}}
	slow := &store.Policy{UUID: uuid.New(), Name: "slow", Type: "dummy", Settings: store.Attributes{"result": true, "wait_min": 5.0, "wait_max": 6.0}}
	broken := &store.Policy{UUID: uuid.New(), Name: "broken", Type: "failing"}
	crash := &store.Policy{UUID: uuid.New(), Name: "crash", Type: "panicking"}
	unknown := &store.Policy{UUID: uuid.New(), Name: "unknown", Type: "nope"}
	g := &store.Group{UUID: uuid.New(), Name: "staff"}
	alice := &store.User{PK: 7, Username: "alice"}
	bind := func(p *store.Policy, opts ...func(*store.PolicyBinding)) *store.PolicyBinding {
		b := &store.PolicyBinding{UUID: uuid.New(), PolicyUUID: &p.UUID, Enabled: true, Timeout: 30}
		for _, o := range opts {
			o(b)
		}
		return b
	}
	negate := func(b *store.PolicyBinding) { b.Negate = true }
	disabled := func(b *store.PolicyBinding) { b.Enabled = false }
	failOpen := func(b *store.PolicyBinding) { b.FailureResult = true }
	short := func(b *store.PolicyBinding) { b.Timeout = 1 }
	groupB := &store.PolicyBinding{UUID: uuid.New(), GroupUUID: &g.UUID, Enabled: true}
	userB := &store.PolicyBinding{UUID: uuid.New(), UserPK: &alice.PK, Enabled: true}

	for _, tc := range []struct {
		name     string
		mode     string
		bindings []*store.PolicyBinding
		user     *store.User
		groups   []*store.Group
		want     bool
	}{
		{"no bindings pass", "all", nil, nil, nil, true},
		{"all: one fails", "all", []*store.PolicyBinding{bind(pass), bind(deny)}, nil, nil, false},
		{"any: one passes", "any", []*store.PolicyBinding{bind(deny), bind(pass)}, nil, nil, true},
		{"any: none passes", "any", []*store.PolicyBinding{bind(deny), bind(deny)}, nil, nil, false},
		{"negate", "all", []*store.PolicyBinding{bind(deny, negate)}, nil, nil, true},
		{"disabled skipped", "all", []*store.PolicyBinding{bind(deny, disabled)}, nil, nil, true},
		{"error gives failure_result false", "all", []*store.PolicyBinding{bind(broken)}, nil, nil, false},
		{"error gives failure_result true", "all", []*store.PolicyBinding{bind(broken, failOpen)}, nil, nil, true},
		{"panic is a failure", "all", []*store.PolicyBinding{bind(crash, failOpen)}, nil, nil, true},
		{"unknown type is a failure", "all", []*store.PolicyBinding{bind(unknown)}, nil, nil, false},
		{"timeout gives failure_result", "all", []*store.PolicyBinding{bind(slow, short)}, nil, nil, false},
		{"group member", "all", []*store.PolicyBinding{groupB}, alice, []*store.Group{g}, true},
		{"not a group member", "all", []*store.PolicyBinding{groupB}, alice, nil, false},
		{"anonymous and a group", "all", []*store.PolicyBinding{groupB}, nil, nil, false},
		{"user binding", "all", []*store.PolicyBinding{userB}, alice, nil, true},
		{"other user", "all", []*store.PolicyBinding{userB}, &store.User{PK: 8}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeStore{bindings: tc.bindings, groups: tc.groups, policies: map[uuid.UUID]*store.Policy{}}
			for _, p := range []*store.Policy{pass, deny, slow, broken, crash, unknown} {
				fs.policies[p.UUID] = p
			}
			var failures int
			e := &policy.Engine{Store: fs, Registry: policy.Registry{"dummy": dummy.Evaluator{}, "failing": failing{}, "panicking": panicking{}},
				OnError: func(context.Context, *store.Policy, error) { failures++ }}
			start := time.Now()
			r, err := e.Evaluate(context.Background(), uuid.New(), tc.mode, policy.Request{User: tc.user})
			if err != nil {
				t.Fatal(err)
			}
			if r.Passing != tc.want {
				t.Errorf("passing = %v, want %v", r.Passing, tc.want)
			}
			if time.Since(start) > 3*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

// A cacheable request is answered from the cache within CacheTTL (the
// binding's change is not seen), per user; a non-cacheable one never is.
func TestEngineCache(t *testing.T) {
	uid := int64(7)
	fs := &fakeStore{bindings: []*store.PolicyBinding{{UUID: uuid.New(), UserPK: &uid, Enabled: true}}}
	now := time.Unix(1000, 0)
	e := &policy.Engine{Store: fs, CacheTTL: 2 * time.Second, Now: func() time.Time { return now }}
	target := uuid.New()
	alice := &store.User{PK: 7}
	bob := &store.User{PK: 8}
	eval := func(u *store.User, cacheable bool) bool {
		t.Helper()
		r, err := e.Evaluate(context.Background(), target, "any", policy.Request{User: u, Cacheable: cacheable, ClientIP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Passing
	}
	if !eval(alice, true) || eval(bob, true) {
		t.Fatal("first answers wrong")
	}
	fs.bindings[0].Enabled = false // no binding left: everyone passes
	if !eval(alice, true) || eval(bob, true) {
		t.Error("cached answers should not change within the TTL")
	}
	if !eval(bob, false) {
		t.Error("a non-cacheable request must see the change")
	}
	now = now.Add(3 * time.Second)
	if !eval(bob, true) {
		t.Error("after the TTL the change must be seen")
	}
}
