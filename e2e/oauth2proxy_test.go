package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// addRedirectURI registers one more authorization redirect URI on the
// provider, through the store (the provider admin API is not used here).
func (o *oidcSetup) addRedirectURI(t *testing.T, uri string) {
	t.Helper()
	db := o.s.open()
	ctx := context.Background()
	p, err := db.OAuth2ProviderByPK(ctx, o.providerPK)
	if err != nil {
		t.Fatal(err)
	}
	p.RedirectURIs = append(p.RedirectURIs, store.RedirectURI{MatchingMode: "strict", URL: uri, Type: "authorization"})
	if err := db.UpdateOAuth2Provider(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// verifyAdminEmail gives akadmin an email address marked verified, as the
// default "email" scope mapping reads it from the user's attributes.
func verifyAdminEmail(t *testing.T, s *apiServer, email string) {
	t.Helper()
	users := results(s.must(200, "GET", "/core/users/?username=akadmin", nil))
	if len(users) != 1 {
		t.Fatalf("akadmin: %v", users)
	}
	s.must(200, "PATCH", fmt.Sprintf("/core/users/%v/", users[0]["pk"]), map[string]any{
		"email": email, "attributes": map[string]any{"email_verified": true}})
}

// goTool finds a program installed with `go install`: on PATH, else in
// $(go env GOPATH)/bin. It skips the test without it (fails under CI).
func goTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p
			}
		}
	}
	testenv.Missing(t, "%s is not installed (on PATH or in $(go env GOPATH)/bin)", name)
	return ""
}

// freeAddr returns a loopback address that was free a moment ago, for a
// program that must know its own URL before it listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// oauth2Proxy starts oauth2-proxy with args and waits for /ping.
func oauth2Proxy(t *testing.T, bin, addr string, args ...string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(bin, append([]string{"--http-address=" + addr}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out // only read after Wait
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("oauth2-proxy output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("oauth2-proxy exited: %v", err)
		default:
		}
		resp, err := http.Get("http://" + addr + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("oauth2-proxy did not answer /ping within 30s")
}

// hop is one request of a redirect chain: status, absolute Location, body.
func hop(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	loc := resp.Header.Get("Location")
	if loc != "" {
		base, _ := url.Parse(u)
		ref, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("GET %s: Location %q: %v", u, loc, err)
		}
		loc = base.ResolveReference(ref).String()
	}
	return resp.StatusCode, loc, string(body)
}

// oauth2-proxy v7.15.6, an independent OIDC relying party and forward-auth
// server, in front of an app that echoes the identity headers it is given:
// discovery, the code flow with PKCE S256 through Gatehouse's login and
// consent flows, ID token validation (iss, aud, signature, email_verified),
// the identity passed upstream, and /oauth2/auth 202/401.
func TestOAuth2Proxy(t *testing.T) {
	bin := goTool(t, "oauth2-proxy")
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		o := setupOIDC(t, s, "confidential")
		verifyAdminEmail(t, s, "akadmin@example.com")

		// The upstream app: whatever oauth2-proxy says about the user.
		app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{
				"path":               r.URL.Path,
				"user":               r.Header.Get("X-Forwarded-User"),
				"email":              r.Header.Get("X-Forwarded-Email"),
				"groups":             r.Header.Get("X-Forwarded-Groups"),
				"preferred_username": r.Header.Get("X-Forwarded-Preferred-Username"),
				"access_token":       r.Header.Get("X-Forwarded-Access-Token"),
			})
		}))
		t.Cleanup(app.Close)

		addr := freeAddr(t)
		proxy := "http://" + addr
		callback := proxy + "/oauth2/callback"
		o.addRedirectURI(t, callback)
		secret := make([]byte, 24)
		_, _ = rand.Read(secret)
		oauth2Proxy(t, bin, addr,
			"--provider=oidc", "--provider-display-name=Gatehouse",
			"--oidc-issuer-url="+o.issuer,
			"--client-id="+oidcClientID, "--client-secret="+oidcClientSecret,
			"--redirect-url="+callback,
			"--upstream="+app.URL+"/",
			"--email-domain=*",
			"--cookie-secret="+base64.RawURLEncoding.EncodeToString(secret), // 32 characters
			"--cookie-secure=false",
			"--pass-user-headers", "--pass-access-token", "--set-xauthrequest",
			"--scope=openid email profile",
			"--code-challenge-method=S256",
			"--skip-provider-button",
			"--reverse-proxy=false")

		// Without a cookie: the app is out of reach and /oauth2/auth says 401.
		anon := &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		if code, _, body := hop(t, anon, proxy+"/oauth2/auth"); code != http.StatusUnauthorized {
			t.Errorf("/oauth2/auth without a session: %d %s", code, body)
		}

		b := newBrowserless(t, s)
		// --skip-provider-button: straight to the OP, no sign-in page.
		code, loc, body := hop(t, b.http, proxy+"/private?x=1")
		if code != http.StatusFound {
			t.Fatalf("GET the app without a session: %d %s", code, body)
		}
		authURL, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, b.root+"/application/o/authorize/") {
			t.Fatalf("oauth2-proxy sent the browser to %q, want Gatehouse's authorization endpoint", loc)
		}
		q := authURL.Query()
		if q.Get("client_id") != oidcClientID || q.Get("redirect_uri") != callback || q.Get("response_type") != "code" ||
			q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
			t.Errorf("authorization request = %v", q)
		}

		// Login and consent in Gatehouse, back to oauth2-proxy's callback.
		loc = b.authorize(loc, true)
		cb, err := url.Parse(loc)
		if err != nil || !strings.HasPrefix(loc, callback+"?") {
			t.Fatalf("Gatehouse sent the browser to %q, want %s", loc, callback)
		}
		if cb.Query().Get("code") == "" || cb.Query().Get("state") != q.Get("state") {
			t.Fatalf("callback = %v", cb.Query())
		}
		code, loc, body = hop(t, b.http, loc)
		if code != http.StatusFound || loc != proxy+"/private?x=1" {
			t.Fatalf("oauth2-proxy callback: %d %q %s", code, loc, body)
		}

		// The app, with the user's identity.
		code, _, body = hop(t, b.http, loc)
		if code != http.StatusOK {
			t.Fatalf("the app through the proxy: %d %s", code, body)
		}
		var got map[string]string
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("app answer %q: %v", body, err)
		}
		if got["path"] != "/private" || got["email"] != "akadmin@example.com" || got["preferred_username"] != "akadmin" ||
			got["groups"] != "Gatehouse Admins" || got["user"] == "" || got["access_token"] == "" {
			t.Errorf("headers the app received = %v", got)
		}
		// X-Forwarded-User is the ID token's sub: the same as userinfo's for
		// the access token oauth2-proxy got.
		req, _ := http.NewRequest("GET", b.root+"/application/o/userinfo/", nil)
		req.Header.Set("Authorization", "Bearer "+got["access_token"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ui map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&ui)
		resp.Body.Close()
		if resp.StatusCode != 200 || ui["sub"] != got["user"] || ui["email"] != "akadmin@example.com" || ui["email_verified"] != true {
			t.Errorf("userinfo for oauth2-proxy's access token: %d %v; X-Forwarded-User %q", resp.StatusCode, ui, got["user"])
		}

		// Forward auth: 202 with the session cookie, and who it is.
		resp, err = b.http.Get(proxy + "/oauth2/auth")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || resp.Header.Get("X-Auth-Request-Email") != "akadmin@example.com" ||
			resp.Header.Get("X-Auth-Request-Preferred-Username") != "akadmin" ||
			resp.Header.Get("X-Auth-Request-Groups") != "Gatehouse Admins" || resp.Header.Get("X-Auth-Request-User") != got["user"] {
			t.Errorf("/oauth2/auth with the session: %d %v", resp.StatusCode, resp.Header)
		}
		// The session cookie alone is enough, in another client.
		jar, _ := cookiejar.New(nil)
		pu, _ := url.Parse(proxy)
		var session []*http.Cookie
		for _, c := range b.http.Jar.Cookies(pu) {
			if strings.HasPrefix(c.Name, "_oauth2_proxy") && !strings.Contains(c.Name, "csrf") {
				session = append(session, c)
			}
		}
		if len(session) == 0 {
			t.Fatalf("no oauth2-proxy session cookie in %v", b.http.Jar.Cookies(pu))
		}
		jar.SetCookies(pu, session)
		other := &http.Client{Jar: jar, Timeout: 10 * time.Second}
		if code, _, body := hop(t, other, proxy+"/oauth2/auth"); code != http.StatusAccepted {
			t.Errorf("/oauth2/auth with the session cookie only: %d %s", code, body)
		}
		if code, _, body := hop(t, anon, proxy+"/oauth2/auth"); code != http.StatusUnauthorized {
			t.Errorf("/oauth2/auth without the cookie after a login: %d %s", code, body)
		}
		if code, loc, _ := hop(t, anon, proxy+"/"); code != http.StatusFound || !strings.HasPrefix(loc, b.root+"/application/o/authorize/") {
			t.Errorf("the app without the cookie after a login: %d %q", code, loc)
		}
	})
}
