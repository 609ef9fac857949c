package api

// Property mappings (/propertymappings/all/) and OAuth2 scope mappings
// (/propertymappings/provider/scope/), with authentik's paths and fields.

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	oauth2provider "github.com/gatehouse-idp/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewPropertyMapping   = "authentik_core.view_propertymapping"
	permDeletePropertyMapping = "authentik_core.delete_propertymapping"
	permViewScopeMapping      = "authentik_providers_oauth2.view_scopemapping"
	permAddScopeMapping       = "authentik_providers_oauth2.add_scopemapping"
	permChangeScopeMapping    = "authentik_providers_oauth2.change_scopemapping"
	permDeleteScopeMapping    = "authentik_providers_oauth2.delete_scopemapping"
)

func init() {
	// Roles can hold the base model's permissions (rbac.go's registry); the
	// scope mapping's are with the OAuth2 models (oauth2.go).
	permissionModels = append(permissionModels,
		permModel{"authentik_core", "propertymapping", "Property Mapping", nil})
}

// scopeMappingType is the store type of an OAuth2 scope mapping.
const scopeMappingType = "scope"

// mappingKind is how a mapping type presents itself (authentik's
// component, verbose_name and meta_model_name).
type mappingKind struct{ component, verbose, model string }

var mappingKinds = map[string]mappingKind{
	scopeMappingType: {"ak-property-mapping-provider-scope-form", "Scope Mapping", "authentik_providers_oauth2.scopemapping"},
}

func mappingKindOf(typ string) mappingKind {
	if k, ok := mappingKinds[typ]; ok {
		return k
	}
	return mappingKind{"ak-property-mapping-" + typ + "-form", typ + " Mapping", "authentik_core.propertymapping"}
}

// PropertyMapping is authentik's PropertyMappingSerializer, the fields
// every mapping type has.
type PropertyMapping struct {
	PK                uuid.UUID `json:"pk"`
	Managed           *string   `json:"managed" doc:"Objects that are managed by Gatehouse (a built-in mapping's stable id); they can still be edited"`
	Name              string    `json:"name"`
	Expression        string    `json:"expression"`
	Component         string    `json:"component"`
	VerboseName       string    `json:"verbose_name"`
	VerboseNamePlural string    `json:"verbose_name_plural"`
	MetaModelName     string    `json:"meta_model_name"`
}

// ScopeMapping is authentik's ScopeMappingSerializer.
type ScopeMapping struct {
	PropertyMapping
	ScopeName   string `json:"scope_name" doc:"Scope name requested by the client"`
	Description string `json:"description" doc:"Description shown to the user when consenting. If left empty, the user won't be informed."`
}

// ScopeMappingRequest creates, replaces or (all optional) patches a scope
// mapping. Create and replace need name, expression and scope_name.
type ScopeMappingRequest struct {
	Managed     *string `json:"managed,omitempty" maxLength:"200" doc:"A stable id for the mapping; the empty string removes it"`
	Name        *string `json:"name,omitempty" minLength:"1" maxLength:"250"`
	Expression  *string `json:"expression,omitempty" minLength:"1" maxLength:"65536" doc:"Returns a dict of claims; sees user, provider, token and request"`
	ScopeName   *string `json:"scope_name,omitempty" minLength:"1" maxLength:"250" doc:"Scope name requested by the client"`
	Description *string `json:"description,omitempty" maxLength:"1000" doc:"Description shown to the user when consenting. If left empty, the user won't be informed."`
}

// PMUUIDInput is the path parameter. Exported because input structs embed
// it: huma ignores unexported embedded fields.
type PMUUIDInput struct {
	PMUUID uuid.UUID `path:"pm_uuid" doc:"A UUID string identifying this property mapping."`
}

type scopeMappingListInput struct {
	ListParams
	ScopeName string `query:"scope_name" maxLength:"250" doc:"Only mappings of this scope name"`
	Name      string `query:"name" maxLength:"250"`
	Managed   string `query:"managed" maxLength:"200"`
}

type scopeMappingOutput struct{ Body *ScopeMapping }

type scopeMappingInput struct {
	PMUUIDInput
	Body ScopeMappingRequest
}

func (a *API) registerPropertyMappings() {
	const tag = "propertymappings"
	all := "/propertymappings/all/"
	huma.Register(a.huma, op(http.MethodGet, all, "propertymappings_all_list", tag, "List property mappings of every type", 200), a.listPropertyMappings)
	huma.Register(a.huma, op(http.MethodGet, all+"{pm_uuid}/", "propertymappings_all_retrieve", tag, "Get a property mapping", 200, 404), a.getPropertyMapping)
	huma.Register(a.huma, op(http.MethodDelete, all+"{pm_uuid}/", "propertymappings_all_destroy", tag, "Delete a property mapping", 204, 404), a.deletePropertyMapping)
	scope := "/propertymappings/provider/scope/"
	huma.Register(a.huma, op(http.MethodGet, scope, "propertymappings_provider_scope_list", tag, "List OAuth2 scope mappings", 200), a.listScopeMappings)
	huma.Register(a.huma, op(http.MethodPost, scope, "propertymappings_provider_scope_create", tag, "Create an OAuth2 scope mapping", 201), a.createScopeMapping)
	huma.Register(a.huma, op(http.MethodGet, scope+"{pm_uuid}/", "propertymappings_provider_scope_retrieve", tag, "Get a scope mapping", 200, 404), a.getScopeMapping)
	huma.Register(a.huma, op(http.MethodPut, scope+"{pm_uuid}/", "propertymappings_provider_scope_update", tag, "Replace a scope mapping", 200, 404), a.replaceScopeMapping)
	huma.Register(a.huma, op(http.MethodPatch, scope+"{pm_uuid}/", "propertymappings_provider_scope_partial_update", tag, "Update a scope mapping", 200, 404), a.patchScopeMapping)
	huma.Register(a.huma, op(http.MethodDelete, scope+"{pm_uuid}/", "propertymappings_provider_scope_destroy", tag, "Delete a scope mapping", 204, 404), a.deleteScopeMapping)
}

func propertyMappingOut(m *store.PropertyMapping) PropertyMapping {
	k := mappingKindOf(m.Type)
	return PropertyMapping{PK: m.UUID, Managed: m.Managed, Name: m.Name, Expression: m.Expression, Component: k.component,
		VerboseName: k.verbose, VerboseNamePlural: k.verbose + "s", MetaModelName: k.model}
}

func scopeMappingOut(m *store.PropertyMapping) *ScopeMapping {
	name, _ := m.Settings["scope_name"].(string)
	desc, _ := m.Settings["description"].(string)
	return &ScopeMapping{PropertyMapping: propertyMappingOut(m), ScopeName: name, Description: desc}
}

func (a *API) listPropertyMappings(ctx context.Context, in *ListParams) (*listOf[PropertyMapping], error) {
	only, err := a.visible(ctx, permViewPropertyMapping)
	if err != nil {
		return nil, err
	}
	if err := noNUL(textField{"search", &in.Search}); err != nil {
		return nil, err
	}
	ms, total, err := a.Store.ListPropertyMappings(ctx, "", in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[PropertyMapping]{}
	out.Body.Results = []PropertyMapping{}
	for _, m := range ms {
		out.Body.Results = append(out.Body.Results, propertyMappingOut(m))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(*in, total, len(ms)), Autocomplete{}
	return out, nil
}

// loadPropertyMapping checks perm on the mapping (404 when the caller may
// not view it), loads it and, with typ set, requires that type.
func (a *API) loadPropertyMapping(ctx context.Context, perm, viewPerm, typ string, id uuid.UUID) (*store.PropertyMapping, error) {
	if err := a.check(ctx, perm, viewPerm, id.String()); err != nil {
		return nil, err
	}
	m, err := a.Store.PropertyMappingByUUID(ctx, id)
	if err != nil {
		return nil, a.storeError(err)
	}
	if typ != "" && m.Type != typ {
		return nil, errNotFound
	}
	return m, nil
}

func (a *API) getPropertyMapping(ctx context.Context, in *PMUUIDInput) (*struct{ Body PropertyMapping }, error) {
	m, err := a.loadPropertyMapping(ctx, permViewPropertyMapping, permViewPropertyMapping, "", in.PMUUID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body PropertyMapping }{Body: propertyMappingOut(m)}, nil
}

func (a *API) deletePropertyMapping(ctx context.Context, in *PMUUIDInput) (*noContent, error) {
	m, err := a.loadPropertyMapping(ctx, permDeletePropertyMapping, permViewPropertyMapping, "", in.PMUUID)
	if err != nil {
		return nil, err
	}
	return a.removePropertyMapping(ctx, m)
}

// removePropertyMapping deletes m. Providers listing it stop listing it.
// Managed mappings can be deleted too, as in authentik.
func (a *API) removePropertyMapping(ctx context.Context, m *store.PropertyMapping) (*noContent, error) {
	if err := a.Store.DeletePropertyMapping(ctx, m.UUID); err != nil {
		return nil, a.storeError(err)
	}
	app, model, _ := strings.Cut(mappingKindOf(m.Type).model, ".")
	a.audit(ctx, actionModelDeleted, modelRef{app, model, m.UUID.String(), m.Name}, nil)
	return &noContent{}, nil
}

// listScopeMappings lists in memory (scope mappings are few): authentik
// searches name and scope_name and filters on scope_name, name and managed,
// which the store's list does not.
func (a *API) listScopeMappings(ctx context.Context, in *scopeMappingListInput) (*listOf[*ScopeMapping], error) {
	only, err := a.visible(ctx, permViewScopeMapping)
	if err != nil {
		return nil, err
	}
	var order func(x, y *ScopeMapping) int
	switch strings.TrimPrefix(in.Ordering, "-") {
	case "", "scope_name":
		order = func(x, y *ScopeMapping) int {
			return cmp.Or(strings.Compare(x.ScopeName, y.ScopeName), strings.Compare(x.Name, y.Name))
		}
	case "name":
		order = func(x, y *ScopeMapping) int { return strings.Compare(x.Name, y.Name) }
	default:
		return nil, fieldError("ordering", "cannot order by "+in.Ordering)
	}
	var match []*ScopeMapping
	const batch = 500
	for offset := 0; ; offset += batch {
		ms, _, err := a.Store.ListPropertyMappings(ctx, scopeMappingType,
			store.ListOptions{Only: only, Page: store.Page{Offset: offset, Limit: batch}})
		if err != nil {
			return nil, a.storeError(err)
		}
		for _, m := range ms {
			s := scopeMappingOut(m)
			if (in.Search == "" || containsFold(s.Name+"\x00"+s.ScopeName, in.Search)) &&
				(in.ScopeName == "" || s.ScopeName == in.ScopeName) && (in.Name == "" || s.Name == in.Name) &&
				(in.Managed == "" || (s.Managed != nil && *s.Managed == in.Managed)) {
				match = append(match, s)
			}
		}
		if len(ms) < batch {
			break
		}
	}
	slices.SortStableFunc(match, order)
	if strings.HasPrefix(in.Ordering, "-") {
		slices.Reverse(match)
	}
	from, to := in.window(len(match))
	out := &listOf[*ScopeMapping]{}
	out.Body.Results = append([]*ScopeMapping{}, match[from:to]...)
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, len(match), to-from), Autocomplete{}
	return out, nil
}

// applyScopeMapping validates the fields r sets and writes them into m. The
// expression must compile as the OAuth2 provider runs it (with user,
// provider and token).
func applyScopeMapping(m *store.PropertyMapping, r ScopeMappingRequest) error {
	if err := noNUL(textField{"managed", r.Managed}, textField{"name", r.Name}, textField{"expression", r.Expression},
		textField{"scope_name", r.ScopeName}, textField{"description", r.Description}); err != nil {
		return err
	}
	if m.Settings == nil {
		m.Settings = store.Attributes{}
	}
	if r.Managed != nil {
		if *r.Managed == "" {
			m.Managed = nil
		} else {
			v := *r.Managed
			m.Managed = &v
		}
	}
	if r.Name != nil {
		m.Name = *r.Name
	}
	if r.Expression != nil {
		if _, err := oauth2provider.CompileScopeMapping(*r.Expression); err != nil {
			return fieldError("expression", err.Error())
		}
		m.Expression = *r.Expression
	}
	if r.ScopeName != nil {
		if strings.ContainsAny(*r.ScopeName, " \t\r\n") {
			return fieldError("scope_name", "A scope name has no spaces (RFC 6749 §3.3).")
		}
		m.Settings["scope_name"] = *r.ScopeName
	}
	if r.Description != nil {
		m.Settings["description"] = *r.Description
	}
	return nil
}

// requiredScopeMapping checks the fields authentik requires on create and replace.
func requiredScopeMapping(r ScopeMappingRequest) error {
	switch {
	case r.Name == nil:
		return fieldError("name", "This field is required.")
	case r.Expression == nil:
		return fieldError("expression", "This field is required.")
	case r.ScopeName == nil:
		return fieldError("scope_name", "This field is required.")
	}
	return nil
}

func (a *API) createScopeMapping(ctx context.Context, in *struct{ Body ScopeMappingRequest }) (*scopeMappingOutput, error) {
	if _, err := a.require(ctx, permAddScopeMapping, ""); err != nil {
		return nil, err
	}
	if err := requiredScopeMapping(in.Body); err != nil {
		return nil, err
	}
	m := &store.PropertyMapping{Type: scopeMappingType, Settings: store.Attributes{"description": ""}}
	if err := applyScopeMapping(m, in.Body); err != nil {
		return nil, err
	}
	if err := a.Store.CreatePropertyMapping(ctx, m); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_providers_oauth2", "scopemapping", m.UUID.String(), m.Name}, nil)
	return &scopeMappingOutput{Body: scopeMappingOut(m)}, nil
}

func (a *API) getScopeMapping(ctx context.Context, in *PMUUIDInput) (*scopeMappingOutput, error) {
	m, err := a.loadPropertyMapping(ctx, permViewScopeMapping, permViewScopeMapping, scopeMappingType, in.PMUUID)
	if err != nil {
		return nil, err
	}
	return &scopeMappingOutput{Body: scopeMappingOut(m)}, nil
}

func (a *API) replaceScopeMapping(ctx context.Context, in *scopeMappingInput) (*scopeMappingOutput, error) {
	if err := requiredScopeMapping(in.Body); err != nil {
		return nil, err
	}
	return a.updateScopeMapping(ctx, in.PMUUID, in.Body)
}

func (a *API) patchScopeMapping(ctx context.Context, in *scopeMappingInput) (*scopeMappingOutput, error) {
	return a.updateScopeMapping(ctx, in.PMUUID, in.Body)
}

// updateScopeMapping changes a mapping, managed ones included (authentik
// allows it; a blueprint may later overwrite a managed mapping).
func (a *API) updateScopeMapping(ctx context.Context, id uuid.UUID, r ScopeMappingRequest) (*scopeMappingOutput, error) {
	m, err := a.loadPropertyMapping(ctx, permChangeScopeMapping, permViewScopeMapping, scopeMappingType, id)
	if err != nil {
		return nil, err
	}
	before := scopeMappingOut(m)
	if err := applyScopeMapping(m, r); err != nil {
		return nil, err
	}
	if err := a.Store.UpdatePropertyMapping(ctx, m); err != nil {
		return nil, a.storeError(err)
	}
	after := scopeMappingOut(m)
	if d := diff(before, after); len(d) > 0 {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_providers_oauth2", "scopemapping", m.UUID.String(), m.Name},
			map[string]any{"diff": d})
	}
	return &scopeMappingOutput{Body: after}, nil
}

func (a *API) deleteScopeMapping(ctx context.Context, in *PMUUIDInput) (*noContent, error) {
	m, err := a.loadPropertyMapping(ctx, permDeleteScopeMapping, permViewScopeMapping, scopeMappingType, in.PMUUID)
	if err != nil {
		return nil, err
	}
	return a.removePropertyMapping(ctx, m)
}
