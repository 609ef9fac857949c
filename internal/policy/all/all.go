// Package all lists every built-in policy type: adding a policy type is
// writing its package and adding it here.
package all

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/event"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/policy/dummy"
	"github.com/gatehouse-idp/gatehouse/internal/policy/eventmatcher"
	"github.com/gatehouse-idp/gatehouse/internal/policy/expiry"
	"github.com/gatehouse-idp/gatehouse/internal/policy/expression"
	"github.com/gatehouse-idp/gatehouse/internal/policy/password"
	"github.com/gatehouse-idp/gatehouse/internal/policy/reputation"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is one policy type.
type Type struct {
	Name      string // Gatehouse's type name (stored in policies.type)
	ModelName string // authentik's model name, an alias
	Evaluator policy.Evaluator
	// Validate checks settings at save time, so a broken policy is refused
	// with a clear message instead of failing at login.
	Validate func(settings store.Attributes) error
}

// Deps are what policy types need from the process.
type Deps struct {
	Store interface {
		expression.Store
		reputation.Store
		expiry.Store
	}
	Log *slog.Logger
}

// Types lists every built-in policy type.
func Types(d Deps) []Type {
	return []Type{
		{"dummy", "authentik_policies_dummy.dummypolicy", dummy.Evaluator{}, validateDummy},
		{"password", "authentik_policies_password.passwordpolicy", password.Evaluator{}, password.Validate},
		{expression.Type, expression.ModelName, &expression.Evaluator{Store: d.Store, Log: d.Log}, expression.Validate},
		{reputation.Type, reputation.ModelName, reputation.Evaluator{Store: d.Store}, reputation.Validate},
		{expiry.Type, expiry.ModelName, expiry.Evaluator{Store: d.Store}, expiry.Validate},
		{eventmatcher.Type, eventmatcher.ModelName, eventmatcher.Evaluator{}, eventmatcher.Validate},
	}
}

// Lookup finds a type by name or authentik model name.
func Lookup(d Deps, name string) (Type, bool) {
	for _, t := range Types(d) {
		if t.Name == name || t.ModelName == name {
			return t, true
		}
	}
	return Type{}, false
}

// Registry returns the evaluators, keyed by type and by authentik model name.
func Registry(d Deps) policy.Registry {
	r := policy.Registry{}
	for _, t := range Types(d) {
		r[t.Name], r[t.ModelName] = t.Evaluator, t.Evaluator
	}
	return r
}

func validateDummy(s store.Attributes) error {
	if v, ok := s["result"]; ok {
		if _, isBool := v.(bool); !isBool {
			return fmt.Errorf("result must be true or false")
		}
	}
	lo, _ := s["wait_min"].(float64)
	hi, _ := s["wait_max"].(float64)
	if lo < 0 || hi < 0 || (hi > 0 && hi < lo) || hi > 3600 {
		return fmt.Errorf("wait_min and wait_max are seconds, 0 <= wait_min <= wait_max <= 3600")
	}
	return nil
}

// CacheTTL is how long cacheable results (application access checks on
// the machine endpoints) are reused.
const CacheTTL = 2 * time.Second

// Engine is the policy engine over every built-in type, as the flow
// executor and the API's check_access share it. A policy that fails at run
// time (a broken expression, a timeout) is an administrator's problem: it is
// recorded as a configuration_error event, as authentik does.
func Engine(st store.Store, log *slog.Logger, events *event.Recorder) *policy.Engine {
	return &policy.Engine{Store: st, Log: log.With("component", "policy"), CacheTTL: CacheTTL,
		Registry: Registry(Deps{Store: st, Log: log.With("component", "expression")}),
		OnError: func(ctx context.Context, p *store.Policy, err error) {
			events.Write(ctx, event.Event{Action: "configuration_error", App: "gatehouse.policies",
				Context: map[string]any{"message": err.Error(),
					"policy": map[string]any{"pk": p.UUID.String(), "name": p.Name, "type": p.Type}}})
		}}
}
