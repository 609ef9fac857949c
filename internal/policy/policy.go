// Package policy evaluates policy bindings: the gates on flows, flow-stage
// bindings and applications (authentik's PolicyEngine).
//
// A target's bindings are evaluated in order. A binding is a policy (its
// type's Evaluator decides), a group (the user is in it, or in a child of
// it) or a user. Disabled bindings are skipped; negate inverts a result; a
// policy that fails or exceeds its timeout yields the binding's
// failure_result. Mode "all" passes when every binding passes, "any" when
// one does; a target without bindings passes.
package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Request is what a policy is asked about.
type Request struct {
	User *store.User // nil for an anonymous request
	// HTTP facts about the request, when there is one.
	ClientIP  string
	UserAgent string
	Path      string
	// Context carries the flow plan context and other inputs (prompt_data, ...).
	Context map[string]any
	// Obj is the object the check is about (an application, a flow), if any.
	Obj any
	// Cacheable lets the engine answer from, and keep the result in, its
	// short-lived cache (Engine.CacheTTL) keyed by target, mode, user and
	// client IP. Callers set it where nothing else in the request can
	// change the answer: an application access check, not a flow (whose
	// policies read and write the plan context).
	Cacheable bool
}

// Result of one policy or of a whole target.
type Result struct {
	Passing  bool
	Messages []string
	// PlanContext holds what the policy put in the running flow plan's
	// context (authentik's context["flow_plan"].context[...] = ...), e.g.
	// "pending_user" as a *store.User. The planner applies it.
	PlanContext map[string]any
	// Log is what one policy logged while it ran (an expression's
	// ak_logger and print lines), for the policy test (authentik's
	// PolicyResult.log_messages). A target's merged result has none.
	Log []LogEntry
}

// LogEntry is one line a policy logged (authentik's LogEvent).
type LogEntry struct {
	Time time.Time
	// Level is structlog's level name: debug, info, warning, error, critical.
	Level string
	// Logger names who logged: the policy, for an expression's lines
	// (authentik's ak_logger is get_logger(policy name)).
	Logger     string
	Event      string
	Attributes map[string]any
}

func (r *Result) merge(o Result) {
	r.Messages = append(r.Messages, o.Messages...)
	for k, v := range o.PlanContext {
		if r.PlanContext == nil {
			r.PlanContext = map[string]any{}
		}
		r.PlanContext[k] = v
	}
}

// Evaluator is one policy type.
type Evaluator interface {
	Evaluate(ctx context.Context, p *store.Policy, req Request) (Result, error)
}

// Registry maps policy types (and authentik model names, as aliases) to evaluators.
type Registry map[string]Evaluator

// Store is what the engine reads.
type Store interface {
	PolicyBindings(ctx context.Context, target uuid.UUID) ([]*store.PolicyBinding, error)
	PolicyByUUID(ctx context.Context, id uuid.UUID) (*store.Policy, error)
	UserGroups(ctx context.Context, userPK int64, inherited bool) ([]*store.Group, error)
}

// Engine evaluates bindings.
type Engine struct {
	Store    Store
	Registry Registry
	Log      *slog.Logger
	// OnError is told about a policy that failed (authentik records a
	// policy_exception / configuration_error event); may be nil.
	OnError func(ctx context.Context, p *store.Policy, err error)
	// CacheTTL is how long a cacheable result is reused (0: never).
	// authentik caches policy results per binding and user the same way.
	// Results also depend on time and reputation, so the TTL stays short.
	CacheTTL time.Duration
	// Caches, when set before the first evaluation, drops the results on
	// every cache.Config and cache.Users invalidation (a changed binding,
	// policy or membership, on any replica) at once.
	Caches *cache.Group
	// Now is the clock (time.Now if nil).
	Now func() time.Time

	cacheOnce sync.Once
	cache     *cache.Cache[cacheKey, Result]
}

type cacheKey struct {
	target uuid.UUID
	mode   string
	user   int64
	ip     string
}

const maxCachedResults = 10000

func (e *Engine) results() *cache.Cache[cacheKey, Result] {
	e.cacheOnce.Do(func() {
		e.cache = cache.New[cacheKey, Result](e.Caches, cache.Options{Namespaces: []string{cache.Config, cache.Users},
			TTL: e.CacheTTL, MaxEntries: maxCachedResults, Now: e.now})
	})
	return e.cache
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// errUncacheable carries a result that writes the plan context past the
// cache (only the error of a load is not kept).
type errUncacheable struct{ res Result }

func (errUncacheable) Error() string { return "uncacheable result" }

// ErrUnknownType: a policy's type has no evaluator.
var ErrUnknownType = errors.New("unknown policy type")

// Evaluate runs the bindings of target in mode ("all" or "any").
func (e *Engine) Evaluate(ctx context.Context, target uuid.UUID, mode string, req Request) (Result, error) {
	if !req.Cacheable || e.CacheTTL <= 0 {
		return e.evaluate(ctx, target, mode, req)
	}
	key := cacheKey{target: target, mode: mode, ip: req.ClientIP}
	if req.User != nil {
		key.user = req.User.PK
	}
	results := e.results()
	if res, ok := results.Get(key); ok {
		return res, nil
	}
	res, err := results.Load(ctx, key, func(ctx context.Context) (Result, error) {
		res, err := e.evaluate(ctx, target, mode, req)
		if err == nil && len(res.PlanContext) > 0 {
			err = errUncacheable{res}
		}
		return res, err
	})
	if u, ok := err.(errUncacheable); ok {
		return u.res, nil
	}
	return res, err
}

// EvaluatePolicy runs one policy outside any binding (a prompt stage's
// validation policies): the default timeout, and a failing policy fails.
func (e *Engine) EvaluatePolicy(ctx context.Context, p *store.Policy, req Request) Result {
	return e.policy(ctx, &store.PolicyBinding{Enabled: true}, p, req)
}

func (e *Engine) evaluate(ctx context.Context, target uuid.UUID, mode string, req Request) (Result, error) {
	bindings, err := e.Store.PolicyBindings(ctx, target)
	if err != nil {
		return Result{}, fmt.Errorf("policy bindings of %s: %w", target, err)
	}
	var (
		results []bool
		out     Result
	)
	for _, b := range bindings {
		if !b.Enabled {
			continue
		}
		r, err := e.binding(ctx, b, req)
		if err != nil {
			return Result{}, err
		}
		if b.Negate {
			r.Passing = !r.Passing
		}
		results = append(results, r.Passing)
		out.merge(r)
		// Short-circuit like authentik: "any" stops at the first pass, "all" at the first failure.
		if mode == "any" && r.Passing {
			out.Passing = true
			return out, nil
		}
		if mode != "any" && !r.Passing {
			out.Passing = false
			return out, nil
		}
	}
	out.Passing = len(results) == 0 || mode != "any"
	return out, nil
}

func (e *Engine) binding(ctx context.Context, b *store.PolicyBinding, req Request) (Result, error) {
	switch {
	case b.UserPK != nil:
		return Result{Passing: req.User != nil && req.User.PK == *b.UserPK}, nil
	case b.GroupUUID != nil:
		if req.User == nil {
			return Result{Passing: false}, nil
		}
		groups, err := e.Store.UserGroups(ctx, req.User.PK, true)
		if err != nil {
			return Result{}, err
		}
		for _, g := range groups {
			if g.UUID == *b.GroupUUID {
				return Result{Passing: true}, nil
			}
		}
		return Result{Passing: false}, nil
	case b.PolicyUUID != nil:
		p, err := e.Store.PolicyByUUID(ctx, *b.PolicyUUID)
		if err != nil {
			return Result{}, err
		}
		return e.policy(ctx, b, p, req), nil
	}
	return Result{}, fmt.Errorf("binding %s has no target", b.UUID)
}

// policy runs one policy under the binding's timeout; an error or a timeout
// gives failure_result.
func (e *Engine) policy(ctx context.Context, b *store.PolicyBinding, p *store.Policy, req Request) Result {
	ev, ok := e.Registry[p.Type]
	if !ok {
		e.fail(ctx, p, fmt.Errorf("%w %q", ErrUnknownType, p.Type))
		return Result{Passing: b.FailureResult}
	}
	timeout := time.Duration(b.Timeout) * time.Second
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type out struct {
		r   Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- out{err: fmt.Errorf("policy panicked: %v", v)}
			}
		}()
		r, err := ev.Evaluate(pctx, p, req)
		done <- out{r, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			e.fail(ctx, p, o.err)
			return Result{Passing: b.FailureResult, Messages: o.r.Messages, Log: o.r.Log}
		}
		if p.ExecutionLogging && e.Log != nil {
			e.Log.Info("policy evaluated", "policy", p.Name, "passing", o.r.Passing, "messages", o.r.Messages)
		}
		return o.r
	case <-pctx.Done():
		e.fail(ctx, p, fmt.Errorf("policy timed out after %s", timeout))
		return Result{Passing: b.FailureResult}
	}
}

func (e *Engine) fail(ctx context.Context, p *store.Policy, err error) {
	if e.Log != nil {
		e.Log.Warn("policy failed", "policy", p.Name, "type", p.Type, "error", err)
	}
	if e.OnError != nil {
		e.OnError(ctx, p, err)
	}
}
