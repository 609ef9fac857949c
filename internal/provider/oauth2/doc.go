// Package oauth2 is the OAuth 2.0 and OpenID Connect provider, at
// authentik's paths under /application/o/.
//
// Endpoints: authorize (RFC 6749 §3.1, OIDC Core §3), token (RFC 6749 §3.2:
// authorization_code with PKCE (RFC 7636), refresh_token with rotation,
// client_credentials and password as authentik allows them), userinfo (OIDC
// Core §5.3), introspect (RFC 7662), revoke (RFC 7009), and per application
// the issuer's discovery document (OIDC Discovery §4, RFC 8414), JWKS and
// end-session (OIDC RP-Initiated Logout 1.0).
//
// A grant is one authorization and the family of tokens issued from it:
//
//	authorize ──(user logs in, authorization flow, fulfillment stage)──▶ grant + code
//	code ──token(authorization_code, PKCE)──▶ code used; access + refresh (+ ID token)
//	code used again ──▶ replay: the grant is revoked, and with it every token of it
//	refresh ──token(refresh_token)──▶ refresh used (rotated); new access + refresh
//	refresh used again ──▶ replay: the grant is revoked (RFC 6819 §5.2.2.3)
//	client_credentials / password ──▶ grant + access token (no session)
//	revoke(refresh) ──▶ grant revoked;  revoke(access) ──▶ that token deleted
//	session ends (logout) ──▶ its grants and tokens are deleted
//
// Tokens are stored by their SHA-256, never their value. Access and ID
// tokens are JWTs signed with the provider's key (ES256/RS256 by key type;
// HS256 with the client secret when the provider has no key).
//
// The authorize endpoint hands the user to the provider's authorization
// flow with the request in the plan context and the fulfillment stage
// (FulfillmentStage) appended; that stage issues the code and redirects
// back to the client.
package oauth2
