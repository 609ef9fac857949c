package oauth2

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// The device and PAR tests run the Server behind the real router
// middleware (scheme, client IP) on a fresh SQLite store, with a fake
// clock, the executor API and a user "dana" who logs in by a session made
// in the store.

const (
	dpClientID = "dp-client"
	dpSecret   = "dp-secret-0123456789abcdefghijklmnopqrstuvwxyz"
	dpRedirect = "https://rp.example/cb"
	dpFlow     = "dp-authorization"
)

type dpClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dpClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *dpClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// dpEnv is one test server: application "dpapp" with a confidential
// provider (HS256, every default scope mapping) whose authorization flow
// has no stages, so that it runs straight to the builtin fulfillment.
type dpEnv struct {
	t     *testing.T
	st    store.Store
	s     *Server
	url   string
	clock *dpClock
	p     *store.OAuth2Provider
	app   *store.Application
	user  *store.User
}

func newDPEnv(t *testing.T) *dpEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := core.Bootstrap(ctx, st, core.BootstrapOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := core.EnsureDefaultFlows(ctx, st); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureScopeMappings(ctx, st); err != nil {
		t.Fatal(err)
	}
	ms, _, err := st.ListPropertyMappings(ctx, "scope", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mappings []uuid.UUID
	for _, m := range ms {
		mappings = append(mappings, m.UUID)
	}
	fl := &store.Flow{Slug: dpFlow, Name: dpFlow, Title: "Authorize", Designation: store.DesignationAuthorization}
	if err := st.CreateFlow(ctx, fl); err != nil {
		t.Fatal(err)
	}
	p := &store.OAuth2Provider{Provider: &store.Provider{Name: "dp", AuthorizationFlow: &fl.UUID}, ClientType: "confidential",
		ClientID: dpClientID, ClientSecret: dpSecret, PropertyMappings: mappings, IncludeClaimsInIDToken: true,
		RedirectURIs: []store.RedirectURI{{MatchingMode: "strict", URL: dpRedirect, Type: "authorization"}}}
	if err := st.CreateOAuth2Provider(ctx, p); err != nil {
		t.Fatal(err)
	}
	app := &store.Application{Name: "Device App", Slug: "dpapp", ProviderPK: &p.ProviderPK, PolicyEngineMode: "any"}
	if err := st.CreateApplication(ctx, app); err != nil {
		t.Fatal(err)
	}
	clock := &dpClock{t: time.Now().UTC()}
	u := &store.User{Username: "dana", Name: "Dana", Email: "dana@example.com", IsActive: true, Type: store.UserInternal,
		Path: "users", Attributes: store.Attributes{}, DateJoined: clock.Now(), LastUpdated: clock.Now()}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	events := &event.Recorder{Store: st, Log: log}
	sessions := &session.Manager{Store: st, Now: clock.Now}
	s := &Server{Store: st, Sessions: sessions, Events: events, SecretKey: "dp-secret-key", Log: log,
		Policies: policyall.Engine(st, log, events), Now: clock.Now}
	s.Executor = &flow.Executor{Store: st, Stages: stageall.Registry(), Log: log, Sessions: sessions, Events: events,
		Policies: s.Policies, Now: clock.Now,
		Builtins: map[string]flow.Stage{FulfillmentStage: s.Fulfillment(), DeviceFulfillmentStage: s.DeviceFulfillment()}}
	ws := &web.Server{Log: log, Mount: func(r chi.Router) {
		r.Handle("/api/v3/flows/executor/{slug}/", s.Executor)
		s.Routes(r)
	}}
	ws.SetStarted(true)
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	return &dpEnv{t: t, st: st, s: s, url: srv.URL, clock: clock, p: p, app: app, user: u}
}

// call posts a form to a machine endpoint, with HTTP Basic client
// credentials when user is set, and decodes the JSON answer.
func (e *dpEnv) call(path string, form url.Values, user, pass string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("POST %s: status %d, body is not JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// browser is a cookie-jar client that does not follow redirects; with
// login, it carries a session of dana's made in the store.
type dpBrowser struct {
	e *dpEnv
	c *http.Client
}

func (e *dpEnv) browser(login bool) *dpBrowser {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &dpBrowser{e: e, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	if login {
		cookie := newOpaque()
		now := e.clock.Now()
		sess := &store.Session{Key: session.Key(cookie), UserPK: &e.user.PK, Data: json.RawMessage(`{"auth_method":"password"}`),
			LastUsed: now, Expires: now.Add(24 * time.Hour)}
		if err := e.st.CreateSession(context.Background(), sess); err != nil {
			e.t.Fatal(err)
		}
		u, _ := url.Parse(e.url)
		jar.SetCookies(u, []*http.Cookie{{Name: session.CookieName, Value: cookie, Path: "/"}})
	}
	return b
}

// do sends a request and returns the status, Location and body.
func (b *dpBrowser) do(method, path string, form url.Values, hdr ...string) (int, string, string) {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(out)
}

// flow runs the executor API once and returns the challenge.
func (b *dpBrowser) flow(slug string) map[string]any {
	b.e.t.Helper()
	code, _, body := b.do(http.MethodGet, "/api/v3/flows/executor/"+slug+"/", nil)
	ch := map[string]any{}
	if err := json.Unmarshal([]byte(body), &ch); code != http.StatusOK || err != nil {
		b.e.t.Fatalf("executor: %d %s", code, body)
	}
	return ch
}

// deviceAuth starts a device authorization of the test client.
func (e *dpEnv) deviceAuth(scope string) deviceAuthResponse {
	e.t.Helper()
	code, out := e.call("/application/o/device/", url.Values{"scope": {scope}}, dpClientID, dpSecret)
	if code != http.StatusOK {
		e.t.Fatalf("device authorization: %d %v", code, out)
	}
	raw, _ := json.Marshal(out)
	var da deviceAuthResponse
	if err := json.Unmarshal(raw, &da); err != nil {
		e.t.Fatal(err)
	}
	return da
}

// poll asks the token endpoint for the device code's tokens.
func (e *dpEnv) poll(deviceCode string) (int, map[string]any) {
	e.t.Helper()
	return e.call("/application/o/token/", url.Values{"grant_type": {deviceGrantType}, "device_code": {deviceCode}}, dpClientID, dpSecret)
}

// approve goes through /device as a logged-in user: the confirmation
// page, Continue, and the authorization flow.
func (b *dpBrowser) approve(userCode string) map[string]any {
	b.e.t.Helper()
	code, _, body := b.do(http.MethodGet, "/device?"+url.Values{"code": {userCode}}.Encode(), nil)
	if code != http.StatusOK || !strings.Contains(body, "Device App") {
		b.e.t.Fatalf("confirmation page: %d %s", code, body)
	}
	code, loc, body := b.do(http.MethodPost, "/device", url.Values{"code": {userCode}, "action": {"allow"}})
	if code != http.StatusFound || loc != "/if/flow/"+dpFlow+"/" {
		b.e.t.Fatalf("continue: %d %q %s", code, loc, body)
	}
	return b.flow(dpFlow)
}

var userCodeFormat = regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`)

func TestDeviceAuthorizationEndpoint(t *testing.T) {
	e := newDPEnv(t)
	da := e.deviceAuth("openid profile nosuchscope")
	if !userCodeFormat.MatchString(da.UserCode) || da.DeviceCode == "" {
		t.Errorf("codes = %q %q", da.UserCode, da.DeviceCode)
	}
	want := deviceAuthResponse{DeviceCode: da.DeviceCode, UserCode: da.UserCode, VerificationURI: e.url + "/device",
		VerificationURIComplete: e.url + "/device?code=" + da.UserCode, ExpiresIn: 600, Interval: 5}
	if diff := cmp.Diff(want, da); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	// The scopes kept are those the provider has mappings for.
	var pd pendingDevice
	if _, err := e.s.loadPending(context.Background(), e.s.pendingKey("device_code", da.DeviceCode), &pd); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"openid", "profile"}, pd.Scopes); diff != "" {
		t.Errorf("scopes (-want +got):\n%s", diff)
	}
	// Neither code is usable as a session cookie, nor is a row's key.
	for _, v := range []string{da.DeviceCode, pd.Device} {
		if _, err := e.st.SessionByKey(context.Background(), session.Key(v), e.clock.Now()); err == nil {
			t.Errorf("%q loads as a browser session", v)
		}
	}

	for _, tc := range []struct {
		name       string
		form       url.Values
		user, pass string
		status     int
		code       string
	}{
		{"no client", url.Values{}, "", "", 401, "invalid_client"},
		{"unknown client", url.Values{"client_id": {"nope"}}, "", "", 401, "invalid_client"},
		{"confidential without secret", url.Values{"client_id": {dpClientID}}, "", "", 401, "invalid_client"},
		{"wrong secret", url.Values{}, dpClientID, "wrong", 401, "invalid_client"},
		{"secret in the body", url.Values{"client_id": {dpClientID}, "client_secret": {dpSecret}}, "", "", 200, ""},
		{"repeated parameter", url.Values{"scope": {"a", "b"}}, dpClientID, dpSecret, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.call("/application/o/device/", tc.form, tc.user, tc.pass)
			if code != tc.status || (tc.code != "" && out["error"] != tc.code) {
				t.Errorf("= %d %v, want %d %s", code, out, tc.status, tc.code)
			}
		})
	}
}

// authentik throttles the endpoint to 20 requests an hour (429 slow_down).
func TestDeviceAuthorizationThrottle(t *testing.T) {
	e := newDPEnv(t)
	for i := 0; i < 20; i++ {
		if code, out := e.call("/application/o/device/", url.Values{}, dpClientID, dpSecret); code != 200 {
			t.Fatalf("request %d: %d %v", i+1, code, out)
		}
	}
	if code, out := e.call("/application/o/device/", url.Values{}, dpClientID, dpSecret); code != 429 || out["error"] != "slow_down" {
		t.Fatalf("request 21 = %d %v, want 429 slow_down", code, out)
	}
	e.clock.Advance(time.Hour)
	if code, out := e.call("/application/o/device/", url.Values{}, dpClientID, dpSecret); code != 200 {
		t.Fatalf("an hour later: %d %v", code, out)
	}
}

// The whole grant: pending, slow_down, the user approves through /device
// and the authorization flow, tokens once, then replay.
func TestDeviceGrant(t *testing.T) {
	e := newDPEnv(t)
	da := e.deviceAuth("openid email offline_access")

	if code, out := e.poll(da.DeviceCode); code != 400 || out["error"] != "authorization_pending" {
		t.Fatalf("first poll = %d %v", code, out)
	}
	if code, out := e.poll(da.DeviceCode); code != 400 || out["error"] != "slow_down" {
		t.Fatalf("immediate second poll = %d %v", code, out)
	}
	e.clock.Advance(devicePollInterval)
	if code, out := e.poll(da.DeviceCode); code != 400 || out["error"] != "authorization_pending" {
		t.Fatalf("poll after the interval = %d %v", code, out)
	}
	if code, out := e.poll("not-a-device-code"); code != 400 || out["error"] != "invalid_grant" {
		t.Errorf("unknown device code = %d %v", code, out)
	}

	// Anonymous: to the brand's authentication flow, back with the code.
	anon := e.browser(false)
	code, loc, _ := anon.do(http.MethodGet, "/device?code="+da.UserCode, nil)
	wantLoc := "/if/flow/default-authentication-flow/?" + url.Values{"next": {"/device?code=" + da.UserCode}}.Encode()
	if code != http.StatusFound || loc != wantLoc {
		t.Errorf("anonymous /device = %d %q, want %q", code, loc, wantLoc)
	}

	b := e.browser(true)
	if code, _, body := b.do(http.MethodGet, "/device", nil); code != 200 || !strings.Contains(body, `name="code"`) {
		t.Errorf("entry page = %d %s", code, body)
	}
	// Typed in lower case with a space instead of the dash.
	typed := strings.ToLower(strings.Replace(da.UserCode, "-", " ", 1))
	code, _, body := b.do(http.MethodGet, "/device?"+url.Values{"code": {typed}}.Encode(), nil)
	if code != 200 || !strings.Contains(body, "Device App") || !strings.Contains(body, da.UserCode) || !strings.Contains(body, "Email address") {
		t.Fatalf("confirmation page = %d %s", code, body)
	}
	ch := b.approve(da.UserCode)
	if ch["component"] != "xak-flow-redirect" || ch["to"] != "/device?status=approved" {
		t.Fatalf("end of the authorization flow = %v", ch)
	}
	if code, _, body := b.do(http.MethodGet, "/device?status=approved", nil); code != 200 || !strings.Contains(body, "Device connected") {
		t.Errorf("approved page = %d %s", code, body)
	}
	// The user code is spent.
	if code, _, body := b.do(http.MethodGet, "/device?code="+da.UserCode, nil); code != 400 || !strings.Contains(body, "not valid") {
		t.Errorf("user code again = %d %s", code, body)
	}

	// Another client cannot redeem it.
	other := &store.OAuth2Provider{Provider: &store.Provider{Name: "other"}, ClientType: "confidential", ClientID: "other",
		ClientSecret: "other-secret"}
	if err := e.st.CreateOAuth2Provider(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if code, out := e.call("/application/o/token/", url.Values{"grant_type": {deviceGrantType}, "device_code": {da.DeviceCode}},
		"other", "other-secret"); code != 400 || out["error"] != "invalid_grant" {
		t.Errorf("another client's poll = %d %v", code, out)
	}

	e.clock.Advance(devicePollInterval)
	code, out := e.poll(da.DeviceCode)
	if code != 200 || out["access_token"] == nil || out["refresh_token"] == nil || out["id_token"] == nil ||
		out["scope"] != "openid email offline_access" || out["token_type"] != "Bearer" {
		t.Fatalf("tokens = %d %v", code, out)
	}
	access := out["access_token"].(string)
	ctx := context.Background()
	tok, g, err := e.st.OAuth2TokenByHash(ctx, hashToken(access))
	if err != nil || tok.Kind != store.OAuth2Access || g.UserPK != e.user.PK || g.SessionUUID != nil ||
		!cmp.Equal(g.AMR, []string{"pwd"}) {
		t.Fatalf("access token's grant = %+v %+v %v", tok, g, err)
	}
	// The device code is not a token anywhere else.
	if code, out := e.call("/application/o/introspect/", url.Values{"token": {da.DeviceCode}}, dpClientID, dpSecret); code != 200 ||
		out["active"] != false {
		t.Errorf("introspecting the device code = %d %v", code, out)
	}

	// Replay: refused, and what it gave is revoked.
	if code, out := e.poll(da.DeviceCode); code != 400 || out["error"] != "invalid_grant" {
		t.Errorf("device code replay = %d %v", code, out)
	}
	if _, g, err := e.st.OAuth2TokenByHash(ctx, hashToken(access)); err != nil || !g.Revoked {
		t.Errorf("after a replay the grant = %+v %v, want revoked", g, err)
	}
}

func TestDeviceDenied(t *testing.T) {
	e := newDPEnv(t)
	da := e.deviceAuth("openid")
	b := e.browser(true)
	code, _, body := b.do(http.MethodPost, "/device", url.Values{"code": {da.UserCode}, "action": {"deny"}})
	if code != 200 || !strings.Contains(body, "denied") {
		t.Fatalf("deny = %d %s", code, body)
	}
	if code, out := e.poll(da.DeviceCode); code != 400 || out["error"] != "access_denied" {
		t.Errorf("poll after deny = %d %v", code, out)
	}
	// The first decision stands: the spent code cannot be approved now.
	if code, _, _ := b.do(http.MethodPost, "/device", url.Values{"code": {da.UserCode}, "action": {"allow"}}); code != 400 {
		t.Errorf("approve after deny = %d", code)
	}
}

func TestDeviceExpiry(t *testing.T) {
	e := newDPEnv(t)
	da := e.deviceAuth("openid")
	b := e.browser(true)
	// The flow is started in time but finished too late.
	code, _, _ := b.do(http.MethodPost, "/device", url.Values{"code": {da.UserCode}, "action": {"allow"}})
	if code != http.StatusFound {
		t.Fatalf("continue = %d", code)
	}
	e.clock.Advance(deviceCodeLifetime)
	if ch := b.flow(dpFlow); ch["component"] != "ak-stage-access-denied" || !strings.Contains(ch["error_message"].(string), "expired") {
		t.Errorf("late approval = %v", ch)
	}
	if code, _, _ := b.do(http.MethodGet, "/device?code="+da.UserCode, nil); code != 400 {
		t.Errorf("expired user code = %d", code)
	}
	if code, out := e.poll(da.DeviceCode); code != 400 || out["error"] != "expired_token" {
		t.Errorf("poll after expiry = %d %v", code, out)
	}
	e.clock.Advance(deviceGrace)
	if code, out := e.poll(da.DeviceCode); code != 400 || out["error"] != "invalid_grant" {
		t.Errorf("poll long after expiry = %d %v", code, out)
	}
}

// Two browsers race to approve one code: the first wins, the second flow
// is denied.
func TestDeviceApprovedOnce(t *testing.T) {
	e := newDPEnv(t)
	da := e.deviceAuth("openid")
	b1, b2 := e.browser(true), e.browser(true)
	for _, b := range []*dpBrowser{b1, b2} {
		if code, _, body := b.do(http.MethodPost, "/device", url.Values{"code": {da.UserCode}, "action": {"allow"}}); code != http.StatusFound {
			t.Fatalf("continue = %d %s", code, body)
		}
	}
	if ch := b1.flow(dpFlow); ch["component"] != "xak-flow-redirect" {
		t.Fatalf("first approval = %v", ch)
	}
	if ch := b2.flow(dpFlow); ch["component"] != "ak-stage-access-denied" || !strings.Contains(ch["error_message"].(string), "already used") {
		t.Errorf("second approval = %v", ch)
	}
}

func TestDeviceVerificationPage(t *testing.T) {
	e := newDPEnv(t)
	b := e.browser(true)
	for _, tc := range []struct {
		name   string
		method string
		form   url.Values
		hdr    []string
		status int
	}{
		{"cross-origin POST", http.MethodPost, url.Values{"code": {"BCDF-GHJK"}, "action": {"allow"}},
			[]string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"malformed code", http.MethodGet, nil, nil, http.StatusBadRequest},
		{"unknown code", http.MethodPost, url.Values{"code": {"BCDF-GHJK"}, "action": {"allow"}}, nil, http.StatusBadRequest},
		{"empty POST", http.MethodPost, url.Values{}, nil, http.StatusBadRequest},
		{"other method", http.MethodPut, nil, nil, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/device"
			if tc.name == "malformed code" {
				path += "?code=AEIOU-123"
			}
			if code, _, body := b.do(tc.method, path, tc.form, tc.hdr...); code != tc.status {
				t.Errorf("= %d, want %d: %s", code, tc.status, body)
			}
		})
	}
	// Guessing is limited per user.
	for i := 0; ; i++ {
		code, _, _ := b.do(http.MethodGet, "/device?code=BCDF-GHJK", nil)
		if code == http.StatusTooManyRequests {
			break
		}
		if i > 40 {
			t.Fatal("no limit on user code guesses")
		}
	}
}

func TestUserCode(t *testing.T) {
	for range 100 {
		c := newUserCode()
		if !userCodeFormat.MatchString(formatUserCode(c)) {
			t.Fatalf("newUserCode() = %q", c)
		}
		if n, ok := normalizeUserCode(strings.ToLower(formatUserCode(c))); !ok || n != c {
			t.Fatalf("normalize(%q) = %q %v", c, n, ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"BCDF-GHJK", "BCDFGHJK", true},
		{" bcdf ghjk", "BCDFGHJK", true},
		{"BCDFGHJ", "", false},
		{"BCDF-GHJKL", "", false},
		{"ABCD-EFGH", "", false}, // vowels are not in the alphabet
		{"BCD0-GHJK", "", false},
		{strings.Repeat("B", 40), "", false},
	} {
		got, ok := normalizeUserCode(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("normalizeUserCode(%q) = %q %v, want %q %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzNormalizeUserCode(f *testing.F) {
	f.Add("BCDF-GHJK")
	f.Add(" bcdf ghjk ")
	f.Add("ÄBCD-GHJK")
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := normalizeUserCode(in)
		if !ok {
			return
		}
		if len(got) != userCodeLength || strings.Trim(got, userCodeAlphabet) != "" {
			t.Fatalf("normalizeUserCode(%q) = %q", in, got)
		}
		if again, ok := normalizeUserCode(formatUserCode(got)); !ok || again != got {
			t.Fatalf("not stable: %q -> %q -> %q", in, got, again)
		}
	})
}

func TestLimiter(t *testing.T) {
	clock := &dpClock{t: time.Unix(0, 0)}
	l := &limiter{limit: 2, window: time.Minute, now: clock.Now}
	got := []bool{l.allow("a"), l.allow("a"), l.allow("a"), l.allow("b")}
	if diff := cmp.Diff([]bool{true, true, false, true}, got); diff != "" {
		t.Errorf("allow (-want +got):\n%s", diff)
	}
	clock.Advance(time.Minute)
	if !l.allow("a") {
		t.Error("a new window does not start")
	}
	// Bounded: a full table drops finished windows first.
	for i := range limiterMaxKeys + 10 {
		l.allow(strconv.Itoa(i))
	}
	if n := len(l.hits); n > limiterMaxKeys {
		t.Errorf("limiter holds %d keys", n)
	}
}
