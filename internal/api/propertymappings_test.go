package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	oauth2provider "github.com/gatehouse-idp/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// scopeMapping is a scope mapping as the API answers it.
type scopeMapping struct {
	PK                string  `json:"pk"`
	Managed           *string `json:"managed"`
	Name              string  `json:"name"`
	Expression        string  `json:"expression"`
	Component         string  `json:"component"`
	VerboseName       string  `json:"verbose_name"`
	VerboseNamePlural string  `json:"verbose_name_plural"`
	MetaModelName     string  `json:"meta_model_name"`
	ScopeName         string  `json:"scope_name"`
	Description       string  `json:"description"`
}

func TestScopeMappingCRUD(t *testing.T) {
	e := newOAuth2Env(t)
	const base = "/propertymappings/provider/scope/"
	var m scopeMapping
	e.as(apitest.AdminToken, "POST", base, map[string]any{"name": "profile", "scope_name": "profile",
		"description": "General profile information",
		"expression":  "return {\n    \"name\": request.user.name,\n    \"preferred_username\": user.username,\n}"}, http.StatusCreated, &m)
	want := scopeMapping{PK: m.PK, Name: "profile", Expression: m.Expression, Component: "ak-property-mapping-provider-scope-form",
		VerboseName: "Scope Mapping", VerboseNamePlural: "Scope Mappings", MetaModelName: "authentik_providers_oauth2.scopemapping",
		ScopeName: "profile", Description: "General profile information"}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("created (-want +got):\n%s", d)
	}
	path := base + m.PK + "/"
	var got scopeMapping
	e.admin("GET", path, nil, &got)
	if d := cmp.Diff(m, got); d != "" {
		t.Errorf("retrieve (-create +retrieve):\n%s", d)
	}

	// Refused writes, each naming the field.
	bad := []struct {
		name, method, path string
		body               map[string]any
		field              string
	}{
		{"syntax error", "POST", base, map[string]any{"name": "x", "scope_name": "x", "expression": "return {"}, "expression"},
		{"unknown name", "POST", base, map[string]any{"name": "x", "scope_name": "x", "expression": "return {'a': sessionz}"}, "expression"},
		{"import", "POST", base, map[string]any{"name": "x", "scope_name": "x", "expression": "import os\nreturn {}"}, "expression"},
		{"no expression", "POST", base, map[string]any{"name": "x", "scope_name": "x"}, "expression"},
		{"no scope name", "POST", base, map[string]any{"name": "x", "expression": "return {}"}, "scope_name"},
		{"scope name with a space", "POST", base, map[string]any{"name": "x", "scope_name": "a b", "expression": "return {}"}, "scope_name"},
		{"NUL expression", "POST", base, map[string]any{"name": "x", "scope_name": "x", "expression": "\x00"}, "expression"},
		{"NUL description", "PATCH", path, map[string]any{"description": "a\x00"}, "description"},
		{"duplicate name", "POST", base, map[string]any{"name": "profile", "scope_name": "x", "expression": "return {}"}, "name"},
		{"patch with a bad expression", "PATCH", path, map[string]any{"expression": "return token.scope +"}, "expression"},
		{"put without scope name", "PUT", path, map[string]any{"name": "profile", "expression": "return {}"}, "scope_name"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) { e.badRequest(tc.method, tc.path, tc.body, tc.field) })
	}

	// PATCH and PUT; the names scope mappings see (user, provider, token) compile.
	e.admin("PATCH", path, map[string]any{"expression": `return {"sub": user.username, "aud": provider.name, "s": token.scope}`}, &got)
	if got.ScopeName != "profile" || got.Description != "General profile information" || got.Name != "profile" {
		t.Errorf("patch changed other fields: %+v", got)
	}
	e.admin("PUT", path, map[string]any{"name": "profile2", "scope_name": "profile", "expression": "return {}"}, &got)
	if got.Name != "profile2" || got.Description != "General profile information" {
		t.Errorf("after put: %+v", got)
	}

	// A managed mapping can be edited and deleted, as in authentik.
	var managed scopeMapping
	e.admin("POST", base, map[string]any{"name": "openid", "scope_name": "openid", "expression": "return {}",
		"managed": "goauthentik.io/providers/oauth2/scope-openid"}, &managed)
	if managed.Managed == nil || *managed.Managed != "goauthentik.io/providers/oauth2/scope-openid" {
		t.Fatalf("managed %v", managed.Managed)
	}
	e.admin("PATCH", base+managed.PK+"/", map[string]any{"description": "OpenID"}, &got)
	if got.Managed == nil || got.Description != "OpenID" {
		t.Errorf("managed after patch: %+v", got)
	}
	e.as(apitest.AdminToken, "DELETE", base+managed.PK+"/", nil, http.StatusNoContent, nil)

	// A deleted mapping leaves the providers that used it.
	var p oauth2Provider
	e.admin("POST", "/providers/oauth2/", e.oauth2Body("uses-it", map[string]any{"property_mappings": []string{m.PK, e.scope}}), &p)
	e.as(apitest.AdminToken, "DELETE", path, nil, http.StatusNoContent, nil)
	e.as(apitest.AdminToken, "GET", path, nil, http.StatusNotFound, nil)
	e.admin("GET", "/providers/oauth2/"+strconv.FormatInt(p.PK, 10)+"/", nil, &p)
	if d := cmp.Diff([]string{e.scope}, p.PropertyMappings); d != "" {
		t.Errorf("provider's property_mappings after delete (-want +got):\n%s", d)
	}

	// The provider's default mappings can be saved back unchanged: the API
	// compiles expressions as the provider runs them.
	if _, err := oauth2provider.EnsureScopeMappings(context.Background(), e.srv.Store); err != nil {
		t.Fatal(err)
	}
	var defaults struct {
		Results []scopeMapping `json:"results"`
	}
	e.admin("GET", base+"?managed="+url.QueryEscape(oauth2provider.ManagedScopeProfile), nil, &defaults)
	if len(defaults.Results) != 1 || defaults.Results[0].ScopeName != "profile" {
		t.Fatalf("?managed= found %+v", defaults.Results)
	}
	d := defaults.Results[0]
	e.admin("PUT", base+d.PK+"/", map[string]any{"name": d.Name, "scope_name": d.ScopeName, "expression": d.Expression,
		"description": d.Description, "managed": *d.Managed}, &got)
	if got.Expression != d.Expression || got.Managed == nil || *got.Managed != oauth2provider.ManagedScopeProfile {
		t.Errorf("default mapping after put: %+v", got)
	}
}

func TestScopeMappingList(t *testing.T) {
	e := newOAuth2Env(t) // has "email"
	for _, m := range []struct{ name, scope string }{{"openid", "openid"}, {"profile", "profile"}, {"groups", "profile"}} {
		e.admin("POST", "/propertymappings/provider/scope/", map[string]any{"name": m.name, "scope_name": m.scope, "expression": "return {}"}, nil)
	}
	// Another type of mapping is in /all/ only.
	if err := e.srv.Store.CreatePropertyMapping(context.Background(), &store.PropertyMapping{Name: "saml-upn", Type: "saml",
		Expression: "return user.email"}); err != nil {
		t.Fatal(err)
	}
	names := func(path string) []string {
		t.Helper()
		var l struct {
			Results []scopeMapping `json:"results"`
		}
		e.admin("GET", path, nil, &l)
		out := []string{}
		for _, r := range l.Results {
			out = append(out, r.Name)
		}
		return out
	}
	tests := []struct {
		path string
		want []string
	}{
		{"/propertymappings/provider/scope/", []string{"email", "openid", "groups", "profile"}},
		{"/propertymappings/provider/scope/?search=PROF", []string{"groups", "profile"}},
		{"/propertymappings/provider/scope/?scope_name=profile", []string{"groups", "profile"}},
		{"/propertymappings/provider/scope/?name=openid", []string{"openid"}},
		{"/propertymappings/provider/scope/?ordering=-name", []string{"profile", "openid", "groups", "email"}},
		{"/propertymappings/provider/scope/?page_size=3&page=2", []string{"profile"}},
		{"/propertymappings/all/", []string{"email", "groups", "openid", "profile", "saml-upn"}},
		{"/propertymappings/all/?search=saml", []string{"saml-upn"}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			if d := cmp.Diff(tc.want, names(tc.path)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	e.badRequest("GET", "/propertymappings/provider/scope/?ordering=expression", nil, "ordering")
	e.badRequest("GET", "/propertymappings/all/?ordering=expression", nil, "ordering")
	e.badRequest("GET", "/propertymappings/all/?search=%00", nil, "search")

	// /all/ shows each type's component; retrieve and delete there too.
	var all scopeMapping
	e.admin("GET", "/propertymappings/all/"+e.scope+"/", nil, &all)
	if all.Component != "ak-property-mapping-provider-scope-form" || all.MetaModelName != "authentik_providers_oauth2.scopemapping" {
		t.Errorf("all/ retrieve: %+v", all)
	}
	e.as(apitest.AdminToken, "DELETE", "/propertymappings/all/"+e.scope+"/", nil, http.StatusNoContent, nil)
	e.as(apitest.AdminToken, "GET", "/propertymappings/provider/scope/"+e.scope+"/", nil, http.StatusNotFound, nil)

	// Permissions: nothing without them; view_scopemapping lists scope mappings.
	var l struct {
		Results []scopeMapping `json:"results"`
	}
	e.as(e.aliceTk, "GET", "/propertymappings/provider/scope/", nil, http.StatusOK, &l)
	if len(l.Results) != 0 {
		t.Errorf("alice without permissions sees %d mappings", len(l.Results))
	}
	e.as(e.aliceTk, "POST", "/propertymappings/provider/scope/", map[string]any{"name": "x", "scope_name": "x", "expression": "return {}"},
		http.StatusForbidden, nil)
	e.grant(e.alice, "authentik_providers_oauth2.view_scopemapping")
	e.as(e.aliceTk, "GET", "/propertymappings/provider/scope/", nil, http.StatusOK, &l)
	if len(l.Results) != 3 {
		t.Errorf("alice with view_scopemapping sees %d mappings, want 3", len(l.Results))
	}
	e.as(e.aliceTk, "GET", "/propertymappings/all/", nil, http.StatusOK, &l)
	if len(l.Results) != 0 {
		t.Errorf("alice without view_propertymapping sees %d in all/", len(l.Results))
	}
}
