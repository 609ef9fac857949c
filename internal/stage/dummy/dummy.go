// Package dummy is authentik's dummy stage: a challenge that any response
// passes, for testing flows.
package dummy

import (
	"context"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "dummy"
	ModelName = "authentik_stages_dummy.dummystage"
)

// Challenge is ak-stage-dummy.
type Challenge struct {
	flow.Base
	Title string `json:"title"`
}

// Stage implements flow.Stage.
type Stage struct {
	ThrowError bool `json:"throw_error"`
}

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := &Stage{}
	return s, stage.Decode(attrs, s)
}

// Enter shows the challenge.
func (s *Stage) Enter(_ context.Context, r *flow.Run) (flow.Step, error) {
	return flow.Step{Challenge: &Challenge{Base: flow.Base{Component: "ak-stage-dummy"}, Title: r.Stage.Name}}, nil
}

// Submit passes (or fails, with throw_error, to test error handling).
func (s *Stage) Submit(_ context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	if s.ThrowError {
		return flow.Invalid(&Challenge{Base: flow.Base{Component: "ak-stage-dummy"}, Title: r.Stage.Name},
			"non_field_errors", "Dummy stage error.", "invalid"), nil
	}
	return flow.Step{Done: true}, nil
}
