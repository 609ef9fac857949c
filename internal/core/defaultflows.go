package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Default flow slugs, as authentik's.
const (
	DefaultAuthenticationFlow = "default-authentication-flow"
	DefaultInvalidationFlow   = "default-invalidation-flow"
	DefaultRecoveryFlow       = "default-recovery-flow"
)

type defaultStage struct {
	name, typ string
	settings  store.Attributes
	order     int
	// policies bound to this stage binding (re-evaluated when reached).
	policies []defaultPolicy
}

type defaultPolicy struct {
	name, typ string
	settings  store.Attributes
}

type defaultFlow struct {
	flow     store.Flow
	stages   []defaultStage
	policies []defaultPolicy // bound to the flow
}

// InitialSetupFlow is the out-of-box flow that sets akadmin's email and password.
const InitialSetupFlow = "initial-setup"

// The initial-setup policies, in authentik's expression language. The flow
// disables itself: once akadmin has a password, password-usable fails.
var (
	oobePasswordUsable = defaultPolicy{"default-oobe-password-usable", "expression", store.Attributes{"expression": `# This policy ensures that the setup flow can only be
# executed when the admin user doesn't have a password set
akadmin = ak_user_by(username="akadmin")
return akadmin != None and not akadmin.has_usable_password()
`}}
	oobePrefillUser = defaultPolicy{"default-oobe-prefill-user", "expression", store.Attributes{"expression": `# This policy sets the user for the currently running flow
# by injecting "pending_user"
akadmin = ak_user_by(username="akadmin")
context["flow_plan"].context["pending_user"] = akadmin
return True
`}}
)

// defaultFlows mirror authentik's default blueprints for the stages that
// exist so far (the MFA validation slot comes with the MFA stages).
var defaultFlows = []defaultFlow{
	{
		flow: store.Flow{Slug: DefaultAuthenticationFlow, Name: "Welcome to Gatehouse!", Title: "Welcome to Gatehouse!",
			Designation: store.DesignationAuthentication},
		stages: []defaultStage{
			{"default-authentication-identification", "identification", store.Attributes{"user_fields": []any{"email", "username"}}, 10, nil},
			{"default-authentication-password", "password", store.Attributes{"failed_attempts_before_cancel": 5}, 20, nil},
			{"default-authentication-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 100, nil},
		},
	},
	{
		flow: store.Flow{Slug: DefaultInvalidationFlow, Name: "Logout", Title: "Default Invalidation Flow",
			Designation: store.DesignationInvalidation},
		stages: []defaultStage{{"default-invalidation-logout", "user_logout", store.Attributes{}, 0, nil}},
	},
	{
		// authentik's example recovery blueprint: identify, prove the
		// address by its email link, set a new password, sign in.
		flow: store.Flow{Slug: DefaultRecoveryFlow, Name: "Default recovery flow", Title: "Reset your password",
			Designation: store.DesignationRecovery, Authentication: "require_unauthenticated"},
		stages: []defaultStage{
			{"default-recovery-identification", "identification", store.Attributes{"user_fields": []any{"email", "username"}}, 10, nil},
			{"default-recovery-email", "email", store.Attributes{"subject": "Password reset", "token_expiry": "minutes=30",
				"template": "email/password_reset.html"}, 20, nil},
			{"default-recovery-field-password", "prompt", store.Attributes{"fields": []any{
				map[string]any{"field_key": "password", "label": "Password", "type": "password", "required": true, "order": 0, "placeholder": "Password"},
				map[string]any{"field_key": "password_repeat", "label": "Password (repeat)", "type": "password", "required": true, "order": 1, "placeholder": "Password (repeat)"},
			}}, 30, nil},
			{"default-recovery-user-write", "user_write", store.Attributes{"user_creation_mode": "never_create"}, 40, nil},
			{"default-recovery-user-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 100, nil},
		},
	},
	{
		flow: store.Flow{Slug: InitialSetupFlow, Name: "default-oobe-setup", Title: "Welcome to Gatehouse!",
			Designation: store.DesignationStageConfiguration},
		policies: []defaultPolicy{oobePasswordUsable},
		stages: []defaultStage{
			{"stage-default-oobe-password", "prompt", store.Attributes{"fields": []any{
				map[string]any{"field_key": "oobe-header-text", "label": "oobe-header-text", "type": "static", "order": 100,
					"initial_value": "Welcome to Gatehouse! Please set a password and email address for the default admin user, akadmin."},
				map[string]any{"field_key": "email", "label": "Email", "type": "email", "required": true, "order": 101, "placeholder": "Admin email"},
				map[string]any{"field_key": "password", "label": "Password", "type": "password", "required": true, "order": 300, "placeholder": "Password"},
				map[string]any{"field_key": "password_repeat", "label": "Password (repeat)", "type": "password", "required": true, "order": 301, "placeholder": "Password (repeat)"},
			}}, 10, nil},
			{"default-password-change-write", "user_write", store.Attributes{"user_creation_mode": "never_create"}, 20,
				[]defaultPolicy{oobePrefillUser}},
			{"default-authentication-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 100, nil},
		},
	},
}

// EnsureDefaultFlows creates the default flows that are missing (a flow that
// exists is never touched) and points the default brand's empty flow fields
// at them. It returns the slugs it created.
func EnsureDefaultFlows(ctx context.Context, st store.Store) ([]string, error) {
	var created []string
	err := st.InTx(ctx, func(tx store.Store) error {
		created = nil
		ids := map[string]uuid.UUID{}
		for _, df := range defaultFlows {
			f, err := tx.FlowBySlug(ctx, df.flow.Slug)
			if err == nil {
				ids[f.Slug] = f.UUID
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			nf := df.flow
			if err := tx.CreateFlow(ctx, &nf); err != nil {
				return fmt.Errorf("create flow %s: %w", nf.Slug, err)
			}
			for _, ds := range df.stages {
				s, err := tx.StageByName(ctx, ds.name)
				if errors.Is(err, store.ErrNotFound) {
					s = &store.Stage{Name: ds.name, Type: ds.typ, Settings: ds.settings}
					err = tx.CreateStage(ctx, s)
				}
				if err != nil {
					return fmt.Errorf("stage %s: %w", ds.name, err)
				}
				b := &store.FlowStageBinding{FlowUUID: nf.UUID, StageUUID: s.UUID, Order: ds.order, ReEvaluatePolicies: true}
				if err := tx.CreateFlowStageBinding(ctx, b); err != nil {
					return fmt.Errorf("bind %s: %w", ds.name, err)
				}
				if err := bindPolicies(ctx, tx, b.UUID, ds.policies); err != nil {
					return err
				}
			}
			if err := bindPolicies(ctx, tx, nf.UUID, df.policies); err != nil {
				return err
			}
			ids[nf.Slug] = nf.UUID
			created = append(created, nf.Slug)
		}
		brands, err := tx.ListBrands(ctx)
		if err != nil {
			return err
		}
		for _, b := range brands {
			if !b.Default {
				continue
			}
			changed := false
			if b.FlowAuthentication == nil && contains(created, DefaultAuthenticationFlow) {
				id := ids[DefaultAuthenticationFlow]
				b.FlowAuthentication, changed = &id, true
			}
			if b.FlowInvalidation == nil && contains(created, DefaultInvalidationFlow) {
				id := ids[DefaultInvalidationFlow]
				b.FlowInvalidation, changed = &id, true
			}
			if b.FlowRecovery == nil && contains(created, DefaultRecoveryFlow) {
				id := ids[DefaultRecoveryFlow]
				b.FlowRecovery, changed = &id, true
			}
			if changed {
				return tx.UpdateBrand(ctx, b)
			}
		}
		return nil
	})
	return created, err
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// bindPolicies creates (or reuses, by name) each policy and binds it to target.
func bindPolicies(ctx context.Context, tx store.Store, target uuid.UUID, ps []defaultPolicy) error {
	for i, dp := range ps {
		p, err := tx.PolicyByName(ctx, dp.name)
		if errors.Is(err, store.ErrNotFound) {
			p = &store.Policy{Name: dp.name, Type: dp.typ, Settings: dp.settings}
			err = tx.CreatePolicy(ctx, p)
		}
		if err != nil {
			return fmt.Errorf("policy %s: %w", dp.name, err)
		}
		if err := tx.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: target, PolicyUUID: &p.UUID, Order: i,
			Enabled: true, Timeout: 30}); err != nil {
			return fmt.Errorf("bind policy %s: %w", dp.name, err)
		}
	}
	return nil
}
