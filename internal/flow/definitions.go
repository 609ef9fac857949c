package flow

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Definitions caches, in process, the configuration every executor request
// reads again: a flow by slug, its stage bindings, each stage built by its
// factory, and whether a flow or binding has policy bindings at all (most
// have none, and then the policy engine is not asked). Every invalidation
// of the cache.Config namespace (a write to flows, stages, bindings or
// policies, here or on another replica) drops it all; entries live at most
// a TTL besides. A nil *Definitions caches nothing: every call reads the
// store.
type Definitions struct {
	flows    *cache.Cache[flowSlug, *store.Flow]
	bindings *cache.Cache[uuid.UUID, []*store.FlowStageBinding]
	stages   *cache.Cache[uuid.UUID, builtStage]
	policies *cache.Cache[uuid.UUID, bool]
}

// DefaultDefinitionsTTL is the TTL of Definitions unless set.
const DefaultDefinitionsTTL = 10 * time.Second

// maxDefinitions bounds each of the caches.
const maxDefinitions = 4096

// NewDefinitions makes the caches in g (nil: dropped only by Invalidate and
// the TTL), with ttl (0: DefaultDefinitionsTTL) and the clock now (nil:
// time.Now).
func NewDefinitions(g *cache.Group, ttl time.Duration, now func() time.Time) *Definitions {
	if ttl <= 0 {
		ttl = DefaultDefinitionsTTL
	}
	o := cache.Options{Namespaces: []string{cache.Config}, TTL: ttl, MaxEntries: maxDefinitions, Now: now}
	return &Definitions{flows: cache.New[flowSlug, *store.Flow](g, o),
		bindings: cache.New[uuid.UUID, []*store.FlowStageBinding](g, o),
		stages:   cache.New[uuid.UUID, builtStage](g, o), policies: cache.New[uuid.UUID, bool](g, o)}
}

// flowSlug keys flows by slug. It is not a string so that an invalidation
// naming one object drops every flow: a stage or binding changed under a
// flow invalidates with its own key, not the flow's slug.
type flowSlug struct{ slug string }

// builtStage is a stored stage with its implementation (stages are
// stateless, so one instance serves every request) or why it has none.
type builtStage struct {
	model *store.Stage
	impl  Stage
	err   error
}

// Invalidate drops every cached definition in this process.
func (d *Definitions) Invalidate() {
	if d == nil {
		return
	}
	d.flows.Clear()
	d.bindings.Clear()
	d.stages.Clear()
	d.policies.Clear()
}

// lookup loads k through c, or straight from load without a cache.
func lookup[K comparable, V any](ctx context.Context, c *cache.Cache[K, V], k K, load func(context.Context) (V, error)) (V, error) {
	if c == nil {
		return load(ctx)
	}
	return c.Load(ctx, k, load)
}

// flow returns the flow slug.
func (e *Executor) flow(ctx context.Context, slug string) (*store.Flow, error) {
	var c *cache.Cache[flowSlug, *store.Flow]
	if e.Definitions != nil {
		c = e.Definitions.flows
	}
	return lookup(ctx, c, flowSlug{slug}, func(ctx context.Context) (*store.Flow, error) { return e.Store.FlowBySlug(ctx, slug) })
}

// stageBindings returns the stage bindings of flow, by order.
func (e *Executor) stageBindings(ctx context.Context, flow uuid.UUID) ([]*store.FlowStageBinding, error) {
	var c *cache.Cache[uuid.UUID, []*store.FlowStageBinding]
	if e.Definitions != nil {
		c = e.Definitions.bindings
	}
	return lookup(ctx, c, flow, func(ctx context.Context) ([]*store.FlowStageBinding, error) {
		return e.Store.FlowStageBindings(ctx, flow)
	})
}

// stage returns a stored stage and its implementation; the stage with a
// nil implementation and a non-nil error when the store has it but its
// factory refuses it (unknown type, bad settings).
func (e *Executor) stage(ctx context.Context, id uuid.UUID) (*store.Stage, Stage, error) {
	var c *cache.Cache[uuid.UUID, builtStage]
	if e.Definitions != nil {
		c = e.Definitions.stages
	}
	b, err := lookup(ctx, c, id, func(ctx context.Context) (builtStage, error) {
		st, err := e.Store.StageByUUID(ctx, id)
		if err != nil {
			return builtStage{}, err
		}
		b := builtStage{model: st}
		if factory, ok := e.Stages[st.Type]; ok {
			b.impl, b.err = factory(st.Settings)
		} else {
			b.err = fmt.Errorf("stage %q has unknown type %q", st.Name, st.Type)
		}
		return b, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return b.model, b.impl, b.err
}

// evaluate runs the policy bindings of target (a flow or a flow-stage
// binding). A target known to have no bindings passes without asking the
// engine, which is what the engine answers for it (no bindings = pass);
// asked tells whether the engine was asked.
func (e *Executor) evaluate(ctx context.Context, run *Run, target uuid.UUID, mode string) (res policy.Result, asked bool, err error) {
	if d := e.Definitions; d != nil {
		bound, err := d.policies.Load(ctx, target, func(ctx context.Context) (bool, error) {
			bs, err := e.Store.PolicyBindings(ctx, target)
			return len(bs) > 0, err
		})
		if err != nil {
			return policy.Result{}, false, err
		}
		if !bound {
			return policy.Result{Passing: true}, false, nil
		}
	}
	res, err = e.Policies.Evaluate(ctx, target, mode, run.PolicyRequest(ctx))
	return res, true, err
}
