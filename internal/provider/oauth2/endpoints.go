package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// accessGrant resolves a presented access token: unknown, expired, revoked
// or of an inactive user is nil.
func (s *Server) accessGrant(ctx context.Context, token string) (*store.OAuth2Token, *store.OAuth2Grant, *store.User, error) {
	if token == "" || len(token) > 16<<10 {
		return nil, nil, nil, nil
	}
	tok, g, err := s.Store.OAuth2TokenByHash(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil, nil
	} else if err != nil {
		return nil, nil, nil, err
	}
	if g.Revoked || tok.Expired(s.now()) || tok.Used != nil {
		return nil, nil, nil, nil
	}
	u, err := s.Store.UserByPK(ctx, g.UserPK)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !u.IsActive) {
		return nil, nil, nil, nil
	} else if err != nil {
		return nil, nil, nil, err
	}
	return tok, g, u, nil
}

// bearer reads an access token: the Authorization header in the Bearer
// (RFC 6750 §2.1) or DPoP (RFC 9449 §7.1) scheme, or a form body parameter
// (RFC 6750 §2.2); dpop tells the DPoP scheme.
func bearer(w http.ResponseWriter, r *http.Request) (token string, dpop bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		switch {
		case ok && strings.EqualFold(scheme, "Bearer"):
			return strings.TrimSpace(tok), false
		case ok && strings.EqualFold(scheme, "DPoP"):
			return strings.TrimSpace(tok), true
		}
		return "", false
	}
	if r.Method == http.MethodPost {
		if form, err := parseForm(w, r); err == nil {
			return form.Get("access_token"), false
		}
	}
	return "", false
}

// userinfo is OIDC Core §5.3: the claims of the token's scopes.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token, dpop := bearer(w, r)
	tok, g, u, err := s.accessGrant(ctx, token)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if tok == nil || tok.Kind != store.OAuth2Access {
		// RFC 6750 §3.1, RFC 9449 §7.2.
		(&challenge{code: "invalid_token", desc: "The access token is invalid or expired."}).write(s, w)
		return
	}
	if ch := s.checkPresentation(r, token, dpop, tok); ch != nil {
		ch.write(s, w)
		return
	}
	cfg, err := s.byProviderPK(ctx, g.ProviderPK)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	p := cfg.p
	scopes := strings.Fields(g.Scope)
	claims, err := s.claims(ctx, r, p, cfg.mappings, u, scopes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	claims["sub"] = s.subject(p, u)
	writeJSON(w, http.StatusOK, claims)
}

// formClient reads a form request and authenticates its client (a
// confidential client with its secret).
func (s *Server) formClient(w http.ResponseWriter, r *http.Request) (url.Values, *client, error) {
	form, err := parseForm(w, r)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.authenticateClient(r.Context(), r, form)
	if err == nil {
		err = c.requireSecret()
	}
	return form, c, err
}

// introspect is RFC 7662. A client may introspect only its own tokens; any
// other token is inactive to it (§2.2, "active": false, nothing else).
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, c, err := s.formClient(w, r)
	if err == nil && c.p.ClientType != "confidential" {
		// RFC 7662 §2.1, §4: the caller must authenticate; a public
		// client cannot, and must not scan tokens.
		err = invalidClient("Introspection needs a confidential client.")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	inactive := map[string]any{"active": false}
	tok, g, u, err := s.accessGrant(ctx, form.Get("token"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if tok == nil || tok.Kind == store.OAuth2Code || g.ProviderPK != c.p.ProviderPK {
		writeJSON(w, http.StatusOK, inactive)
		return
	}
	typ := "access_token"
	if tok.Kind == store.OAuth2Refresh {
		typ = "refresh_token"
	}
	out := map[string]any{"active": true, "scope": g.Scope, "client_id": c.p.ClientID, "username": u.Username,
		"token_type": "Bearer", "exp": tok.Expires.Unix(), "iat": tok.Created.Unix(), "sub": s.subject(c.p, u),
		"aud": c.p.ClientID, "iss": issuer(r, c.p, c.app), "token_type_hint": typ}
	if jkt := boundJKT(tok); jkt != "" && tok.Kind == store.OAuth2Access {
		// RFC 9449 §6.2: the key the token is bound to.
		out["cnf"] = map[string]any{"jkt": jkt}
		out["token_type"] = "DPoP"
	}
	writeJSON(w, http.StatusOK, out)
}

// revoke is RFC 7009: revoking a refresh token revokes its grant (and so
// the access tokens issued with it); revoking an access token ends that
// token. Unknown tokens and tokens of other clients are answered 200 too
// (§2.2), and left alone.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form, c, err := s.formClient(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if form.Get("token") == "" {
		s.writeError(w, r, invalidRequest("token is required."))
		return
	}
	tok, g, err := s.Store.OAuth2TokenByHash(ctx, hashToken(form.Get("token")))
	if err == nil && g.ProviderPK == c.p.ProviderPK {
		switch tok.Kind {
		case store.OAuth2Refresh:
			err = s.Store.RevokeOAuth2Grant(ctx, g.UUID)
		case store.OAuth2Access:
			err = s.Store.DeleteOAuth2Token(ctx, tok.Hash)
		}
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// issuerRoot sends /application/o/<slug>/ to the discovery document.
func (s *Server) issuerRoot(w http.ResponseWriter, r *http.Request) {
	if _, err := s.bySlug(r.Context(), chi.URLParam(r, "slug")); err != nil {
		// Not an issuer (GET /application/o/token/ lands here too).
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
		return
	}
	http.Redirect(w, r, Prefix+"/"+url.PathEscape(chi.URLParam(r, "slug"))+"/.well-known/openid-configuration", http.StatusFound)
}

// discovery is OIDC Discovery §3 / RFC 8414 §2 for the application's issuer.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	s.serveDoc(w, r, "discovery", func(ctx context.Context, cfg *providerConfig) (any, error) {
		p, app := cfg.p, cfg.app
		base := baseURL(r) + Prefix
		alg := string(jose.HS256)
		if k, err := s.providerKey(ctx, p); err == nil {
			alg = string(k.alg)
		}
		scopes := []string{"openid"}
		for _, m := range cfg.mappings {
			if n := scopeName(m); n != "" && n != "openid" {
				scopes = append(scopes, n)
			}
		}
		return map[string]any{
			"issuer":                                        issuer(r, p, app),
			"authorization_endpoint":                        base + "/authorize/",
			"token_endpoint":                                base + "/token/",
			"userinfo_endpoint":                             base + "/userinfo/",
			"end_session_endpoint":                          base + "/" + app.Slug + "/end-session/",
			"introspection_endpoint":                        base + "/introspect/",
			"revocation_endpoint":                           base + "/revoke/",
			"device_authorization_endpoint":                 base + "/device/",
			"pushed_authorization_request_endpoint":         base + "/par/",
			"require_pushed_authorization_requests":         false,
			"jwks_uri":                                      base + "/" + app.Slug + "/jwks/",
			"response_types_supported":                      []string{"code", "id_token", "id_token token", "code token", "code id_token", "code id_token token"},
			"response_modes_supported":                      []string{"query", "fragment", "form_post"},
			"grant_types_supported":                         []string{"authorization_code", "refresh_token", "implicit", "client_credentials", "password", deviceGrantType},
			"subject_types_supported":                       []string{"public"},
			"id_token_signing_alg_values_supported":         []string{alg},
			"token_endpoint_auth_methods_supported":         []string{"client_secret_post", "client_secret_basic", "client_secret_jwt", "private_key_jwt"},
			"introspection_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
			"revocation_endpoint_auth_methods_supported":    []string{"client_secret_post", "client_secret_basic"},
			"acr_values_supported":                          []string{ACR},
			"scopes_supported":                              scopes,
			"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "sid",
				"email", "email_verified", "name", "given_name", "preferred_username", "nickname", "groups"},
			"claims_parameter_supported":      false,
			"request_parameter_supported":     true,
			"request_uri_parameter_supported": false,
			// requestobject.go: signed like client assertions, never "none".
			"request_object_signing_alg_values_supported": algNames(assertionAlgs),
			"code_challenge_methods_supported":            []string{"S256"},
			"prompt_values_supported":                     []string{"none", "login", "consent"},
			// jwe.go: used when the provider has an encryption_key.
			"id_token_encryption_alg_values_supported": idTokenEncryptionAlgs,
			"id_token_encryption_enc_values_supported": idTokenEncryptionEncs,
			// Back-Channel Logout §2.1 (backchannel.go); front-channel
			// logout is not implemented.
			"backchannel_logout_supported":          true,
			"backchannel_logout_session_supported":  true,
			"frontchannel_logout_supported":         true,
			"frontchannel_logout_session_supported": true,
			// RFC 8414 §2: required with client_secret_jwt and
			// private_key_jwt (jwtauth.go).
			"token_endpoint_auth_signing_alg_values_supported": algNames(assertionAlgs),
			// RFC 9449 §5.1 (dpop.go).
			"dpop_signing_alg_values_supported": dpopAlgNames(),
		}, nil
	})
}

// jwks is the provider's public keys (RFC 7517 §5): the signing key, the
// previous signing keys whose tokens may still be valid (OIDC Core
// §10.1.1, rotation.go), and the encryption key ("use": "enc", as
// authentik publishes it; jwe.go). A key that cannot be loaded (its
// keypair deleted or broken) is left out and logged: the others still
// verify.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	s.serveDoc(w, r, "jwks", func(ctx context.Context, cfg *providerConfig) (any, error) {
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
		current := ""
		switch {
		case cfg.key != nil && cfg.key.public != nil:
			set.Keys = append(set.Keys, *cfg.key.public)
			current = cfg.key.kid
		case cfg.keyErr != nil && cfg.p.SigningKey != nil:
			s.log().Warn("jwks: signing key unavailable; not published", "provider", cfg.p.ProviderPK,
				"keypair", cfg.p.SigningKey.String(), "error", cfg.keyErr)
		}
		set.Keys = append(set.Keys, retiredKeys(cfg.p, current, s.now())...)
		if cfg.p.EncryptionKey != nil {
			if k, err := s.encryptionKey(ctx, *cfg.p.EncryptionKey); err != nil {
				s.log().Warn("jwks: encryption key unavailable; not published", "provider", cfg.p.ProviderPK,
					"keypair", cfg.p.EncryptionKey.String(), "error", err)
			} else {
				set.Keys = append(set.Keys, k.jwk())
			}
		}
		return set, nil
	})
}

// serveDoc answers a per-application JSON document, rendered once per
// configuration load and base URL.
func (s *Server) serveDoc(w http.ResponseWriter, r *http.Request, kind string, render func(context.Context, *providerConfig) (any, error)) {
	ctx := r.Context()
	cfg, err := s.bySlug(ctx, chi.URLParam(r, "slug"))
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	key := kind + " " + baseURL(r)
	body, ok := cfg.docs.Load(key)
	if !ok {
		v, err := render(ctx, cfg)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		body, _ = cfg.docs.LoadOrStore(key, b)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=60")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.([]byte))
}

// endSession is OIDC RP-Initiated Logout 1.0 §2-§3: the client's grants of
// this session end, the provider's invalidation flow runs, and the user
// lands on a registered post_logout_redirect_uri (with state).
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	app, p, err := s.appProvider(ctx, chi.URLParam(r, "slug"))
	if errors.Is(err, store.ErrNotFound) {
		errorPage(w, http.StatusNotFound, "Not found", "No such application.")
		return
	} else if err != nil {
		s.writeError(w, r, err)
		return
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "Invalid request", "The logout request could not be read.")
		return
	}
	if hint := r.Form.Get("id_token_hint"); hint != "" {
		claims, err := s.verifyIDTokenHint(ctx, p, hint)
		if err != nil || !audienceHas(claims["aud"], p.ClientID) {
			errorPage(w, http.StatusBadRequest, "Invalid logout request", "The id_token_hint was not issued by this application's provider.")
			return
		}
	}
	if cid := r.Form.Get("client_id"); cid != "" && cid != p.ClientID {
		errorPage(w, http.StatusBadRequest, "Invalid logout request", "client_id does not match the application.")
		return
	}
	target := ""
	if plr := r.Form.Get("post_logout_redirect_uri"); plr != "" {
		if !matchRedirect(p, plr, "logout") {
			errorPage(w, http.StatusBadRequest, "Invalid logout request", "The post_logout_redirect_uri is not registered.")
			return
		}
		u, err := url.Parse(plr)
		if err != nil {
			errorPage(w, http.StatusBadRequest, "Invalid logout request", "The post_logout_redirect_uri is not a URL.")
			return
		}
		if st := r.Form.Get("state"); st != "" {
			q := u.Query()
			q.Set("state", st)
			u.RawQuery = q.Encode()
		}
		target = u.String()
	}
	// The client's grants in this session end now, and its back-channel
	// logout endpoint hears so (Back-Channel Logout §2). The other
	// clients of the session hear when the session itself ends, if the
	// invalidation flow ends it (SessionEnded).
	sess, err := s.Sessions.Load(ctx, r)
	var front []string
	if err == nil && sess != nil {
		// Front-Channel Logout §2: found before the grants end.
		if front, err = s.frontchannelURLs(ctx, r, sess); err != nil {
			s.log().Error("front-channel logout: finding the session's grants", "error", err)
		}
		s.backchannelLogout(ctx, r, sess, &p.ProviderPK)
		s.revokeSessionGrants(ctx, p, sess)
	}
	// next answers with the page that tells the front-channel relying
	// parties first, when there are any.
	next := func(to string) {
		if len(front) > 0 {
			frontchannelPage(w, front, to)
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
	}
	var fl *store.Flow
	if p.Provider.InvalidationFlow != nil {
		fl, _ = s.Store.FlowByUUID(ctx, *p.Provider.InvalidationFlow)
	}
	if fl != nil {
		err := s.Executor.Start(w, r, fl, func(c *flow.Context) {
			c.Application = app.Slug
			c.Redirect = target
		}, "")
		if err == nil {
			next("/if/flow/" + url.PathEscape(fl.Slug) + "/")
			return
		}
		var denied flow.DeniedError
		if !errors.As(err, &denied) {
			s.log().Error("end-session: starting the invalidation flow", "error", err)
		}
	}
	if target == "" {
		target = "/"
	}
	next(target)
}

// revokeSessionGrants revokes the provider's grants issued in sess.
func (s *Server) revokeSessionGrants(ctx context.Context, p *store.OAuth2Provider, sess *store.Session) {
	if sess.UserPK == nil {
		return
	}
	toks, grants, _, err := s.Store.ListOAuth2Tokens(ctx, store.OAuth2TokenFilter{UserPK: sess.UserPK, ProviderPK: &p.ProviderPK},
		store.Page{Limit: 1000})
	if err != nil {
		s.log().Error("end-session: listing the session's grants", "error", err)
		return
	}
	done := map[string]bool{}
	for i := range toks {
		g := grants[i]
		if g.SessionUUID == nil || *g.SessionUUID != sess.UUID || done[g.UUID.String()] {
			continue
		}
		done[g.UUID.String()] = true
		if err := s.Store.RevokeOAuth2Grant(ctx, g.UUID); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log().Error("end-session: revoking a grant", "error", err)
		}
	}
}

func audienceHas(aud any, clientID string) bool {
	switch v := aud.(type) {
	case string:
		return v == clientID
	case []any:
		for _, a := range v {
			if a == clientID {
				return true
			}
		}
	}
	return false
}
