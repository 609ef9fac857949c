package sqlstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	objFlow          = "flow"
	objStage         = "stage"
	objFlowBinding   = "flow-stage binding"
	objPolicy        = "policy"
	objPolicyBinding = "policy binding"
)

func newID(id *uuid.UUID) {
	if *id == uuid.Nil {
		*id = uuid.Must(uuid.NewV7())
	}
}

func defaultStr(s *string, def string) {
	if *s == "" {
		*s = def
	}
}

// CreateFlow implements store.Flows.
func (s *Store) CreateFlow(ctx context.Context, f *store.Flow) error {
	newID(&f.UUID)
	defaultStr(&f.PolicyEngineMode, "any")
	defaultStr(&f.DeniedAction, "message_continue")
	defaultStr(&f.Layout, "stacked")
	defaultStr(&f.Authentication, "none")
	_, err := s.w.NewInsert().Model(f).Exec(ctx)
	return mapErr(objFlow, err)
}

// FlowBySlug implements store.Flows.
func (s *Store) FlowBySlug(ctx context.Context, slug string) (*store.Flow, error) {
	return one[store.Flow](ctx, s, objFlow, `SELECT uuid, slug, name, title, designation, policy_engine_mode,
		compatibility_mode, denied_action, layout, background, authentication FROM flows WHERE slug = ?`, slug)
}

// FlowByUUID implements store.Flows.
func (s *Store) FlowByUUID(ctx context.Context, id uuid.UUID) (*store.Flow, error) {
	return getBy[store.Flow](ctx, s.r, objFlow, "uuid = ?", id)
}

// UpdateFlow implements store.Flows.
func (s *Store) UpdateFlow(ctx context.Context, f *store.Flow) error {
	return updateByPK(ctx, s.w, objFlow, f)
}

// DeleteFlow implements store.Flows. The policy bindings of the flow and of
// its stage bindings go with it.
func (s *Store) DeleteFlow(ctx context.Context, id uuid.UUID) error {
	return s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		if _, err := t.w.NewRaw(`DELETE FROM policy_bindings WHERE target_uuid = ?
			OR target_uuid IN (SELECT uuid FROM flow_stage_bindings WHERE flow_uuid = ?)`, id, id).Exec(ctx); err != nil {
			return mapErr(objPolicyBinding, err)
		}
		return deleteBy[store.Flow](ctx, t.w, objFlow, "uuid = ?", id)
	})
}

// ListFlows implements store.Flows.
func (s *Store) ListFlows(ctx context.Context, designation string, o store.ListOptions) ([]*store.Flow, int, error) {
	order, err := orderClause(objFlow, o.Ordering, "slug", map[string]string{"slug": "slug", "name": "name", "designation": "designation"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.Flow
	q := searchAny(s.r.NewSelect().Model(&out), o.Search, "slug", "name", "title")
	if designation != "" {
		q = q.Where("designation = ?", designation)
	}
	n, err := listPage(ctx, restrict(q, "uuid", o.Only), objFlow, order+", uuid ASC", o.Page)
	return out, n, err
}

// CreateStage implements store.Flows.
func (s *Store) CreateStage(ctx context.Context, st *store.Stage) error {
	newID(&st.UUID)
	if st.Settings == nil {
		st.Settings = store.Attributes{}
	}
	_, err := s.w.NewInsert().Model(st).Exec(ctx)
	return mapErr(objStage, err)
}

// StageByUUID implements store.Flows.
func (s *Store) StageByUUID(ctx context.Context, id uuid.UUID) (*store.Stage, error) {
	return one[store.Stage](ctx, s, objStage, `SELECT uuid, name, type, settings FROM stages WHERE uuid = ?`, id)
}

// StageByName implements store.Flows.
func (s *Store) StageByName(ctx context.Context, name string) (*store.Stage, error) {
	return getBy[store.Stage](ctx, s.r, objStage, "name = ?", name)
}

// UpdateStage implements store.Flows.
func (s *Store) UpdateStage(ctx context.Context, st *store.Stage) error {
	if st.Settings == nil {
		st.Settings = store.Attributes{}
	}
	return updateByPK(ctx, s.w, objStage, st, "type")
}

// DeleteStage implements store.Flows.
func (s *Store) DeleteStage(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.Stage](ctx, s.w, objStage, "uuid = ?", id)
}

// ListStages implements store.Flows.
func (s *Store) ListStages(ctx context.Context, typ string, o store.ListOptions) ([]*store.Stage, int, error) {
	order, err := orderClause(objStage, o.Ordering, "name", map[string]string{"name": "name", "type": "type"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.Stage
	q := searchAny(s.r.NewSelect().Model(&out), o.Search, "name")
	if typ != "" {
		q = q.Where("type = ?", typ)
	}
	n, err := listPage(ctx, restrict(q, "uuid", o.Only), objStage, order+", uuid ASC", o.Page)
	return out, n, err
}

func validBindingEnums(b *store.FlowStageBinding) error {
	defaultStr(&b.PolicyEngineMode, "any")
	defaultStr(&b.InvalidResponseAction, "retry")
	switch b.InvalidResponseAction {
	case "retry", "restart", "restart_with_context":
	default:
		return fmt.Errorf("invalid_response_action %q: %w", b.InvalidResponseAction, store.ErrInvalid)
	}
	if b.PolicyEngineMode != "any" && b.PolicyEngineMode != "all" {
		return fmt.Errorf("policy_engine_mode %q: %w", b.PolicyEngineMode, store.ErrInvalid)
	}
	return nil
}

// CreateFlowStageBinding implements store.Flows.
func (s *Store) CreateFlowStageBinding(ctx context.Context, b *store.FlowStageBinding) error {
	newID(&b.UUID)
	if err := validBindingEnums(b); err != nil {
		return err
	}
	_, err := s.w.NewInsert().Model(b).Exec(ctx)
	return mapErr(objFlowBinding, err)
}

// FlowStageBindingByUUID implements store.Flows.
func (s *Store) FlowStageBindingByUUID(ctx context.Context, id uuid.UUID) (*store.FlowStageBinding, error) {
	return getBy[store.FlowStageBinding](ctx, s.r, objFlowBinding, "uuid = ?", id)
}

// UpdateFlowStageBinding implements store.Flows.
func (s *Store) UpdateFlowStageBinding(ctx context.Context, b *store.FlowStageBinding) error {
	if err := validBindingEnums(b); err != nil {
		return err
	}
	return updateByPK(ctx, s.w, objFlowBinding, b)
}

// DeleteFlowStageBinding implements store.Flows, with the binding's own policy bindings.
func (s *Store) DeleteFlowStageBinding(ctx context.Context, id uuid.UUID) error {
	return s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		if _, err := t.w.NewRaw(`DELETE FROM policy_bindings WHERE target_uuid = ?`, id).Exec(ctx); err != nil {
			return mapErr(objPolicyBinding, err)
		}
		return deleteBy[store.FlowStageBinding](ctx, t.w, objFlowBinding, "uuid = ?", id)
	})
}

// FlowStageBindings implements store.Flows.
func (s *Store) FlowStageBindings(ctx context.Context, flow uuid.UUID) ([]*store.FlowStageBinding, error) {
	var out []*store.FlowStageBinding
	err := s.queryPrepared(ctx, &out, `SELECT uuid, flow_uuid, stage_uuid, "order", evaluate_on_plan,
		re_evaluate_policies, policy_engine_mode, invalid_response_action FROM flow_stage_bindings
		WHERE flow_uuid = ? ORDER BY "order", uuid`, flow)
	return out, mapErr(objFlowBinding, err)
}

// CreatePolicy implements store.Policies.
func (s *Store) CreatePolicy(ctx context.Context, p *store.Policy) error {
	newID(&p.UUID)
	if p.Settings == nil {
		p.Settings = store.Attributes{}
	}
	_, err := s.w.NewInsert().Model(p).ModelTableExpr("policies AS policy").Exec(ctx)
	return mapErr(objPolicy, err)
}

// PolicyByUUID implements store.Policies.
func (s *Store) PolicyByUUID(ctx context.Context, id uuid.UUID) (*store.Policy, error) {
	return one[store.Policy](ctx, s, objPolicy, `SELECT uuid, name, type, execution_logging, settings FROM policies WHERE uuid = ?`, id)
}

// PolicyByName implements store.Policies.
func (s *Store) PolicyByName(ctx context.Context, name string) (*store.Policy, error) {
	return one[store.Policy](ctx, s, objPolicy, `SELECT uuid, name, type, execution_logging, settings FROM policies WHERE name = ?`, name)
}

// UpdatePolicy implements store.Policies.
func (s *Store) UpdatePolicy(ctx context.Context, p *store.Policy) error {
	if p.Settings == nil {
		p.Settings = store.Attributes{}
	}
	res, err := s.w.NewUpdate().Model(p).ModelTableExpr("policies AS policy").ExcludeColumn("type").WherePK().Exec(ctx)
	return affected(objPolicy, res, err)
}

// DeletePolicy implements store.Policies.
func (s *Store) DeletePolicy(ctx context.Context, id uuid.UUID) error {
	res, err := s.w.NewRaw("DELETE FROM policies WHERE uuid = ?", id).Exec(ctx)
	return affected(objPolicy, res, err)
}

// ListPolicies implements store.Policies.
func (s *Store) ListPolicies(ctx context.Context, typ string, o store.ListOptions) ([]*store.Policy, int, error) {
	order, err := orderClause(objPolicy, o.Ordering, "name", map[string]string{"name": "name", "type": "type"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.Policy
	q := searchAny(s.r.NewSelect().Model(&out).ModelTableExpr("policies AS policy"), o.Search, "name")
	if typ != "" {
		q = q.Where("type = ?", typ)
	}
	n, err := listPage(ctx, restrict(q, "uuid", o.Only), objPolicy, order+", uuid ASC", o.Page)
	return out, n, err
}

func checkPolicyBinding(b *store.PolicyBinding) error {
	n := 0
	for _, set := range []bool{b.PolicyUUID != nil, b.GroupUUID != nil, b.UserPK != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("a policy binding targets exactly one of policy, group or user: %w", store.ErrInvalid)
	}
	if b.Timeout <= 0 {
		b.Timeout = 30
	}
	return nil
}

// CreatePolicyBinding implements store.Policies.
func (s *Store) CreatePolicyBinding(ctx context.Context, b *store.PolicyBinding) error {
	newID(&b.UUID)
	if err := checkPolicyBinding(b); err != nil {
		return err
	}
	_, err := s.w.NewInsert().Model(b).Exec(ctx)
	return mapErr(objPolicyBinding, err)
}

// PolicyBindingByUUID implements store.Policies.
func (s *Store) PolicyBindingByUUID(ctx context.Context, id uuid.UUID) (*store.PolicyBinding, error) {
	return getBy[store.PolicyBinding](ctx, s.r, objPolicyBinding, "uuid = ?", id)
}

// UpdatePolicyBinding implements store.Policies.
func (s *Store) UpdatePolicyBinding(ctx context.Context, b *store.PolicyBinding) error {
	if err := checkPolicyBinding(b); err != nil {
		return err
	}
	return updateByPK(ctx, s.w, objPolicyBinding, b)
}

// DeletePolicyBinding implements store.Policies.
func (s *Store) DeletePolicyBinding(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.PolicyBinding](ctx, s.w, objPolicyBinding, "uuid = ?", id)
}

// PolicyBindings implements store.Policies.
func (s *Store) PolicyBindings(ctx context.Context, target uuid.UUID) ([]*store.PolicyBinding, error) {
	var out []*store.PolicyBinding
	err := s.queryPrepared(ctx, &out, `SELECT uuid, target_uuid, policy_uuid, group_uuid, user_pk, negate, enabled,
		"order", timeout, failure_result FROM policy_bindings WHERE target_uuid = ? ORDER BY "order", uuid`, target)
	return out, mapErr(objPolicyBinding, err)
}
