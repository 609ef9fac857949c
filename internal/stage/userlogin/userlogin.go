// Package userlogin is authentik's user_login stage: it logs the pending user
// in (rotating the session) and records the login event.
package userlogin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "user_login"
	ModelName = "authentik_stages_user_login.userloginstage"
)

// Settings are authentik's user_login stage fields.
type Settings struct {
	SessionDuration        string `json:"session_duration"`
	TerminateOtherSessions bool   `json:"terminate_other_sessions"`
	// RememberMeOffset, when not zero, makes the stage ask "Stay signed
	// in?" (ak-stage-user-login); a yes adds it to the session's duration.
	RememberMeOffset string `json:"remember_me_offset"`
}

// Stage implements flow.Stage.
type Stage struct {
	s        Settings
	duration time.Duration
	offset   time.Duration
}

// Challenge is ak-stage-user-login (only sent with a remember_me_offset).
type Challenge struct {
	flow.Base
}

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{SessionDuration: "seconds=0", RememberMeOffset: "seconds=0"}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	d, err := ParseDuration(s.SessionDuration)
	if err != nil {
		return nil, fmt.Errorf("user_login: session_duration: %w", err)
	}
	off, err := ParseDuration(s.RememberMeOffset)
	if err != nil {
		return nil, fmt.Errorf("user_login: remember_me_offset: %w", err)
	}
	return &Stage{s: s, duration: d, offset: off}, nil
}

// Enter logs the pending user in, or first asks whether to stay signed in.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	if st.offset > 0 {
		return flow.Step{Challenge: &Challenge{Base: flow.Base{Component: "ak-stage-user-login"}}}, nil
	}
	return st.login(ctx, r, st.duration)
}

// Submit takes the answer to "Stay signed in?" (remember_me, a JSON
// boolean, or "true"/"on" from the HTML form).
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	d := st.duration
	if st.offset > 0 {
		if v := resp.String("remember_me"); resp.Bool("remember_me") || v == "true" || v == "on" {
			d += st.offset
		}
	}
	return st.login(ctx, r, d)
}

func (st *Stage) login(ctx context.Context, r *flow.Run, duration time.Duration) (flow.Step, error) {
	u, err := r.PendingUser(ctx)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil || !u.IsActive {
		return flow.Step{Deny: "No pending user to log in."}, nil
	}
	if st.s.TerminateOtherSessions {
		if _, err := r.Executor.Sessions.EndUserSessions(ctx, u.PK); err != nil {
			return flow.Step{}, err
		}
	}
	if err := r.Login(ctx, u, duration); err != nil {
		return flow.Step{}, err
	}
	now := r.Now()
	u.LastLogin = &now
	if err := r.Store().SetLastLogin(ctx, u.PK, now); err != nil {
		return flow.Step{}, err
	}
	r.AdjustReputation(ctx, u.Username, 1)
	r.Executor.Events.Record(ctx, r.Request, "login", u, map[string]any{
		"auth_method": r.Plan.Context.AuthMethod, "auth_method_args": r.Plan.Context.AuthMethodArgs})
	return flow.Step{Done: true}, nil
}

// maxDuration bounds ParseDuration.
const maxDuration = 100 * 365 * 24 * time.Hour

// ParseDuration reads authentik's "days=1;hours=2" form (0 allowed).
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	units := map[string]time.Duration{"weeks": 7 * 24 * time.Hour, "days": 24 * time.Hour, "hours": time.Hour,
		"minutes": time.Minute, "seconds": time.Second}
	var total time.Duration
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(val)
		unit, known := units[name]
		if !ok || err != nil || !known || n < 0 || n > 100000 {
			return 0, fmt.Errorf("%q is not of the form days=1;hours=2", s)
		}
		// Bounded (100 years) so that no sum overflows time.Duration.
		if time.Duration(n) > maxDuration/unit || total > maxDuration-time.Duration(n)*unit {
			return 0, fmt.Errorf("%q is longer than 100 years", s)
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}
