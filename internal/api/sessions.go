package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Browser sessions: authentik's /core/authenticated_sessions/.
//
// Everyone lists and deletes their own signed-in sessions; with
// authentik_core.view_authenticatedsession (delete_...) a caller may name
// another user (?user=) or delete another user's session. Deleting a session
// signs that browser out (and ends its OAuth2 grants, with back-channel
// logout through OnSessionEnd).

const (
	permViewSession   = "authentik_core.view_authenticatedsession"
	permDeleteSession = "authentik_core.delete_authenticatedsession"
)

// UserAgentFamily is one part of a parsed user agent (authentik's
// UserAgentBrowserDict / UserAgentOSDict, reduced to what is parsed).
type UserAgentFamily struct {
	Family string `json:"family"`
}

// UserAgent is authentik's UserAgentDict: the parsed last user agent.
type UserAgent struct {
	Device    UserAgentFamily `json:"device"`
	OS        UserAgentFamily `json:"os"`
	UserAgent UserAgentFamily `json:"user_agent"`
	String    string          `json:"string"`
}

// AuthenticatedSession is authentik's AuthenticatedSessionSerializer.
type AuthenticatedSession struct {
	UUID          uuid.UUID `json:"uuid"`
	Current       bool      `json:"current" doc:"Whether this is the session of the request."`
	UserAgent     UserAgent `json:"user_agent"`
	User          int64     `json:"user"`
	LastIP        string    `json:"last_ip"`
	LastUserAgent string    `json:"last_user_agent"`
	LastUsed      time.Time `json:"last_used"`
	Expires       time.Time `json:"expires"`
}

// SessionListInput are the list parameters.
type SessionListInput struct {
	ListParams
	User int64 `query:"user" minimum:"0" doc:"Only this user's sessions (needs view_authenticatedsession for another user); default the caller's."`
}

// SessionIDInput is the path parameter of one session.
type SessionIDInput struct {
	UUID string `path:"uuid" maxLength:"64" doc:"A UUID string identifying this Authenticated Session."`
}

func (a *API) registerSessions() {
	const tag = "core"
	huma.Register(a.huma, op(http.MethodGet, "/core/authenticated_sessions/", "core_authenticated_sessions_list", tag,
		"List signed-in browser sessions (the caller's own)", 200), a.listSessions)
	huma.Register(a.huma, op(http.MethodGet, "/core/authenticated_sessions/{uuid}/", "core_authenticated_sessions_retrieve", tag,
		"Get a browser session", 200, 404), a.getSession)
	huma.Register(a.huma, op(http.MethodDelete, "/core/authenticated_sessions/{uuid}/", "core_authenticated_sessions_destroy", tag,
		"Sign a browser session out", 204, 404), a.deleteSession)
}

func (a *API) authenticatedSession(p *principal, s *store.Session) AuthenticatedSession {
	o := AuthenticatedSession{UUID: s.UUID, UserAgent: ParseUserAgent(s.LastUserAgent), LastIP: s.LastIP,
		LastUserAgent: s.LastUserAgent, LastUsed: s.LastUsed, Expires: s.Expires}
	if s.UserPK != nil {
		o.User = *s.UserPK
	}
	o.Current = p.Session != nil && p.Session.Key == s.Key
	return o
}

func (a *API) listSessions(ctx context.Context, in *SessionListInput) (*listOf[AuthenticatedSession], error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	userPK := p.User.PK
	if in.User != 0 && in.User != p.User.PK {
		if _, err := a.require(ctx, permViewSession, ""); err != nil {
			return nil, err
		}
		userPK = in.User
	}
	all, err := a.Store.UserSessions(ctx, userPK, a.now())
	if err != nil {
		return nil, a.storeError(err)
	}
	var match []*store.Session
	for _, s := range all {
		if in.Search == "" || containsFold(s.LastIP+" "+s.LastUserAgent, in.Search) {
			match = append(match, s)
		}
	}
	switch strings.TrimPrefix(in.Ordering, "-") {
	case "", "last_used":
		// most recently used first, as the store lists them
	default:
		return nil, fieldError("ordering", "Unknown ordering field.")
	}
	if in.Ordering == "last_used" {
		for i, j := 0, len(match)-1; i < j; i, j = i+1, j-1 {
			match[i], match[j] = match[j], match[i]
		}
	}
	from, to := in.window(len(match))
	out := &listOf[AuthenticatedSession]{}
	out.Body.Results = []AuthenticatedSession{}
	for _, s := range match[from:to] {
		out.Body.Results = append(out.Body.Results, a.authenticatedSession(p, s))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, len(match), to-from), Autocomplete{}
	return out, nil
}

// loadSession finds a live session the caller may act on with perm: their
// own, or anyone's with perm. Others' sessions are a 404.
func (a *API) loadSession(ctx context.Context, perm, id string) (*principal, *store.Session, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, nil, errNotFound
	}
	s, err := a.Store.SessionByUUID(ctx, u, a.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && s.UserPK == nil) {
		return nil, nil, errNotFound
	} else if err != nil {
		return nil, nil, a.storeError(err)
	}
	if *s.UserPK != p.User.PK {
		ok, err := a.has(ctx, p, perm, "")
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, errNotFound
		}
	}
	return p, s, nil
}

func (a *API) getSession(ctx context.Context, in *SessionIDInput) (*struct{ Body AuthenticatedSession }, error) {
	p, s, err := a.loadSession(ctx, permViewSession, in.UUID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body AuthenticatedSession }{Body: a.authenticatedSession(p, s)}, nil
}

func (a *API) deleteSession(ctx context.Context, in *SessionIDInput) (*noContent, error) {
	_, s, err := a.loadSession(ctx, permDeleteSession, in.UUID)
	if err != nil {
		return nil, err
	}
	if a.OnSessionEnd != nil {
		a.OnSessionEnd(ctx, s)
	}
	if err := a.Store.DeleteSession(ctx, s.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_core", "authenticatedsession", s.UUID.String(),
		"Session " + strconv.FormatInt(*s.UserPK, 10)}, nil)
	return &noContent{}, nil
}

// ParseUserAgent names the browser, operating system and device class of a
// User-Agent header well enough for a sessions list ("Firefox on Linux"):
// the common families only, "Other" for the rest.
func ParseUserAgent(ua string) UserAgent {
	o := UserAgent{String: ua, Device: UserAgentFamily{"Other"}, OS: UserAgentFamily{"Other"}, UserAgent: UserAgentFamily{"Other"}}
	has := func(s string) bool { return strings.Contains(ua, s) }
	for _, b := range []struct{ token, family string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "HeadlessChrome"},
		{"Chromium/", "Chromium"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
		{"Go-http-client/", "Go-http-client"}, {"python-requests/", "Python Requests"},
	} {
		if has(b.token) {
			o.UserAgent.Family = b.family
			break
		}
	}
	for _, s := range []struct{ token, family string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iOS"}, {"Windows", "Windows"},
		{"Mac OS X", "Mac OS X"}, {"CrOS", "Chrome OS"}, {"Linux", "Linux"},
	} {
		if has(s.token) {
			o.OS.Family = s.family
			break
		}
	}
	switch {
	case has("iPhone"):
		o.Device.Family = "iPhone"
	case has("iPad"):
		o.Device.Family = "iPad"
	case has("Mobile"):
		o.Device.Family = "Mobile"
	}
	return o
}
