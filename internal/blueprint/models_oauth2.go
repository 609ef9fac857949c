package blueprint

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogin"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The OAuth2 models: providers and scope mappings
// (authentik_providers_oauth2). The checks are the admin API's.

// scopeMappingType is the store type of an OAuth2 scope mapping.
const scopeMappingType = "scope"

func oauth2ProviderKind() model {
	type P = store.OAuth2Provider
	base := func(o *P) *store.Provider {
		if o.Provider == nil {
			o.Provider = &store.Provider{Type: "oauth2"}
		}
		return o.Provider
	}
	flow := func(name string, p func(*store.Provider) **uuid.UUID) field[P] {
		return optUUIDField(name, refFlow, func(o *P) **uuid.UUID { return p(base(o)) })
	}
	validity := func(name string, p func(*P) *string, allowZero bool) field[P] {
		return strField(name, p, func(s string) error { return checkTimedelta(s, allowZero) })
	}
	return &kind[P]{
		name: "authentik_providers_oauth2.oauth2provider", perm: "authentik_providers_oauth2.oauth2provider",
		key: []string{"name"},
		fields: []field[P]{
			strField("name", func(o *P) *string { return &base(o).Name }, notEmpty, maxLen(250)),
			flow("authentication_flow", func(p *store.Provider) **uuid.UUID { return &p.AuthenticationFlow }),
			flow("authorization_flow", func(p *store.Provider) **uuid.UUID { return &p.AuthorizationFlow }),
			flow("invalidation_flow", func(p *store.Provider) **uuid.UUID { return &p.InvalidationFlow }),
			uuidListField("property_mappings", refPropertyMapping, func(o *P) *[]uuid.UUID { return &o.PropertyMappings }),
			strField("client_type", func(o *P) *string { return &o.ClientType }, oneOf("confidential", "public")),
			strField("client_id", func(o *P) *string { return &o.ClientID }, notEmpty, maxLen(255)),
			func() field[P] {
				f := nullStrField("client_secret", func(o *P) *string { return &o.ClientSecret }, maxLen(255))
				f.secret = true
				return f
			}(),
			validity("access_code_validity", func(o *P) *string { return &o.AccessCodeValidity }, false),
			validity("access_token_validity", func(o *P) *string { return &o.AccessTokenValidity }, false),
			validity("refresh_token_validity", func(o *P) *string { return &o.RefreshTokenValidity }, false),
			validity("refresh_token_threshold", func(o *P) *string { return &o.RefreshTokenThreshold }, true),
			boolField("include_claims_in_id_token", func(o *P) *bool { return &o.IncludeClaimsInIDToken }),
			optUUIDField("signing_key", refKeyPair, func(o *P) **uuid.UUID { return &o.SigningKey }),
			optUUIDField("encryption_key", refKeyPair, func(o *P) **uuid.UUID { return &o.EncryptionKey }),
			{name: "redirect_uris", get: redirectURIsValue, set: setRedirectURIs},
			nullStrField("logout_uri", func(o *P) *string { return &o.LogoutURI }, checkLogoutURI),
			strField("logout_method", func(o *P) *string { return &o.LogoutMethod }, oneOf("backchannel", "frontchannel")),
			strField("sub_mode", func(o *P) *string { return &o.SubMode }, oneOf("hashed_user_id", "user_id", "user_uuid",
				"user_username", "user_email", "user_upn")),
			strField("issuer_mode", func(o *P) *string { return &o.IssuerMode }, oneOf("global", "per_provider")),
		},
		ignored: []string{"jwt_federation_sources", "jwt_federation_providers", "jwks_sources", "backchannel_application"},
		newObj: func() *P {
			return &P{Provider: &store.Provider{Type: "oauth2"}, ClientType: "confidential", IncludeClaimsInIDToken: true,
				RedirectURIs: []store.RedirectURI{}, PropertyMappings: []uuid.UUID{}, LogoutMethod: "backchannel",
				AccessCodeValidity: "minutes=1", AccessTokenValidity: "hours=1", RefreshTokenValidity: "days=30",
				RefreshTokenThreshold: "seconds=0", SubMode: "hashed_user_id", IssuerMode: "per_provider"}
		},
		pk: func(o *P) any { return int(o.ProviderPK) },
		byPK: func(e *env, pk any) (*P, error) {
			n, err := asInt64(pk)
			if err != nil {
				return nil, errNoPK
			}
			return e.st.OAuth2ProviderByPK(e.ctx, n)
		},
		lookup: func(e *env, ids map[string]any) ([]*P, bool, error) {
			if id, ok := stringID(ids, "client_id"); ok {
				return one(e.st.OAuth2ProviderByClientID(e.ctx, id))
			}
			if name, ok := stringID(ids, "name"); ok {
				ps, err := listAll(func(p store.Page) ([]*P, int, error) {
					return e.st.ListOAuth2Providers(e.ctx, store.ListOptions{Search: name, Ordering: "name", Page: p})
				})
				return ps, true, err
			}
			return nil, false, nil
		},
		list: func(e *env) ([]*P, error) {
			return listAll(func(p store.Page) ([]*P, int, error) {
				return e.st.ListOAuth2Providers(e.ctx, store.ListOptions{Ordering: "name", Page: p})
			})
		},
		// authentik generates a missing client_id, and a missing secret of
		// a confidential client, when the provider is made.
		check: func(_ *env, o *P) error {
			if o.ClientID == "" {
				o.ClientID = randomAlphanumeric(40)
			}
			if o.ClientType == "confidential" && o.ClientSecret == "" {
				o.ClientSecret = randomAlphanumeric(128)
			}
			if base(o).AuthorizationFlow == nil {
				return &fieldError{"authorization_flow", errors.New("is required")}
			}
			return nil
		},
		create: func(e *env, o *P) error { return e.st.CreateOAuth2Provider(e.ctx, o) },
		update: func(e *env, o *P) error { return e.st.UpdateOAuth2Provider(e.ctx, o) },
		remove: func(e *env, o *P) error { return e.st.DeleteProvider(e.ctx, o.ProviderPK) },
	}
}

func redirectURIsValue(o *store.OAuth2Provider) any {
	out := make([]any, 0, len(o.RedirectURIs))
	for _, r := range o.RedirectURIs {
		typ := r.Type
		if typ == "" {
			typ = "authorization"
		}
		out = append(out, map[string]any{"matching_mode": r.MatchingMode, "url": r.URL, "redirect_uri_type": typ})
	}
	return out
}

// setRedirectURIs takes authentik's list of {matching_mode, url,
// redirect_uri_type}, or the newline-separated string of authentik before
// 2024.10 (each line a strict URI).
func setRedirectURIs(_ *env, o *store.OAuth2Provider, v any) error {
	if s, ok := v.(string); ok {
		var list []any
		for _, line := range strings.Split(s, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				list = append(list, map[string]any{"matching_mode": "strict", "url": line})
			}
		}
		v = list
	}
	list, err := asList(v)
	if err != nil {
		return err
	}
	out := []store.RedirectURI{}
	for i, x := range list {
		m, err := asMap(x)
		if err != nil {
			return fmt.Errorf("[%d]: %w", i, err)
		}
		for k := range m {
			if k != "matching_mode" && k != "url" && k != "redirect_uri_type" {
				return fmt.Errorf("[%d]: unknown field %s", i, k)
			}
		}
		r := store.RedirectURI{MatchingMode: "strict", Type: "authorization"}
		if v, ok := m["matching_mode"]; ok {
			if r.MatchingMode, err = asString(v); err != nil || (r.MatchingMode != "strict" && r.MatchingMode != "regex") {
				return fmt.Errorf("[%d].matching_mode: must be strict or regex", i)
			}
		}
		if v, ok := m["redirect_uri_type"]; ok {
			if r.Type, err = asString(v); err != nil || (r.Type != "authorization" && r.Type != "logout") {
				return fmt.Errorf("[%d].redirect_uri_type: must be authorization or logout", i)
			}
		}
		if r.URL, err = asString(m["url"]); err != nil || r.URL == "" || strings.ContainsRune(r.URL, 0) {
			return fmt.Errorf("[%d].url: is required", i)
		}
		if r.MatchingMode == "regex" {
			if _, err := regexp.Compile("^(?:" + r.URL + ")$"); err != nil {
				return fmt.Errorf("[%d].url: invalid regular expression: %v", i, err)
			}
		} else {
			u, err := url.Parse(r.URL)
			if err != nil || u.Scheme == "" || (u.Opaque == "" && u.Host == "" && u.Path == "") || strings.Contains(r.URL, "#") {
				return fmt.Errorf("[%d].url: %s is not an absolute URI without fragment", i, r.URL)
			}
		}
		out = append(out, r)
	}
	o.RedirectURIs = out
	return nil
}

func checkLogoutURI(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an http or https URL")
	}
	return nil
}

// checkTimedelta checks authentik's "hours=1;minutes=2" durations.
func checkTimedelta(s string, allowZero bool) error {
	d, err := userlogin.ParseDuration(s)
	if err != nil {
		return err
	}
	if d == 0 && !allowZero {
		return fmt.Errorf("%q is zero; a validity must be longer", s)
	}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		_, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		if _, err := strconv.Atoi(val); err != nil {
			return fmt.Errorf("%q is not of the form days=1;hours=2", s)
		}
	}
	return nil
}

const alphanumerics = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomAlphanumeric is authentik's generate_id: n letters and digits.
func randomAlphanumeric(n int) string {
	const limit = 256 - 256%len(alphanumerics)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2)
	for len(out) < n {
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphanumerics[int(b)%len(alphanumerics)])
			}
		}
	}
	return string(out)
}

// scopeMappingObj is a property mapping of type scope.
type scopeMappingObj = store.PropertyMapping

func scopeMappingKind() model {
	type M = scopeMappingObj
	settings := func(o *M) *store.Attributes { return &o.Settings }
	return &kind[M]{
		name: "authentik_providers_oauth2.scopemapping", perm: "authentik_providers_oauth2.scopemapping",
		key: []string{"managed", "name"}, keyAny: true,
		fields: []field[M]{
			{name: "managed",
				get: func(o *M) any {
					if o.Managed == nil {
						return nil
					}
					return *o.Managed
				},
				set: func(_ *env, o *M, v any) error {
					if v == nil || v == "" {
						o.Managed = nil
						return nil
					}
					s, err := asString(v)
					o.Managed = &s
					return err
				}},
			strField("name", func(o *M) *string { return &o.Name }, notEmpty, maxLen(250)),
			strField("expression", func(o *M) *string { return &o.Expression }, notEmpty),
			settingField(setting{name: "scope_name"}, settings),
			settingField(setting{name: "description"}, settings),
		},
		newObj: func() *M {
			return &M{Type: scopeMappingType, Settings: store.Attributes{"scope_name": "", "description": ""}}
		},
		pk:    func(o *M) any { return o.UUID.String() },
		setPK: func(o *M, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*M, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			m, err := e.st.PropertyMappingByUUID(e.ctx, id)
			if err == nil && m.Type != scopeMappingType {
				return nil, errNoPK
			}
			return m, err
		},
		lookup: func(e *env, ids map[string]any) ([]*M, bool, error) {
			if managed, ok := stringID(ids, "managed"); ok {
				m, err := e.st.PropertyMappingByManaged(e.ctx, managed)
				if err == nil && m.Type != scopeMappingType {
					return nil, true, &fieldError{"managed", fmt.Errorf("property mapping %q exists already and is of type %s", managed, m.Type)}
				}
				return one(m, err)
			}
			return nil, false, nil
		},
		list: func(e *env) ([]*M, error) {
			return listAll(func(p store.Page) ([]*M, int, error) {
				return e.st.ListPropertyMappings(e.ctx, scopeMappingType, store.ListOptions{Ordering: "name", Page: p})
			})
		},
		check: func(_ *env, o *M) error {
			name, _ := o.Settings["scope_name"].(string)
			if name == "" || strings.ContainsAny(name, " \t\n") {
				return &fieldError{"scope_name", errors.New("is required: a scope name without spaces (RFC 6749 §3.3)")}
			}
			if d := o.Settings["description"]; d == nil {
				o.Settings["description"] = ""
			} else if _, ok := d.(string); !ok {
				return &fieldError{"description", errors.New("must be a string")}
			}
			return nil
		},
		create: func(e *env, o *M) error { return e.st.CreatePropertyMapping(e.ctx, o) },
		update: func(e *env, o *M) error { return e.st.UpdatePropertyMapping(e.ctx, o) },
		remove: func(e *env, o *M) error { return e.st.DeletePropertyMapping(e.ctx, o.UUID) },
	}
}
