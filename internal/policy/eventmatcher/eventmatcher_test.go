package eventmatcher

import (
	"context"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func TestEvaluate(t *testing.T) {
	ip := "198.51.100.7"
	stored := &store.Event{Action: "model_deleted", App: "authentik.core", ClientIP: &ip,
		Context: store.Attributes{"model": map[string]any{"app": "authentik_core", "model_name": "user", "pk": 3}}}
	asJSON := map[string]any{"action": "login_failed", "app": "authentik.events", "client_ip": "203.0.113.9"}
	for _, tc := range []struct {
		name     string
		settings store.Attributes
		event    any
		pass     bool
	}{
		{"action", store.Attributes{"action": "model_deleted"}, stored, true},
		{"action and model", store.Attributes{"action": "model_deleted", "model": "authentik_core.user"}, stored, true},
		{"other model", store.Attributes{"action": "model_deleted", "model": "authentik_core.group"}, stored, false},
		{"client ip", store.Attributes{"client_ip": "198.51.100.7"}, stored, true},
		{"json event", store.Attributes{"action": "login_failed", "app": "authentik.events"}, asJSON, true},
		{"json event, other ip", store.Attributes{"client_ip": "198.51.100.7"}, asJSON, false},
		{"no event", store.Attributes{"action": "login"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Evaluator{}.Evaluate(context.Background(), &store.Policy{Settings: tc.settings},
				policy.Request{Context: map[string]any{"event": tc.event}})
			if err != nil || res.Passing != tc.pass {
				t.Errorf("= %+v, %v; want passing %v", res, err, tc.pass)
			}
			if !res.Passing && len(res.Messages) == 0 {
				t.Error("a failure without a message")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, bad := range []store.Attributes{{}, {"action": 3}, {"client_ip": "not-an-ip"}} {
		if Validate(bad) == nil {
			t.Errorf("Validate(%v) accepted", bad)
		}
	}
	if err := Validate(store.Attributes{"model": "authentik_core.user"}); err != nil {
		t.Error(err)
	}
}
