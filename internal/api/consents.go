package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Consents: authentik's /core/user_consent/. Everyone lists and revokes
// their own consents (a revoked consent is asked again at the next
// authorization); with authentik_core.view_userconsent (delete_...) a
// caller may name another user (?user=) or revoke another user's consent.

const (
	permViewConsent   = "authentik_core.view_userconsent"
	permDeleteConsent = "authentik_core.delete_userconsent"
)

// UserConsent is authentik's UserConsentSerializer; pk is a UUID here.
type UserConsent struct {
	PK          string       `json:"pk"`
	Expires     *time.Time   `json:"expires"`
	Expiring    bool         `json:"expiring"`
	User        PartialUser  `json:"user"`
	Application *Application `json:"application"`
	Permissions string       `json:"permissions"`
}

// ConsentListInput are the list parameters.
type ConsentListInput struct {
	ListParams
	User int64 `query:"user" minimum:"0" doc:"Only this user's consents (needs view_userconsent for another user); default the caller's."`
}

// ConsentIDInput is the path parameter of one consent.
type ConsentIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"A UUID identifying this User Consent."`
}

func (a *API) registerConsents() {
	const tag = "core"
	huma.Register(a.huma, op(http.MethodGet, "/core/user_consent/", "core_user_consent_list", tag,
		"List consents given to applications (the caller's own)", 200), a.listConsents)
	huma.Register(a.huma, op(http.MethodGet, "/core/user_consent/{id}/", "core_user_consent_retrieve", tag,
		"Get a consent", 200, 404), a.getConsent)
	huma.Register(a.huma, op(http.MethodDelete, "/core/user_consent/{id}/", "core_user_consent_destroy", tag,
		"Revoke a consent", 204, 404), a.deleteConsent)
}

func (a *API) userConsent(ctx context.Context, c *store.UserConsent, users map[int64]PartialUser) (*UserConsent, error) {
	u, err := a.deviceUser(ctx, c.UserPK, users)
	if err != nil {
		return nil, err
	}
	apps, _, err := a.Store.ListApplications(ctx, store.ListOptions{Only: []string{c.ApplicationUUID.String()},
		Page: store.Page{Limit: 1}})
	if err != nil {
		return nil, a.storeError(err)
	}
	if len(apps) == 0 {
		return nil, a.storeError(store.ErrNotFound) // consents go with their application
	}
	ao, err := a.application(ctx, apps[0])
	if err != nil {
		return nil, err
	}
	return &UserConsent{PK: c.UUID.String(), Expires: c.Expires, Expiring: c.Expires != nil, User: u,
		Application: ao, Permissions: c.Permissions}, nil
}

func (a *API) listConsents(ctx context.Context, in *ConsentListInput) (*listOf[*UserConsent], error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	userPK := p.User.PK
	if in.User != 0 && in.User != p.User.PK {
		if _, err := a.require(ctx, permViewConsent, ""); err != nil {
			return nil, err
		}
		userPK = in.User
	}
	all, err := a.Store.UserConsents(ctx, userPK, a.now())
	if err != nil {
		return nil, a.storeError(err)
	}
	if in.Ordering != "" {
		return nil, fieldError("ordering", "Unknown ordering field.")
	}
	users := map[int64]PartialUser{}
	var match []*UserConsent
	for _, c := range all {
		o, err := a.userConsent(ctx, c, users)
		if err != nil {
			return nil, err
		}
		if in.Search == "" || containsFold(o.Application.Name+" "+o.Application.Slug+" "+o.Permissions, in.Search) {
			match = append(match, o)
		}
	}
	from, to := in.window(len(match))
	out := &listOf[*UserConsent]{}
	out.Body.Results = append([]*UserConsent{}, match[from:to]...)
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, len(match), to-from), Autocomplete{}
	return out, nil
}

// loadConsent finds a live consent of the caller, or anyone's with perm;
// others' are a 404.
func (a *API) loadConsent(ctx context.Context, perm, id string) (*store.UserConsent, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u, err := uuid.Parse(id)
	if err != nil {
		return nil, errNotFound
	}
	c, err := a.Store.ConsentByUUID(ctx, u)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Expires != nil && !c.Expires.After(a.now())) {
		return nil, errNotFound
	} else if err != nil {
		return nil, a.storeError(err)
	}
	if c.UserPK != p.User.PK {
		if ok, err := a.has(ctx, p, perm, ""); err != nil {
			return nil, err
		} else if !ok {
			return nil, errNotFound
		}
	}
	return c, nil
}

func (a *API) getConsent(ctx context.Context, in *ConsentIDInput) (*struct{ Body *UserConsent }, error) {
	c, err := a.loadConsent(ctx, permViewConsent, in.ID)
	if err != nil {
		return nil, err
	}
	o, err := a.userConsent(ctx, c, nil)
	return &struct{ Body *UserConsent }{Body: o}, err
}

func (a *API) deleteConsent(ctx context.Context, in *ConsentIDInput) (*noContent, error) {
	c, err := a.loadConsent(ctx, permDeleteConsent, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteConsent(ctx, c.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_core", "userconsent", c.UUID.String(), "Consent"}, nil)
	return &noContent{}, nil
}
