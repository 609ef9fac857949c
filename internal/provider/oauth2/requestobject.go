package oauth2

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Request objects: the authorization request as a JWT the client signs,
// passed by value in the request parameter (OIDC Core §6.1, RFC 9101
// "JWT-Secured Authorization Request", JAR), at the authorization endpoint
// or pushed to the PAR endpoint (RFC 9126 §3).
//
//	authorize?client_id=c&request=<JWS> ──verify with the client's key──▶
//	    the JWT's claims are the request's parameters (RFC 9101 §5: the
//	    query's other parameters are not used)
//
// The JWS is signed like a client assertion: HS256/384/512 with the
// client secret, or an asymmetric key of the client's registered keys
// (client_jwks). Unsigned ("none") and encrypted request objects are
// refused, and request_uri by reference is not fetched (an outbound
// request to a URL the client names; PAR covers the need).

const (
	// maxRequestObjectBytes bounds a request object.
	maxRequestObjectBytes = 32 << 10
	// requestObjectType is RFC 9101 §10.8's typ.
	requestObjectType = "oauth-authz-req+jwt"
)

// requestObjectClaims are the claims of a request object that are not
// authorization parameters (RFC 9101 §4, RFC 7519 §4.1).
var requestObjectClaims = map[string]bool{"iss": true, "aud": true, "exp": true, "iat": true, "nbf": true, "jti": true, "sub": true}

// requestObjectFailed is RFC 9101 §6.3's invalid_request_object.
func requestObjectFailed(format string, args ...any) *Error {
	return oauthErr(400, "invalid_request_object", format, args...)
}

// requestObjectParams verifies a request object of provider p, for the
// issuer iss, at now, and returns the parameters it carries.
func requestObjectParams(raw string, p *store.OAuth2Provider, iss string, now time.Time) (url.Values, error) {
	if len(raw) > maxRequestObjectBytes {
		return nil, requestObjectFailed("The request object is too long.")
	}
	if strings.Count(raw, ".") == 4 {
		return nil, requestObjectFailed("Encrypted request objects are not supported.")
	}
	obj, err := jose.ParseSignedCompact(raw, assertionAlgs)
	if err != nil || len(obj.Signatures) != 1 {
		return nil, requestObjectFailed("The request object is not a JWT signed with one of %s.", strings.Join(algNames(assertionAlgs), ", "))
	}
	h := obj.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "" && !strings.EqualFold(typ, requestObjectType) &&
		!strings.EqualFold(typ, "JWT") {
		// RFC 9101 §10.8 / RFC 8725 §3.11: another kind of JWT.
		return nil, requestObjectFailed("The request object's typ is %q.", typ)
	}
	if h.JSONWebKey != nil {
		return nil, requestObjectFailed("The request object must not carry its own jwk.")
	}
	payload, err := verifyClientSigned(obj, p, 32, requestObjectFailed, "request object")
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, requestObjectFailed("The request object's claims are not a JSON object.")
	}
	// RFC 9101 §4: iss is the client, aud the authorization server; §5 and
	// OIDC Core §6.1: client_id, when present, matches the request's.
	if v, ok := claims["iss"]; ok && v != p.ClientID {
		return nil, requestObjectFailed("The request object's iss must be the client_id.")
	}
	if v, ok := claims["client_id"]; ok && v != p.ClientID {
		return nil, requestObjectFailed("The request object's client_id does not match the request's.")
	}
	if aud, ok := claims["aud"]; ok && !audienceHas(aud, iss) {
		return nil, requestObjectFailed("The request object's aud must be the issuer %s.", iss)
	}
	if exp, ok := claims["exp"].(float64); ok && !now.Add(-assertionSkew).Before(unixTime(exp)) {
		return nil, requestObjectFailed("The request object has expired.")
	} else if _, present := claims["exp"]; present && !ok {
		return nil, requestObjectFailed("The request object's exp is not a number.")
	}
	if nbf, ok := claims["nbf"].(float64); ok && unixTime(nbf).After(now.Add(assertionSkew)) {
		return nil, requestObjectFailed("The request object is not valid yet (nbf).")
	}
	out := url.Values{}
	for k, v := range claims {
		if requestObjectClaims[k] {
			continue
		}
		if k == "request" || k == "request_uri" {
			// RFC 9101 §4: not inside a request object.
			return nil, requestObjectFailed("A request object cannot hold %s.", k)
		}
		switch v := v.(type) {
		case string:
			out.Set(k, v)
		case float64:
			out.Set(k, strconv.FormatFloat(v, 'f', -1, 64))
		case bool:
			out.Set(k, strconv.FormatBool(v))
		case nil:
		default:
			// OIDC Core §6.1: claims (and any structured parameter) is
			// the JSON it would be in the query.
			b, err := json.Marshal(v)
			if err != nil {
				return nil, requestObjectFailed("The request object's %s cannot be read.", k)
			}
			out.Set(k, string(b))
		}
	}
	out.Set("client_id", p.ClientID)
	return out, nil
}
