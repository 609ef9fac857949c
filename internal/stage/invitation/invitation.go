// Package invitation is authentik's invitation stage: it requires (or
// accepts) an invitation token, from ?itoken= or prompt data "token", loads
// the invitation's fixed_data into prompt data, and consumes single-use
// invitations.
package invitation

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "invitation"
	ModelName = "authentik_stages_invitation.invitationstage"
)

// Stage implements flow.Stage.
type Stage struct {
	ContinueWithout bool `json:"continue_flow_without_invitation"`
}

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := &Stage{}
	return s, stage.Decode(attrs, s)
}

func (s *Stage) token(r *flow.Run) string {
	if t := r.Plan.Context.Query["itoken"]; t != "" {
		return t
	}
	if t, ok := r.Plan.Context.PromptData["token"].(string); ok {
		return t
	}
	return ""
}

// Enter checks the invitation.
func (s *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	tok := s.token(r)
	if tok == "" {
		if s.ContinueWithout {
			return flow.Step{Done: true}, nil
		}
		return flow.Step{Deny: "Permission denied"}, nil
	}
	id, err := uuid.Parse(tok)
	if err != nil {
		return flow.Step{Deny: "Invalid invite"}, nil
	}
	inv, err := r.Store().InvitationByUUID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return flow.Step{Deny: "Invalid invite"}, nil
	} else if err != nil {
		return flow.Step{}, err
	}
	if (inv.Expires != nil && !r.Now().Before(*inv.Expires)) || (inv.FlowUUID != nil && *inv.FlowUUID != r.Flow.UUID) {
		return flow.Step{Deny: "Invalid invite"}, nil
	}
	if r.Plan.Context.PromptData == nil {
		r.Plan.Context.PromptData = map[string]any{}
	}
	for k, v := range inv.FixedData {
		r.Plan.Context.PromptData[k] = v
	}
	r.Plan.Context.InvitationInEffect = inv.UUID.String()
	if inv.SingleUse {
		if err := r.Store().DeleteInvitation(ctx, inv.UUID); errors.Is(err, store.ErrNotFound) {
			// Used by a concurrent flow a moment ago.
			return flow.Step{Deny: "Invalid invite"}, nil
		} else if err != nil {
			return flow.Step{}, err
		}
	}
	r.Executor.Events.Record(ctx, r.Request, "invitation_used", nil, map[string]any{
		"invitation_uuid": inv.UUID.String(), "invitation_name": inv.Name})
	return flow.Step{Done: true}, nil
}

// Submit is never called: the stage has no challenge.
func (s *Stage) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	return s.Enter(ctx, r)
}
