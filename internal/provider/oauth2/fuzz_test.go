package oauth2

// The fuzz targets feed untrusted input to every endpoint that parses it
// and check the protocol's invariants on each answer: no panic, no 5xx, a
// 200 only for a request that proves what it must, errors in the wire
// format of their RFC, and no write to the store by a rejected request.
//
// So that the fuzzer gets past the lookups into the grant logic, an input
// may hold placeholders that each run replaces with values minted for that
// run (fuzzFixture.expand): @CLIENT@, @SECRET@, @BASIC@ (an HTTP Basic
// header of the harness client), @OTHERID@, @OTHERSECRET@, @OTHERBASIC@
// (a second client), @CODE@ and @VERIFIER@ (a live code with its PKCE
// verifier, redirect URI hRedirect), @ACCESS@, @REFRESH@, @EXPIRED@ (an
// expired access token) and @OTHER@ (an access token of the second client);
// for end-session also @IDTOKEN@, @IDTOKEN_OTHERAUD@, @IDTOKEN_NONE@,
// @IDTOKEN_HS256@ and @IDTOKEN_EXPIRED@.
//
// Seeds that reproduce open bugs fail until those are fixed: FuzzAuthorize
// seed#4 (TestAuthorizePromptNoneFormPost) and the nul-client entries of
// FuzzToken and FuzzAuthorize (TestNULBytesAreBadInput).
//
// The seed corpus is in testdata/fuzz/<target>; run one target with
//
//	go test -run XXX -fuzz FuzzToken -fuzztime 40s ./internal/provider/oauth2/

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	fzOtherID     = "fuzz-other"
	fzOtherSecret = "fuzz-other-secret-0123456789abcdefghijklmnop"
	fzVerifier    = "fuzz-verifier-0123456789abcdefghijklmnopqrstuvwxyz"
	fzScope       = "openid profile email offline_access"
)

// Error codes each endpoint may answer.
var (
	// RFC 6749 §5.2; RFC 8628 §3.5 (device grant), RFC 8693 §2.2.2 (token
	// exchange), RFC 9449 §5, §8 (DPoP proofs).
	tokenErrorCodes = codeSet("invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
		"unsupported_grant_type", "invalid_scope", "authorization_pending", "slow_down", "access_denied", "expired_token",
		"invalid_target", "invalid_dpop_proof", "use_dpop_nonce")
	// RFC 6749 §4.1.2.1 and §4.2.2.1, OIDC Core §3.1.2.6. server_error is
	// left out on purpose: bad input must not be an internal error.
	authorizeErrorCodes = codeSet("invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type",
		"invalid_scope", "temporarily_unavailable", "interaction_required", "login_required", "account_selection_required",
		"consent_required", "invalid_request_uri", "invalid_request_object", "request_not_supported",
		"request_uri_not_supported", "registration_not_supported")
	// RFC 7662 §2.3 and RFC 7009 §2.2.1 use RFC 6749 §5.2's codes.
	clientAuthErrorCodes = codeSet("invalid_request", "invalid_client", "unauthorized_client", "unsupported_token_type")
	// RFC 6750 §3.1, RFC 9449 §7.1.
	bearerErrorCodes = codeSet("invalid_request", "invalid_token", "insufficient_scope", "invalid_dpop_proof", "use_dpop_nonce")
)

// Large hostile values are made here rather than kept in testdata.
var (
	fzHuge      = strings.Repeat("A", 70<<10) // over maxFormBytes
	fzBig       = strings.Repeat("x", 17<<10) // over accessGrant's 16 KiB
	fzNested    = strings.Repeat("[", 3000) + strings.Repeat("]", 3000)
	fzNestedObj = strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000)
)

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func codeSet(codes ...string) map[string]bool {
	m := map[string]bool{}
	for _, c := range codes {
		m[c] = true
	}
	return m
}

// registeredRedirect is the harness's regex redirect URI, compiled here
// independently of matchRedirect.
var registeredRedirect = regexp.MustCompile(`^https://[a-z]+\.rp\.example/cb$`)

func isRegisteredRedirect(u string) bool { return u == hRedirect || registeredRedirect.MatchString(u) }

// fuzzEnv is a harness with a second client and the ID tokens the
// end-session target uses.
type fuzzEnv struct {
	h        *harness
	other    *store.OAuth2Provider
	idTokens map[string]string
	// kept are the token hashes made at setup; what a run adds is removed
	// when the fixture is replaced, so that the store stays small.
	kept map[string]bool
	// cur is the fixture of the last run, reused while runs leave the
	// store as it was made (most do: they are refused).
	cur *fuzzFixture
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	h := newHarness(f)
	ctx := context.Background()
	other := &store.OAuth2Provider{Provider: &store.Provider{Name: "fuzz-other"}, ClientID: fzOtherID, ClientSecret: fzOtherSecret,
		PropertyMappings: h.p.PropertyMappings,
		RedirectURIs:     []store.RedirectURI{{MatchingMode: "strict", URL: "https://other.example/cb", Type: "authorization"}}}
	if err := h.st.CreateOAuth2Provider(ctx, other); err != nil {
		f.Fatal(err)
	}
	if err := h.st.CreateApplication(ctx, &store.Application{Name: "Other", Slug: "other", ProviderPK: &other.ProviderPK,
		PolicyEngineMode: "any"}); err != nil {
		f.Fatal(err)
	}
	e := &fuzzEnv{h: h, other: other, kept: map[string]bool{}}
	e.idTokens = idTokenHints(f, h)
	for k := range snapshot(f, h.st).tokens {
		e.kept[k] = true
	}
	return e
}

// idTokenHints signs the ID tokens of the end-session target: valid ones
// with the provider's key, and forgeries.
func idTokenHints(t testing.TB, h *harness) map[string]string {
	t.Helper()
	k, err := h.s.providerKey(context.Background(), h.p)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(aud string, exp time.Time) map[string]any {
		return map[string]any{"iss": "http://example.com/application/o/app/", "sub": "alice", "aud": aud,
			"iat": now.Unix(), "exp": exp.Unix()}
	}
	sign := func(c map[string]any) string {
		tok, err := k.sign(h.p, "JWT", c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	valid := sign(claims(hClientID, now.Add(time.Hour)))
	parts := strings.Split(valid, ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	hs, err := (&signingKey{alg: jose.HS256}).sign(h.p, "JWT", claims(hClientID, now.Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"@IDTOKEN@":          valid,
		"@IDTOKEN_OTHERAUD@": sign(claims(fzOtherID, now.Add(time.Hour))),
		"@IDTOKEN_EXPIRED@":  sign(claims(hClientID, now.Add(-24*time.Hour))),
		"@IDTOKEN_NONE@":     none,
		// HS256 with the client secret, on a provider that signs ES256.
		"@IDTOKEN_HS256@": hs,
	}
}

// pkceS256 is the S256 code_challenge of verifier (RFC 7636 §4.2).
func pkceS256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// fuzzFixture holds the values minted for a run.
type fuzzFixture struct {
	e                                    *fuzzEnv
	code, access, refresh, expired, othr string
	grant                                uuid.UUID
	cookie                               string // alice's session cookie
	sessionGrant                         uuid.UUID
	// state is the store as the fixture left it.
	state storeState
}

// fixture returns the values for a run and the store before it.
func (e *fuzzEnv) fixture(t *testing.T) (*fuzzFixture, storeState) {
	t.Helper()
	if e.cur == nil {
		e.cur = e.mint(t)
		e.cur.state = snapshot(t, e.h.st)
	}
	return e.cur, e.cur.state
}

// done takes the store after a run: if the run changed it, the next run
// gets new values.
func (e *fuzzEnv) done(t *testing.T, after storeState) {
	t.Helper()
	if e.cur != nil && e.cur.state.diff(after) != "" {
		e.cur.cleanup(t)
		e.cur = nil
	}
}

// mint makes a grant of alice's with a live code (PKCE), access and
// refresh token and an expired access token, a grant of the other client
// with an access token, and a session of alice's with a grant issued in it.
func (e *fuzzEnv) mint(t *testing.T) *fuzzFixture {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	fx := &fuzzFixture{e: e, code: newOpaque(), access: newOpaque(), refresh: newOpaque(), expired: newOpaque(), othr: newOpaque()}
	g := &store.OAuth2Grant{ProviderPK: e.h.p.ProviderPK, UserPK: e.h.user.PK, Scope: fzScope, AMR: []string{"pwd"}, AuthTime: now, Created: now}
	err := e.h.st.CreateOAuth2Grant(ctx, g,
		&store.OAuth2Token{Hash: hashToken(fx.code), Kind: store.OAuth2Code, Expires: now.Add(time.Minute), Created: now,
			Data: store.Attributes{"redirect_uri": hRedirect, "code_challenge": pkceS256(fzVerifier), "code_challenge_method": "S256"}},
		&store.OAuth2Token{Hash: hashToken(fx.access), Kind: store.OAuth2Access, Expires: now.Add(time.Hour), Created: now},
		&store.OAuth2Token{Hash: hashToken(fx.refresh), Kind: store.OAuth2Refresh, Expires: now.Add(24 * time.Hour), Created: now},
		&store.OAuth2Token{Hash: hashToken(fx.expired), Kind: store.OAuth2Access, Expires: now.Add(-time.Minute), Created: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	fx.grant = g.UUID
	og := &store.OAuth2Grant{ProviderPK: e.other.ProviderPK, UserPK: e.h.user.PK, Scope: "openid", AuthTime: now, Created: now}
	if err := e.h.st.CreateOAuth2Grant(ctx, og, &store.OAuth2Token{Hash: hashToken(fx.othr), Kind: store.OAuth2Access,
		Expires: now.Add(time.Hour), Created: now}); err != nil {
		t.Fatal(err)
	}
	var sess *store.Session
	fx.cookie, sess = aliceSession(t, e.h)
	sg := &store.OAuth2Grant{ProviderPK: e.h.p.ProviderPK, UserPK: e.h.user.PK, SessionUUID: &sess.UUID, Scope: "openid",
		AuthTime: now, Created: now}
	if err := e.h.st.CreateOAuth2Grant(ctx, sg, &store.OAuth2Token{Hash: hashToken(newOpaque()), Kind: store.OAuth2Access,
		Expires: now.Add(time.Hour), Created: now}); err != nil {
		t.Fatal(err)
	}
	fx.sessionGrant = sg.UUID
	return fx
}

// cleanup deletes the tokens added since setup (minted or issued).
func (fx *fuzzFixture) cleanup(t *testing.T) {
	t.Helper()
	for hash := range snapshot(t, fx.e.h.st).tokens {
		if !fx.e.kept[hash] {
			if err := fx.e.h.st.DeleteOAuth2Token(context.Background(), hash); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// expand replaces the placeholders of s.
func (fx *fuzzFixture) expand(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	pairs := []string{
		"@CLIENT@", hClientID, "@SECRET@", hSecret, "@BASIC@", basicAuth(hClientID, hSecret),
		"@OTHERID@", fzOtherID, "@OTHERSECRET@", fzOtherSecret, "@OTHERBASIC@", basicAuth(fzOtherID, fzOtherSecret),
		"@CODE@", fx.code, "@VERIFIER@", fzVerifier, "@ACCESS@", fx.access, "@REFRESH@", fx.refresh,
		"@EXPIRED@", fx.expired, "@OTHER@", fx.othr,
	}
	for k, v := range fx.e.idTokens {
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// basicAuth is an Authorization header value for client_secret_basic:
// both parts form-urlencoded (RFC 6749 §2.3.1).
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// storeState is what a request may change in the store: every token with
// its grant, and the number of users (client_credentials makes one).
type storeState struct {
	tokens map[string]tokenState
	users  int
}

type tokenState struct {
	Grant   string
	Kind    string
	Used    bool
	Revoked bool
}

func snapshot(t testing.TB, st store.Store) storeState {
	t.Helper()
	ctx := context.Background()
	toks, grants, _, err := st.ListOAuth2Tokens(ctx, store.OAuth2TokenFilter{}, store.Page{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	s := storeState{tokens: map[string]tokenState{}}
	for i, tok := range toks {
		s.tokens[tok.Hash] = tokenState{Grant: grants[i].UUID.String(), Kind: tok.Kind, Used: tok.Used != nil, Revoked: grants[i].Revoked}
	}
	if _, s.users, err = st.ListUsers(ctx, store.UserFilter{Page: store.Page{Limit: 1}}); err != nil {
		t.Fatal(err)
	}
	return s
}

// diff describes how after differs from before ("" if not at all).
func (before storeState) diff(after storeState) string {
	d := cmp.Diff(before.tokens, after.tokens)
	if before.users != after.users {
		d += fmt.Sprintf("users: %d -> %d\n", before.users, after.users)
	}
	return d
}

// revokeGrant is before with grant g revoked.
func (before storeState) revokeGrant(g uuid.UUID) storeState {
	out := storeState{tokens: maps.Clone(before.tokens), users: before.users}
	for h, ts := range out.tokens {
		if ts.Grant == g.String() {
			ts.Revoked = true
			out.tokens[h] = ts
		}
	}
	return out
}

// aliceSession stores a logged-in session of alice's and returns its cookie
// (as the Cookie header value) and row.
func aliceSession(t testing.TB, h *harness) (string, *store.Session) {
	t.Helper()
	value := newOpaque()
	now := time.Now().UTC()
	sess := &store.Session{Key: session.Key(value), UserPK: &h.user.PK, Data: json.RawMessage(`{"auth_method":"password"}`),
		LastUsed: now, Expires: now.Add(24 * time.Hour)}
	if err := h.st.CreateSession(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	return session.CookieName + "=" + value, sess
}

// serveRaw serves a request whose query and body are taken as they are.
func serveRaw(h *harness, method, path, rawQuery, body string, hdr http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.URL.RawQuery = rawQuery
	for k, v := range hdr {
		req.Header[k] = v
	}
	if method == http.MethodPost && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	h.router.ServeHTTP(w, req)
	return w
}

// oauthJSONError checks that w is an OAuth error response (RFC 6749 §5.2):
// JSON with an "error" among codes, never cached, and a 401 that names its
// scheme. It returns the error code.
func oauthJSONError(t *testing.T, w *httptest.ResponseRecorder, codes map[string]bool) string {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error response: Content-Type %q, body %q", ct, w.Body.String())
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error response is not JSON: %v: %q", err, w.Body.String())
	}
	code, _ := body["error"].(string)
	if !codes[code] {
		t.Fatalf("error %q is not one this endpoint may answer (status %d, body %s)", code, w.Code, w.Body)
	}
	if d, ok := body["error_description"]; ok {
		if _, isString := d.(string); !isString {
			t.Fatalf("error_description is %T", d)
		}
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("error response: Cache-Control %q, want no-store", w.Header().Get("Cache-Control"))
	}
	if w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("401 without WWW-Authenticate (RFC 6749 §5.2, RFC 6750 §3)")
	}
	return code
}

// requestClient is who a token-style request authenticates as, worked out
// from the raw request as RFC 6749 §2.3.1 reads it ("" if nobody).
func requestClient(form url.Values, authz string) string {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	req := &http.Request{Header: http.Header{"Authorization": {authz}}}
	if u, p, ok := req.BasicAuth(); ok {
		var err1, err2 error
		u, err1 = url.QueryUnescape(u)
		p, err2 = url.QueryUnescape(p)
		if err1 != nil || err2 != nil || (id != "" && id != u) {
			return ""
		}
		id, secret = u, p
	}
	switch {
	case id == hClientID && secret == hSecret:
		return hClientID
	case id == fzOtherID && secret == fzOtherSecret:
		return fzOtherID
	}
	return ""
}

// parseRawForm parses a body as the endpoints do: an error or a repeated
// parameter makes it invalid.
func parseRawForm(body string) (url.Values, bool) {
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, false
	}
	for _, v := range form {
		if len(v) > 1 {
			return nil, false
		}
	}
	return form, true
}

func addTokenSeeds(f *testing.F) {
	for _, s := range []struct{ body, authz string }{
		{"grant_type=authorization_code&code=@CODE@&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=@VERIFIER@", "@BASIC@"},
		{"grant_type=authorization_code&code=@CODE@&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier=@VERIFIER@&client_id=@CLIENT@&client_secret=@SECRET@", ""},
		{"grant_type=refresh_token&refresh_token=@REFRESH@&scope=openid", "@BASIC@"},
		{"grant_type=client_credentials&scope=openid+profile", "@BASIC@"},
		{"grant_type=client_credentials&client_id=@OTHERID@&client_secret=@OTHERSECRET@", ""},
		{"grant_type=password&username=alice&password=nope&client_id=@CLIENT@&client_secret=@SECRET@", ""},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=@CODE@", "@BASIC@"},
		{"grant_type=refresh_token&refresh_token=@ACCESS@", "@BASIC@"},
		{"grant_type=authorization_code&code=@CODE@", "@OTHERBASIC@"},
		{"", ""},
		{"grant_type=client_credentials&client_id=" + fzHuge, ""},
		{"grant_type=client_credentials&scope=" + fzBig, "@BASIC@"},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=" + fzBig, "@BASIC@"},
		{"grant_type=client_credentials&scope=" + url.QueryEscape(fzNested) + "&claims=" + url.QueryEscape(fzNestedObj), "@BASIC@"},
		{"grant_type=client_credentials", "Basic " + fzBig},
	} {
		f.Add(s.body, s.authz)
	}
}

// FuzzToken posts a raw form body, with an optional Authorization header,
// to the token endpoint.
func FuzzToken(f *testing.F) {
	addTokenSeeds(f)
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, rawBody, rawAuthz string) {
		fx, before := e.fixture(t)
		body, authz := fx.expand(rawBody), fx.expand(rawAuthz)
		hdr := http.Header{}
		if authz != "" {
			hdr.Set("Authorization", authz)
		}
		w := serveRaw(e.h, http.MethodPost, "/application/o/token/", "", body, hdr)
		after := snapshot(t, e.h.st)
		e.done(t, after)

		if w.Code != http.StatusOK {
			if w.Code != http.StatusBadRequest && w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d (%s) for body %q, Authorization %q", w.Code, w.Body, body, authz)
			}
			oauthJSONError(t, w, tokenErrorCodes)
			if d := before.diff(after); d != "" {
				t.Fatalf("rejected request (%d %s) changed the store:\n%s", w.Code, w.Body, d)
			}
			return
		}
		if why := tokenSuccessAllowed(fx, body, authz); why != "" {
			t.Fatalf("200 %s for a request that %s: body %q, Authorization %q", w.Body, why, body, authz)
		}
		var resp tokenResponse
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.AccessToken == "" || resp.TokenType != "Bearer" ||
			resp.ExpiresIn <= 0 || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("malformed token response (RFC 6749 §5.1): %v %s %v", err, w.Body, w.Header())
		}
	})
}

// tokenSuccessAllowed tells why a token request must not succeed ("" if
// it may): the client proves itself, and the grant is one minted for the
// run, presented as it was issued. A grant type added to the token
// endpoint must be added here, or its successes count as failures.
func tokenSuccessAllowed(fx *fuzzFixture, body, authz string) string {
	form, ok := parseRawForm(body)
	if !ok {
		return "is not a valid form"
	}
	client := requestClient(form, authz)
	if client == "" {
		return "does not authenticate its client"
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		switch {
		case client != hClientID || form.Get("code") != fx.code:
			return "presents no code of its client"
		case form.Get("redirect_uri") != hRedirect:
			return "has the wrong redirect_uri"
		case form.Get("code_verifier") != fzVerifier:
			return "has the wrong code_verifier"
		}
	case "refresh_token":
		if client != hClientID || form.Get("refresh_token") != fx.refresh {
			return "presents no refresh token of its client"
		}
		for _, sc := range strings.Fields(form.Get("scope")) {
			if !slices.Contains(strings.Fields(fzScope), sc) {
				return "widens the scope"
			}
		}
	case "client_credentials", "password":
		if form.Get("username") != "" {
			return "names a user without an app password"
		}
	case "urn:ietf:params:oauth:grant-type:token-exchange":
		// RFC 8693 §2.1: a live access token for the client itself, no
		// delegation, scopes among the subject token's.
		accessType := "urn:ietf:params:oauth:token-type:access_token"
		granted := map[string]string{fx.access: fzScope, fx.othr: "openid"}
		scope, live := granted[form.Get("subject_token")]
		switch {
		case !live || form.Get("subject_token_type") != accessType:
			return "exchanges no live access token"
		case form.Get("actor_token") != "" || form.Get("actor_token_type") != "":
			return "asks for delegation"
		case form.Get("requested_token_type") != "" && form.Get("requested_token_type") != accessType:
			return "asks for another token type"
		case (form.Get("audience") != "" && form.Get("audience") != client) || form.Get("resource") != "":
			return "asks for another audience"
		}
		for _, sc := range strings.Fields(form.Get("scope")) {
			if !slices.Contains(strings.Fields(scope), sc) {
				return "widens the scope"
			}
		}
	default:
		return "has no grant it may use"
	}
	return ""
}

func addClientAuthSeeds(f *testing.F) {
	for _, s := range []struct{ body, authz string }{
		{"token=@ACCESS@", "@BASIC@"},
		{"token=@REFRESH@&token_type_hint=refresh_token", "@BASIC@"},
		{"token=@CODE@", "@BASIC@"},
		{"token=@EXPIRED@", "@BASIC@"},
		{"token=@OTHER@", "@BASIC@"},
		{"token=@OTHER@", "@OTHERBASIC@"},
		{"token=@ACCESS@&client_id=@CLIENT@&client_secret=@SECRET@", ""},
		{"token=@ACCESS@&client_id=@CLIENT@", ""},
		{"token=@ACCESS@", "Bearer @ACCESS@"},
		{"token=@REFRESH@", "@OTHERBASIC@"},
		{"", "@BASIC@"},
		{"token=" + fzBig, "@BASIC@"},
		{"token=" + fzHuge, "@BASIC@"},
		{"token=@REFRESH@&token_type_hint=" + url.QueryEscape(fzNested), "@BASIC@"},
	} {
		f.Add(s.body, s.authz)
	}
}

// FuzzIntrospect posts a raw form body, with an optional Authorization
// header, to the introspection endpoint (RFC 7662).
func FuzzIntrospect(f *testing.F) {
	addClientAuthSeeds(f)
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, rawBody, rawAuthz string) {
		fx, before := e.fixture(t)
		body, authz := fx.expand(rawBody), fx.expand(rawAuthz)
		hdr := http.Header{}
		if authz != "" {
			hdr.Set("Authorization", authz)
		}
		w := serveRaw(e.h, http.MethodPost, "/application/o/introspect/", "", body, hdr)
		after := snapshot(t, e.h.st)
		e.done(t, after)
		if d := before.diff(after); d != "" {
			t.Fatalf("introspection (%d) changed the store:\n%s", w.Code, d)
		}
		if w.Code != http.StatusOK {
			if w.Code != http.StatusBadRequest && w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d (%s) for body %q, Authorization %q", w.Code, w.Body, body, authz)
			}
			oauthJSONError(t, w, clientAuthErrorCodes)
			return
		}
		form, ok := parseRawForm(body)
		client := requestClient(form, authz)
		if !ok || client == "" {
			t.Fatalf("200 %s without client authentication: body %q, Authorization %q", w.Body, body, authz)
		}
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("malformed introspection response: %v %s", err, w.Body)
		}
		active, isBool := out["active"].(bool)
		if !isBool {
			t.Fatalf("introspection response without a boolean active (RFC 7662 §2.2): %s", w.Body)
		}
		tok := form.Get("token")
		live := (client == hClientID && (tok == fx.access || tok == fx.refresh)) || (client == fzOtherID && tok == fx.othr)
		switch {
		case active != live:
			t.Fatalf("active = %v for token %q of client %s, want %v", active, tok, client, live)
		case !active && len(out) != 1:
			t.Fatalf("an inactive token tells more than active=false (RFC 7662 §2.2): %s", w.Body)
		case active && out["client_id"] != client:
			t.Fatalf("client_id = %v, want %s", out["client_id"], client)
		}
	})
}

// FuzzRevoke posts a raw form body, with an optional Authorization header,
// to the revocation endpoint (RFC 7009).
func FuzzRevoke(f *testing.F) {
	addClientAuthSeeds(f)
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, rawBody, rawAuthz string) {
		fx, before := e.fixture(t)
		body, authz := fx.expand(rawBody), fx.expand(rawAuthz)
		hdr := http.Header{}
		if authz != "" {
			hdr.Set("Authorization", authz)
		}
		w := serveRaw(e.h, http.MethodPost, "/application/o/revoke/", "", body, hdr)
		after := snapshot(t, e.h.st)
		e.done(t, after)
		if w.Code != http.StatusOK {
			if w.Code != http.StatusBadRequest && w.Code != http.StatusUnauthorized {
				t.Fatalf("status %d (%s) for body %q, Authorization %q", w.Code, w.Body, body, authz)
			}
			oauthJSONError(t, w, clientAuthErrorCodes)
			if d := before.diff(after); d != "" {
				t.Fatalf("rejected revocation (%d %s) changed the store:\n%s", w.Code, w.Body, d)
			}
			return
		}
		form, ok := parseRawForm(body)
		client := requestClient(form, authz)
		if !ok || client == "" || form.Get("token") == "" {
			t.Fatalf("200 for a revocation without client authentication or token: body %q, Authorization %q", body, authz)
		}
		// RFC 7009 §2.1: a refresh token ends its grant, an access token
		// itself; anything else (another client's token) is left alone.
		want := before
		switch tok := form.Get("token"); {
		case client == hClientID && tok == fx.refresh:
			want = before.revokeGrant(fx.grant)
		case client == hClientID && (tok == fx.access || tok == fx.expired):
			want = storeState{tokens: maps.Clone(before.tokens), users: before.users}
			delete(want.tokens, hashToken(tok))
		case client == fzOtherID && tok == fx.othr:
			want = storeState{tokens: maps.Clone(before.tokens), users: before.users}
			delete(want.tokens, hashToken(tok))
		}
		if d := want.diff(after); d != "" {
			t.Fatalf("revocation of %q by %s: the store is not as expected (-want +got):\n%s", form.Get("token"), client, d)
		}
	})
}

// FuzzUserinfo sends a fuzzed Authorization header to the userinfo
// endpoint (OIDC Core §5.3, RFC 6750).
func FuzzUserinfo(f *testing.F) {
	for _, s := range []string{"Bearer @ACCESS@", "bearer @ACCESS@", "Bearer  @ACCESS@ ", "Bearer @REFRESH@", "Bearer @CODE@",
		"Bearer @EXPIRED@", "Bearer @OTHER@", "@BASIC@", "Bearer", "Bearer ", "", "DPoP @ACCESS@", "Bearer @ACCESS@,Bearer @ACCESS@",
		"Bearer " + fzBig, "Bearer " + fzNested} {
		f.Add(s)
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, rawAuthz string) {
		fx, before := e.fixture(t)
		authz := fx.expand(rawAuthz)
		hdr := http.Header{}
		if authz != "" {
			hdr.Set("Authorization", authz)
		}
		w := serveRaw(e.h, http.MethodGet, "/application/o/userinfo/", "", "", hdr)
		after := snapshot(t, e.h.st)
		e.done(t, after)
		if d := before.diff(after); d != "" {
			t.Fatalf("userinfo (%d) changed the store:\n%s", w.Code, d)
		}
		scheme, tok, _ := strings.Cut(authz, " ")
		tok = strings.TrimSpace(tok)
		live := strings.EqualFold(scheme, "Bearer") && (tok == fx.access || tok == fx.othr)
		exact := authz == "Bearer "+fx.access
		switch w.Code {
		case http.StatusOK:
			var claims map[string]any
			if !live {
				t.Fatalf("200 %s for Authorization %q", w.Body, authz)
			} else if err := json.Unmarshal(w.Body.Bytes(), &claims); err != nil || claims["sub"] == nil {
				t.Fatalf("malformed userinfo response: %v %s", err, w.Body)
			}
		case http.StatusUnauthorized:
			if exact {
				t.Fatalf("401 %s for a live access token", w.Body)
			}
			if wa := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer ") && !strings.HasPrefix(wa, "DPoP ") {
				t.Fatalf("WWW-Authenticate %q, want a Bearer or DPoP challenge (RFC 6750 §3, RFC 9449 §7.1)", wa)
			}
			oauthJSONError(t, w, bearerErrorCodes)
		default:
			t.Fatalf("status %d (%s) for Authorization %q", w.Code, w.Body, authz)
		}
	})
}

// FuzzIDTokenHint sends end-session requests with a fuzzed id_token_hint
// in a session that has a grant: only a hint signed by the provider's key
// for its client logs out (and so revokes the grant).
func FuzzIDTokenHint(f *testing.F) {
	for _, s := range []string{"@IDTOKEN@", "@IDTOKEN_EXPIRED@", "@IDTOKEN_OTHERAUD@", "@IDTOKEN_NONE@", "@IDTOKEN_HS256@",
		"@IDTOKEN@x", "@IDTOKEN@.@IDTOKEN@", "e30.e30.", "not a jwt", fzBig, b64url(`{"alg":"ES256"}`) + "." + b64url(fzNested) + ".AAAA",
		b64url(fzNestedObj) + ".e30.AAAA"} {
		f.Add(s)
	}
	e := newFuzzEnv(f)
	k, err := e.h.s.providerKey(context.Background(), e.h.p)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rawHint string) {
		fx, before := e.fixture(t)
		hint := fx.expand(rawHint)
		hdr := http.Header{"Cookie": {fx.cookie}}
		w := serveRaw(e.h, http.MethodGet, "/application/o/app/end-session/", url.Values{"id_token_hint": {hint}}.Encode(), "", hdr)
		after := snapshot(t, e.h.st)
		e.done(t, after)
		genuine := hint == "" || verifiesFor(k, hint, hClientID)
		switch w.Code {
		case http.StatusFound:
			if !genuine {
				t.Fatalf("a forged id_token_hint %q logged out", hint)
			}
			if d := before.revokeGrant(fx.sessionGrant).diff(after); d != "" {
				t.Fatalf("logout did not revoke the session's grant alone:\n%s", d)
			}
		case http.StatusBadRequest:
			if genuine {
				t.Fatalf("a genuine id_token_hint was refused: %s", w.Body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || w.Header().Get("Location") != "" {
				t.Fatalf("refused logout: Content-Type %q, Location %q", ct, w.Header().Get("Location"))
			}
			if d := before.diff(after); d != "" {
				t.Fatalf("refused logout changed the store:\n%s", d)
			}
		default:
			t.Fatalf("status %d (%s) for id_token_hint %q", w.Code, w.Body, hint)
		}
	})
}

// verifiesFor verifies an ID token with k's public key, independently of
// verifyIDTokenHint, and checks its audience.
func verifiesFor(k *signingKey, token, aud string) bool {
	obj, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{k.alg})
	if err != nil {
		return false
	}
	payload, err := obj.Verify(k.signer.Public())
	if err != nil {
		return false
	}
	var claims struct {
		Aud any `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return false
	}
	switch a := claims.Aud.(type) {
	case string:
		return a == aud
	case []any:
		return slices.Contains(a, any(aud))
	}
	return false
}

// FuzzAuthorize sends a raw query string to the authorization endpoint,
// anonymously or in a session of alice's.
func FuzzAuthorize(f *testing.F) {
	challenge := pkceS256(fzVerifier)
	for _, s := range []struct {
		q     string
		login bool
	}{
		{"client_id=harness-client&response_type=code&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid&state=xyz", false},
		{"client_id=harness-client&response_type=code&redirect_uri=https%3A%2F%2Frp.example%2Fcb&scope=openid&state=xyz", true},
		{"client_id=harness-client&response_type=code&scope=openid+email&prompt=none&state=s&code_challenge=" + challenge +
			"&code_challenge_method=S256", true},
		{"client_id=harness-client&response_type=id_token+token&redirect_uri=https%3A%2F%2Fabc.rp.example%2Fcb&scope=openid&nonce=n&prompt=none", true},
		// seed#4: the form_post bug of TestAuthorizePromptNoneFormPost.
		{"client_id=harness-client&response_type=code+id_token&response_mode=form_post&scope=openid&nonce=n&prompt=none&state=%3Cscript%3E", true},
		{"client_id=harness-client&response_type=token&state=x", false},
		{"client_id=harness-client&response_type=code&redirect_uri=https%3A%2F%2Fevil.rp.example%2Fcb%3Fx", false},
		{"client_id=harness-client&response_type=code&code_challenge=short&code_challenge_method=S256", false},
		{"client_id=harness-client&response_type=code&prompt=none&max_age=0", true},
		{"client_id=harness-client&response_type=code&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Ax", false},
		{"client_id=harness-client&client_id=harness-client", false},
		{"client_id=nope", false},
		{"", false},
		{"client_id=harness-client&response_type=code&scope=openid&state=" + fzBig, true},
		{"client_id=harness-client&response_type=code&scope=" + strings.Repeat("openid+", 3000), true},
		{"client_id=harness-client&response_type=code&scope=openid&claims=" + url.QueryEscape(fzNestedObj), true},
	} {
		f.Add(s.q, s.login)
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, raw string, login bool) {
		fx, before := e.fixture(t)
		hdr := http.Header{}
		if login {
			hdr.Set("Cookie", fx.cookie)
		}
		w := serveRaw(e.h, http.MethodGet, "/application/o/authorize/", raw, "", hdr)
		after := snapshot(t, e.h.st)
		e.done(t, after)
		// prompt=login and max_age do not log the session out: a
		// request sent to log in again writes nothing either.
		checkAuthorize(t, raw, login, w, before.diff(after))
	})
}

// checkAuthorize checks an authorization response: the error page when it
// cannot go back to the client, else a redirect to a registered URI (or
// into a flow), with the state, errors from the RFC's list, no token in a
// query, and no grant unless the request was fulfilled.
func checkAuthorize(t *testing.T, raw string, login bool, w *httptest.ResponseRecorder, storeDiff string) {
	t.Helper()
	q, parsed := parseRawForm(raw)
	_, hasReqURI := q["request_uri"]
	// A request object's errors go to the error page: only a verified
	// one (the fuzzer cannot sign one) names a redirect_uri to trust.
	_, hasRequest := q["request"]
	redirectable := parsed && !hasReqURI && !hasRequest && q.Get("client_id") == hClientID &&
		(q.Get("redirect_uri") == "" || isRegisteredRedirect(q.Get("redirect_uri")))
	loc := w.Header().Get("Location")
	issued := false
	switch {
	case w.Code == http.StatusBadRequest:
		if redirectable {
			t.Fatalf("error page %s for a request whose errors go back to the client: %q", w.Body, raw)
		}
		if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") || loc != "" || !strings.Contains(w.Body.String(), "<h1>") {
			t.Fatalf("400 is not the error page: %q %q %s", ct, loc, w.Body)
		}
	case w.Code == http.StatusFound && strings.HasPrefix(loc, "/"):
		u, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(u.Path, "/if/flow/") || strings.HasPrefix(loc, "//") {
			t.Fatalf("redirect to %q", loc)
		}
		if next := u.Query().Get("next"); next != "" && !strings.HasPrefix(next, Prefix+"/authorize/?") {
			t.Fatalf("login redirect with next=%q", next)
		}
		if !redirectable {
			t.Fatalf("request %q went on to a flow (%s) without a valid client and redirect URI", raw, loc)
		}
	case w.Code == http.StatusFound:
		params := checkClientRedirect(t, raw, q, loc)
		issued = checkAuthorizeParams(t, raw, q, login, params)
	case w.Code == http.StatusOK && q.Get("response_mode") == "form_post":
		params := checkFormPost(t, raw, q, w.Body.String())
		issued = checkAuthorizeParams(t, raw, q, login, params)
	default:
		t.Fatalf("status %d (%s, Location %q) for %q", w.Code, w.Body, loc, raw)
	}
	if !issued && storeDiff != "" {
		t.Fatalf("authorization request %q answered %d %q wrote to the store:\n%s", raw, w.Code, loc, storeDiff)
	}
}

// checkClientRedirect checks a redirect back to the client and returns its
// response parameters.
func checkClientRedirect(t *testing.T, raw string, q url.Values, loc string) url.Values {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	base := *u
	base.RawQuery, base.Fragment, base.RawFragment = "", "", ""
	want := q.Get("redirect_uri")
	if want == "" {
		want = hRedirect
	}
	if base.String() != want || !isRegisteredRedirect(base.String()) {
		t.Fatalf("redirect to %q for request %q (redirect_uri %q)", loc, raw, want)
	}
	query := u.Query()
	frag, err := url.ParseQuery(u.Fragment)
	if err != nil {
		t.Fatalf("fragment of %q: %v", loc, err)
	}
	for _, k := range []string{"access_token", "id_token"} {
		if query.Has(k) {
			t.Fatalf("%s in the query of %q (OAuth 2.0 Multiple Response Types §5)", k, loc)
		}
	}
	if len(frag) > 0 && (query.Has("error") || query.Has("code")) {
		t.Fatalf("response split between query and fragment: %q", loc)
	}
	if len(frag) > 0 {
		return frag
	}
	return query
}

var formPostInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// checkFormPost checks an auto-submitting form (Form Post Response Mode
// §2) and returns its parameters.
func checkFormPost(t *testing.T, raw string, q url.Values, body string) url.Values {
	t.Helper()
	want := q.Get("redirect_uri")
	if want == "" {
		want = hRedirect
	}
	if !strings.Contains(body, `action="`+want+`"`) || !isRegisteredRedirect(want) {
		t.Fatalf("form_post page for %q does not post to %q: %s", raw, want, body)
	}
	params := url.Values{}
	for _, m := range formPostInput.FindAllStringSubmatch(body, -1) {
		params.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return params
}

// checkAuthorizeParams checks the response parameters of an authorization
// response and tells whether it issued anything.
func checkAuthorizeParams(t *testing.T, raw string, q url.Values, login bool, params url.Values) bool {
	t.Helper()
	if got, want := params.Get("state"), q.Get("state"); got != want || params.Has("state") != (want != "") {
		t.Fatalf("state %q, want %q (RFC 6749 §4.1.2): %q", got, want, raw)
	}
	if code := params.Get("error"); code != "" {
		if !authorizeErrorCodes[code] {
			t.Fatalf("error %q (%s) for %q", code, params.Get("error_description"), raw)
		}
		return false
	}
	if !params.Has("code") && !params.Has("access_token") && !params.Has("id_token") {
		t.Fatalf("redirect without error or grant: %v for %q", params, raw)
	}
	if !login || !slices.Equal(strings.Fields(q.Get("prompt")), []string{"none"}) {
		t.Fatalf("authorization fulfilled without an interaction (login %v): %q", login, raw)
	}
	return true
}
