package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/oauth2"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// totpCode computes the TOTP code of a base32 secret for time step step
// with an implementation independent of the server's: Debian's oathtool
// when installed (required under CI=true), else pquerna/otp.
func totpCode(t *testing.T, secret string, step int64) string {
	t.Helper()
	at := step * 30
	if path, err := exec.LookPath("oathtool"); err == nil {
		out, err := exec.Command(path, "--totp=SHA1", "--digits=6", "--time-step-size=30s",
			"--now", "@"+strconv.FormatInt(at, 10), "-b", secret).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	if testenv.CI() {
		t.Fatal("CI=true and oathtool is not installed")
	}
	code, err := totp.GenerateCodeCustom(secret, time.Unix(at, 0), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// loginToMFA runs default-authentication-flow as akadmin up to the answer
// after the password.
func loginToMFA(t *testing.T, c *flowClient) map[string]any {
	t.Helper()
	const flow = "default-authentication-flow"
	c.exec("GET", flow, nil)
	if ch := c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"}); component(ch) != "ak-stage-password" {
		t.Fatalf("after identification: %v", ch)
	}
	return c.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": bootstrapPassword})
}

func validate(c *flowClient, body map[string]any) map[string]any {
	body["component"] = "ak-stage-authenticator-validate"
	return c.exec("POST", "default-authentication-flow", body)
}

// TOTP end to end against the binary: enrollment through the default
// setup flow while signed in, then logins with the password and a code
// computed by oathtool; wrong, malformed and replayed codes are
// response_errors, never a 500; once the device is deleted the login skips
// MFA again (not_configured_action skip).
func TestMFATOTP(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		c := newFlowClient(t, s)
		if ch := loginToMFA(t, c); component(ch) != "xak-flow-redirect" {
			t.Fatalf("login without a device: %v", ch)
		}

		const setup = "default-authenticator-totp-setup"
		ch := c.exec("GET", setup, nil)
		if component(ch) != "ak-stage-authenticator-totp" || !strings.HasPrefix(ch["qr_code"].(string), "data:image/png;base64,") {
			t.Fatalf("setup challenge: %v", ch)
		}
		u, err := url.Parse(ch["config_url"].(string))
		if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("digits") != "6" {
			t.Fatalf("config_url %v: %v", ch["config_url"], err)
		}
		secret := u.Query().Get("secret")
		if ch := c.exec("POST", setup, map[string]any{"component": "ak-stage-authenticator-totp", "code": "12345x"}); fieldErrors(ch, "code") == "" {
			t.Errorf("letters at setup: %v", ch)
		}
		enrolled := time.Now().Unix() / 30
		ch = c.exec("POST", setup, map[string]any{"component": "ak-stage-authenticator-totp", "code": totpCode(t, secret, enrolled)})
		if component(ch) != "xak-flow-redirect" {
			t.Fatalf("setup with oathtool's code: %v", ch)
		}
		found := false
		for _, e := range results(s.must(200, "GET", "/events/events/?action=model_created&page_size=100", nil)) {
			if m, _ := e["context"].(map[string]any)["model"].(map[string]any); m["model_name"] == "totpdevice" {
				found = true
			}
		}
		if !found {
			t.Error("no model_created event for the device")
		}

		c.exec("GET", "default-invalidation-flow", nil)
		ch = loginToMFA(t, c)
		dcs, _ := ch["device_challenges"].([]any)
		if component(ch) != "ak-stage-authenticator-validate" || len(dcs) != 1 || dcs[0].(map[string]any)["device_class"] != "totp" {
			t.Fatalf("after the password: %v", ch)
		}
		// The step after the setup code's (the setup code is used up),
		// within the one-step skew of the server's clock.
		step := max(time.Now().Unix()/30, enrolled+1)
		right := totpCode(t, secret, step)
		wrong := "000000"
		for _, taken := range []string{right, totpCode(t, secret, step-1), totpCode(t, secret, step+1), totpCode(t, secret, step-2)} {
			if wrong == taken {
				wrong = "999999"
			}
		}
		for _, tc := range []struct {
			code any
			want string
		}{
			{wrong, "Invalid code."},
			{"12ab56", "The code must contain only digits."},
			{strings.Repeat("9", 100), "The code must be 6 digits long."},
			{map[string]any{"nested": true}, "Please enter a code."},
		} {
			ch := validate(c, map[string]any{"code": tc.code})
			if component(ch) != "ak-stage-authenticator-validate" || fieldErrors(ch, "code") != tc.want {
				t.Errorf("code %.20v: %v", tc.code, ch)
			}
		}
		req, _ := http.NewRequest("POST", s.base+"/flows/executor/default-authentication-flow/", bytes.NewReader([]byte(`{"component":"ak-stage-authenticator-validate","code":"1`)))
		resp, err := c.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var bad map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&bad)
		resp.Body.Close()
		if resp.StatusCode != 200 || component(bad) != "ak-stage-authenticator-validate" || fieldErrors(bad, "non_field_errors") == "" {
			t.Errorf("truncated JSON: %d %v", resp.StatusCode, bad)
		}

		ch = validate(c, map[string]any{"code": right})
		if component(ch) != "xak-flow-redirect" || ch["to"] != "/if/user/" {
			t.Fatalf("right code: %v", ch)
		}
		if code, me := c.me(); code != 200 || me["user"].(map[string]any)["username"] != "akadmin" {
			t.Fatalf("me after the MFA login: %d %v", code, me)
		}
		logins := results(s.must(200, "GET", "/events/events/?action=login", nil))
		if len(logins) == 0 || logins[0]["context"].(map[string]any)["auth_method"] != "auth_mfa" {
			t.Errorf("login event: %v", logins[0])
		}

		// The same code again, in a fresh login within its window: refused.
		c.exec("GET", "default-invalidation-flow", nil)
		loginToMFA(t, c)
		if ch := validate(c, map[string]any{"code": right}); fieldErrors(ch, "code") != "This code was used already; wait for the next one." {
			t.Errorf("a reused code: %v", ch)
		}

		// The device deleted (as the device API does): no MFA any more.
		st := s.open()
		ctx := context.Background()
		ds, _, err := st.ListDevices(ctx, store.DeviceFilter{Type: store.DeviceTOTP})
		if err != nil || len(ds) != 1 {
			t.Fatalf("devices: %v %v", ds, err)
		}
		if err := st.DeleteDevice(ctx, ds[0].PK); err != nil {
			t.Fatal(err)
		}
		fresh := newFlowClient(t, s)
		if ch := loginToMFA(t, fresh); component(ch) != "xak-flow-redirect" {
			t.Errorf("login after the device was deleted: %v", ch)
		}
	})
}

// Recovery codes end to end: enrolled through the default setup flow,
// each logs in once; an OIDC client (go-oidc) then sees amr pwd+mfa in the
// ID token of the session.
func TestMFAStatic(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		b := newBrowserless(t, s)
		c := b.flow
		loginToMFA(t, c)
		const setup = "default-authenticator-static-setup"
		ch := c.exec("GET", setup, nil)
		codes, _ := ch["codes"].([]any)
		if component(ch) != "ak-stage-authenticator-static" || len(codes) != 6 {
			t.Fatalf("setup challenge: %v", ch)
		}
		if ch := c.exec("POST", setup, map[string]any{"component": "ak-stage-authenticator-static"}); component(ch) != "xak-flow-redirect" {
			t.Fatalf("confirming the codes: %v", ch)
		}
		code := codes[0].(string)

		login := func() map[string]any {
			c.exec("GET", "default-invalidation-flow", nil)
			ch := loginToMFA(t, c)
			if component(ch) != "ak-stage-authenticator-validate" {
				t.Fatalf("after the password: %v", ch)
			}
			return ch
		}
		login()
		if ch := validate(c, map[string]any{"code": "not-a-code!"}); fieldErrors(ch, "code") != "Recovery codes contain only letters and digits." {
			t.Errorf("a malformed code: %v", ch)
		}
		if ch := validate(c, map[string]any{"code": code}); component(ch) != "xak-flow-redirect" {
			t.Fatalf("a recovery code: %v", ch)
		}
		login()
		if ch := validate(c, map[string]any{"code": code}); fieldErrors(ch, "code") != "Invalid code." {
			t.Errorf("the same code again: %v", ch)
		}
		if ch := validate(c, map[string]any{"code": codes[1].(string)}); component(ch) != "xak-flow-redirect" {
			t.Fatalf("the next code: %v", ch)
		}

		o := setupOIDC(t, s, "confidential")
		ctx := context.Background()
		provider, err := oidc.NewProvider(ctx, o.issuer)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := oauth2.Config{ClientID: oidcClientID, ClientSecret: oidcClientSecret, Endpoint: provider.Endpoint(),
			RedirectURL: oidcRedirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
		pkce := oauth2.GenerateVerifier()
		cb := callbackParams(t, b.authorize(cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(pkce)), true))
		tok, err := cfg.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		rawID, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&oidc.Config{ClientID: oidcClientID}).Verify(ctx, rawID)
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			AMR []string `json:"amr"`
		}
		if err := idt.Claims(&claims); err != nil || strings.Join(claims.AMR, " ") != "pwd mfa" {
			t.Errorf("amr = %v (%v), want [pwd mfa]", claims.AMR, err)
		}
	})
}

// The HTML flow UI in headless Chromium: a signed-in person sets up an
// authenticator app (the key read from the page, the code computed by
// oathtool) and recovery codes, signs out, and signs in again with the
// password and a recovery code. Screenshots: mfa-totp-setup,
// mfa-static-setup, mfa-validate.
func TestMFABrowser(t *testing.T) {
	base, _ := browserServer(t, nil)
	ctx := browser(t)
	login := func(waitFor string) {
		t.Helper()
		if err := chromedp.Do(ctx, signIn(base+"/if/flow/default-authentication-flow/?next=%2F", "akadmin", bootstrapPassword, chromedp.ID(waitFor))); err != nil {
			t.Fatalf("login up to #%s: %v", waitFor, err)
		}
	}
	login("signed-in")

	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/default-authenticator-totp-setup/"),
		chromedp.WaitVisible(chromedp.ID("totp-qr")),
	); err != nil {
		t.Fatalf("TOTP setup page: %v", err)
	}
	configURL, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("totp-url")))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "mfa-totp-setup")
	u, err := url.Parse(configURL)
	if err != nil || u.Query().Get("secret") == "" {
		t.Fatalf("config URL on the page: %q", configURL)
	}
	code := totpCode(t, u.Query().Get("secret"), time.Now().Unix()/30)
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("TOTP setup with the code: %v", err)
	}

	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/default-authenticator-static-setup/"),
		chromedp.WaitVisible(chromedp.ID("static-codes")),
	); err != nil {
		t.Fatalf("static setup page: %v", err)
	}
	codes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#static-codes code")].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "mfa-static-setup")
	if len(codes) != 6 {
		t.Fatalf("codes on the page: %v", codes)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("static-continue")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
		chromedp.Navigate(base+"/flows/-/default/invalidation/"),
		chromedp.WaitVisible(chromedp.ID("uid_field")),
	); err != nil {
		t.Fatalf("confirm the codes and sign out: %v", err)
	}

	login("validate")
	screenshot(t, ctx, "mfa-validate")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("code"), "00000000"),
		chromedp.Submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS("p.error")),
	); err != nil {
		t.Fatalf("a wrong code: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("code"), codes[2]),
		chromedp.Submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("a recovery code: %v", err)
	}
}
