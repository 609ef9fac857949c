// Package userlogout is authentik's user_logout stage: it ends the session.
package userlogout

import (
	"context"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "user_logout"
	ModelName = "authentik_stages_user_logout.userlogoutstage"
)

// Stage implements flow.Stage.
type Stage struct{}

var _ flow.Stage = Stage{}

// New builds the stage (it has no settings).
func New(store.Attributes) (flow.Stage, error) { return Stage{}, nil }

// Enter logs the user out.
func (Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	u := r.User
	if err := r.Logout(ctx); err != nil {
		return flow.Step{}, err
	}
	if u != nil {
		r.Executor.Events.Record(ctx, r.Request, "logout", u, nil)
	}
	return flow.Step{Done: true}, nil
}

// Submit is never called: the stage has no challenge.
func (s Stage) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	return s.Enter(ctx, r)
}
