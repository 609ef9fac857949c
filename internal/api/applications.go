package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewApplication   = "authentik_core.view_application"
	permAddApplication    = "authentik_core.add_application"
	permChangeApplication = "authentik_core.change_application"
	permDeleteApplication = "authentik_core.delete_application"
	permViewProvider      = "authentik_core.view_provider"
	permDeleteProvider    = "authentik_core.delete_provider"
)

// reservedSlugs are taken by the OAuth2 endpoints under /application/o/.
var reservedSlugs = map[string]bool{"authorize": true, "token": true, "device": true, "userinfo": true,
	"introspect": true, "revoke": true, "par": true}

var appSlugPattern = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

// Provider is the base provider as /providers/all/ lists it.
type Provider struct {
	PK                      int64      `json:"pk"`
	Name                    string     `json:"name"`
	AuthenticationFlow      *uuid.UUID `json:"authentication_flow" nullable:"true"`
	AuthorizationFlow       *uuid.UUID `json:"authorization_flow" nullable:"true"`
	InvalidationFlow        *uuid.UUID `json:"invalidation_flow" nullable:"true"`
	PropertyMappings        []string   `json:"property_mappings"`
	Component               string     `json:"component"`
	AssignedApplicationSlug *string    `json:"assigned_application_slug"`
	AssignedApplicationName *string    `json:"assigned_application_name"`
	VerboseName             string     `json:"verbose_name"`
	VerboseNamePlural       string     `json:"verbose_name_plural"`
	MetaModelName           string     `json:"meta_model_name"`
}

// providerTypes are authentik's provider components, by Gatehouse type name.
var providerTypes = map[string][3]string{
	"oauth2": {"ak-provider-oauth2-form", "OAuth2/OpenID Provider", "authentik_providers_oauth2.oauth2provider"},
	"saml":   {"ak-provider-saml-form", "SAML Provider", "authentik_providers_saml.samlprovider"},
	"ldap":   {"ak-provider-ldap-form", "LDAP Provider", "authentik_providers_ldap.ldapprovider"},
	"radius": {"ak-provider-radius-form", "Radius Provider", "authentik_providers_radius.radiusprovider"},
	"proxy":  {"ak-provider-proxy-form", "Proxy Provider", "authentik_providers_proxy.proxyprovider"},
	"scim":   {"ak-provider-scim-form", "SCIM Provider", "authentik_providers_scim.scimprovider"},
}

// Application is authentik's Application serializer.
type Application struct {
	PK               uuid.UUID `json:"pk"`
	Name             string    `json:"name"`
	Slug             string    `json:"slug"`
	Provider         *int64    `json:"provider"`
	ProviderObj      *Provider `json:"provider_obj"`
	LaunchURL        *string   `json:"launch_url"`
	OpenInNewTab     bool      `json:"open_in_new_tab"`
	MetaLaunchURL    string    `json:"meta_launch_url"`
	MetaIcon         string    `json:"meta_icon"`
	MetaDescription  string    `json:"meta_description"`
	MetaPublisher    string    `json:"meta_publisher"`
	PolicyEngineMode string    `json:"policy_engine_mode" enum:"all,any"`
	Group            string    `json:"group"`
}

// ApplicationRequest creates, replaces or (all optional) patches an application.
type ApplicationRequest struct {
	Name             *string `json:"name,omitempty" minLength:"1" maxLength:"250"`
	Slug             *string `json:"slug,omitempty" minLength:"1" maxLength:"50"`
	Provider         *int64  `json:"provider,omitempty" doc:"0 removes the provider"`
	OpenInNewTab     *bool   `json:"open_in_new_tab,omitempty"`
	MetaLaunchURL    *string `json:"meta_launch_url,omitempty" maxLength:"2000"`
	MetaIcon         *string `json:"meta_icon,omitempty" maxLength:"2000"`
	MetaDescription  *string `json:"meta_description,omitempty" maxLength:"10000"`
	MetaPublisher    *string `json:"meta_publisher,omitempty" maxLength:"250"`
	PolicyEngineMode *string `json:"policy_engine_mode,omitempty" enum:"all,any"`
	Group            *string `json:"group,omitempty" maxLength:"250"`
}

// AppSlugInput is the path parameter. Exported because input structs embed it: huma
// ignores unexported embedded fields (no parameter, documented or parsed).
type AppSlugInput struct {
	Slug string `path:"slug" maxLength:"50"`
}

type appOutput struct{ Body *Application }

type appListOutput struct {
	Body struct {
		Pagination   Pagination     `json:"pagination"`
		Results      []*Application `json:"results"`
		Autocomplete Autocomplete   `json:"autocomplete"`
	}
}

type providerIDInput struct {
	ID int64 `path:"id" doc:"A unique integer value identifying this provider."`
}

type providerListOutput struct {
	Body struct {
		Pagination   Pagination   `json:"pagination"`
		Results      []*Provider  `json:"results"`
		Autocomplete Autocomplete `json:"autocomplete"`
	}
}

func (a *API) registerApplications() {
	const tag = "core"
	huma.Register(a.huma, op(http.MethodGet, "/core/applications/", "core_applications_list", tag, "List applications", 200), a.listApplications)
	huma.Register(a.huma, op(http.MethodPost, "/core/applications/", "core_applications_create", tag, "Create an application", 201), a.createApplication)
	huma.Register(a.huma, op(http.MethodGet, "/core/applications/{slug}/", "core_applications_retrieve", tag, "Get an application", 200, 404), a.getApplication)
	huma.Register(a.huma, op(http.MethodPut, "/core/applications/{slug}/", "core_applications_update", tag, "Replace an application", 200, 404), a.replaceApplication)
	huma.Register(a.huma, op(http.MethodPatch, "/core/applications/{slug}/", "core_applications_partial_update", tag, "Update an application", 200, 404), a.patchApplication)
	huma.Register(a.huma, op(http.MethodDelete, "/core/applications/{slug}/", "core_applications_destroy", tag, "Delete an application", 204, 404), a.deleteApplication)
	huma.Register(a.huma, op(http.MethodGet, "/core/applications/{slug}/check_access/", "core_applications_check_access_retrieve", tag, "Check a user's access to an application", 200, 404), a.checkAccess)
	huma.Register(a.huma, op(http.MethodGet, "/providers/all/", "providers_all_list", "providers", "List providers of every type", 200), a.listProviders)
	huma.Register(a.huma, op(http.MethodGet, "/providers/all/{id}/", "providers_all_retrieve", "providers", "Get a provider", 200, 404), a.getProvider)
	huma.Register(a.huma, op(http.MethodDelete, "/providers/all/{id}/", "providers_all_destroy", "providers", "Delete a provider", 204, 404), a.deleteProvider)
	// provider_obj is null for an application without a provider.
	app := a.huma.OpenAPI().Components.Schemas.Map()["Application"]
	app.Properties["provider_obj"] = nullable(app.Properties["provider_obj"])
}

func (a *API) provider(ctx context.Context, p *store.Provider) (*Provider, error) {
	t := providerTypes[p.Type]
	o := &Provider{PK: p.PK, Name: p.Name, AuthenticationFlow: p.AuthenticationFlow, AuthorizationFlow: p.AuthorizationFlow,
		InvalidationFlow: p.InvalidationFlow, PropertyMappings: []string{}, Component: t[0], VerboseName: t[1],
		VerboseNamePlural: t[1] + "s", MetaModelName: t[2]}
	app, err := a.Store.ApplicationByProvider(ctx, p.PK)
	if err == nil {
		o.AssignedApplicationSlug, o.AssignedApplicationName = &app.Slug, &app.Name
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, a.storeError(err)
	}
	return o, nil
}

func (a *API) application(ctx context.Context, app *store.Application) (*Application, error) {
	o := &Application{PK: app.UUID, Name: app.Name, Slug: app.Slug, Provider: app.ProviderPK, OpenInNewTab: app.OpenInNewTab,
		MetaLaunchURL: app.MetaLaunchURL, MetaIcon: app.MetaIcon, MetaDescription: app.MetaDescription,
		MetaPublisher: app.MetaPublisher, PolicyEngineMode: app.PolicyEngineMode, Group: app.Group}
	if app.MetaLaunchURL != "" {
		u := app.MetaLaunchURL
		o.LaunchURL = &u
	}
	if app.ProviderPK != nil {
		p, err := a.Store.ProviderByPK(ctx, *app.ProviderPK)
		if err != nil {
			return nil, a.storeError(err)
		}
		if o.ProviderObj, err = a.provider(ctx, p); err != nil {
			return nil, err
		}
		if o.LaunchURL == nil && p.Type == "oauth2" {
			if o.LaunchURL, err = a.oauth2LaunchURL(ctx, p.PK); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

// oauth2LaunchURL is an OAuth2 provider's default launch URL, as
// authentik's OAuth2Provider.launch_url: the origin of its first redirect
// URI, unless that is a regular expression; nil without one.
func (a *API) oauth2LaunchURL(ctx context.Context, providerPK int64) (*string, error) {
	op, err := a.Store.OAuth2ProviderByPK(ctx, providerPK)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, a.storeError(err)
	}
	if len(op.RedirectURIs) == 0 || op.RedirectURIs[0].MatchingMode == "regex" {
		return nil, nil
	}
	u, err := url.Parse(op.RedirectURIs[0].URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil
	}
	launch := u.Scheme + "://" + u.Host
	return &launch, nil
}

// AppListInput are the application list's parameters (authentik's).
type AppListInput struct {
	ListParams
	ForUser int64 `query:"for_user" minimum:"0" doc:"Only the applications this user may access (policy-checked); another user than the caller needs view_user on them."`
	// SuperuserFullList is accepted for authentik's clients: callers with
	// the global view_application permission get the full list unless
	// for_user is given.
	SuperuserFullList bool `query:"superuser_full_list" doc:"Accepted for compatibility: callers with the global view_application permission get every application unless for_user is set."`
	OnlyWithLaunchURL bool `query:"only_with_launch_url" doc:"Only applications with a launch URL."`
}

// accessibleApplications lists, in the list's order, the applications
// matching the search that user may access (the application's policy
// bindings, as check_access) plus those in extra (object permissions).
func (a *API) accessibleApplications(ctx context.Context, in *AppListInput, user *store.User, extra []string) ([]*Application, error) {
	var out []*Application
	const size = 100
	for off := 0; ; off += size {
		apps, total, err := a.Store.ListApplications(ctx, store.ListOptions{Search: in.Search, Ordering: in.Ordering,
			Page: store.Page{Offset: off, Limit: size}})
		if err != nil {
			return nil, a.listError(err)
		}
		for _, app := range apps {
			ok := slices.Contains(extra, app.UUID.String())
			if !ok && user.IsActive {
				res, err := a.policies.Evaluate(ctx, app.UUID, app.PolicyEngineMode, policy.Request{User: user, Obj: app})
				if err != nil {
					return nil, a.storeError(err)
				}
				ok = res.Passing
			}
			if !ok {
				continue
			}
			o, err := a.application(ctx, app)
			if err != nil {
				return nil, err
			}
			if !in.OnlyWithLaunchURL || o.LaunchURL != nil {
				out = append(out, o)
			}
		}
		if len(apps) < size || off+size >= total {
			return out, nil
		}
	}
}

// listApplications lists, as authentik's ApplicationViewSet.list, the
// applications a user may access (policy-checked): for_user's, or the
// caller's when they lack the global view permission (with those they
// hold view_application on). Callers with the global permission get every
// application (authentik's superuser_full_list).
func (a *API) listApplications(ctx context.Context, in *AppListInput) (*appListOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	only, err := a.visible(ctx, permViewApplication)
	if err != nil {
		return nil, err
	}
	if in.ForUser != 0 || only != nil {
		user := p.User
		if in.ForUser != 0 && in.ForUser != p.User.PK {
			if _, err := a.require(ctx, permViewUser, strconv.FormatInt(in.ForUser, 10)); err != nil {
				return nil, err
			}
			if user, err = a.Store.UserByPK(ctx, in.ForUser); errors.Is(err, store.ErrNotFound) {
				return nil, fieldError("for_user", "User does not exist.")
			} else if err != nil {
				return nil, a.storeError(err)
			}
			only = nil
		}
		if in.ForUser != 0 {
			only = nil // exactly the user's access, not the caller's permissions
		}
		all, err := a.accessibleApplications(ctx, in, user, only)
		if err != nil {
			return nil, err
		}
		from, to := in.window(len(all))
		out := &appListOutput{}
		out.Body.Results = append([]*Application{}, all[from:to]...)
		out.Body.Pagination = paginate(in.ListParams, len(all), to-from)
		out.Body.Autocomplete = Autocomplete{}
		return out, nil
	}
	apps, total, err := a.Store.ListApplications(ctx, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &appListOutput{}
	out.Body.Results = []*Application{}
	for _, app := range apps {
		o, err := a.application(ctx, app)
		if err != nil {
			return nil, err
		}
		if in.OnlyWithLaunchURL && o.LaunchURL == nil {
			continue
		}
		out.Body.Results = append(out.Body.Results, o)
	}
	out.Body.Pagination = paginate(in.ListParams, total, len(apps))
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

func applyApplication(app *store.Application, r ApplicationRequest) error {
	str := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	str(&app.Name, r.Name)
	str(&app.Slug, r.Slug)
	str(&app.MetaLaunchURL, r.MetaLaunchURL)
	str(&app.MetaIcon, r.MetaIcon)
	str(&app.MetaDescription, r.MetaDescription)
	str(&app.MetaPublisher, r.MetaPublisher)
	str(&app.PolicyEngineMode, r.PolicyEngineMode)
	str(&app.Group, r.Group)
	if r.OpenInNewTab != nil {
		app.OpenInNewTab = *r.OpenInNewTab
	}
	if r.Provider != nil {
		if *r.Provider == 0 {
			app.ProviderPK = nil
		} else {
			p := *r.Provider
			app.ProviderPK = &p
		}
	}
	if !appSlugPattern.MatchString(app.Slug) {
		return fieldError("slug", "Enter a valid slug consisting of letters, numbers, underscores or hyphens.")
	}
	if reservedSlugs[app.Slug] {
		return fieldError("slug", "This slug is reserved.")
	}
	return nil
}

func (a *API) createApplication(ctx context.Context, in *struct{ Body ApplicationRequest }) (*appOutput, error) {
	if _, err := a.require(ctx, permAddApplication, ""); err != nil {
		return nil, err
	}
	if in.Body.Name == nil {
		return nil, fieldError("name", "This field is required.")
	}
	if in.Body.Slug == nil {
		return nil, fieldError("slug", "This field is required.")
	}
	app := &store.Application{}
	if err := applyApplication(app, in.Body); err != nil {
		return nil, err
	}
	if err := a.Store.CreateApplication(ctx, app); err != nil {
		return nil, a.appError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_core", "application", app.UUID.String(), app.Name}, nil)
	o, err := a.application(ctx, app)
	return &appOutput{Body: o}, err
}

func (a *API) appError(err error) error {
	var ce *store.ConflictError
	if asConflict(err, &ce) && ce.Field == "provider_pk" {
		return fieldError("provider", "This provider is already used by another application.")
	}
	if errors.Is(err, store.ErrInvalid) {
		return fieldError("provider", "Invalid pk - object does not exist.")
	}
	return a.storeError(err)
}

func (a *API) loadApplication(ctx context.Context, perm, slug string) (*store.Application, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	app, err := a.Store.ApplicationBySlug(ctx, slug)
	if err != nil {
		return nil, a.storeError(err)
	}
	if err := a.check(ctx, perm, permViewApplication, app.UUID.String()); err != nil {
		return nil, err
	}
	return app, nil
}

func (a *API) getApplication(ctx context.Context, in *AppSlugInput) (*appOutput, error) {
	app, err := a.loadApplication(ctx, permViewApplication, in.Slug)
	if err != nil {
		return nil, err
	}
	o, err := a.application(ctx, app)
	return &appOutput{Body: o}, err
}

func (a *API) replaceApplication(ctx context.Context, in *struct {
	AppSlugInput
	Body ApplicationRequest
}) (*appOutput, error) {
	if in.Body.Name == nil || in.Body.Slug == nil {
		return nil, fieldError("non_field_errors", "name and slug are required.")
	}
	return a.updateApplication(ctx, in.Slug, in.Body)
}

func (a *API) patchApplication(ctx context.Context, in *struct {
	AppSlugInput
	Body ApplicationRequest
}) (*appOutput, error) {
	return a.updateApplication(ctx, in.Slug, in.Body)
}

func (a *API) updateApplication(ctx context.Context, slug string, r ApplicationRequest) (*appOutput, error) {
	app, err := a.loadApplication(ctx, permChangeApplication, slug)
	if err != nil {
		return nil, err
	}
	before, err := a.application(ctx, app)
	if err != nil {
		return nil, err
	}
	if err := applyApplication(app, r); err != nil {
		return nil, err
	}
	if err := a.Store.UpdateApplication(ctx, app); err != nil {
		return nil, a.appError(err)
	}
	after, err := a.application(ctx, app)
	if err != nil {
		return nil, err
	}
	if d := diff(before, after); len(d) > 0 {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_core", "application", app.UUID.String(), app.Name}, map[string]any{"diff": d})
	}
	return &appOutput{Body: after}, nil
}

func (a *API) deleteApplication(ctx context.Context, in *AppSlugInput) (*noContent, error) {
	app, err := a.loadApplication(ctx, permDeleteApplication, in.Slug)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteApplication(ctx, app.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_core", "application", app.UUID.String(), app.Name}, nil)
	return &noContent{}, nil
}

type checkAccessInput struct {
	AppSlugInput
	ForUser int64 `query:"for_user" required:"true"`
}

type checkAccessOutput struct {
	Body struct {
		Passing  bool     `json:"passing"`
		Messages []string `json:"messages"`
	}
}

// checkAccess evaluates the application's policy bindings for a user, in
// the application's policy_engine_mode, with the same engine that gates
// flows (an application without bindings passes every active user, as in
// authentik). Inactive users never pass.
func (a *API) checkAccess(ctx context.Context, in *checkAccessInput) (*checkAccessOutput, error) {
	app, err := a.loadApplication(ctx, permViewApplication, in.Slug)
	if err != nil {
		return nil, err
	}
	if _, err := a.require(ctx, permViewUser, strconv.FormatInt(in.ForUser, 10)); err != nil {
		return nil, err
	}
	u, err := a.Store.UserByPK(ctx, in.ForUser)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fieldError("for_user", "User does not exist.")
	} else if err != nil {
		return nil, a.storeError(err)
	}
	out := &checkAccessOutput{}
	out.Body.Messages = []string{}
	if !u.IsActive {
		out.Body.Messages = append(out.Body.Messages, "User is inactive.")
		return out, nil
	}
	res, err := a.policies.Evaluate(ctx, app.UUID, app.PolicyEngineMode, policy.Request{User: u, Obj: app})
	if err != nil {
		return nil, a.storeError(err)
	}
	out.Body.Passing = res.Passing
	out.Body.Messages = append(out.Body.Messages, res.Messages...)
	return out, nil
}

func (a *API) listProviders(ctx context.Context, in *ListParams) (*providerListOutput, error) {
	only, err := a.visible(ctx, permViewProvider)
	if err != nil {
		return nil, err
	}
	ps, total, err := a.Store.ListProviders(ctx, "", in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &providerListOutput{}
	out.Body.Results = []*Provider{}
	for _, p := range ps {
		o, err := a.provider(ctx, p)
		if err != nil {
			return nil, err
		}
		out.Body.Results = append(out.Body.Results, o)
	}
	out.Body.Pagination = paginate(*in, total, len(ps))
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

func (a *API) loadProvider(ctx context.Context, perm string, id int64) (*store.Provider, error) {
	if err := a.check(ctx, perm, permViewProvider, strconv.FormatInt(id, 10)); err != nil {
		return nil, err
	}
	p, err := a.Store.ProviderByPK(ctx, id)
	return p, a.storeError(err)
}

func (a *API) getProvider(ctx context.Context, in *providerIDInput) (*struct{ Body *Provider }, error) {
	p, err := a.loadProvider(ctx, permViewProvider, in.ID)
	if err != nil {
		return nil, err
	}
	o, err := a.provider(ctx, p)
	return &struct{ Body *Provider }{Body: o}, err
}

func (a *API) deleteProvider(ctx context.Context, in *providerIDInput) (*noContent, error) {
	p, err := a.loadProvider(ctx, permDeleteProvider, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteProvider(ctx, p.PK); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_core", "provider", p.PK, p.Name}, nil)
	return &noContent{}, nil
}
