// Package password is authentik's password stage: it checks the pending
// user's password, and restarts the flow after too many failures.
package password

import (
	"context"
	"fmt"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "password"
	ModelName = "authentik_stages_password.passwordstage"
)

// Settings are authentik's password stage fields.
type Settings struct {
	AllowShowPassword          bool `json:"allow_show_password"`
	FailedAttemptsBeforeCancel int  `json:"failed_attempts_before_cancel"`
}

// Challenge is ak-stage-password.
type Challenge struct {
	flow.Base
	AllowShowPassword bool `json:"allow_show_password"`
}

// Stage implements flow.Stage.
type Stage struct{ s Settings }

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{FailedAttemptsBeforeCancel: 5}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	if s.FailedAttemptsBeforeCancel < 0 {
		return nil, fmt.Errorf("password: failed_attempts_before_cancel must not be negative")
	}
	return &Stage{s: s}, nil
}

func (st *Stage) challenge(ctx context.Context, r *flow.Run) *Challenge {
	c := &Challenge{Base: flow.Base{Component: "ak-stage-password"}, AllowShowPassword: st.s.AllowShowPassword}
	if u, err := r.PendingUser(ctx); err == nil && u != nil {
		c.PendingUser = u.Username
	} else {
		c.PendingUser = r.Plan.Context.PendingUserIdentifier
	}
	return c
}

// Enter shows the challenge. After a passkey login (the identification
// stage's webauthn_stage) the user is authenticated already: the stage
// passes without asking, as authentik's default flow skips it then.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	if r.Plan.Context.PasskeyLogin() {
		return flow.Step{Done: true}, nil
	}
	return flow.Step{Challenge: st.challenge(ctx, r)}, nil
}

// Submit checks the password.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	if r.Plan.Context.PasskeyLogin() {
		return flow.Step{Done: true}, nil
	}
	pw := resp.String("password")
	u, err := r.PendingUser(ctx)
	if err != nil {
		return flow.Step{}, err
	}
	ok, err := core.CheckPassword(ctx, r.Store(), u, pw, r.Log)
	if err != nil {
		return flow.Step{}, err
	}
	if ok && u.IsActive {
		r.Plan.Context.AuthMethod = "password"
		r.Plan.Context.AuthMethodArgs = map[string]any{}
		return flow.Step{Done: true}, nil
	}
	r.Executor.Events.Record(ctx, r.Request, "login_failed", u, map[string]any{
		"username": r.Plan.Context.PendingUserIdentifier, "stage": r.Stage.Name})
	r.AdjustReputation(ctx, r.Plan.Context.PendingUserIdentifier, -1)
	state := r.State()
	failed, _ := state["failed_attempts"].(float64)
	failed++
	state["failed_attempts"] = failed
	if st.s.FailedAttemptsBeforeCancel > 0 && int(failed) >= st.s.FailedAttemptsBeforeCancel {
		return flow.Step{Restart: true}, nil
	}
	return flow.Invalid(st.challenge(ctx, r), "password", "Failed to authenticate.", "invalid"), nil
}
