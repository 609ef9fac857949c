package oauth2

// Token exchange (RFC 8693), without impersonation or delegation:
//
//	confidential client B + subject_token (an access token this server
//	issued for any of its providers, for user U)
//	  ──▶ U passes B's application policies
//	  ──▶ new grant of B's provider for U; an access token for B (aud =
//	      B's client_id) with the subject token's scopes that B's provider
//	      has mappings for (narrowed further by scope); no refresh or ID
//	      token. The grant keeps the subject grant's session, so logging out
//	      ends it too.
//
// An actor_token (delegation, §2.1, §4.1) is refused. A DPoP-bound subject
// token may be exchanged (the exchanging client is not its holder); the new
// token is bound only to the exchange request's own proof, if any.

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	// tokenExchangeGrantType is RFC 8693 §2.1's grant_type.
	tokenExchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange"
	// tokenTypeAccessToken is RFC 8693 §3's token type of an access token.
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// exchangeResponse is RFC 8693 §2.2.1.
type exchangeResponse struct {
	*tokenResponse
	IssuedTokenType string `json:"issued_token_type"`
}

// tokenExchange is RFC 8693 §2.1-§2.2.
func (s *Server) tokenExchange(r *http.Request, c *client, form map[string][]string) (*tokenResponse, error) {
	ctx := r.Context()
	if c.p.ClientType != "confidential" {
		return nil, oauthErr(http.StatusBadRequest, "unauthorized_client", "Only confidential clients may exchange tokens.")
	}
	if err := c.requireSecret(); err != nil {
		return nil, err
	}
	if first(form, "actor_token") != "" || first(form, "actor_token_type") != "" {
		return nil, invalidRequest("Delegation is not supported: send no actor_token.")
	}
	if t := first(form, "requested_token_type"); t != "" && t != tokenTypeAccessToken {
		return nil, invalidRequest("Only an access token (%s) can be requested.", tokenTypeAccessToken)
	}
	// §2.1 audience, resource: the token is for the client itself.
	if aud := first(form, "audience"); aud != "" && aud != c.p.ClientID {
		return nil, oauthErr(http.StatusBadRequest, "invalid_target", "The audience can only be the client itself (%s).", c.p.ClientID)
	}
	if first(form, "resource") != "" {
		return nil, oauthErr(http.StatusBadRequest, "invalid_target", "resource is not supported; use audience.")
	}
	subject := first(form, "subject_token")
	if subject == "" {
		return nil, invalidRequest("subject_token is required.")
	}
	if first(form, "subject_token_type") != tokenTypeAccessToken {
		return nil, invalidRequest("subject_token_type must be %s.", tokenTypeAccessToken)
	}
	// §2.2.2: an unknown, expired or revoked subject token is invalid_request.
	tok, sg, user, err := s.accessGrant(ctx, subject)
	if err != nil {
		return nil, err
	}
	if tok == nil || tok.Kind != store.OAuth2Access {
		return nil, invalidRequest("The subject_token is not an active access token of this server.")
	}
	scopes, err := exchangeScopes(strings.Fields(sg.Scope), strings.Fields(first(form, "scope")), c.cfg.mappings)
	if err != nil {
		return nil, err
	}
	if c.app == nil {
		return nil, invalidClient("The provider has no application.")
	}
	res, err := s.Policies.Evaluate(ctx, c.app.UUID, c.app.PolicyEngineMode, policy.Request{User: user, ClientIP: clientIP(r),
		UserAgent: r.UserAgent(), Path: r.URL.Path, Context: map[string]any{"oauth_scopes": scopes}})
	if err != nil {
		return nil, err
	}
	if !res.Passing {
		return nil, invalidGrant("Policy denied access to the application.")
	}
	now := s.now()
	g := &store.OAuth2Grant{UUID: newGrantID(), ProviderPK: c.p.ProviderPK, UserPK: user.PK, SessionUUID: sg.SessionUUID,
		Scope: strings.Join(scopes, " "), AMR: sg.AMR, AuthTime: sg.AuthTime, Created: now}
	ts, rows, err := s.issue(ctx, r, issueParams{p: c.p, key: c.cfg.key, keyErr: c.cfg.keyErr, mappings: c.cfg.mappings, app: c.app,
		user: user, grant: g, scopes: scopes})
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateOAuth2Grant(ctx, g, rows...); err != nil {
		return nil, err
	}
	s.log().Info("oauth2 token exchange", "client_id", c.p.ClientID, "user", user.Username, "subject_grant", sg.UUID, "grant", g.UUID)
	return &tokenResponse{AccessToken: ts.access, TokenType: "Bearer", ExpiresIn: int64(ts.accessExpiry.Sub(now).Seconds()),
		Scope: g.Scope}, nil
}

// exchangeScopes are the scopes of the exchanged token: those of the
// subject token that the client's provider has mappings for, or the
// requested ones, each of which must be among them (RFC 8693 §2.1 scope,
// RFC 6749 §3.3).
func exchangeScopes(subject, requested []string, mappings []*store.PropertyMapping) ([]string, error) {
	var have []string
	if len(subject) > 0 {
		// allowedScopes grants everything for an empty request: never here.
		have = allowedScopes(subject, mappings)
	}
	if len(requested) == 0 {
		return have, nil
	}
	var out []string
	for _, sc := range requested {
		if !slices.Contains(have, sc) {
			return nil, oauthErr(http.StatusBadRequest, "invalid_scope", "Scope %q is not in the subject token or not offered by the client.", sc)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}
