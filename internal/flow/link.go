package flow

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// PlanFor plans flow f with user as the pending user, for a link that
// resumes the plan in whatever browser opens it (authentik's
// UserViewSet._create_recovery_link: FlowPlanner.plan with
// PLAN_CONTEXT_PENDING_USER, as an anonymous request, empty flows allowed).
// The flow's authentication requirement is checked for an anonymous visitor
// and its policies see user; a denial is a DeniedError. r is the request
// that asked for the link (client address and user agent for policies).
//
// When resumeAt names a stage type the plan has, the plan starts at its
// first stage of that type, as if the stages before it had run: a link made
// for an email stage's type resumes where that stage's own links do, past
// the stages that find out who the user is (an identification stage would
// otherwise let whoever holds the link name another user).
func (e *Executor) PlanFor(r *http.Request, f *store.Flow, user *store.User, resumeAt string) (*Plan, error) {
	ctx := r.Context()
	run := &Run{Executor: e, Request: r, Flow: f, Log: e.logger()}
	pk := user.PK
	p, err := e.planSeeded(ctx, run, Context{PendingUserPK: &pk, PendingUserIdentifier: user.Username})
	if err != nil {
		return nil, err
	}
	if resumeAt == "" {
		return p, nil
	}
	for i, ps := range p.Stages {
		if ps.Builtin != "" {
			continue
		}
		st, _, err := e.stage(ctx, ps.StageUUID)
		if st == nil {
			return nil, err
		}
		if st.Type == resumeAt {
			p.Current = i
			break
		}
	}
	return p, nil
}

// Link is an address that resumes a plan in any browser (authentik's
// FlowToken and its ?flow_token= link): Key is the key of the single-use,
// expiring verification token that carries the plan, which the executor
// looks for in the flow's original query (restore).
type Link struct {
	Key string
	URL string
}

// NewLink makes a fresh key and its address for flow slug under base, the
// scheme and host users reach Gatehouse at ("https://id.example.com").
func NewLink(base, slug string) Link {
	key := core.NewTokenKey()
	return Link{Key: key, URL: base + "/if/flow/" + url.PathEscape(slug) + "/?" + url.Values{FlowTokenParam: {key}}.Encode()}
}

// Token is the verification token that makes the link work: it carries p
// for the user userPK until expires. The key is kept only as its hash.
func (l Link) Token(p *Plan, userPK int64, identifier, description string, expires time.Time) (*store.Token, error) {
	plan, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return &store.Token{Identifier: identifier, KeyHash: core.HashTokenKey(l.Key), Intent: store.IntentVerification,
		UserPK: userPK, Description: description, Expiring: true, Expires: &expires, FlowPlan: string(plan)}, nil
}
