// Package deny is authentik's deny stage: it ends the flow with a message.
package deny

import (
	"context"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "deny"
	ModelName = "authentik_stages_deny.denystage"
)

// Stage implements flow.Stage.
type Stage struct {
	Message string `json:"deny_message"`
}

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := &Stage{}
	if err := stage.Decode(attrs, s); err != nil {
		return nil, err
	}
	if s.Message == "" {
		s.Message = "Permission denied"
	}
	return s, nil
}

// Enter denies.
func (s *Stage) Enter(context.Context, *flow.Run) (flow.Step, error) {
	return flow.Step{Deny: s.Message}, nil
}

// Submit denies.
func (s *Stage) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	return s.Enter(ctx, r)
}
