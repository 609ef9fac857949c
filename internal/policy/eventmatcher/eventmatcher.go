// Package eventmatcher is authentik's event matcher policy: it passes when
// the event being handled (request.context["event"], as notification rules
// evaluate it) matches every criterion the policy sets: action, client_ip,
// app, and model ("app_label.model_name" of the object the event is about).
package eventmatcher

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "event_matcher"
	ModelName = "authentik_policies_event_matcher.eventmatcherpolicy"
)

// Evaluator implements policy.Evaluator.
type Evaluator struct{}

var _ policy.Evaluator = Evaluator{}

type criteria struct{ action, clientIP, app, model string }

func parse(s store.Attributes) (criteria, error) {
	var c criteria
	for key, dst := range map[string]*string{"action": &c.action, "client_ip": &c.clientIP, "app": &c.app, "model": &c.model} {
		v, ok := s[key]
		if !ok || v == nil {
			continue
		}
		str, isStr := v.(string)
		if !isStr {
			return c, fmt.Errorf("%s must be a string", key)
		}
		*dst = str
	}
	if c.clientIP != "" {
		if _, err := netip.ParseAddr(c.clientIP); err != nil {
			return c, fmt.Errorf("client_ip must be an IP address")
		}
	}
	if c == (criteria{}) {
		return c, fmt.Errorf("set at least one of action, client_ip, app or model")
	}
	return c, nil
}

// Validate checks settings at save time.
func Validate(s store.Attributes) error { _, err := parse(s); return err }

// event is the part of an event the policy reads.
type event struct{ action, clientIP, app, model string }

// eventOf reads the event from the request context: a *store.Event (the
// notification pipeline) or its JSON form (the policy test endpoint).
func eventOf(v any) (event, bool) {
	switch e := v.(type) {
	case *store.Event:
		out := event{action: e.Action, app: e.App, model: modelOf(e.Context)}
		if e.ClientIP != nil {
			out.clientIP = *e.ClientIP
		}
		return out, true
	case map[string]any:
		str := func(k string) string { s, _ := e[k].(string); return s }
		ctx, _ := e["context"].(map[string]any)
		return event{action: str("action"), clientIP: str("client_ip"), app: str("app"), model: modelOf(ctx)}, true
	}
	return event{}, false
}

// modelOf is "app.model_name" from an event context's model reference.
func modelOf(ctx map[string]any) string {
	m, _ := ctx["model"].(map[string]any)
	app, _ := m["app"].(string)
	name, _ := m["model_name"].(string)
	if app == "" || name == "" {
		return ""
	}
	return app + "." + name
}

// Evaluate matches the event against the criteria.
func (Evaluator) Evaluate(_ context.Context, p *store.Policy, req policy.Request) (policy.Result, error) {
	c, err := parse(p.Settings)
	if err != nil {
		return policy.Result{}, err
	}
	ev, ok := eventOf(req.Context["event"])
	if !ok {
		return policy.Result{Messages: []string{"No event to match."}}, nil
	}
	for _, check := range []struct{ name, want, got string }{
		{"action", c.action, ev.action}, {"client_ip", c.clientIP, ev.clientIP},
		{"app", c.app, ev.app}, {"model", c.model, ev.model},
	} {
		if check.want != "" && check.want != check.got {
			return policy.Result{Messages: []string{fmt.Sprintf("The event's %s does not match.", check.name)}}, nil
		}
	}
	return policy.Result{Passing: true}, nil
}
