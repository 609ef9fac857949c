package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func testFlows(t *testing.T, s store.Store) {
	f := &store.Flow{Slug: "default-authentication-flow", Name: "Welcome", Title: "Welcome!", Designation: store.DesignationAuthentication}
	if err := s.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	if f.PolicyEngineMode != "any" || f.DeniedAction != "message_continue" || f.Authentication != "none" {
		t.Errorf("flow defaults = %+v", f)
	}
	wantErr(t, s.CreateFlow(ctx, &store.Flow{Slug: f.Slug, Name: "x", Designation: "authentication"}), store.ErrConflict, "duplicate slug")
	got, err := s.FlowBySlug(ctx, f.Slug)
	if err != nil || got.UUID != f.UUID || got.Title != "Welcome!" {
		t.Fatalf("FlowBySlug = %+v %v", got, err)
	}
	id := &store.Stage{Name: "default-authentication-identification", Type: "identification",
		Settings: store.Attributes{"user_fields": []any{"username", "email"}}}
	pw := &store.Stage{Name: "default-authentication-password", Type: "password"}
	for _, st := range []*store.Stage{id, pw} {
		if err := s.CreateStage(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	gs, err := s.StageByUUID(ctx, id.UUID)
	if err != nil || gs.Type != "identification" || len(gs.Settings["user_fields"].([]any)) != 2 {
		t.Errorf("StageByUUID = %+v %v", gs, err)
	}
	b2 := &store.FlowStageBinding{FlowUUID: f.UUID, StageUUID: pw.UUID, Order: 20}
	b1 := &store.FlowStageBinding{FlowUUID: f.UUID, StageUUID: id.UUID, Order: 10, EvaluateOnPlan: true}
	for _, b := range []*store.FlowStageBinding{b2, b1} {
		if err := s.CreateFlowStageBinding(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.CreateFlowStageBinding(ctx, &store.FlowStageBinding{FlowUUID: f.UUID, StageUUID: id.UUID, Order: 10}), store.ErrConflict, "duplicate binding")
	wantErr(t, s.CreateFlowStageBinding(ctx, &store.FlowStageBinding{FlowUUID: f.UUID, StageUUID: id.UUID, Order: 30, InvalidResponseAction: "explode"}), store.ErrInvalid, "bad action")
	bs, err := s.FlowStageBindings(ctx, f.UUID)
	if err != nil || len(bs) != 2 || bs[0].StageUUID != id.UUID || !bs[0].EvaluateOnPlan || bs[1].InvalidResponseAction != "retry" {
		t.Errorf("FlowStageBindings = %+v %v", bs, err)
	}
	if flows, n, err := s.ListFlows(ctx, store.DesignationAuthentication, store.ListOptions{}); err != nil || n != 1 || flows[0].Slug != f.Slug {
		t.Errorf("ListFlows = %v %d %v", flows, n, err)
	}

	p := &store.Policy{Name: "only-alice", Type: "expression", Settings: store.Attributes{"expression": "return True"}}
	if err := s.CreatePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err := s.PolicyByName(ctx, "only-alice"); err != nil || got.Settings["expression"] != "return True" {
		t.Errorf("PolicyByName = %+v %v", got, err)
	}
	g := &store.Group{Name: "flow-group"}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	pb := &store.PolicyBinding{TargetUUID: f.UUID, PolicyUUID: &p.UUID, Order: 1, Enabled: true}
	gb := &store.PolicyBinding{TargetUUID: f.UUID, GroupUUID: &g.UUID, Order: 0, Enabled: true, Negate: true}
	for _, b := range []*store.PolicyBinding{pb, gb} {
		if err := s.CreatePolicyBinding(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: f.UUID, PolicyUUID: &p.UUID, GroupUUID: &g.UUID}), store.ErrInvalid, "two targets")
	wantErr(t, s.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: f.UUID}), store.ErrInvalid, "no target")
	missing := uuid.New()
	wantErr(t, s.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: f.UUID, PolicyUUID: &missing}), store.ErrInvalid, "missing policy")
	pbs, err := s.PolicyBindings(ctx, f.UUID)
	if err != nil || len(pbs) != 2 || pbs[0].GroupUUID == nil || !pbs[0].Negate || pbs[1].Timeout != 30 {
		t.Errorf("PolicyBindings = %+v %v", pbs, err)
	}
	// Deleting the policy removes its bindings; deleting the flow its stage bindings.
	if err := s.DeletePolicy(ctx, p.UUID); err != nil {
		t.Fatal(err)
	}
	if pbs, _ := s.PolicyBindings(ctx, f.UUID); len(pbs) != 1 {
		t.Errorf("bindings after deleting the policy: %d", len(pbs))
	}
	if err := s.DeleteFlow(ctx, f.UUID); err != nil {
		t.Fatal(err)
	}
	if pbs, _ := s.PolicyBindings(ctx, f.UUID); len(pbs) != 0 {
		t.Errorf("policy bindings after deleting the flow: %d", len(pbs))
	}
	if bs, _ := s.FlowStageBindings(ctx, f.UUID); len(bs) != 0 {
		t.Errorf("stage bindings after deleting the flow: %d", len(bs))
	}
}

func testReputation(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	exp := now.Add(time.Hour)
	for range 7 {
		if err := s.AdjustReputation(ctx, "alice", "192.0.2.1", -1, -5, 5, now, exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AdjustReputation(ctx, "bob", "192.0.2.1", 1, -5, 5, now, exp); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, ip string
		want   int
	}{{"alice", "", -5}, {"", "192.0.2.1", -4}, {"alice", "192.0.2.1", -4}, {"carol", "198.51.100.1", 0}} {
		got, err := s.ReputationScore(ctx, tc.id, tc.ip, now)
		if err != nil || got != tc.want {
			t.Errorf("ReputationScore(%q, %q) = %d, %v; want %d", tc.id, tc.ip, got, err, tc.want)
		}
	}
	// An expired record counts for nothing and restarts from the delta.
	later := exp.Add(time.Minute)
	if got, _ := s.ReputationScore(ctx, "alice", "", later); got != 0 {
		t.Errorf("expired score = %d", got)
	}
	if err := s.AdjustReputation(ctx, "alice", "192.0.2.1", 1, -5, 5, later, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReputationScore(ctx, "alice", "", later); got != 1 {
		t.Errorf("score after expiry and +1 = %d, want 1", got)
	}
	if n, err := s.DeleteExpiredReputation(ctx, later); err != nil || n != 1 {
		t.Errorf("DeleteExpiredReputation = %d, %v (bob's record expired)", n, err)
	}
}

func testInvitations(t *testing.T, s store.Store) {
	f := &store.Flow{Slug: "enroll", Name: "Enroll", Designation: store.DesignationEnrollment}
	if err := s.CreateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	i := &store.Invitation{Name: "welcome", Expires: &exp, FixedData: store.Attributes{"email": "x@example.com"}, SingleUse: true, FlowUUID: &f.UUID}
	if err := s.CreateInvitation(ctx, i); err != nil {
		t.Fatal(err)
	}
	got, err := s.InvitationByUUID(ctx, i.UUID)
	if err != nil || got.FixedData["email"] != "x@example.com" || !got.SingleUse || got.FlowUUID == nil || !got.Expires.Equal(exp) {
		t.Errorf("InvitationByUUID = %+v %v", got, err)
	}
	wantErr(t, s.CreateInvitation(ctx, &store.Invitation{Name: "welcome"}), store.ErrConflict, "duplicate name")
	if list, n, err := s.ListInvitations(ctx, store.ListOptions{Search: "WEL"}); err != nil || n != 1 || list[0].Name != "welcome" {
		t.Errorf("ListInvitations = %v %d %v", list, n, err)
	}
	if err := s.DeleteFlow(ctx, f.UUID); err != nil {
		t.Fatal(err)
	}
	_, err = s.InvitationByUUID(ctx, i.UUID)
	wantErr(t, err, store.ErrNotFound, "invitation of a deleted flow")
}

func testConsents(t *testing.T, s store.Store) {
	u := mustUser(t, s, "consenter")
	a := &store.Application{Name: "Consent app", Slug: "consent-app", PolicyEngineMode: "any"}
	if err := s.CreateApplication(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, err := s.Consent(ctx, u.PK, a.UUID)
	wantErr(t, err, store.ErrNotFound, "no consent yet")
	if err := s.SaveConsent(ctx, &store.UserConsent{UserPK: u.PK, ApplicationUUID: a.UUID}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Consent(ctx, u.PK, a.UUID); err != nil || c.Expires != nil {
		t.Errorf("permanent consent = %+v %v", c, err)
	}
	exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if err := s.SaveConsent(ctx, &store.UserConsent{UserPK: u.PK, ApplicationUUID: a.UUID, Expires: &exp, Permissions: "openid"}); err != nil {
		t.Fatalf("replacing a consent: %v", err)
	}
	if c, err := s.Consent(ctx, u.PK, a.UUID); err != nil || c.Expires == nil || !c.Expires.Equal(exp) || c.Permissions != "openid" {
		t.Errorf("replaced consent = %+v %v", c, err)
	}
	cs, err := s.UserConsents(ctx, u.PK, time.Now())
	if err != nil || len(cs) != 1 || cs[0].ApplicationUUID != a.UUID {
		t.Errorf("UserConsents = %+v %v, want the one consent", cs, err)
	}
	if cs, err := s.UserConsents(ctx, u.PK, exp.Add(time.Second)); err != nil || len(cs) != 0 {
		t.Errorf("UserConsents after expiry = %+v %v, want none", cs, err)
	}
	other := mustUser(t, s, "consenter-2")
	if cs, err := s.UserConsents(ctx, other.PK, time.Now()); err != nil || len(cs) != 0 {
		t.Errorf("another user's consents = %+v %v, want none", cs, err)
	}
	if c, err := s.ConsentByUUID(ctx, cs[0].UUID); err != nil || c.UserPK != u.PK {
		t.Errorf("ConsentByUUID = %+v %v", c, err)
	}
	if err := s.DeleteConsent(ctx, cs[0].UUID); err != nil {
		t.Fatalf("DeleteConsent: %v", err)
	}
	wantErr(t, s.DeleteConsent(ctx, cs[0].UUID), store.ErrNotFound, "deleting a deleted consent")
	if _, err := s.Consent(ctx, u.PK, a.UUID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked consent still found: %v", err)
	}
	if err := s.SaveConsent(ctx, &store.UserConsent{UserPK: u.PK, ApplicationUUID: a.UUID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApplication(ctx, a.UUID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Consent(ctx, u.PK, a.UUID)
	wantErr(t, err, store.ErrNotFound, "consent of a deleted application")
}
