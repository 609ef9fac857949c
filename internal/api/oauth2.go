package api

// OAuth2/OpenID Connect providers (/providers/oauth2/) and the grants they
// issue (/oauth2/authorization_codes/, access_tokens/, refresh_tokens/), with
// authentik's paths, field names and semantics.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogin"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

const (
	permViewOAuth2Provider   = "authentik_providers_oauth2.view_oauth2provider"
	permAddOAuth2Provider    = "authentik_providers_oauth2.add_oauth2provider"
	permChangeOAuth2Provider = "authentik_providers_oauth2.change_oauth2provider"
	permDeleteOAuth2Provider = "authentik_providers_oauth2.delete_oauth2provider"
)

func init() {
	// Roles can hold the OAuth2 models' permissions (rbac.go's registry).
	permissionModels = append(permissionModels,
		permModel{"authentik_providers_oauth2", "oauth2provider", "OAuth2/OpenID Provider", nil},
		permModel{"authentik_providers_oauth2", "scopemapping", "Scope Mapping", nil},
		permModel{"authentik_providers_oauth2", "authorizationcode", "Authorization Code", nil},
		permModel{"authentik_providers_oauth2", "accesstoken", "OAuth2 Access Token", nil},
		permModel{"authentik_providers_oauth2", "refreshtoken", "OAuth2 Refresh Token", nil},
	)
}

// Lengths of generated credentials, as authentik's generate_id and
// generate_key.
const (
	clientIDLength     = 40
	clientSecretLength = 128
)

// maxValidity bounds the validity durations: a token's expiry must stay a
// representable time.
const maxValidity = 100 * 365 * 24 * time.Hour

// RedirectURI is one allowed redirect URI (authentik's RedirectURISerializer).
type RedirectURI struct {
	MatchingMode    string `json:"matching_mode" enum:"strict,regex" doc:"strict compares the whole URI; regex matches it against url, a regular expression (RE2 syntax)"`
	URL             string `json:"url" minLength:"1" maxLength:"2000"`
	RedirectURIType string `json:"redirect_uri_type,omitempty" enum:"authorization,logout" doc:"authorization (the default) or logout (post_logout_redirect_uri)"`
}

// OAuth2Provider is authentik's OAuth2ProviderSerializer. client_secret is
// part of it, as in authentik: only callers allowed to view the provider see it.
type OAuth2Provider struct {
	Provider
	ClientType             string        `json:"client_type" enum:"confidential,public"`
	ClientID               string        `json:"client_id"`
	ClientSecret           string        `json:"client_secret"`
	AccessCodeValidity     string        `json:"access_code_validity"`
	AccessTokenValidity    string        `json:"access_token_validity"`
	RefreshTokenValidity   string        `json:"refresh_token_validity"`
	RefreshTokenThreshold  string        `json:"refresh_token_threshold"`
	IncludeClaimsInIDToken bool          `json:"include_claims_in_id_token"`
	SigningKey             *uuid.UUID    `json:"signing_key" nullable:"true"`
	EncryptionKey          *uuid.UUID    `json:"encryption_key" nullable:"true"`
	RedirectURIs           []RedirectURI `json:"redirect_uris"`
	LogoutURI              string        `json:"logout_uri"`
	LogoutMethod           string        `json:"logout_method" enum:"backchannel,frontchannel"`
	SubMode                string        `json:"sub_mode" enum:"hashed_user_id,user_id,user_uuid,user_username,user_email,user_upn"`
	IssuerMode             string        `json:"issuer_mode" enum:"global,per_provider"`
	JWTFederationSources   []uuid.UUID   `json:"jwt_federation_sources" doc:"Not supported by Gatehouse: always empty"`
	JWTFederationProviders []int64       `json:"jwt_federation_providers" doc:"Not supported by Gatehouse: always empty"`
}

// OAuth2ProviderRequest creates, replaces or (all optional) patches an
// OAuth2 provider. Create and replace need name, authorization_flow and
// invalidation_flow. An absent client_id is generated (40 letters and
// digits), as is an absent client_secret of a confidential client (128). The
// nil uuid clears authentication_flow, signing_key and encryption_key.
type OAuth2ProviderRequest struct {
	Name                   *string        `json:"name,omitempty" minLength:"1" maxLength:"250"`
	AuthenticationFlow     *uuid.UUID     `json:"authentication_flow,omitempty" doc:"The nil uuid removes it"`
	AuthorizationFlow      *uuid.UUID     `json:"authorization_flow,omitempty"`
	InvalidationFlow       *uuid.UUID     `json:"invalidation_flow,omitempty"`
	PropertyMappings       *[]uuid.UUID   `json:"property_mappings,omitempty" maxItems:"100" doc:"Scope mappings (propertymappings/provider/scope/)"`
	ClientType             *string        `json:"client_type,omitempty" enum:"confidential,public"`
	ClientID               *string        `json:"client_id,omitempty" minLength:"1" maxLength:"255"`
	ClientSecret           *string        `json:"client_secret,omitempty" maxLength:"255"`
	AccessCodeValidity     *string        `json:"access_code_validity,omitempty" minLength:"1" maxLength:"100" doc:"Access codes not valid on or after current time + this value; timedelta format (hours=1;minutes=2;seconds=3; also weeks, days)"`
	AccessTokenValidity    *string        `json:"access_token_validity,omitempty" minLength:"1" maxLength:"100" doc:"Tokens not valid on or after current time + this value; timedelta format (hours=1;minutes=2;seconds=3; also weeks, days)"`
	RefreshTokenValidity   *string        `json:"refresh_token_validity,omitempty" minLength:"1" maxLength:"100" doc:"Tokens not valid on or after current time + this value; timedelta format (hours=1;minutes=2;seconds=3; also weeks, days)"`
	RefreshTokenThreshold  *string        `json:"refresh_token_threshold,omitempty" minLength:"1" maxLength:"100" doc:"When refreshing a token, a new refresh token is issued if the current one expires within this duration; timedelta format (hours=1;minutes=2;seconds=3; also weeks, days)"`
	IncludeClaimsInIDToken *bool          `json:"include_claims_in_id_token,omitempty"`
	SigningKey             *uuid.UUID     `json:"signing_key,omitempty" doc:"A certificate-key pair with a private key; the nil uuid removes it (HS256 with the client secret)"`
	EncryptionKey          *uuid.UUID     `json:"encryption_key,omitempty" doc:"A certificate-key pair with a private key; the nil uuid removes it"`
	RedirectURIs           *[]RedirectURI `json:"redirect_uris,omitempty" maxItems:"100"`
	LogoutURI              *string        `json:"logout_uri,omitempty" maxLength:"2000"`
	LogoutMethod           *string        `json:"logout_method,omitempty" enum:"backchannel,frontchannel"`
	SubMode                *string        `json:"sub_mode,omitempty" enum:"hashed_user_id,user_id,user_uuid,user_username,user_email,user_upn"`
	IssuerMode             *string        `json:"issuer_mode,omitempty" enum:"global,per_provider"`
	JWTFederationSources   *[]uuid.UUID   `json:"jwt_federation_sources,omitempty" maxItems:"100" doc:"Not supported by Gatehouse: only an empty list is accepted"`
	JWTFederationProviders *[]int64       `json:"jwt_federation_providers,omitempty" maxItems:"100" doc:"Not supported by Gatehouse: only an empty list is accepted"`
}

// OAuth2ProviderSetupURLs is authentik's OAuth2ProviderSetupURLs.
type OAuth2ProviderSetupURLs struct {
	Issuer       string `json:"issuer"`
	Authorize    string `json:"authorize"`
	Token        string `json:"token"`
	UserInfo     string `json:"user_info"`
	ProviderInfo string `json:"provider_info"`
	Logout       string `json:"logout"`
	JWKS         string `json:"jwks"`
}

type oauth2ProviderOutput struct{ Body *OAuth2Provider }

// OAuth2ProviderIDInput is the path parameter. Exported because input
// structs embed it: huma ignores unexported embedded fields.
type OAuth2ProviderIDInput struct {
	ID int64 `path:"id" doc:"A unique integer value identifying this OAuth2/OpenID Provider."`
}

type oauth2ProviderInput struct {
	OAuth2ProviderIDInput
	Body OAuth2ProviderRequest
}

func (a *API) registerOAuth2() {
	const tag = "providers"
	base := "/providers/oauth2/"
	huma.Register(a.huma, op(http.MethodGet, base, "providers_oauth2_list", tag, "List OAuth2/OpenID providers", 200), a.listOAuth2Providers)
	huma.Register(a.huma, op(http.MethodPost, base, "providers_oauth2_create", tag, "Create an OAuth2/OpenID provider", 201), a.createOAuth2Provider)
	huma.Register(a.huma, op(http.MethodGet, base+"{id}/", "providers_oauth2_retrieve", tag, "Get an OAuth2/OpenID provider", 200, 404), a.getOAuth2Provider)
	huma.Register(a.huma, op(http.MethodPut, base+"{id}/", "providers_oauth2_update", tag, "Replace an OAuth2/OpenID provider", 200, 404), a.replaceOAuth2Provider)
	huma.Register(a.huma, op(http.MethodPatch, base+"{id}/", "providers_oauth2_partial_update", tag, "Update an OAuth2/OpenID provider", 200, 404), a.patchOAuth2Provider)
	huma.Register(a.huma, op(http.MethodDelete, base+"{id}/", "providers_oauth2_destroy", tag, "Delete an OAuth2/OpenID provider", 204, 404), a.deleteOAuth2Provider)
	huma.Register(a.huma, op(http.MethodGet, base+"{id}/setup_urls/", "providers_oauth2_setup_urls_retrieve", tag,
		"The provider's endpoint URLs (404 when no application uses it)", 200, 404), a.oauth2SetupURLs)
	a.registerOAuth2Tokens()
}

// oauth2Provider renders p. property_mappings lists only mappings that
// still exist (a deleted mapping is gone from every provider, as authentik's
// many-to-many table).
func (a *API) oauth2Provider(ctx context.Context, p *store.OAuth2Provider) (*OAuth2Provider, error) {
	base, err := a.provider(ctx, p.Provider)
	if err != nil {
		return nil, err
	}
	maps, err := a.Store.PropertyMappingsByUUID(ctx, p.PropertyMappings)
	if err != nil {
		return nil, a.storeError(err)
	}
	exists := make(map[uuid.UUID]bool, len(maps))
	for _, m := range maps {
		exists[m.UUID] = true
	}
	for _, id := range p.PropertyMappings {
		if exists[id] {
			base.PropertyMappings = append(base.PropertyMappings, id.String())
		}
	}
	o := &OAuth2Provider{Provider: *base, ClientType: p.ClientType, ClientID: p.ClientID, ClientSecret: p.ClientSecret,
		AccessCodeValidity: p.AccessCodeValidity, AccessTokenValidity: p.AccessTokenValidity,
		RefreshTokenValidity: p.RefreshTokenValidity, RefreshTokenThreshold: p.RefreshTokenThreshold,
		IncludeClaimsInIDToken: p.IncludeClaimsInIDToken, SigningKey: p.SigningKey, EncryptionKey: p.EncryptionKey,
		RedirectURIs: []RedirectURI{}, LogoutURI: p.LogoutURI, LogoutMethod: p.LogoutMethod, SubMode: p.SubMode,
		IssuerMode: p.IssuerMode, JWTFederationSources: []uuid.UUID{}, JWTFederationProviders: []int64{}}
	for _, r := range p.RedirectURIs {
		typ := r.Type
		if typ == "" {
			typ = "authorization"
		}
		o.RedirectURIs = append(o.RedirectURIs, RedirectURI{MatchingMode: r.MatchingMode, URL: r.URL, RedirectURIType: typ})
	}
	return o, nil
}

func (a *API) listOAuth2Providers(ctx context.Context, in *ListParams) (*listOf[*OAuth2Provider], error) {
	only, err := a.visible(ctx, permViewOAuth2Provider)
	if err != nil {
		return nil, err
	}
	if err := noNUL(textField{"search", &in.Search}); err != nil {
		return nil, err
	}
	o := in.options(only)
	if o.Ordering == "" {
		o.Ordering = "name" // authentik's default ordering
	}
	ps, total, err := a.Store.ListOAuth2Providers(ctx, o)
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[*OAuth2Provider]{}
	out.Body.Results = []*OAuth2Provider{}
	for _, p := range ps {
		r, err := a.oauth2Provider(ctx, p)
		if err != nil {
			return nil, err
		}
		out.Body.Results = append(out.Body.Results, r)
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(*in, total, len(ps)), Autocomplete{}
	return out, nil
}

func (a *API) createOAuth2Provider(ctx context.Context, in *struct{ Body OAuth2ProviderRequest }) (*oauth2ProviderOutput, error) {
	if _, err := a.require(ctx, permAddOAuth2Provider, ""); err != nil {
		return nil, err
	}
	if err := requiredOAuth2(in.Body); err != nil {
		return nil, err
	}
	p := &store.OAuth2Provider{Provider: &store.Provider{Type: "oauth2"}, ClientType: "confidential",
		IncludeClaimsInIDToken: true}
	if err := a.applyOAuth2(ctx, p, in.Body); err != nil {
		return nil, err
	}
	if p.ClientID == "" {
		p.ClientID = randomAlphanumeric(clientIDLength)
	}
	if err := a.Store.CreateOAuth2Provider(ctx, p); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_providers_oauth2", "oauth2provider", p.ProviderPK, p.Provider.Name}, nil)
	o, err := a.oauth2Provider(ctx, p)
	return &oauth2ProviderOutput{Body: o}, err
}

// requiredOAuth2 checks the fields authentik requires on create and replace.
func requiredOAuth2(r OAuth2ProviderRequest) error {
	switch {
	case r.Name == nil:
		return fieldError("name", "This field is required.")
	case r.AuthorizationFlow == nil:
		return fieldError("authorization_flow", "This field is required.")
	case r.InvalidationFlow == nil:
		return fieldError("invalidation_flow", "This field is required.")
	}
	return nil
}

// loadOAuth2Provider checks perm on the provider (404 when the caller may
// not even view it) and loads it.
func (a *API) loadOAuth2Provider(ctx context.Context, perm string, id int64) (*store.OAuth2Provider, error) {
	if err := a.check(ctx, perm, permViewOAuth2Provider, strconv.FormatInt(id, 10)); err != nil {
		return nil, err
	}
	p, err := a.Store.OAuth2ProviderByPK(ctx, id)
	return p, a.storeError(err)
}

func (a *API) getOAuth2Provider(ctx context.Context, in *OAuth2ProviderIDInput) (*oauth2ProviderOutput, error) {
	p, err := a.loadOAuth2Provider(ctx, permViewOAuth2Provider, in.ID)
	if err != nil {
		return nil, err
	}
	o, err := a.oauth2Provider(ctx, p)
	return &oauth2ProviderOutput{Body: o}, err
}

func (a *API) replaceOAuth2Provider(ctx context.Context, in *oauth2ProviderInput) (*oauth2ProviderOutput, error) {
	if err := requiredOAuth2(in.Body); err != nil {
		return nil, err
	}
	return a.updateOAuth2Provider(ctx, in.ID, in.Body)
}

func (a *API) patchOAuth2Provider(ctx context.Context, in *oauth2ProviderInput) (*oauth2ProviderOutput, error) {
	return a.updateOAuth2Provider(ctx, in.ID, in.Body)
}

func (a *API) updateOAuth2Provider(ctx context.Context, id int64, r OAuth2ProviderRequest) (*oauth2ProviderOutput, error) {
	p, err := a.loadOAuth2Provider(ctx, permChangeOAuth2Provider, id)
	if err != nil {
		return nil, err
	}
	before, err := a.oauth2Provider(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := a.applyOAuth2(ctx, p, r); err != nil {
		return nil, err
	}
	if err := a.Store.UpdateOAuth2Provider(ctx, p); err != nil {
		return nil, a.storeError(err)
	}
	after, err := a.oauth2Provider(ctx, p)
	if err != nil {
		return nil, err
	}
	if d := secretDiff(before, after); len(d) > 0 {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_providers_oauth2", "oauth2provider", p.ProviderPK, p.Provider.Name},
			map[string]any{"diff": d})
	}
	return &oauth2ProviderOutput{Body: after}, nil
}

// secretDiff is diff with the client secret redacted: the audit log says
// that it changed, never what it is.
func secretDiff(before, after *OAuth2Provider) map[string]any {
	b, c := *before, *after
	changed := b.ClientSecret != c.ClientSecret
	b.ClientSecret, c.ClientSecret = "", ""
	d := diff(b, c)
	if changed {
		d["client_secret"] = map[string]any{"previous_value": "********", "new_value": "********"}
	}
	return d
}

func (a *API) deleteOAuth2Provider(ctx context.Context, in *OAuth2ProviderIDInput) (*noContent, error) {
	p, err := a.loadOAuth2Provider(ctx, permDeleteOAuth2Provider, in.ID)
	if err != nil {
		return nil, err
	}
	// Deleting the base provider deletes its OAuth2 part and its grants.
	if err := a.Store.DeleteProvider(ctx, p.ProviderPK); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_providers_oauth2", "oauth2provider", p.ProviderPK, p.Provider.Name}, nil)
	return &noContent{}, nil
}

// applyOAuth2 validates the fields r sets and writes them into p; then the
// rules between fields: a confidential client without a secret gets one.
func (a *API) applyOAuth2(ctx context.Context, p *store.OAuth2Provider, r OAuth2ProviderRequest) error {
	if err := noNUL(textField{"name", r.Name}, textField{"client_id", r.ClientID}, textField{"client_secret", r.ClientSecret}); err != nil {
		return err
	}
	if r.Name != nil {
		p.Provider.Name = *r.Name
	}
	if err := a.applyOAuth2Refs(ctx, p, r); err != nil {
		return err
	}
	str := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	str(&p.ClientType, r.ClientType)
	str(&p.ClientID, r.ClientID)
	str(&p.ClientSecret, r.ClientSecret)
	str(&p.LogoutMethod, r.LogoutMethod)
	str(&p.SubMode, r.SubMode)
	str(&p.IssuerMode, r.IssuerMode)
	if r.IncludeClaimsInIDToken != nil {
		p.IncludeClaimsInIDToken = *r.IncludeClaimsInIDToken
	}
	// A validity of zero would make tokens that are born expired (the
	// provider falls back to its default); a zero threshold is the default.
	for _, v := range []struct {
		field     string
		dst       *string
		src       *string
		allowZero bool
	}{
		{"access_code_validity", &p.AccessCodeValidity, r.AccessCodeValidity, false},
		{"access_token_validity", &p.AccessTokenValidity, r.AccessTokenValidity, false},
		{"refresh_token_validity", &p.RefreshTokenValidity, r.RefreshTokenValidity, false},
		{"refresh_token_threshold", &p.RefreshTokenThreshold, r.RefreshTokenThreshold, true},
	} {
		if v.src == nil {
			continue
		}
		if err := validTimedelta(*v.src, v.allowZero); err != nil {
			return fieldError(v.field, err.Error())
		}
		*v.dst = *v.src
	}
	if r.RedirectURIs != nil {
		uris, err := validRedirectURIs(*r.RedirectURIs)
		if err != nil {
			return err
		}
		p.RedirectURIs = uris
	}
	if r.LogoutURI != nil {
		if err := validLogoutURI(*r.LogoutURI); err != nil {
			return err
		}
		p.LogoutURI = *r.LogoutURI
	}
	if r.JWTFederationSources != nil && len(*r.JWTFederationSources) > 0 {
		return fieldError("jwt_federation_sources", "JWT federation is not supported by Gatehouse.")
	}
	if r.JWTFederationProviders != nil && len(*r.JWTFederationProviders) > 0 {
		return fieldError("jwt_federation_providers", "JWT federation is not supported by Gatehouse.")
	}
	if p.ClientType == "confidential" && p.ClientSecret == "" {
		p.ClientSecret = randomAlphanumeric(clientSecretLength)
	}
	return nil
}

// applyOAuth2Refs sets the fields that name other objects, each of which
// must exist: flows, keys and scope mappings.
func (a *API) applyOAuth2Refs(ctx context.Context, p *store.OAuth2Provider, r OAuth2ProviderRequest) error {
	flows := []struct {
		field     string
		dst       **uuid.UUID
		src       *uuid.UUID
		clearable bool
	}{
		{"authentication_flow", &p.Provider.AuthenticationFlow, r.AuthenticationFlow, true},
		{"authorization_flow", &p.Provider.AuthorizationFlow, r.AuthorizationFlow, false},
		{"invalidation_flow", &p.Provider.InvalidationFlow, r.InvalidationFlow, false},
	}
	for _, f := range flows {
		if f.src == nil {
			continue
		}
		id := *f.src
		if id == uuid.Nil {
			if !f.clearable {
				return fieldError(f.field, "This field may not be null.")
			}
			*f.dst = nil
			continue
		}
		if _, err := a.Store.FlowByUUID(ctx, id); errors.Is(err, store.ErrNotFound) {
			return fieldError(f.field, doesNotExist(id.String()))
		} else if err != nil {
			return a.storeError(err)
		}
		*f.dst = &id
	}
	keys := []struct {
		field string
		dst   **uuid.UUID
		src   *uuid.UUID
	}{
		{"signing_key", &p.SigningKey, r.SigningKey},
		{"encryption_key", &p.EncryptionKey, r.EncryptionKey},
	}
	for _, k := range keys {
		if k.src == nil {
			continue
		}
		id := *k.src
		if id == uuid.Nil {
			*k.dst = nil
			continue
		}
		kp, err := a.Store.KeyPairByUUID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return fieldError(k.field, doesNotExist(id.String()))
		} else if err != nil {
			return a.storeError(err)
		}
		if kp.KeySealed == "" {
			return fieldError(k.field, "Certificate-key pair "+kp.Name+" has no private key.")
		}
		*k.dst = &id
	}
	if r.PropertyMappings != nil {
		ids := uniqueUUIDs(*r.PropertyMappings)
		found, err := a.Store.PropertyMappingsByUUID(ctx, ids)
		if err != nil {
			return a.storeError(err)
		}
		scope := map[uuid.UUID]bool{}
		for _, m := range found {
			scope[m.UUID] = m.Type == scopeMappingType
		}
		for _, id := range ids {
			if !scope[id] {
				return fieldError("property_mappings", doesNotExist(id.String())+" (a scope mapping)")
			}
		}
		p.PropertyMappings = ids
	}
	return nil
}

// errNULText is DRF's message for text with a NUL character, which neither
// SQLite nor PostgreSQL text columns take.
const errNULText = "Null characters are not allowed."

// textField is a request field by name, nil when absent.
type textField struct {
	name string
	v    *string
}

// noNUL refuses the first field holding a NUL character.
func noNUL(fields ...textField) error {
	for _, f := range fields {
		if f.v != nil && strings.ContainsRune(*f.v, 0) {
			return fieldError(f.name, errNULText)
		}
	}
	return nil
}

// doesNotExist is DRF's message for an unknown primary key.
func doesNotExist(pk string) string {
	return fmt.Sprintf("Invalid pk %q - object does not exist.", pk)
}

func uniqueUUIDs(ids []uuid.UUID) []uuid.UUID {
	out := []uuid.UUID{}
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// validTimedelta checks an authentik timedelta string ("hours=1;minutes=2")
// with the parser the provider uses, and that it stays within maxValidity
// (and above zero unless allowZero). The bound is checked on the parts (each
// unit read back through the parser), as a large count would overflow the
// parsed total.
func validTimedelta(s string, allowZero bool) error {
	if _, err := userlogin.ParseDuration(s); err != nil {
		return err
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' })
	if len(parts) == 0 {
		return fmt.Errorf("%q is not of the form days=1;hours=2", s)
	}
	var total float64
	for _, part := range parts {
		name, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		unit, err := userlogin.ParseDuration(name + "=1")
		n, err2 := strconv.Atoi(val)
		if err != nil || err2 != nil {
			return fmt.Errorf("%q is not of the form days=1;hours=2", s)
		}
		total += float64(n) * float64(unit)
	}
	if total > float64(maxValidity) {
		return fmt.Errorf("%q is longer than 100 years", s)
	}
	if total == 0 && !allowZero {
		return fmt.Errorf("%q is zero; a validity must be longer", s)
	}
	return nil
}

// validRedirectURIs checks each entry: a regex must compile as the provider
// matches it (anchored, Go's RE2 syntax), a strict URI must be absolute and
// without fragment (RFC 6749 §3.1.2).
func validRedirectURIs(in []RedirectURI) ([]store.RedirectURI, error) {
	out := []store.RedirectURI{}
	for _, r := range in {
		typ := r.RedirectURIType
		if typ == "" {
			typ = "authorization"
		}
		if strings.ContainsRune(r.URL, 0) {
			return nil, fieldError("redirect_uris", errNULText)
		}
		switch r.MatchingMode {
		case "regex":
			if _, err := regexp.Compile("^(?:" + r.URL + ")$"); err != nil {
				return nil, fieldError("redirect_uris", fmt.Sprintf("Invalid Regex Pattern: %s (%v)", r.URL, err))
			}
		default:
			u, err := url.Parse(r.URL)
			if err != nil || u.Scheme == "" || (u.Opaque == "" && u.Host == "" && u.Path == "") {
				return nil, fieldError("redirect_uris", "Redirect URI "+r.URL+" is not an absolute URI.")
			}
			if strings.Contains(r.URL, "#") {
				return nil, fieldError("redirect_uris", "Redirect URI "+r.URL+" must not have a fragment.")
			}
		}
		out = append(out, store.RedirectURI{MatchingMode: r.MatchingMode, URL: r.URL, Type: typ})
	}
	return out, nil
}

// validLogoutURI: empty, or an absolute http(s) URL (back- or front-channel
// logout is sent there).
func validLogoutURI(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fieldError("logout_uri", "Enter a valid http or https URL.")
	}
	return nil
}

const alphanumerics = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomAlphanumeric is authentik's generate_id: n letters and digits drawn
// uniformly (crypto/rand, rejection sampling over bytes).
func randomAlphanumeric(n int) string {
	const limit = 256 - 256%len(alphanumerics)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go 1.24+)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphanumerics[int(b)%len(alphanumerics)])
			}
		}
	}
	return string(out)
}

// oauth2SetupURLs answers the provider's endpoints as absolute URLs on the
// scheme and host of the request. The discovery, end-session and JWKS
// endpoints, and the per_provider issuer, are under the slug of the
// application using the provider: without one, 404.
func (a *API) oauth2SetupURLs(ctx context.Context, in *OAuth2ProviderIDInput) (*struct{ Body OAuth2ProviderSetupURLs }, error) {
	p, err := a.loadOAuth2Provider(ctx, permViewOAuth2Provider, in.ID)
	if err != nil {
		return nil, err
	}
	app, err := a.Store.ApplicationByProvider(ctx, p.ProviderPK)
	if errors.Is(err, store.ErrNotFound) {
		return nil, detailError(http.StatusNotFound, "Provider has no application assigned.")
	} else if err != nil {
		return nil, a.storeError(err)
	}
	root := web.Scheme(ctx) + "://" + requestHost(ctx)
	o := root + "/application/o/"
	appBase := o + url.PathEscape(app.Slug) + "/"
	out := &struct{ Body OAuth2ProviderSetupURLs }{Body: OAuth2ProviderSetupURLs{
		Issuer: appBase, Authorize: o + "authorize/", Token: o + "token/", UserInfo: o + "userinfo/",
		ProviderInfo: appBase + ".well-known/openid-configuration", Logout: appBase + "end-session/", JWKS: appBase + "jwks/",
	}}
	if p.IssuerMode == "global" {
		out.Body.Issuer = root + "/"
	}
	return out, nil
}

// Grants: authorization codes, access and refresh tokens.

// oauth2TokenKind is one of the three token lists.
type oauth2TokenKind struct {
	kind  string // store.OAuth2Code, ...
	path  string // below /oauth2/
	model string // authentik's model name
	name  string // for summaries
}

var oauth2TokenKinds = []oauth2TokenKind{
	{store.OAuth2Code, "authorization_codes", "authorizationcode", "authorization code"},
	{store.OAuth2Access, "access_tokens", "accesstoken", "access token"},
	{store.OAuth2Refresh, "refresh_tokens", "refreshtoken", "refresh token"},
}

func (k oauth2TokenKind) perm(verb string) string {
	return "authentik_providers_oauth2." + verb + "_" + k.model
}

// ExpiringBaseGrantModel is authentik's grant serializer
// (ExpiringBaseGrantModelSerializer, TokenModelSerializer) for codes,
// access and refresh tokens. Tokens are stored by hash only, so pk is the
// token's SHA-256, never its value.
type ExpiringBaseGrantModel struct {
	PK        string    `json:"pk" doc:"The SHA-256 of the token (Gatehouse keeps no token value): the id of retrieve and destroy"`
	Provider  *Provider `json:"provider"`
	User      *User     `json:"user"`
	IsExpired bool      `json:"is_expired"`
	Expires   time.Time `json:"expires"`
	Scope     []string  `json:"scope"`
	Revoked   bool      `json:"revoked" doc:"The grant was revoked, or the code was used or the refresh token rotated"`
}

// OAuth2TokenIDInput is the path parameter: the token's hash (its pk).
// Exported because input structs embed it.
type OAuth2TokenIDInput struct {
	ID string `path:"id" minLength:"1" maxLength:"128" doc:"The token's pk: the SHA-256 of its value, as listed."`
}

type oauth2TokenListInput struct {
	Page     int   `query:"page" minimum:"1" default:"1" doc:"A page number within the paginated result set."`
	PageSize int   `query:"page_size" minimum:"1" maximum:"100" default:"20" doc:"Number of results to return per page."`
	User     int64 `query:"user" doc:"Only this user's tokens (pk)."`
	Provider int64 `query:"provider" doc:"Only this provider's tokens (pk)."`
}

func (a *API) registerOAuth2Tokens() {
	const tag = "oauth2"
	for _, k := range oauth2TokenKinds {
		base := "/oauth2/" + k.path + "/"
		id := "oauth2_" + k.path
		huma.Register(a.huma, op(http.MethodGet, base, id+"_list", tag, "List "+k.name+"s (the caller's own without "+k.perm("view")+")", 200),
			func(ctx context.Context, in *oauth2TokenListInput) (*listOf[*ExpiringBaseGrantModel], error) {
				return a.listOAuth2Tokens(ctx, k, in)
			})
		huma.Register(a.huma, op(http.MethodGet, base+"{id}/", id+"_retrieve", tag, "Get an "+k.name+" by its hash", 200, 404),
			func(ctx context.Context, in *OAuth2TokenIDInput) (*struct{ Body *ExpiringBaseGrantModel }, error) {
				t, g, err := a.loadOAuth2Token(ctx, k, k.perm("view"), in.ID)
				if err != nil {
					return nil, err
				}
				o, err := a.oauth2Tokens(ctx, []*store.OAuth2Token{t}, []*store.OAuth2Grant{g})
				if err != nil {
					return nil, err
				}
				return &struct{ Body *ExpiringBaseGrantModel }{Body: o[0]}, nil
			})
		huma.Register(a.huma, op(http.MethodDelete, base+"{id}/", id+"_destroy", tag, "Delete an "+k.name+" by its hash", 204, 404),
			func(ctx context.Context, in *OAuth2TokenIDInput) (*noContent, error) {
				return a.deleteOAuth2Token(ctx, k, in.ID)
			})
	}
}

// listOAuth2Tokens lists one kind of token. Without the kind's global view
// permission a caller sees only its own tokens (authentik filters by user
// for non-superusers).
func (a *API) listOAuth2Tokens(ctx context.Context, k oauth2TokenKind, in *oauth2TokenListInput) (*listOf[*ExpiringBaseGrantModel], error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	lp := ListParams{Page: in.Page, PageSize: in.PageSize}
	out := &listOf[*ExpiringBaseGrantModel]{}
	out.Body.Results, out.Body.Autocomplete = []*ExpiringBaseGrantModel{}, Autocomplete{}
	f := store.OAuth2TokenFilter{Kind: k.kind}
	if in.User != 0 {
		f.UserPK = &in.User
	}
	if in.Provider != 0 {
		f.ProviderPK = &in.Provider
	}
	if ok, err := a.has(ctx, p, k.perm("view"), ""); err != nil {
		return nil, err
	} else if !ok {
		if in.User != 0 && in.User != p.User.PK {
			out.Body.Pagination = paginate(lp, 0, 0)
			return out, nil
		}
		own := p.User.PK
		f.UserPK = &own
	}
	toks, grants, total, err := a.Store.ListOAuth2Tokens(ctx, f, lp.page())
	if err != nil {
		return nil, a.storeError(err)
	}
	if out.Body.Results, err = a.oauth2Tokens(ctx, toks, grants); err != nil {
		return nil, err
	}
	out.Body.Pagination = paginate(lp, total, len(toks))
	return out, nil
}

// loadOAuth2Token loads a token of kind k by hash. Its user may always act
// on it; others need perm, globally or on the hash (404 when they may not
// even view it).
func (a *API) loadOAuth2Token(ctx context.Context, k oauth2TokenKind, perm, hash string) (*store.OAuth2Token, *store.OAuth2Grant, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	t, g, err := a.Store.OAuth2TokenByHash(ctx, hash)
	if err != nil {
		return nil, nil, a.storeError(err)
	}
	if t.Kind != k.kind {
		return nil, nil, errNotFound
	}
	if g.UserPK != p.User.PK {
		if err := a.check(ctx, perm, k.perm("view"), hash); err != nil {
			return nil, nil, err
		}
	}
	return t, g, nil
}

func (a *API) deleteOAuth2Token(ctx context.Context, k oauth2TokenKind, hash string) (*noContent, error) {
	t, _, err := a.loadOAuth2Token(ctx, k, k.perm("delete"), hash)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteOAuth2Token(ctx, t.Hash); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_providers_oauth2", k.model, t.Hash, ""}, nil)
	return &noContent{}, nil
}

// oauth2Tokens renders tokens with their grants (toks[i] is of grants[i]),
// loading each provider and user once.
func (a *API) oauth2Tokens(ctx context.Context, toks []*store.OAuth2Token, grants []*store.OAuth2Grant) ([]*ExpiringBaseGrantModel, error) {
	if len(toks) == 0 {
		return []*ExpiringBaseGrantModel{}, nil
	}
	providers := map[int64]*Provider{}
	users := map[int64]*User{}
	var us []*store.User
	for _, g := range grants {
		if _, ok := providers[g.ProviderPK]; !ok {
			bp, err := a.Store.ProviderByPK(ctx, g.ProviderPK)
			if err != nil {
				return nil, a.storeError(err)
			}
			if providers[g.ProviderPK], err = a.provider(ctx, bp); err != nil {
				return nil, err
			}
		}
		if _, ok := users[g.UserPK]; !ok {
			u, err := a.Store.UserByPK(ctx, g.UserPK)
			if err != nil {
				return nil, a.storeError(err)
			}
			users[g.UserPK] = nil
			us = append(us, u)
		}
	}
	rendered, err := a.users(ctx, us)
	if err != nil {
		return nil, err
	}
	for _, u := range rendered {
		users[u.PK] = u
	}
	now := a.now()
	out := make([]*ExpiringBaseGrantModel, len(toks))
	for i, t := range toks {
		g := grants[i]
		scope := strings.Fields(g.Scope)
		if scope == nil {
			scope = []string{}
		}
		out[i] = &ExpiringBaseGrantModel{PK: t.Hash, Provider: providers[g.ProviderPK], User: users[g.UserPK],
			IsExpired: t.Expired(now), Expires: t.Expires.UTC(), Scope: scope, Revoked: g.Revoked || t.Used != nil}
	}
	return out, nil
}
