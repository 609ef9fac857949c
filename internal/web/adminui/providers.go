package adminui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
)

// OAuth2/OpenID providers: the page with the endpoints to copy (the client
// secret only on request) and the edit form, whose fields the application
// wizard shares.

func init() {
	notices["provider-saved"] = "The provider was saved."
	notices["provider-deleted"] = "The provider was deleted."
}

// nilUUID clears a provider's optional flow or key (the API's convention).
const nilUUID = "00000000-0000-0000-0000-000000000000"

// Choices of an OAuth2 provider's fields (the API's enums).
var (
	clientTypes   = []string{"confidential", "public"}
	subModes      = []string{"hashed_user_id", "user_id", "user_uuid", "user_username", "user_email", "user_upn"}
	issuerModes   = []string{"per_provider", "global"}
	matchingModes = []string{"strict", "regex"}
)

// redirectURI is one allowed redirect URI.
type redirectURI struct {
	MatchingMode string `json:"matching_mode"`
	URL          string `json:"url"`
}

// oauth2Detail is the API's OAuth2Provider.
type oauth2Detail struct {
	PK                      int64         `json:"pk"`
	Name                    string        `json:"name"`
	AssignedApplicationSlug *string       `json:"assigned_application_slug"`
	AssignedApplicationName *string       `json:"assigned_application_name"`
	AuthenticationFlow      *string       `json:"authentication_flow"`
	AuthorizationFlow       *string       `json:"authorization_flow"`
	InvalidationFlow        *string       `json:"invalidation_flow"`
	PropertyMappings        []string      `json:"property_mappings"`
	ClientType              string        `json:"client_type"`
	ClientID                string        `json:"client_id"`
	ClientSecret            string        `json:"client_secret"`
	AccessCodeValidity      string        `json:"access_code_validity"`
	AccessTokenValidity     string        `json:"access_token_validity"`
	RefreshTokenValidity    string        `json:"refresh_token_validity"`
	IncludeClaimsInIDToken  bool          `json:"include_claims_in_id_token"`
	SigningKey              *string       `json:"signing_key"`
	RedirectURIs            []redirectURI `json:"redirect_uris"`
	SubMode                 string        `json:"sub_mode"`
	IssuerMode              string        `json:"issuer_mode"`
}

// oauth2Form is the provider's form: values, choices and errors.
type oauth2Form struct {
	Name, ClientType, ClientID                              string
	AuthorizationFlow, InvalidationFlow, AuthenticationFlow string
	SigningKey                                              string
	AccessCode, AccessToken, RefreshToken                   string
	SubMode, IssuerMode                                     string
	IncludeClaims                                           bool
	Redirects                                               []redirectURI
	Mappings                                                []string
	// Fresh is a new provider's form: the OpenID scopes are preselected.
	Fresh bool
	// Choices.
	AuthzFlows, InvalFlows, AuthnFlows, Keys, Scopes []choice
	ClientTypes, SubModes, IssuerModes, MatchModes   []string
	Errors                                           map[string][]string
}

// Selected reports whether a mapping is selected (for the template).
func (f oauth2Form) Selected(pk string) bool { return slices.Contains(f.Mappings, pk) }

// formOf fills a form from a provider.
func oauth2FormOf(p *oauth2Detail) oauth2Form {
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	return oauth2Form{Name: p.Name, ClientType: p.ClientType, ClientID: p.ClientID, AuthorizationFlow: deref(p.AuthorizationFlow),
		InvalidationFlow: deref(p.InvalidationFlow), AuthenticationFlow: deref(p.AuthenticationFlow), SigningKey: deref(p.SigningKey),
		AccessCode: p.AccessCodeValidity, AccessToken: p.AccessTokenValidity, RefreshToken: p.RefreshTokenValidity,
		SubMode: p.SubMode, IssuerMode: p.IssuerMode, IncludeClaims: p.IncludeClaimsInIDToken, Redirects: p.RedirectURIs,
		Mappings: p.PropertyMappings}
}

// newOAuth2Form is a new provider's form: authentik's defaults.
func newOAuth2Form() oauth2Form {
	return oauth2Form{ClientType: "confidential", AccessCode: "minutes=1", AccessToken: "hours=1", RefreshToken: "days=30",
		SubMode: "hashed_user_id", IssuerMode: "per_provider", IncludeClaims: true, Fresh: true}
}

// readOAuth2Form reads the posted provider fields.
func readOAuth2Form(r *http.Request) oauth2Form {
	pf := r.PostForm
	f := oauth2Form{Name: strings.TrimSpace(pf.Get("provider_name")), ClientType: pf.Get("client_type"),
		AuthorizationFlow: pf.Get("authorization_flow"), InvalidationFlow: pf.Get("invalidation_flow"),
		AuthenticationFlow: pf.Get("authentication_flow"), SigningKey: pf.Get("signing_key"),
		AccessCode: strings.TrimSpace(pf.Get("access_code_validity")), AccessToken: strings.TrimSpace(pf.Get("access_token_validity")),
		RefreshToken: strings.TrimSpace(pf.Get("refresh_token_validity")), SubMode: pf.Get("sub_mode"),
		IssuerMode: pf.Get("issuer_mode"), IncludeClaims: pf.Get("include_claims_in_id_token") == "on",
		Mappings: pf["property_mappings"]}
	modes, urls := pf["redirect_mode"], pf["redirect_url"]
	for i, u := range urls {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		mode := "strict"
		if i < len(modes) && modes[i] == "regex" {
			mode = "regex"
		}
		f.Redirects = append(f.Redirects, redirectURI{MatchingMode: mode, URL: u})
	}
	return f
}

// body is the API request of the form. An optional reference left empty
// is cleared on an update (the nil uuid) and left out on a create.
func (f oauth2Form) body(update bool) map[string]any {
	b := map[string]any{"name": f.Name, "client_type": f.ClientType, "access_code_validity": f.AccessCode,
		"access_token_validity": f.AccessToken, "refresh_token_validity": f.RefreshToken, "sub_mode": f.SubMode,
		"issuer_mode": f.IssuerMode, "include_claims_in_id_token": f.IncludeClaims}
	redirects := f.Redirects
	if redirects == nil {
		redirects = []redirectURI{}
	}
	b["redirect_uris"] = redirects
	mappings := f.Mappings
	if mappings == nil {
		mappings = []string{}
	}
	b["property_mappings"] = mappings
	for key, v := range map[string]string{"authorization_flow": f.AuthorizationFlow, "invalidation_flow": f.InvalidationFlow} {
		if v != "" {
			b[key] = v
		}
	}
	for key, v := range map[string]string{"authentication_flow": f.AuthenticationFlow, "signing_key": f.SigningKey} {
		switch {
		case v != "":
			b[key] = v
		case update:
			b[key] = nilUUID
		}
	}
	return b
}

// fillOAuth2Choices loads the flows, keys and scope mappings the form
// offers.
func (u *UI) fillOAuth2Choices(r *http.Request, f *oauth2Form) error {
	f.ClientTypes, f.SubModes, f.IssuerModes, f.MatchModes = clientTypes, subModes, issuerModes, matchingModes
	// Two empty rows to add redirect URIs without a script.
	f.Redirects = append(slices.Clone(f.Redirects), redirectURI{MatchingMode: "strict"}, redirectURI{MatchingMode: "strict"})
	flows := func(designation, selected string) ([]choice, error) {
		var out struct {
			Results []flow `json:"results"`
		}
		err := u.do(r, http.MethodGet, "/flows/instances/?"+url.Values{"designation": {designation}, "ordering": {"slug"},
			"page_size": {"100"}}.Encode(), nil, &out)
		if err != nil && !forbidden(err) {
			return nil, err
		}
		var cs []choice
		for _, fl := range out.Results {
			cs = append(cs, choice{Value: fl.PK, Label: fl.Name + " (" + fl.Slug + ")", On: fl.PK == selected})
		}
		return cs, nil
	}
	var err error
	if f.AuthzFlows, err = flows("authorization", f.AuthorizationFlow); err != nil {
		return err
	}
	if f.InvalFlows, err = flows("invalidation", f.InvalidationFlow); err != nil {
		return err
	}
	if f.AuthnFlows, err = flows("authentication", f.AuthenticationFlow); err != nil {
		return err
	}
	var keys struct {
		Results []struct {
			PK                  string `json:"pk"`
			Name                string `json:"name"`
			PrivateKeyAvailable bool   `json:"private_key_available"`
		} `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/crypto/certificatekeypairs/?ordering=name&page_size=100", nil, &keys); err != nil && !forbidden(err) {
		return err
	}
	for _, k := range keys.Results {
		if k.PrivateKeyAvailable {
			f.Keys = append(f.Keys, choice{Value: k.PK, Label: k.Name, On: k.PK == f.SigningKey})
		}
	}
	var scopes struct {
		Results []struct {
			PK        string `json:"pk"`
			Name      string `json:"name"`
			ScopeName string `json:"scope_name"`
		} `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/propertymappings/provider/scope/?ordering=scope_name&page_size=100", nil, &scopes); err != nil && !forbidden(err) {
		return err
	}
	for _, s := range scopes.Results {
		on := slices.Contains(f.Mappings, s.PK) || f.Fresh && slices.Contains([]string{"openid", "email", "profile"}, s.ScopeName)
		f.Scopes = append(f.Scopes, choice{Value: s.PK, Label: s.ScopeName + ": " + s.Name, On: on})
	}
	return nil
}

// providerPK is the {id} path parameter, 0 when it is not one.
func providerPK(r *http.Request) int64 {
	n, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

func (u *UI) loadOAuth2(w http.ResponseWriter, r *http.Request) (*oauth2Detail, bool) {
	pk := providerPK(r)
	if pk == 0 {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, false
	}
	var p oauth2Detail
	if err := u.do(r, http.MethodGet, fmt.Sprintf("/providers/oauth2/%d/", pk), nil, &p); err != nil {
		u.fail(w, r, err)
		return nil, false
	}
	return &p, true
}

type oauth2PageData struct {
	P          *oauth2Detail
	Endpoints  []endpoint
	ShowSecret bool
	Redirects  []redirectURI
	Scopes     []choice
}

// oauth2Page shows the provider with its endpoints; ?secret=show adds the
// client secret.
func (u *UI) oauth2Page(w http.ResponseWriter, r *http.Request) {
	p, ok := u.loadOAuth2(w, r)
	if !ok {
		return
	}
	d := oauth2PageData{P: p, ShowSecret: r.URL.Query().Get("secret") == "show" && p.ClientSecret != ""}
	var s setupURLs
	err := u.do(r, http.MethodGet, fmt.Sprintf("/providers/oauth2/%d/setup_urls/", p.PK), nil, &s)
	var ae *apiError
	if err != nil && !(errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusForbidden)) {
		u.fail(w, r, err)
		return
	}
	for _, e := range []endpoint{{"client-id", "Client ID", p.ClientID}, {"issuer", "Issuer", s.Issuer},
		{"discovery", "OpenID configuration", s.ProviderInfo}, {"authorize", "Authorize URL", s.Authorize},
		{"token", "Token URL", s.Token}, {"userinfo", "Userinfo URL", s.UserInfo}, {"jwks", "JWKS URL", s.JWKS},
		{"logout", "Logout URL", s.Logout}} {
		if e.Value != "" {
			d.Endpoints = append(d.Endpoints, e)
		}
	}
	if d.ShowSecret {
		d.Endpoints = append(d.Endpoints, endpoint{"client-secret", "Client secret", p.ClientSecret})
	}
	f := oauth2Form{Mappings: p.PropertyMappings}
	if err := u.fillOAuth2Choices(r, &f); err != nil {
		u.fail(w, r, err)
		return
	}
	for _, c := range f.Scopes {
		if c.On {
			d.Scopes = append(d.Scopes, c)
		}
	}
	u.render(w, r, "oauth2-provider", page{Title: p.Name, Section: "applications", Notice: noticeOf(r), Data: d})
}

type oauth2EditData struct {
	P    *oauth2Detail
	Form oauth2Form
}

func (u *UI) renderOAuth2Edit(w http.ResponseWriter, r *http.Request, p *oauth2Detail, f oauth2Form) {
	if err := u.fillOAuth2Choices(r, &f); err != nil {
		u.fail(w, r, err)
		return
	}
	if len(f.Errors) > 0 {
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "oauth2-edit", page{Title: "Edit " + p.Name, Section: "applications", Data: oauth2EditData{P: p, Form: f}})
}

func (u *UI) editOAuth2(w http.ResponseWriter, r *http.Request) {
	p, ok := u.loadOAuth2(w, r)
	if !ok {
		return
	}
	u.renderOAuth2Edit(w, r, p, oauth2FormOf(p))
}

func (u *UI) saveOAuth2(w http.ResponseWriter, r *http.Request) {
	p, ok := u.loadOAuth2(w, r)
	if !ok {
		return
	}
	f := readOAuth2Form(r)
	err := u.do(r, http.MethodPatch, fmt.Sprintf("/providers/oauth2/%d/", p.PK), f.body(true), nil)
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		f.Errors = providerErrors(errs)
		u.renderOAuth2Edit(w, r, p, f)
	}) {
		return
	}
	back(w, r, fmt.Sprintf("%sproviders/oauth2/%d/", Prefix, p.PK), "provider-saved")
}

// providerErrors renames the API's name error to the form's field.
func providerErrors(errs map[string][]string) map[string][]string {
	if v, ok := errs["name"]; ok {
		errs["provider_name"] = v
		delete(errs, "name")
	}
	return errs
}

func (u *UI) confirmDeleteOAuth2(w http.ResponseWriter, r *http.Request) {
	p, ok := u.loadOAuth2(w, r)
	if !ok {
		return
	}
	text := "Clients using it can no longer sign in. This cannot be undone."
	if p.AssignedApplicationName != nil {
		text = "The application “" + *p.AssignedApplicationName + "” is left without a provider; " + text
	}
	u.render(w, r, "confirm", page{Title: "Delete provider", Section: "applications", Data: confirmation{
		Heading: "Delete the provider “" + p.Name + "”?", Text: text, Action: r.URL.Path, Button: "Delete provider",
		Back: fmt.Sprintf("%sproviders/oauth2/%d/", Prefix, p.PK)}})
}

func (u *UI) deleteOAuth2(w http.ResponseWriter, r *http.Request) {
	p, ok := u.loadOAuth2(w, r)
	if !ok {
		return
	}
	if err := u.do(r, http.MethodDelete, fmt.Sprintf("/providers/oauth2/%d/", p.PK), nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	to := Prefix + "applications/"
	if p.AssignedApplicationSlug != nil {
		to += url.PathEscape(*p.AssignedApplicationSlug) + "/"
	}
	back(w, r, to, "provider-deleted")
}
