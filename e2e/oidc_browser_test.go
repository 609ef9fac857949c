package e2e

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// goRP is a relying party built on coreos/go-oidc and x/oauth2: / sends
// the browser to the OP (state, nonce, PKCE S256), /cb exchanges the code,
// verifies the ID token and shows who signed in.
type goRP struct {
	t        *testing.T
	cfg      oauth2.Config
	verifier *oidc.IDTokenVerifier
	mu       sync.Mutex
	pending  map[string][2]string // state -> nonce, PKCE verifier
}

func (rp *goRP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/":
		state, nonce, pkce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
		rp.mu.Lock()
		rp.pending[state] = [2]string{nonce, pkce}
		rp.mu.Unlock()
		http.Redirect(w, r, rp.cfg.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce)), http.StatusFound)
	case "/cb":
		who, err := rp.callback(r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err != nil {
			rp.t.Errorf("relying party callback %s: %v", r.URL, err)
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<!doctype html><title>RP error</title><p id=\"rp-error\">%s</p>", html.EscapeString(err.Error()))
			return
		}
		fmt.Fprintf(w, "<!doctype html><title>Go RP</title><h1>Go RP</h1><p>Hello, <strong id=\"rp-user\">%s</strong></p>",
			html.EscapeString(who))
	default:
		http.NotFound(w, r)
	}
}

func (rp *goRP) callback(r *http.Request) (string, error) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("OP error %s: %s", e, q.Get("error_description"))
	}
	rp.mu.Lock()
	p, ok := rp.pending[q.Get("state")]
	delete(rp.pending, q.Get("state"))
	rp.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("unknown state %q", q.Get("state"))
	}
	ctx := r.Context()
	tok, err := rp.cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p[1]))
	if err != nil {
		return "", fmt.Errorf("exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		return "", fmt.Errorf("ID token: %w", err)
	}
	if idt.Nonce != p[0] {
		return "", fmt.Errorf("nonce %q, want %q", idt.Nonce, p[0])
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		return "", fmt.Errorf("at_hash: %w", err)
	}
	var claims struct {
		PreferredUsername string `json:"preferred_username"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", err
	}
	if claims.PreferredUsername == "" {
		return "", fmt.Errorf("no preferred_username in the ID token")
	}
	return claims.PreferredUsername, nil
}

// The authorization code flow in headless Chromium: a go-oidc relying
// party sends the browser to Gatehouse, the person types their username
// and password into the HTML flow UI, sees the consent page list what the
// application asks for, continues, and lands back at the relying party,
// which exchanges the code and verifies the ID token.
func TestOIDCBrowser(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		o := setupOIDC(t, s, "confidential")
		root := strings.TrimSuffix(s.base, "/api/v3")
		provider, err := oidc.NewProvider(context.Background(), o.issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		rp := &goRP{t: t, verifier: provider.Verifier(&oidc.Config{ClientID: oidcClientID}), pending: map[string][2]string{}}
		srv := httptest.NewUnstartedServer(rp)
		rp.cfg = oauth2.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: "http://" + srv.Listener.Addr().String() + "/cb", Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
		srv.Start()
		t.Cleanup(srv.Close)
		o.addRedirectURI(t, rp.cfg.RedirectURL)
		shot := func(ctx context.Context, name string) {
			screenshot(t, ctx, "oidc-"+t.Name()[strings.LastIndex(t.Name(), "/")+1:]+"-"+name)
		}

		ctx := browser(t)
		if err := chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(chromedp.ID("uid_field")),
		); err != nil {
			t.Fatalf("open the relying party: %v", err)
		}
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, root+"/if/flow/default-authentication-flow/?") {
			t.Errorf("login page at %s", loc)
		}
		shot(ctx, "1-identification")
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.ID("uid_field"), "akadmin"),
			chromedp.Submit(chromedp.ID("uid_field")),
			chromedp.WaitVisible(chromedp.ID("password")),
			chromedp.SendKeys(chromedp.ID("password"), bootstrapPassword),
		); err != nil {
			t.Fatalf("identification: %v", err)
		}
		shot(ctx, "2-password")
		if err := chromedp.Do(ctx,
			chromedp.Submit(chromedp.ID("password")),
			chromedp.WaitVisible(chromedp.ID("consent-continue")),
		); err != nil {
			t.Fatalf("password: %v", err)
		}
		shot(ctx, "3-consent")
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, root+"/if/flow/e2e-consent/") {
			t.Errorf("consent page at %s", loc)
		}
		if title, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("consent"))); title != "Sign in to Go app" {
			t.Errorf("consent heading %q", title)
		}
		if text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.user"))); text != "You're about to sign into Go app." {
			t.Errorf("consent text %q", text)
		}
		for _, want := range []string{"Email address", "General Profile Information"} {
			if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.Search(`//main//ul/li[normalize-space()="`+want+`"]`))); err != nil {
				t.Errorf("consent page does not show %q: %v", want, err)
			}
		}
		if list, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main ul"))); strings.Count(list, "\n") != 1 {
			t.Errorf("consent lists %q, want exactly the two scope descriptions (openid has none)", list)
		}
		// Record Content-Security-Policy violations: a policy of the flow UI
		// can stop the browser from following the redirect to the client.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.cspViolations = [];
			document.addEventListener("securitypolicyviolation", e => window.cspViolations.push(e.violatedDirective + " (policy: " + e.originalPolicy + ")"));
			true`)); err != nil {
			t.Fatal(err)
		}
		wait, cancel := context.WithTimeout(ctx, 15*time.Second)
		err = chromedp.Do(wait,
			chromedp.Click(chromedp.ID("consent-continue")),
			chromedp.WaitVisible(chromedp.Search(`//*[@id="rp-user" or @id="rp-error"]`)),
		)
		cancel()
		if err != nil {
			shot(ctx, "4-stuck")
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			csp, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.cspViolations || []`))
			t.Fatalf("after Continue on the consent page the browser did not reach the relying party (%v): still at %s; "+
				"Content-Security-Policy violations: %q", err, loc, csp)
		}
		shot(ctx, "4-relying-party")
		if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(loc, srv.URL+"/cb?") {
			t.Errorf("after consent at %s", loc)
		}
		if who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("rp-user"))); err != nil || who != "akadmin" {
			t.Errorf("the relying party shows %q (%v)", who, err)
		}

		// Signed in and consent remembered: the next visit goes straight
		// through.
		if err := chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(chromedp.Search(`//*[@id="rp-user" or @id="rp-error"]`)),
		); err != nil {
			t.Fatalf("second visit: %v", err)
		}
		if who, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("rp-user"))); err != nil || who != "akadmin" {
			t.Errorf("second visit: the relying party shows %q (%v)", who, err)
		}
	})
}
