package oauth2

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const dpVerifier = "dp-verifier-0123456789abcdefghijklmnopqrstuvwxyz"

func dpChallenge() string {
	sum := sha256.Sum256([]byte(dpVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// dpPushed are the parameters of a code request with PKCE.
func dpPushed() url.Values {
	return url.Values{"response_type": {"code"}, "redirect_uri": {dpRedirect}, "scope": {"openid profile"},
		"state": {"pushed-state"}, "nonce": {"pushed-nonce"}, "code_challenge": {dpChallenge()}, "code_challenge_method": {"S256"}}
}

// push sends a pushed authorization request as the test client.
func (e *dpEnv) push(form url.Values) string {
	e.t.Helper()
	code, out := e.call("/application/o/par/", form, dpClientID, dpSecret)
	uri, _ := out["request_uri"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(uri, requestURIPrefix) || out["expires_in"] != float64(60) {
		e.t.Fatalf("push = %d %v", code, out)
	}
	return uri
}

// authorizeURI is an authorization request by reference.
func authorizeURI(clientID, uri string, extra ...string) string {
	q := url.Values{"client_id": {clientID}, "request_uri": {uri}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return "/application/o/authorize/?" + q.Encode()
}

// Push, authorize with the request_uri (its other parameters ignored),
// exchange the code; the request_uri is single use.
func TestPARCodeFlow(t *testing.T) {
	e := newDPEnv(t)
	uri := e.push(dpPushed())
	b := e.browser(true)

	code, loc, body := b.do(http.MethodGet, authorizeURI(dpClientID, uri, "state", "injected", "redirect_uri", "https://evil.example/cb"), nil)
	if code != http.StatusFound || loc != "/if/flow/"+dpFlow+"/" {
		t.Fatalf("authorize = %d %q %s", code, loc, body)
	}
	ch := b.flow(dpFlow)
	to, _ := ch["to"].(string)
	if ch["component"] != "xak-flow-redirect" || !strings.HasPrefix(to, dpRedirect+"?") {
		t.Fatalf("end of the flow = %v", ch)
	}
	cb, _ := url.Parse(to)
	if cb.Query().Get("state") != "pushed-state" || cb.Query().Get("code") == "" {
		t.Fatalf("callback = %s", to)
	}
	status, out := e.call("/application/o/token/", url.Values{"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")},
		"redirect_uri": {dpRedirect}, "code_verifier": {dpVerifier}}, dpClientID, dpSecret)
	if status != 200 || out["id_token"] == nil || out["scope"] != "openid profile" {
		t.Fatalf("exchange = %d %v", status, out)
	}

	if code, loc, body := b.do(http.MethodGet, authorizeURI(dpClientID, uri), nil); code != 400 || loc != "" ||
		!strings.Contains(body, "request_uri") {
		t.Errorf("request_uri reused = %d %q %s", code, loc, body)
	}
}

// A request_uri is bound to its client and expires; a wrong client does
// not consume it.
func TestPARRequestURIChecks(t *testing.T) {
	e := newDPEnv(t)
	other := &store.OAuth2Provider{Provider: &store.Provider{Name: "other"}, ClientType: "confidential", ClientID: "other",
		ClientSecret: "other-secret", RedirectURIs: []store.RedirectURI{{MatchingMode: "strict", URL: dpRedirect}}}
	if err := e.st.CreateOAuth2Provider(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	b := e.browser(true)
	uri := e.push(dpPushed())
	for _, tc := range []struct{ name, target string }{
		{"another client", authorizeURI("other", uri)},
		{"no client_id", "/application/o/authorize/?" + url.Values{"request_uri": {uri}}.Encode()},
		{"unknown request_uri", authorizeURI(dpClientID, requestURIPrefix+"nope")},
		{"not a request_uri URN", authorizeURI(dpClientID, "https://rp.example/request.jwt")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, loc, body := b.do(http.MethodGet, tc.target, nil); code != 400 || loc != "" {
				t.Errorf("= %d %q %s", code, loc, body)
			}
		})
	}
	if code, loc, _ := b.do(http.MethodGet, authorizeURI(dpClientID, uri), nil); code != http.StatusFound {
		t.Errorf("the right client after the wrong one = %d %q", code, loc)
	}

	uri = e.push(dpPushed())
	e.clock.Advance(parLifetime)
	if code, _, _ := b.do(http.MethodGet, authorizeURI(dpClientID, uri), nil); code != 400 {
		t.Errorf("expired request_uri = %d", code)
	}
}

// Without a session, the user logs in and comes back with the pushed
// parameters (the request_uri is spent).
func TestPARLogin(t *testing.T) {
	e := newDPEnv(t)
	uri := e.push(dpPushed())
	code, loc, _ := e.browser(false).do(http.MethodGet, authorizeURI(dpClientID, uri), nil)
	u, _ := url.Parse(loc)
	next, _ := url.Parse(u.Query().Get("next"))
	if code != http.StatusFound || !strings.HasPrefix(loc, "/if/flow/default-authentication-flow/") || next == nil ||
		next.Query().Get("state") != "pushed-state" || next.Query().Get("request_uri") != "" {
		t.Errorf("anonymous authorize = %d %q", code, loc)
	}
}

func TestPAREndpointErrors(t *testing.T) {
	e := newDPEnv(t)
	pub := &store.OAuth2Provider{Provider: &store.Provider{Name: "public"}, ClientType: "public", ClientID: "dp-public",
		RedirectURIs: []store.RedirectURI{{MatchingMode: "strict", URL: dpRedirect}}}
	if err := e.st.CreateOAuth2Provider(context.Background(), pub); err != nil {
		t.Fatal(err)
	}
	if err := e.st.CreateApplication(context.Background(), &store.Application{Name: "Public", Slug: "dp-public",
		ProviderPK: &pub.ProviderPK, PolicyEngineMode: "any"}); err != nil {
		t.Fatal(err)
	}
	with := func(k, v string) url.Values {
		f := dpPushed()
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		code       string
	}{
		{"no client authentication", with("client_id", dpClientID), "", "", 401, "invalid_client"},
		{"wrong secret", dpPushed(), dpClientID, "wrong", 401, "invalid_client"},
		{"request_uri pushed", with("request_uri", requestURIPrefix+"x"), dpClientID, dpSecret, 400, "invalid_request"},
		{"unsigned request object", with("request", "eyJhbGciOiJub25lIn0.e30."), dpClientID, dpSecret, 400, "invalid_request_object"},
		{"unregistered redirect_uri", with("redirect_uri", "https://evil.example/cb"), dpClientID, dpSecret, 400, "invalid_request"},
		{"relative redirect_uri", with("redirect_uri", "/cb"), dpClientID, dpSecret, 400, "invalid_request"},
		{"unknown response_type", with("response_type", "token"), dpClientID, dpSecret, 400, "unsupported_response_type"},
		{"plain PKCE", with("code_challenge_method", "plain"), dpClientID, dpSecret, 400, "invalid_request"},
		{"public client without PKCE", func() url.Values {
			f := with("code_challenge", "")
			f.Set("client_id", "dp-public")
			return f
		}(), "", "", 400, "invalid_request"},
		{"public client with PKCE", with("client_id", "dp-public"), "", "", 201, ""},
		{"secret in the body", func() url.Values {
			f := with("client_id", dpClientID)
			f.Set("client_secret", dpSecret)
			return f
		}(), "", "", 201, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.call("/application/o/par/", tc.form, tc.user, tc.pass)
			if code != tc.status || (tc.code != "" && out["error"] != tc.code) {
				t.Errorf("= %d %v, want %d %s", code, out, tc.status, tc.code)
			}
		})
	}
	// The client secret is not kept with the pushed parameters.
	f := dpPushed()
	f.Set("client_id", dpClientID)
	f.Set("client_secret", dpSecret)
	_, out := e.call("/application/o/par/", f, "", "")
	var pr pushedRequest
	uri, _ := out["request_uri"].(string)
	if _, err := e.s.loadPending(context.Background(), e.s.pendingKey("request_uri", uri), &pr); err != nil {
		t.Fatal(err)
	}
	if _, ok := pr.Params["client_secret"]; ok || pr.Params["state"] != "pushed-state" {
		t.Errorf("kept parameters = %v", pr.Params)
	}
}

func TestDiscoveryDeviceAndPAR(t *testing.T) {
	e := newDPEnv(t)
	req, _ := http.NewRequest(http.MethodGet, e.url+"/application/o/dpapp/.well-known/openid-configuration", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	base := e.url + "/application/o"
	if doc["device_authorization_endpoint"] != base+"/device/" || doc["pushed_authorization_request_endpoint"] != base+"/par/" ||
		doc["require_pushed_authorization_requests"] != false {
		t.Errorf("discovery = %v", doc)
	}
	grants, _ := doc["grant_types_supported"].([]any)
	found := false
	for _, g := range grants {
		found = found || g == deviceGrantType
	}
	if !found {
		t.Errorf("grant_types_supported = %v", grants)
	}
}
