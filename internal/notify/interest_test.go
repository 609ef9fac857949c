package notify

import (
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Events no rule can match enqueue no dispatch: with only event matchers
// naming actions, other actions cost nothing; a binding that could pass
// for any event (another policy type, negated, a group) makes every event
// dispatched.
func TestDispatchOnlyWhatRulesMatch(t *testing.T) {
	f := newFixture(t)
	dispatched := func(action string) bool {
		f.record(action)
		return len(f.q.take()) > 0
	}
	if dispatched("login") {
		t.Error("dispatched without rules")
	}
	r := f.rule(t, "configuration_error", &store.NotificationTransport{Mode: store.TransportLocal}, true, false)
	if dispatched("login") || !dispatched("configuration_error") {
		t.Error("with a rule on configuration_error: login dispatched, or configuration_error not")
	}
	p := &store.Policy{Name: "always", Type: "expression", Settings: store.Attributes{"expression": "return True"}}
	if err := f.st.CreatePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	b := &store.PolicyBinding{TargetUUID: r.UUID, PolicyUUID: &p.UUID, Enabled: false, Order: 1}
	if err := f.st.CreatePolicyBinding(ctx, b); err != nil {
		t.Fatal(err)
	}
	f.svc.Invalidate()
	if dispatched("login") {
		t.Error("a disabled binding made login dispatched")
	}
	b.Enabled = true
	if err := f.st.UpdatePolicyBinding(ctx, b); err != nil {
		t.Fatal(err)
	}
	f.svc.Invalidate()
	if !dispatched("login") {
		t.Error("an expression policy bound: login not dispatched")
	}
	if err := f.st.DeletePolicyBinding(ctx, b.UUID); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: r.UUID, GroupUUID: &f.group.UUID, Enabled: true, Order: 2}); err != nil {
		t.Fatal(err)
	}
	f.svc.Invalidate()
	if !dispatched("login") {
		t.Error("a group bound: login not dispatched")
	}
}
