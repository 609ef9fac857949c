// Package consent is authentik's consent stage: before a user is sent on to
// an application (the plan's application), they agree to it. Modes:
// always_require asks every time; permanent remembers the answer;
// expiring remembers it for consent_expire_in.
package consent

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogin"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "consent"
	ModelName = "authentik_stages_consent.consentstage"
)

// Modes, as authentik names them.
const (
	ModeAlways    = "always_require"
	ModePermanent = "permanent"
	ModeExpiring  = "expiring"
)

// Settings are authentik's consent stage fields.
type Settings struct {
	Mode            string `json:"mode"`
	ConsentExpireIn string `json:"consent_expire_in"`
}

// Permission is one line of what the application gets.
type Permission = flow.Permission

// Challenge is ak-stage-consent. Token ties the answer to this challenge.
type Challenge struct {
	flow.Base
	HeaderText            string       `json:"header_text"`
	Permissions           []Permission `json:"permissions"`
	AdditionalPermissions []Permission `json:"additional_permissions"`
	Token                 string       `json:"token"`
}

// Stage implements flow.Stage.
type Stage struct {
	s      Settings
	expiry time.Duration
}

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{Mode: ModeAlways, ConsentExpireIn: "weeks=4"}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	st := &Stage{s: s}
	switch s.Mode {
	case ModeAlways, ModePermanent:
	case ModeExpiring:
		d, err := userlogin.ParseDuration(s.ConsentExpireIn)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("consent: consent_expire_in must be a duration such as weeks=4")
		}
		st.expiry = d
	default:
		return nil, fmt.Errorf("consent: mode must be always_require, permanent or expiring")
	}
	return st, nil
}

// subject returns the user and application the consent is about.
func subject(ctx context.Context, r *flow.Run) (*store.User, *store.Application, string, error) {
	u, err := r.PendingUser(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	if u == nil {
		u = r.User
	}
	if u == nil {
		return nil, nil, "No user to ask for consent.", nil
	}
	if r.Plan.Context.Application == "" {
		return nil, nil, "No application to consent to.", nil
	}
	app, err := r.Store().ApplicationBySlug(ctx, r.Plan.Context.Application)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, "The application no longer exists.", nil
	} else if err != nil {
		return nil, nil, "", err
	}
	return u, app, "", nil
}

// Enter passes when a remembered consent is still valid, else asks.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	u, app, deny, err := subject(ctx, r)
	if err != nil || deny != "" {
		return flow.Step{Deny: deny}, err
	}
	extra := r.Plan.Context.ConsentPermissions
	if st.s.Mode != ModeAlways && !r.Plan.Context.ForceConsent {
		c, err := r.Store().Consent(ctx, u.PK, app.UUID)
		if err == nil && (c.Expires == nil || r.Now().Before(*c.Expires)) {
			// A remembered consent covers what it listed; asking for more
			// shows the rest as additional permissions.
			extra = missing(r.Plan.Context.ConsentPermissions, c.Permissions)
			if len(extra) == 0 {
				return flow.Step{Done: true}, nil
			}
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return flow.Step{}, err
		}
	}
	// One token per question: Enter also runs to re-show the challenge.
	token, _ := r.State()["token"].(string)
	if token == "" {
		token = core.NewTokenKey()
		r.State()["token"] = token
	}
	return flow.Step{Challenge: st.challenge(r, app, token, extra)}, nil
}

// missing returns the permissions not in given (space-separated ids).
func missing(want []Permission, given string) []Permission {
	have := map[string]bool{}
	for _, id := range strings.Fields(given) {
		have[id] = true
	}
	var out []Permission
	for _, p := range want {
		if !have[p.ID] {
			out = append(out, p)
		}
	}
	return out
}

func (st *Stage) challenge(r *flow.Run, app *store.Application, token string, extra []Permission) *Challenge {
	c := &Challenge{Base: flow.Base{Component: "ak-stage-consent"},
		HeaderText:  fmt.Sprintf("You're about to sign into %s.", app.Name),
		Permissions: []Permission{}, AdditionalPermissions: []Permission{}, Token: token}
	asked := r.Plan.Context.ConsentPermissions
	if len(extra) < len(asked) {
		// Some were given before: list those, and the new ones apart.
		c.AdditionalPermissions = append(c.AdditionalPermissions, extra...)
		c.Permissions = append(c.Permissions, missingOf(asked, extra)...)
	} else {
		c.Permissions = append(c.Permissions, asked...)
	}
	return c
}

// missingOf returns the permissions of all that are not in some.
func missingOf(all, some []Permission) []Permission {
	ids := make([]string, len(some))
	for i, p := range some {
		ids[i] = p.ID
	}
	return missing(all, strings.Join(ids, " "))
}

// permissionIDs is the remembered form: the ids, space-separated.
func permissionIDs(ps []Permission) string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return strings.Join(ids, " ")
}

// Submit takes the consent: the answer must carry this challenge's token.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	u, app, deny, err := subject(ctx, r)
	if err != nil || deny != "" {
		return flow.Step{Deny: deny}, err
	}
	want, _ := r.State()["token"].(string)
	if got := resp.String("token"); want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return flow.Invalid(st.challenge(r, app, want, r.Plan.Context.ConsentPermissions), "token", "Invalid consent token, re-showing prompt.", "invalid"), nil
	}
	delete(r.State(), "token")
	given := permissionIDs(r.Plan.Context.ConsentPermissions)
	if c, err := r.Store().Consent(ctx, u.PK, app.UUID); err == nil && (c.Expires == nil || r.Now().Before(*c.Expires)) {
		// Keep what was given before along with what is given now.
		given = strings.TrimSpace(c.Permissions + " " + permissionIDs(missing(r.Plan.Context.ConsentPermissions, c.Permissions)))
	}
	switch st.s.Mode {
	case ModePermanent:
		err = r.Store().SaveConsent(ctx, &store.UserConsent{UserPK: u.PK, ApplicationUUID: app.UUID, Permissions: given})
	case ModeExpiring:
		exp := r.Now().Add(st.expiry)
		err = r.Store().SaveConsent(ctx, &store.UserConsent{UserPK: u.PK, ApplicationUUID: app.UUID, Expires: &exp, Permissions: given})
	}
	if err != nil {
		return flow.Step{}, err
	}
	return flow.Step{Done: true}, nil
}
