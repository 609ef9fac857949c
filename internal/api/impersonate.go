package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permImpersonate           = "authentik_core.impersonate"
	actionImpersonationStart  = "impersonation_started"
	actionImpersonationEnd    = "impersonation_ended"
	sessionImpersonatorKey    = "impersonator"
	sessionImpersonatorReason = "impersonation_reason"
)

type impersonateInput struct {
	UserIDInput
	Body struct {
		Reason string `json:"reason,omitempty" maxLength:"1000"`
	}
}

func (a *API) registerImpersonation() {
	huma.Register(a.huma, sessionOnly(op(http.MethodPost, "/core/users/{id}/impersonate/", "core_users_impersonate_create", "core",
		"Impersonate a user in this browser session", 204, 404)), a.impersonate)
	huma.Register(a.huma, sessionOnly(op(http.MethodGet, "/core/users/impersonate_end/", "core_users_impersonate_end_retrieve", "core",
		"End an impersonation", 204)), a.impersonateEnd)
}

// sessionData decodes a session's JSON data.
func sessionData(s *store.Session) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(s.Data, &m)
	return m
}

// impersonator returns the pk of the user impersonating in this session, or 0.
func impersonator(s *store.Session) int64 {
	if s == nil {
		return 0
	}
	if f, ok := sessionData(s)[sessionImpersonatorKey].(float64); ok {
		return int64(f)
	}
	return 0
}

// impersonate switches the caller's browser session to another user, as
// authentik does: only in a browser session, only when the system settings
// allow it, with the impersonate permission on the user, with a reason when
// the settings ask for one, and never to a superuser unless the caller is one.
func (a *API) impersonate(ctx context.Context, in *impersonateInput) (*noContent, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.Session == nil {
		return nil, detailError(http.StatusForbidden, "Impersonation needs a browser session.")
	}
	if impersonator(p.Session) != 0 {
		return nil, fieldError("non_field_errors", "This session already impersonates a user; end that first.")
	}
	settings, err := a.loadSettings(ctx)
	if err != nil {
		return nil, a.storeError(err)
	}
	if !settings.Impersonation {
		return nil, detailError(http.StatusForbidden, "Impersonation is disabled in the system settings.")
	}
	if settings.ImpersonationRequireReason && in.Body.Reason == "" {
		return nil, fieldError("reason", "A reason is required to impersonate a user.")
	}
	target, err := a.loadUser(ctx, permImpersonate, in.ID)
	if err != nil {
		return nil, err
	}
	if target.PK == p.User.PK {
		return nil, fieldError("non_field_errors", "You cannot impersonate yourself.")
	}
	if !target.IsActive {
		return nil, fieldError("non_field_errors", "The user is inactive.")
	}
	if su, err := a.Store.UserIsSuperuser(ctx, target.PK); err != nil {
		return nil, a.storeError(err)
	} else if su && !p.Superuser {
		return nil, errPermission
	}
	data := sessionData(p.Session)
	data[sessionImpersonatorKey] = p.User.PK
	data[sessionImpersonatorReason] = in.Body.Reason
	sess := *p.Session
	sess.Data, _ = json.Marshal(data)
	sess.UserPK = &target.PK
	sess.LastUsed = a.now()
	if err := a.Store.UpdateSession(ctx, &sess); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionImpersonationStart, modelRef{"authentik_core", "user", target.PK, target.Username},
		map[string]any{"reason": in.Body.Reason, "impersonated_user": map[string]any{"pk": target.PK, "username": target.Username}})
	return &noContent{}, nil
}

// impersonateEnd gives the session back to the impersonator; without an
// impersonation it changes nothing.
func (a *API) impersonateEnd(ctx context.Context, _ *struct{}) (*noContent, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	orig := impersonator(p.Session)
	if orig == 0 {
		return &noContent{}, nil
	}
	data := sessionData(p.Session)
	delete(data, sessionImpersonatorKey)
	delete(data, sessionImpersonatorReason)
	sess := *p.Session
	sess.Data, _ = json.Marshal(data)
	sess.UserPK = &orig
	sess.LastUsed = a.now()
	if err := a.Store.UpdateSession(ctx, &sess); err != nil {
		return nil, a.storeError(err)
	}
	// Recorded as the impersonator, about the user that was impersonated.
	back, err := a.Store.UserByPK(ctx, orig)
	if err == nil {
		ctx = withPrincipal(ctx, &principal{User: back, Session: &sess})
	}
	a.audit(ctx, actionImpersonationEnd, modelRef{"authentik_core", "user", p.User.PK, p.User.Username},
		map[string]any{"impersonated_user": map[string]any{"pk": p.User.PK, "username": p.User.Username},
			"impersonator": strconv.FormatInt(orig, 10)})
	return &noContent{}, nil
}
