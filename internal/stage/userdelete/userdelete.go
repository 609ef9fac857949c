// Package userdelete is authentik's user_delete stage: it deletes the
// pending user (an unenrollment flow, "delete my account") and ends every
// session they had, the current one included.
package userdelete

import (
	"context"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "user_delete"
	ModelName = "authentik_stages_user_delete.userdeletestage"
)

// Stage implements flow.Stage.
type Stage struct{}

var _ flow.Stage = Stage{}

// New builds the stage (it has no settings).
func New(store.Attributes) (flow.Stage, error) { return Stage{}, nil }

// Enter deletes the pending user, or else the signed-in user.
func (Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	u, err := r.PendingUser(ctx)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		u = r.User // an unenrollment flow run by the signed-in user
	}
	if u == nil {
		return flow.Step{Deny: "No pending user."}, nil
	}
	if r.User != nil && r.User.PK == u.PK {
		if err := r.Logout(ctx); err != nil {
			return flow.Step{}, err
		}
	}
	if _, err := r.Executor.Sessions.EndUserSessions(ctx, u.PK); err != nil {
		return flow.Step{}, err
	}
	if err := r.Store().DeleteUser(ctx, u.PK); err != nil {
		return flow.Step{}, err
	}
	r.Executor.Events.Record(ctx, r.Request, "model_deleted", u, map[string]any{
		"model": map[string]any{"app": "authentik_core", "model_name": "user", "pk": u.PK, "name": u.Username}})
	return flow.Step{Done: true}, nil
}

// Submit is never called: the stage has no challenge.
func (s Stage) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	return s.Enter(ctx, r)
}
