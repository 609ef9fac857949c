package flow_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// A cached flow definition is used until Invalidate, an invalidation of
// the config namespace (with any key) or its TTL; the first challenge of a
// fresh client shows whichever the executor read.
func TestDefinitionsCacheInvalidateAndTTL(t *testing.T) {
	ctx := context.Background()
	s := stagetest.New(t)
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	group := cache.NewGroup(nil, nil)
	defs := flow.NewDefinitions(group, time.Minute, func() time.Time { return clock })
	s.Executor.Definitions = defs
	slug := core.DefaultAuthenticationFlow
	title := func() string {
		t.Helper()
		c := s.Client().Get(slug)
		if c.Component() != "ak-stage-identification" {
			t.Fatalf("first challenge: %v", c)
		}
		info, _ := c["flow_info"].(map[string]any)
		v, _ := info["title"].(string)
		return v
	}
	before := title()
	f, err := s.Store.FlowBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	rename := func(to string) {
		t.Helper()
		f.Title = to
		if err := s.Store.UpdateFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
	}

	rename("Renamed once")
	if got := title(); got != before {
		t.Errorf("within the TTL and without Invalidate the cached title should be used: got %q, want %q", got, before)
	}
	defs.Invalidate()
	if got := title(); got != "Renamed once" {
		t.Errorf("after Invalidate: title %q", got)
	}

	rename("Renamed twice")
	// The API invalidates with the key of the object it wrote, here a stage.
	if err := group.Invalidate(ctx, cache.Config, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	if got := title(); got != "Renamed twice" {
		t.Errorf("after a config invalidation: title %q", got)
	}

	rename("Renamed thrice")
	clock = clock.Add(time.Minute)
	if got := title(); got != "Renamed thrice" {
		t.Errorf("after the TTL: title %q", got)
	}
}

// The cache remembers that a flow has no policy bindings and then skips
// the policy engine; a binding added later applies after Invalidate, and a
// bound flow is always evaluated.
func TestDefinitionsPolicyBindings(t *testing.T) {
	ctx := context.Background()
	s := stagetest.New(t)
	defs := flow.NewDefinitions(nil, 0, nil)
	s.Executor.Definitions = defs
	slug := core.DefaultAuthenticationFlow
	if c := s.Client().Get(slug); c.Component() != "ak-stage-identification" {
		t.Fatalf("unbound flow: %v", c)
	}
	f, err := s.Store.FlowBySlug(ctx, slug)
	if err != nil {
		t.Fatal(err)
	}
	deny := &store.Policy{Name: "deny", Type: "dummy", Settings: store.Attributes{"result": false}}
	if err := s.Store.CreatePolicy(ctx, deny); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: f.UUID, PolicyUUID: &deny.UUID,
		Enabled: true, Timeout: 30}); err != nil {
		t.Fatal(err)
	}
	if c := s.Client().Get(slug); c.Component() != "ak-stage-identification" {
		t.Errorf("before Invalidate the flow is still known as unbound: %v", c)
	}
	defs.Invalidate()
	for range 2 { // the second time from the cache, which knows the flow is bound
		if c := s.Client().Get(slug); c.Component() != "ak-stage-access-denied" {
			t.Errorf("a flow bound to a failing policy: %v", c)
		}
	}
}

// sessionWrites counts the session writes of the executor.
type sessionWrites struct {
	store.Sessions
	create, update, del int
}

func (w *sessionWrites) CreateSession(ctx context.Context, s *store.Session) error {
	w.create++
	return w.Sessions.CreateSession(ctx, s)
}

func (w *sessionWrites) UpdateSession(ctx context.Context, s *store.Session) error {
	w.update++
	return w.Sessions.UpdateSession(ctx, s)
}

func (w *sessionWrites) DeleteSession(ctx context.Context, key string) error {
	w.del++
	return w.Sessions.DeleteSession(ctx, key)
}

// A login writes the session once per change: the first GET stores the new
// session with its plan, the two answers store the plan's progress, the
// GET that re-shows a challenge of a stage without policies writes
// nothing, and the login stores the rotated session with the plan dropped
// after deleting the anonymous one.
func TestLoginSessionWrites(t *testing.T) {
	for _, cached := range []bool{false, true} {
		s := stagetest.New(t)
		if cached {
			s.Executor.Definitions = flow.NewDefinitions(nil, 0, nil)
		}
		w := &sessionWrites{Sessions: s.Store}
		s.Executor.Sessions = &session.Manager{Store: w}
		if got := s.Client().Password("akadmin", stagetest.Password); got.Component() != "xak-flow-redirect" {
			t.Fatalf("login: %v", got)
		}
		// Without the cache every binding of the default flow (all
		// re-evaluated) is evaluated by the engine, and the GET that first
		// shows the password stage stores that it was.
		want := sessionWrites{create: 2, update: 3, del: 1}
		if cached {
			want.update = 2
		}
		if w.create != want.create || w.update != want.update || w.del != want.del {
			t.Errorf("cached=%v: %d creates, %d updates, %d deletes; want %d, %d, %d", cached,
				w.create, w.update, w.del, want.create, want.update, want.del)
		}
	}
}
