package oauth2

// Pushed Authorization Requests (RFC 9126):
//
//	client ──POST /application/o/par/ (client auth + authorization parameters)──▶ 201 request_uri (60 s)
//	browser ──authorize?client_id&request_uri──▶ the pushed parameters, request_uri consumed
//	request_uri again, expired, or of another client ──▶ error page (no redirect: nothing to trust)
//
// The pushed request waits in an anonymous sessions row, as a pending
// device authorization does (see device.go for why).

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	// parLifetime is how long a request_uri lives (RFC 9126 §2.2 expires_in).
	parLifetime = 60 * time.Second
	// requestURIPrefix is RFC 9126 §2.2's URN namespace for request_uri.
	requestURIPrefix = "urn:ietf:params:oauth:request_uri:"
)

// pushedRequest is a pushed authorization request waiting for its
// authorization request.
type pushedRequest struct {
	ProviderPK int64             `json:"provider"`
	ClientID   string            `json:"client_id"`
	Params     map[string]string `json:"params"`
}

// parResponse is RFC 9126 §2.2.
type parResponse struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int64  `json:"expires_in"`
}

// clientAuthParams authenticate the client (RFC 6749 §2.3.1, RFC 7523);
// they are not authorization parameters and are never kept.
var clientAuthParams = map[string]bool{"client_id": true, "client_secret": true, "client_assertion": true,
	"client_assertion_type": true}

// pushedAuthorization is the pushed authorization request endpoint (RFC
// 9126 §2).
func (s *Server) pushedAuthorization(w http.ResponseWriter, r *http.Request) {
	resp, err := s.push(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (s *Server) push(w http.ResponseWriter, r *http.Request) (*parResponse, error) {
	ctx := r.Context()
	form, err := parseForm(w, r)
	if err != nil {
		return nil, err
	}
	// §2: the client authenticates as at the token endpoint.
	c, err := s.authenticateClient(ctx, r, form)
	if err != nil {
		return nil, err
	}
	if err := c.requireSecret(); err != nil {
		return nil, err
	}
	if c.app == nil {
		return nil, invalidClient("The provider has no application.")
	}
	// §2.1: request_uri cannot be pushed.
	if form.Get("request_uri") != "" {
		return nil, invalidRequest("request_uri cannot be pushed.")
	}
	// §3: a pushed request object; its parameters are the request (RFC
	// 9101 §5), the client having authenticated with the form's.
	if raw := form.Get("request"); raw != "" {
		params, err := requestObjectParams(raw, c.p, issuer(r, c.p, c.app), s.now())
		if err != nil {
			return nil, err
		}
		form = params
	}
	// §2.1: the request is checked as the authorization endpoint would, so
	// that the client learns of its errors here. What is left (scopes,
	// nonce, prompt) is checked when the request is used.
	if ru := form.Get("redirect_uri"); ru != "" {
		if u, err := url.Parse(ru); err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, invalidRequest("redirect_uri is not an absolute URL.")
		}
		if len(c.p.RedirectURIs) > 0 && !matchRedirect(c.p, ru, "authorization") {
			return nil, invalidRequest("redirect_uri is not registered.")
		}
	}
	rt := normalizeResponseType(form.Get("response_type"))
	if !responseTypes[rt] {
		return nil, oauthErr(http.StatusBadRequest, "unsupported_response_type", "The response_type is not supported.")
	}
	if challenge := form.Get("code_challenge"); (&authRequest{ResponseType: rt}).hasType("code") {
		switch {
		case challenge == "" && c.p.ClientType != "confidential":
			return nil, invalidRequest("A public client must use PKCE (code_challenge).")
		case challenge != "" && form.Get("code_challenge_method") != "S256":
			return nil, invalidRequest("code_challenge_method must be S256.")
		case challenge != "" && !pkceValue.MatchString(challenge):
			return nil, invalidRequest("The code_challenge is malformed.")
		}
	}
	pr := pushedRequest{ProviderPK: c.p.ProviderPK, ClientID: c.p.ClientID, Params: map[string]string{}}
	for k, v := range form {
		if !clientAuthParams[k] && len(v) > 0 {
			pr.Params[k] = v[0]
		}
	}
	uri := requestURIPrefix + newOpaque()
	now := s.now()
	if err := putPending(ctx, s.Store, r, s.pendingKey("request_uri", uri), pr, now, now.Add(parLifetime)); err != nil {
		return nil, err
	}
	return &parResponse{RequestURI: uri, ExpiresIn: int64(parLifetime / time.Second)}, nil
}

// pushedParams replaces an authorization request naming a request_uri by
// the parameters pushed under it (RFC 9126 §4): the request_uri is used
// once, expires, and only its client_id may use it; the request's other
// parameters are ignored. It answers the error page itself when it fails.
func (s *Server) pushedParams(w http.ResponseWriter, r *http.Request, q url.Values) (url.Values, bool) {
	ctx := r.Context()
	uri, clientID := q.Get("request_uri"), q.Get("client_id")
	invalid := func() (url.Values, bool) {
		errorPage(w, http.StatusBadRequest, "Invalid request", "The request_uri is unknown, expired or already used.")
		return nil, false
	}
	failed := func(err error) (url.Values, bool) {
		s.log().Error("authorize: loading the pushed request", "error", err)
		errorPage(w, http.StatusInternalServerError, "Error", "The request could not be handled.")
		return nil, false
	}
	if !strings.HasPrefix(uri, requestURIPrefix) || len(uri) > 256 || clientID == "" {
		return invalid()
	}
	key := s.pendingKey("request_uri", uri)
	var pr pushedRequest
	if _, err := s.loadPending(ctx, key, &pr); errors.Is(err, store.ErrNotFound) || (err == nil && pr.ClientID != clientID) {
		return invalid()
	} else if err != nil {
		return failed(err)
	}
	// Single use: of two concurrent uses, one deletes it.
	if err := s.Store.DeleteSession(ctx, key); errors.Is(err, store.ErrNotFound) {
		return invalid()
	} else if err != nil {
		return failed(err)
	}
	out := url.Values{}
	for k, v := range pr.Params {
		out.Set(k, v)
	}
	out.Set("client_id", pr.ClientID)
	return out, true
}
