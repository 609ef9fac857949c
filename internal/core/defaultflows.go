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
)

type defaultStage struct {
	name, typ string
	settings  store.Attributes
	order     int
}

type defaultFlow struct {
	flow   store.Flow
	stages []defaultStage
}

// defaultFlows mirror authentik's default blueprints for the stages that
// exist so far (the MFA validation slot comes with the MFA stages).
var defaultFlows = []defaultFlow{
	{
		flow: store.Flow{Slug: DefaultAuthenticationFlow, Name: "Welcome to Gatehouse!", Title: "Welcome to Gatehouse!",
			Designation: store.DesignationAuthentication},
		stages: []defaultStage{
			{"default-authentication-identification", "identification", store.Attributes{"user_fields": []any{"email", "username"}}, 10},
			{"default-authentication-password", "password", store.Attributes{"failed_attempts_before_cancel": 5}, 20},
			{"default-authentication-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 100},
		},
	},
	{
		flow: store.Flow{Slug: DefaultInvalidationFlow, Name: "Logout", Title: "Default Invalidation Flow",
			Designation: store.DesignationInvalidation},
		stages: []defaultStage{{"default-invalidation-logout", "user_logout", store.Attributes{}, 0}},
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
				if err := tx.CreateFlowStageBinding(ctx, &store.FlowStageBinding{FlowUUID: nf.UUID, StageUUID: s.UUID,
					Order: ds.order, ReEvaluatePolicies: true}); err != nil {
					return fmt.Errorf("bind %s: %w", ds.name, err)
				}
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
