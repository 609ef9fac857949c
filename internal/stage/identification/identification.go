// Package identification is authentik's identification stage: it asks for a
// username or email (and, optionally, the password inline) and sets the
// plan's pending user.
package identification

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "identification"
	ModelName = "authentik_stages_identification.identificationstage"
)

// Settings are authentik's identification stage fields.
type Settings struct {
	UserFields              []string   `json:"user_fields"`
	CaseInsensitiveMatching *bool      `json:"case_insensitive_matching"`
	PretendUserExists       *bool      `json:"pretend_user_exists"`
	ShowMatchedUser         *bool      `json:"show_matched_user"`
	PasswordStage           *uuid.UUID `json:"password_stage"`
	EnrollmentFlow          string     `json:"enrollment_flow"`
	RecoveryFlow            string     `json:"recovery_flow"`
	PasswordlessFlow        string     `json:"passwordless_flow"`
}

// Challenge is ak-stage-identification.
type Challenge struct {
	flow.Base
	UserFields        []string `json:"user_fields"`
	PasswordFields    bool     `json:"password_fields"`
	AllowShowPassword bool     `json:"allow_show_password"`
	FlowDesignation   string   `json:"flow_designation"`
	PrimaryAction     string   `json:"primary_action"`
	EnrollURL         string   `json:"enroll_url,omitempty"`
	RecoveryURL       string   `json:"recovery_url,omitempty"`
	PasswordlessURL   string   `json:"passwordless_url,omitempty"`
	Sources           []any    `json:"sources"`
	ShowSourceLabels  bool     `json:"show_source_labels"`
}

// Stage implements flow.Stage.
type Stage struct{ s Settings }

var _ flow.Stage = (*Stage)(nil)

// New builds the stage from its settings.
func New(attrs store.Attributes) (flow.Stage, error) {
	var s Settings
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	if len(s.UserFields) == 0 {
		s.UserFields = []string{"email", "username"}
	}
	for _, f := range s.UserFields {
		if f != "email" && f != "username" && f != "upn" {
			return nil, errors.New("identification: user_fields must be email, username or upn")
		}
	}
	return &Stage{s: s}, nil
}

func on(b *bool) bool { return b == nil || *b }

func (st *Stage) challenge(r *flow.Run) *Challenge {
	c := &Challenge{Base: flow.Base{Component: "ak-stage-identification"}, UserFields: st.s.UserFields,
		PasswordFields: st.s.PasswordStage != nil, FlowDesignation: r.Flow.Designation, PrimaryAction: "Log in",
		Sources: []any{}}
	if st.s.EnrollmentFlow != "" {
		c.EnrollURL = "/if/flow/" + st.s.EnrollmentFlow + "/"
	}
	if st.s.RecoveryFlow != "" {
		c.RecoveryURL = "/if/flow/" + st.s.RecoveryFlow + "/"
	}
	if st.s.PasswordlessFlow != "" {
		c.PasswordlessURL = "/if/flow/" + st.s.PasswordlessFlow + "/"
	}
	return c
}

// Enter shows the challenge.
func (st *Stage) Enter(_ context.Context, r *flow.Run) (flow.Step, error) {
	return flow.Step{Challenge: st.challenge(r)}, nil
}

// find looks the identifier up in the configured fields.
func (st *Stage) find(ctx context.Context, r *flow.Run, uid string) (*store.User, error) {
	for _, field := range st.s.UserFields {
		var (
			u   *store.User
			err error
		)
		switch field {
		case "username":
			u, err = r.Store().UserByUsername(ctx, uid)
			if errors.Is(err, store.ErrNotFound) && on(st.s.CaseInsensitiveMatching) && strings.ToLower(uid) != uid {
				u, err = r.Store().UserByUsername(ctx, strings.ToLower(uid))
			}
		case "email":
			if !strings.Contains(uid, "@") {
				continue
			}
			var us []*store.User
			us, _, err = r.Store().ListUsers(ctx, store.UserFilter{Email: uid, Page: store.Page{Limit: 2}})
			if err == nil && len(us) == 1 {
				u = us[0]
			} else if err == nil {
				err = store.ErrNotFound
			}
		default:
			continue
		}
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return nil, nil
}

// Submit identifies the user.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	uid := strings.TrimSpace(resp.String("uid_field"))
	if uid == "" || len(uid) > 254 {
		return flow.Invalid(st.challenge(r), "uid_field", "This field is required.", "required"), nil
	}
	u, err := st.find(ctx, r, uid)
	if err != nil {
		return flow.Step{}, err
	}
	if u != nil && !u.IsActive {
		u = nil
	}
	r.Plan.Context.PendingUserIdentifier = uid
	if u == nil {
		r.Executor.Events.Record(ctx, r.Request, "login_failed", nil, map[string]any{"username": uid, "stage": r.Stage.Name})
		r.AdjustReputation(ctx, uid, -1)
		if !on(st.s.PretendUserExists) {
			return flow.Invalid(st.challenge(r), "uid_field", "Failed to authenticate.", "invalid"), nil
		}
		// Go on as if the user existed: the password stage fails the same way
		// for unknown and known users, in the same time.
		r.Plan.Context.PendingUserPK = nil
		if st.s.PasswordStage != nil {
			_, _ = core.CheckPassword(ctx, r.Store(), nil, resp.String("password"), nil)
			return flow.Invalid(st.challenge(r), "password", "Failed to authenticate.", "invalid"), nil
		}
		return flow.Step{Done: true}, nil
	}
	if st.s.PasswordStage != nil {
		ok, err := core.CheckPassword(ctx, r.Store(), u, resp.String("password"), r.Log)
		if err != nil {
			return flow.Step{}, err
		}
		if !ok {
			r.Executor.Events.Record(ctx, r.Request, "login_failed", u, map[string]any{"username": uid, "stage": r.Stage.Name})
			r.AdjustReputation(ctx, uid, -1)
			return flow.Invalid(st.challenge(r), "password", "Failed to authenticate.", "invalid"), nil
		}
		r.Plan.Context.AuthMethod = "password"
	}
	pk := u.PK
	r.Plan.Context.PendingUserPK = &pk
	return flow.Step{Done: true}, nil
}
