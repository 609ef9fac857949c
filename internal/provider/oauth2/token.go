package oauth2

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func newGrantID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// tokenResponse is RFC 6749 §5.1 (+ OIDC Core §3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// token is the token endpoint (RFC 6749 §3.2).
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	form, err := parseForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.authenticateClient(r.Context(), r, form)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// RFC 9449 §5: a DPoP proof binds the tokens issued to its key (issue
	// reads it from the context).
	proof, err := s.dpopProof(r)
	if err != nil {
		if oe := (*Error)(nil); errors.As(err, &oe) && oe.Code == "use_dpop_nonce" {
			s.setDPoPNonce(w) // §8
		}
		s.writeError(w, r, err)
		return
	}
	if proof != nil {
		r = r.WithContext(withDPoP(r.Context(), proof.jkt))
	}
	var resp *tokenResponse
	gt := form.Get("grant_type")
	switch gt {
	case "authorization_code":
		resp, err = s.codeExchange(r, c, form)
	case "refresh_token":
		if err = s.checkRefreshBinding(r.Context(), c, form, proof); err == nil {
			resp, err = s.refreshExchange(r, c, form)
		}
	case "client_credentials", "password":
		resp, err = s.clientCredentials(r, c, form)
	case deviceGrantType:
		resp, err = s.deviceExchange(r, c, form)
	case tokenExchangeGrantType:
		resp, err = s.tokenExchange(r, c, form)
	case "":
		err = invalidRequest("grant_type is required.")
	default:
		err = oauthErr(http.StatusBadRequest, "unsupported_grant_type", "The grant_type is not supported.")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if proof != nil {
		resp.TokenType = "DPoP"
		s.setDPoPNonce(w) // §8.2: the next nonce
	}
	var body any = resp
	if gt == tokenExchangeGrantType {
		body = exchangeResponse{tokenResponse: resp, IssuedTokenType: tokenTypeAccessToken}
	}
	writeJSON(w, http.StatusOK, body)
}

// secretRequired: the code and refresh grants of a confidential client need
// its secret.
func (c *client) requireSecret() error {
	if c.p.ClientType == "confidential" && !c.secretUsed {
		return invalidClient("Client authentication failed.")
	}
	return nil
}

// codeExchange redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6).
func (s *Server) codeExchange(r *http.Request, c *client, form map[string][]string) (*tokenResponse, error) {
	ctx := r.Context()
	if err := c.requireSecret(); err != nil {
		return nil, err
	}
	code := first(form, "code")
	if code == "" {
		return nil, invalidRequest("code is required.")
	}
	tok, g, err := s.Store.OAuth2TokenByHash(ctx, hashToken(code))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (tok.Kind != store.OAuth2Code || g.ProviderPK != c.p.ProviderPK)) {
		return nil, invalidGrant("The code is invalid.")
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if tok.Used != nil {
		// RFC 6749 §4.1.2: a code used twice revokes what it gave.
		s.revokeReplay(ctx, g, "authorization code")
		return nil, invalidGrant("The code was already used.")
	}
	if g.Revoked || tok.Expired(now) {
		return nil, invalidGrant("The code has expired.")
	}
	// RFC 6749 §4.1.3: redirect_uri must repeat the authorization
	// request's, if that request had one.
	given, ok := tok.Data["redirect_given"].(bool)
	given = given || !ok // codes that do not say were given one
	if ru, _ := tok.Data["redirect_uri"].(string); (given || first(form, "redirect_uri") != "") && first(form, "redirect_uri") != ru {
		return nil, invalidGrant("redirect_uri does not match the authorization request.")
	}
	challenge, _ := tok.Data["code_challenge"].(string)
	verifier := first(form, "code_verifier")
	switch {
	case challenge != "" && verifier == "":
		return nil, invalidGrant("code_verifier is required.")
	case challenge == "" && verifier != "":
		return nil, invalidGrant("code_verifier given, but the authorization request had no code_challenge.")
	case challenge != "":
		sum := sha256.Sum256([]byte(verifier))
		if !pkceValue.MatchString(verifier) ||
			subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1 {
			return nil, invalidGrant("The code_verifier does not match the code_challenge.")
		}
	}
	user, err := s.Store.UserByPK(ctx, g.UserPK)
	if err != nil || !user.IsActive {
		return nil, invalidGrant("The user is no longer active.")
	}
	scopes := strings.Fields(g.Scope)
	resp, err := s.respond(r, c, user, g, scopes, slices.Contains(scopes, "offline_access"), tok.Hash)
	if errors.Is(err, store.ErrConflict) {
		// Used concurrently: the other use wins, both lose their tokens.
		s.revokeReplay(ctx, g, "authorization code")
		return nil, invalidGrant("The code was already used.")
	}
	return resp, err
}

// respond issues access (+ ID, + refresh) tokens for the grant, and stores
// them; with used, the token they replace (a code, a refresh token) is
// marked used in the same transaction (store.ErrConflict if it already
// was).
func (s *Server) respond(r *http.Request, c *client, user *store.User, g *store.OAuth2Grant, scopes []string, refresh bool, used string) (*tokenResponse, error) {
	ts, rows, err := s.issue(r.Context(), r, issueParams{p: c.p, key: c.cfg.key, keyErr: c.cfg.keyErr, mappings: c.cfg.mappings, app: c.app, user: user, grant: g, scopes: scopes,
		withID: slices.Contains(scopes, "openid"), refresh: refresh})
	if err != nil {
		return nil, err
	}
	if used != "" {
		err = s.Store.RotateOAuth2Token(r.Context(), used, s.now(), rows...)
	} else {
		err = s.Store.AddOAuth2Tokens(r.Context(), rows...)
	}
	if err != nil {
		return nil, err
	}
	return &tokenResponse{AccessToken: ts.access, TokenType: "Bearer", ExpiresIn: int64(ts.accessExpiry.Sub(s.now()).Seconds()),
		Scope: strings.Join(scopes, " "), RefreshToken: ts.refresh, IDToken: ts.id}, nil
}

// revokeReplay revokes a grant whose code or refresh token came back.
func (s *Server) revokeReplay(ctx context.Context, g *store.OAuth2Grant, what string) {
	s.log().Warn("oauth2 token replay: revoking the grant", "token", what, "grant", g.UUID, "provider", g.ProviderPK)
	if err := s.Store.RevokeOAuth2Grant(ctx, g.UUID); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log().Error("revoking a replayed grant", "error", err)
	}
}

// refreshExchange is RFC 6749 §6 with rotation: each refresh token is used
// once; using one again revokes the grant (RFC 9700 §4.14.2).
func (s *Server) refreshExchange(r *http.Request, c *client, form map[string][]string) (*tokenResponse, error) {
	ctx := r.Context()
	if err := c.requireSecret(); err != nil {
		return nil, err
	}
	rt := first(form, "refresh_token")
	if rt == "" {
		return nil, invalidRequest("refresh_token is required.")
	}
	tok, g, err := s.Store.OAuth2TokenByHash(ctx, hashToken(rt))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (tok.Kind != store.OAuth2Refresh || g.ProviderPK != c.p.ProviderPK)) {
		return nil, invalidGrant("The refresh token is invalid.")
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if tok.Used != nil {
		s.revokeReplay(ctx, g, "refresh token")
		return nil, invalidGrant("The refresh token was already used.")
	}
	if g.Revoked || tok.Expired(now) {
		return nil, invalidGrant("The refresh token has expired or was revoked.")
	}
	scopes := strings.Fields(g.Scope)
	if v := first(form, "scope"); v != "" {
		// RFC 6749 §6: a narrower scope may be asked for, never a wider one.
		narrowed := strings.Fields(v)
		for _, sc := range narrowed {
			if !slices.Contains(scopes, sc) {
				return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "Scope %q was not granted.", sc)
			}
		}
		scopes = narrowed
	}
	user, err := s.Store.UserByPK(ctx, g.UserPK)
	if err != nil || !user.IsActive {
		return nil, invalidGrant("The user is no longer active.")
	}
	// refresh_token_threshold: keep the refresh token while it has more
	// than the threshold left (0 rotates on every use).
	threshold := duration(c.p.RefreshTokenThreshold, 0)
	rotate := threshold == 0 || tok.Expires.Sub(now) <= threshold
	used := ""
	if rotate {
		used = tok.Hash
	}
	resp, err := s.respond(r, c, user, g, scopes, rotate, used)
	if errors.Is(err, store.ErrConflict) {
		s.revokeReplay(ctx, g, "refresh token")
		return nil, invalidGrant("The refresh token was already used.")
	} else if err != nil {
		return nil, err
	}
	if !rotate {
		resp.RefreshToken = rt
	}
	return resp, nil
}

// clientCredentials is RFC 6749 §4.4 as authentik does it: the client's own
// secret acts as the auto-created service account
// "ak-<provider>-client_credentials"; a username with an app password (as
// username/password parameters, or base64("user:password") as the secret)
// acts as that user. The password grant (§4.3) takes the same credentials.
func (s *Server) clientCredentials(r *http.Request, c *client, form map[string][]string) (*tokenResponse, error) {
	ctx := r.Context()
	if c.p.ClientType != "confidential" {
		return nil, oauthErr(http.StatusBadRequest, "unauthorized_client", "Only confidential clients may use this grant.")
	}
	var user *store.User
	username, password := first(form, "username"), first(form, "password")
	if username == "" && c.basicUser != "" {
		username, password = c.basicUser, c.basicPassword
	}
	if c.app == nil {
		return nil, invalidClient("The provider has no application.")
	}
	switch {
	case username != "":
		u, err := s.appPasswordUser(ctx, username, password)
		if err != nil {
			return nil, err
		}
		user = u
	case c.secretUsed:
		u, err := s.serviceAccount(ctx, c)
		if err != nil {
			return nil, err
		}
		user = u
	default:
		return nil, invalidClient("Client authentication failed.")
	}
	res, err := s.Policies.Evaluate(ctx, c.app.UUID, c.app.PolicyEngineMode, policy.Request{User: user,
		ClientIP: clientIP(r), Path: r.URL.Path, Context: map[string]any{}, Cacheable: true})
	if err != nil {
		return nil, err
	}
	if !res.Passing {
		return nil, invalidGrant("Policy denied access to the application.")
	}
	if user.PK == 0 {
		// The service account is created once a request is granted.
		if user, err = s.createServiceAccount(ctx, c, user); err != nil {
			return nil, err
		}
	}
	scopes := allowedScopes(strings.Fields(first(form, "scope")), c.cfg.mappings)
	now := s.now()
	g := &store.OAuth2Grant{UUID: newGrantID(), ProviderPK: c.p.ProviderPK, UserPK: user.PK, Scope: strings.Join(scopes, " "),
		AMR: []string{"pwd"}, AuthTime: now, Created: now}
	ts, rows, err := s.issue(ctx, r, issueParams{p: c.p, key: c.cfg.key, keyErr: c.cfg.keyErr, mappings: c.cfg.mappings, app: c.app, user: user, grant: g, scopes: scopes,
		withID: slices.Contains(scopes, "openid")})
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateOAuth2Grant(ctx, g, rows...); err != nil {
		return nil, err
	}
	return &tokenResponse{AccessToken: ts.access, TokenType: "Bearer", ExpiresIn: int64(ts.accessExpiry.Sub(now).Seconds()),
		Scope: strings.Join(scopes, " "), IDToken: ts.id}, nil
}

// appPasswordUser checks username + app password (a token of intent
// app_password, authentik's service-account login).
func (s *Server) appPasswordUser(ctx context.Context, username, password string) (*store.User, error) {
	fail := invalidGrant("Invalid username or app password.")
	u, err := s.Store.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail
	} else if err != nil {
		return nil, err
	}
	if !u.IsActive || password == "" {
		return nil, fail
	}
	t, err := s.Store.TokenByKeyHash(ctx, core.HashTokenKey(password))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail
	} else if err != nil {
		return nil, err
	}
	if t.UserPK != u.PK || t.Intent != store.IntentAppPassword || t.Expired(s.now()) {
		return nil, fail
	}
	return u, nil
}

// serviceAccount returns the client's own service account; before its
// first granted request it is not saved yet (PK 0, see
// createServiceAccount), so a refused request creates nothing.
func (s *Server) serviceAccount(ctx context.Context, c *client) (*store.User, error) {
	if u := c.cfg.serviceAccount.Load(); u != nil {
		return u, nil
	}
	u, err := s.loadServiceAccount(ctx, c)
	if err == nil && u.PK != 0 {
		c.cfg.serviceAccount.Store(u)
	}
	return u, err
}

// createServiceAccount saves the account loadServiceAccount described.
func (s *Server) createServiceAccount(ctx context.Context, c *client, u *store.User) (*store.User, error) {
	if err := s.Store.CreateUser(ctx, u); errors.Is(err, store.ErrConflict) {
		u, err = s.Store.UserByUsername(ctx, u.Username) // created concurrently
		if err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	c.cfg.serviceAccount.Store(u)
	return u, nil
}

func (s *Server) loadServiceAccount(ctx context.Context, c *client) (*store.User, error) {
	name := c.p.Provider.Name
	if len(name) > 150-22 {
		name = name[:150-22]
	}
	username := "ak-" + name + "-client_credentials"
	u, err := s.Store.UserByUsername(ctx, username)
	if err == nil {
		return u, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	path := "goauthentik.io/service-accounts"
	display := "Autogenerated user from provider " + c.p.Provider.Name + " (client credentials)"
	if c.app != nil {
		path = "goauthentik.io/apps/" + c.app.Slug
		display = "Autogenerated user from application " + c.app.Name + " (client credentials)"
	}
	now := s.now()
	return &store.User{Username: username, Name: display, IsActive: true, Type: store.UserServiceAccount, Path: path,
		Attributes: store.Attributes{"goauthentik.io/user/generated": true}, DateJoined: now, LastUpdated: now}, nil
}

func first(form map[string][]string, k string) string {
	if v := form[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// clientIP is the request's client address (after the trusted-proxy
// middleware).
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// policyRequest describes an authorization to the application's policies
// (authentik exposes the scopes as context["oauth_scopes"]).
func policyRequest(r *http.Request, u *store.User, ar *authRequest) policy.Request {
	return policy.Request{User: u, ClientIP: clientIP(r), UserAgent: r.UserAgent(), Path: r.URL.Path,
		Context: map[string]any{"oauth_scopes": ar.Scopes}}
}
