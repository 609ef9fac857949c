package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/gatehouse-idp/gatehouse/internal/mfa/webauthn/webauthntest"
)

// webauthnServer starts the binary and returns its base URL with the host
// name localhost (an IP address cannot be a WebAuthn RP ID) and an API
// client on it.
func webauthnServer(t *testing.T) (string, *apiServer) {
	t.Helper()
	env := baseEnv(t.TempDir())
	env["GATEHOUSE_BOOTSTRAP_PASSWORD"] = bootstrapPassword
	env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
	p := start(t, env, "server")
	p.waitReady(30 * time.Second)
	base := strings.Replace(p.url("http"), "127.0.0.1", "localhost", 1)
	return base, &apiServer{t: t, base: base + "/api/v3", token: bootstrapToken}
}

// enablePasskeys points the default identification stage's webauthn_stage
// at the default validate stage, as authentik 2025.12 configures passkeys.
func (s *apiServer) enablePasskeys() {
	s.t.Helper()
	validate := s.stageByName("default-authentication-mfa-validation")
	ident := s.stageByName("default-authentication-identification")
	s.must(200, "PATCH", "/stages/identification/"+ident+"/", map[string]any{"settings": map[string]any{
		"user_fields": []any{"email", "username"}, "webauthn_stage": validate}})
}

func (s *apiServer) webauthnDevices() []map[string]any {
	s.t.Helper()
	return results(s.must(200, "GET", "/authenticators/admin/webauthn/", nil))
}

func rawJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WebAuthn through the flow executor API, with a software authenticator
// (no browser): registration through default-authenticator-webauthn-setup
// after bad responses that save nothing, a passkey login with no password,
// password + WebAuthn as second factor, and refusals (a replayed assertion,
// a counter that goes backwards, the wrong origin).
func TestWebAuthnExecutorAPI(t *testing.T) {
	base, s := webauthnServer(t)
	c := newFlowClient(t, s)
	const login = "default-authentication-flow"
	const setup = "default-authenticator-webauthn-setup"
	c.exec("GET", login, nil)
	c.exec("POST", login, map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"})
	ch := c.exec("POST", login, map[string]any{"component": "ak-stage-password", "password": bootstrapPassword})
	if component(ch) != "xak-flow-redirect" {
		t.Fatalf("password login: %v", ch)
	}

	ch = c.exec("GET", setup, nil)
	if component(ch) != "ak-stage-authenticator-webauthn" || ch["pending_user"] != "akadmin" {
		t.Fatalf("setup challenge: %v", ch)
	}
	reg := ch["registration"].(map[string]any)
	if reg["rp"].(map[string]any)["id"] != "localhost" || reg["challenge"] == "" || reg["user"].(map[string]any)["name"] != "akadmin" {
		t.Fatalf("registration options: %v", reg)
	}
	a := webauthntest.New(base)
	good, err := a.Create(rawJSON(t, reg))
	if err != nil {
		t.Fatal(err)
	}
	var goodObj map[string]any
	_ = json.Unmarshal(good, &goodObj)
	att := goodObj["response"].(map[string]any)["attestationObject"].(string)
	truncated := map[string]any{}
	_ = json.Unmarshal(good, &truncated)
	truncated["response"] = map[string]any{"clientDataJSON": goodObj["response"].(map[string]any)["clientDataJSON"], "attestationObject": att[:len(att)/3]}
	evil := webauthntest.New("http://evil.localhost:1")
	// Bad input: an answer on the response field, status 200, nothing saved.
	for name, bad := range map[string]any{
		"missing":        nil,
		"a string":       "hello",
		"a number":       42,
		"empty object":   map[string]any{},
		"truncated CBOR": truncated,
		"100 digits":     strings.Repeat("1", 100),
	} {
		body := map[string]any{"component": "ak-stage-authenticator-webauthn"}
		if bad != nil {
			body["response"] = bad
		}
		ch = c.exec("POST", setup, body)
		if component(ch) != "ak-stage-authenticator-webauthn" || fieldErrors(ch, "response") == "" {
			t.Errorf("%s: %v", name, ch)
		}
	}
	// The wrong origin, with the current challenge.
	wrong, _ := evil.Create(rawJSON(t, ch["registration"]))
	ch = c.exec("POST", setup, map[string]any{"component": "ak-stage-authenticator-webauthn", "response": json.RawMessage(wrong)})
	if fieldErrors(ch, "response") == "" {
		t.Errorf("wrong origin: %v", ch)
	}
	if n := len(s.webauthnDevices()); n != 0 {
		t.Fatalf("%d devices saved from bad responses", n)
	}
	// The old challenge's response no longer counts: each failure made a
	// new challenge.
	ch = c.exec("POST", setup, map[string]any{"component": "ak-stage-authenticator-webauthn", "response": json.RawMessage(good)})
	if fieldErrors(ch, "response") == "" {
		t.Fatalf("response to an old challenge: %v", ch)
	}
	good, _ = a.Create(rawJSON(t, ch["registration"]))
	ch = c.exec("POST", setup, map[string]any{"component": "ak-stage-authenticator-webauthn", "response": json.RawMessage(good)})
	if component(ch) != "xak-flow-redirect" {
		t.Fatalf("registration: %v", ch)
	}
	devices := s.webauthnDevices()
	if len(devices) != 1 {
		t.Fatalf("devices: %v", devices)
	}
	if ev := s.wantEvent("model_created", fmt.Sprint(devices[0]["pk"])); ev["context"].(map[string]any)["model"].(map[string]any)["model_name"] != "webauthndevice" {
		t.Errorf("device event: %v", ev)
	}

	// Log out; log in with the passkey alone.
	c.exec("GET", "default-invalidation-flow", nil)
	s.enablePasskeys()
	ch = c.exec("GET", login, nil)
	pc, _ := ch["passkey_challenge"].(map[string]any)
	if pc == nil || pc["rpId"] != "localhost" || pc["allowCredentials"] != nil {
		t.Fatalf("passkey_challenge: %v", ch)
	}
	assertion, _ := a.Get(rawJSON(t, pc))
	ch = c.exec("POST", login, map[string]any{"component": "ak-stage-identification", "passkey": json.RawMessage(assertion)})
	if component(ch) != "xak-flow-redirect" {
		t.Fatalf("passkey login: %v", ch)
	}
	if code, me := c.me(); code != 200 || me["user"].(map[string]any)["username"] != "akadmin" {
		t.Fatalf("me after the passkey login: %d %v", code, me)
	}
	logins := results(s.must(200, "GET", "/events/events/?action=login", nil))
	if len(logins) == 0 || logins[0]["context"].(map[string]any)["auth_method"] != "auth_webauthn_pwl" {
		t.Errorf("login event: %v", logins[0])
	}

	// A replayed passkey assertion in a new flow: refused.
	c.exec("GET", "default-invalidation-flow", nil)
	c.exec("GET", login, nil)
	ch = c.exec("POST", login, map[string]any{"component": "ak-stage-identification", "passkey": json.RawMessage(assertion)})
	if component(ch) != "ak-stage-identification" || fieldErrors(ch, "passkey") == "" {
		t.Fatalf("replayed passkey: %v", ch)
	}
	// A counter that goes backwards: refused.
	var o struct{ Challenge string }
	_ = json.Unmarshal(rawJSON(t, ch["passkey_challenge"]), &o)
	back := a.Assert(o.Challenge, a.SignCount-1)
	ch = c.exec("POST", login, map[string]any{"component": "ak-stage-identification", "passkey": json.RawMessage(back)})
	if !strings.Contains(fieldErrors(ch, "passkey"), "counter") {
		t.Fatalf("counter regression: %v", ch)
	}

	// Password, then WebAuthn as the second factor.
	c.exec("POST", login, map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"})
	ch = c.exec("POST", login, map[string]any{"component": "ak-stage-password", "password": bootstrapPassword})
	if component(ch) != "ak-stage-authenticator-validate" {
		t.Fatalf("after the password: %v", ch)
	}
	var wa map[string]any
	for _, dc := range ch["device_challenges"].([]any) {
		if dc.(map[string]any)["device_class"] == "webauthn" {
			wa = dc.(map[string]any)["challenge"].(map[string]any)
		}
	}
	if wa == nil || len(wa["allowCredentials"].([]any)) != 1 {
		t.Fatalf("device challenges: %v", ch["device_challenges"])
	}
	// Malformed assertions first.
	for name, bad := range map[string]any{"string": "x", "garbage object": map[string]any{"id": 1, "response": "no"}} {
		ch = c.exec("POST", login, map[string]any{"component": "ak-stage-authenticator-validate", "webauthn": bad})
		if component(ch) != "ak-stage-authenticator-validate" || fieldErrors(ch, "webauthn") == "" {
			t.Fatalf("%s: %v", name, ch)
		}
	}
	for _, dc := range ch["device_challenges"].([]any) {
		if dc.(map[string]any)["device_class"] == "webauthn" {
			wa = dc.(map[string]any)["challenge"].(map[string]any)
		}
	}
	assertion, _ = a.Get(rawJSON(t, wa))
	ch = c.exec("POST", login, map[string]any{"component": "ak-stage-authenticator-validate", "webauthn": json.RawMessage(assertion)})
	if component(ch) != "xak-flow-redirect" {
		t.Fatalf("second factor: %v", ch)
	}
	logins = results(s.must(200, "GET", "/events/events/?action=login", nil))
	if logins[0]["context"].(map[string]any)["auth_method"] != "auth_mfa" {
		t.Errorf("login event: %v", logins[0])
	}

	// A user with no password: a passkey registered through a flow that
	// identifies them (built by the admin), then a passkey login.
	s.must(201, "POST", "/core/users/", map[string]any{"username": "pia", "name": "Pia"})
	ident := s.must(201, "POST", "/stages/identification/", map[string]any{"name": "pia-ident", "settings": map[string]any{"user_fields": []any{"username"}}})
	reg2 := s.must(201, "POST", "/stages/authenticator_webauthn/", map[string]any{"name": "pia-passkey", "settings": map[string]any{
		"user_verification": "required", "resident_key_requirement": "required", "friendly_name": "Pia's passkey"}})
	f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Passkey enrollment", "slug": "passkey-enroll",
		"title": "Passkey", "designation": "stage_configuration"})
	s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": ident["pk"], "order": 0})
	s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": reg2["pk"], "order": 10})
	pia := newFlowClient(t, s)
	pia.exec("GET", "passkey-enroll", nil)
	ch = pia.exec("POST", "passkey-enroll", map[string]any{"component": "ak-stage-identification", "uid_field": "pia"})
	if component(ch) != "ak-stage-authenticator-webauthn" || ch["pending_user"] != "pia" {
		t.Fatalf("pia's setup: %v", ch)
	}
	pk := webauthntest.New(base)
	created, _ := pk.Create(rawJSON(t, ch["registration"]))
	ch = pia.exec("POST", "passkey-enroll", map[string]any{"component": "ak-stage-authenticator-webauthn", "response": json.RawMessage(created)})
	if component(ch) != "xak-flow-redirect" {
		t.Fatalf("pia's registration: %v", ch)
	}
	pia.exec("GET", login, nil)
	pia.exec("POST", login, map[string]any{"component": "ak-stage-identification", "uid_field": "pia"})
	ch = pia.exec("POST", login, map[string]any{"component": "ak-stage-password", "password": ""})
	if component(ch) != "ak-stage-password" {
		t.Fatalf("pia has no password, yet: %v", ch)
	}
	pia = newFlowClient(t, s)
	ch = pia.exec("GET", login, nil)
	assertion, _ = pk.Get(rawJSON(t, ch["passkey_challenge"]))
	ch = pia.exec("POST", login, map[string]any{"component": "ak-stage-identification", "passkey": json.RawMessage(assertion)})
	if component(ch) != "xak-flow-redirect" {
		t.Fatalf("pia's passkey login: %v", ch)
	}
	if code, me := pia.me(); code != 200 || me["user"].(map[string]any)["username"] != "pia" {
		t.Fatalf("pia after the passkey login: %d %v", code, me)
	}
}

// webauthnBrowser is browser with room for a longer scenario, and a
// virtual authenticator (CDP WebAuthn domain: CTAP2, internal transport,
// discoverable credentials, user verification) on the first page.
func webauthnBrowser(t *testing.T, first string) (context.Context, cdpwebauthn.AuthenticatorID) {
	t.Helper()
	ctx := browserWith(t, 900, 4*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(first)); err != nil {
		t.Fatalf("open %s: %v", first, err)
	}
	if _, err := chromedp.Call(ctx, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
		Options: &cdpwebauthn.VirtualAuthenticatorOptions{Protocol: cdpwebauthn.AuthenticatorProtocolCtap2,
			Ctap2version: cdpwebauthn.Ctap2versionCtap21, Transport: cdpwebauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return ctx, res.AuthenticatorID
}

func setUserVerified(t *testing.T, ctx context.Context, id cdpwebauthn.AuthenticatorID, ok bool) {
	t.Helper()
	if _, err := chromedp.Call(ctx, cdpwebauthn.SetUserVerified, cdpwebauthn.SetUserVerifiedParams{AuthenticatorID: id, IsUserVerified: ok}); err != nil {
		t.Fatalf("WebAuthn.setUserVerified: %v", err)
	}
}

func lastLoginMethod(t *testing.T, s *apiServer) any {
	t.Helper()
	logins := results(s.must(200, "GET", "/events/events/?action=login", nil))
	if len(logins) == 0 {
		t.Fatal("no login event")
	}
	return logins[0]["context"].(map[string]any)["auth_method"]
}

// WebAuthn in headless Chromium with the DevTools virtual authenticator,
// through the HTML flow UI at http://localhost:PORT: a registration that
// requires user verification fails while the authenticator does not verify
// the user, then succeeds; a passkey login with no password; password +
// WebAuthn as second factor, refused without user verification when it is
// required; a sign counter that goes backwards is refused. Screenshots of
// each MFA page go to $GATEHOUSE_SCREENSHOTS.
func TestBrowserWebAuthn(t *testing.T) {
	base, s := webauthnServer(t)
	s.enablePasskeys()
	setup := s.stageByName("default-authenticator-webauthn-setup")
	s.must(200, "PATCH", "/stages/authenticator_webauthn/"+setup+"/", map[string]any{"settings": map[string]any{
		"friendly_name": "WebAuthn device", "user_verification": "required", "resident_key_requirement": "required"}})
	ctx, auth := webauthnBrowser(t, base+"/")

	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.ID("passkey-login")),
		typeCredentials("akadmin", bootstrapPassword, chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("password login: %v", err)
	}

	// Registration with user verification required, the authenticator
	// failing it: an error on the page and no device.
	setUserVerified(t, ctx, auth, false)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/default-authenticator-webauthn-setup/"),
		chromedp.WaitVisible(chromedp.CSS("#webauthn-form p[data-webauthn-error]")),
	); err != nil {
		t.Fatalf("registration without user verification: %v", err)
	}
	screenshot(t, ctx, "webauthn-1-setup-refused")
	if n := len(s.webauthnDevices()); n != 0 {
		t.Fatalf("%d devices after a refused registration", n)
	}
	setUserVerified(t, ctx, auth, true)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("webauthn-register")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("registration: %v", err)
	}
	devices := s.webauthnDevices()
	if len(devices) != 1 {
		t.Fatalf("devices after registration: %v", devices)
	}

	// Sign out; sign in with the passkey alone: first with the button
	// (the authenticator waits for a touch until then), then through the
	// username field's autofill (conditional mediation), which the virtual
	// authenticator answers as soon as the page asks.
	presence := func(on bool) {
		t.Helper()
		if _, err := chromedp.Call(ctx, cdpwebauthn.SetAutomaticPresenceSimulation, cdpwebauthn.SetAutomaticPresenceSimulationParams{
			AuthenticatorID: auth, Enabled: on}); err != nil {
			t.Fatalf("WebAuthn.setAutomaticPresenceSimulation: %v", err)
		}
	}
	presence(false)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/flows/-/default/invalidation/"),
		chromedp.WaitVisible(chromedp.ID("passkey-login")),
	); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	screenshot(t, ctx, "webauthn-2-identification-passkey")
	presence(true)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("passkey-login")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("passkey login: %v", err)
	}
	if who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("p.user strong"))); who != "akadmin" {
		t.Errorf("signed in as %q", who)
	}
	if m := lastLoginMethod(t, s); m != "auth_webauthn_pwl" {
		t.Errorf("passkey login method %v", m)
	}
	before := len(results(s.must(200, "GET", "/events/events/?action=login", nil)))
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/flows/-/default/invalidation/"),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("autofill passkey login: %v", err)
	}
	if after := len(results(s.must(200, "GET", "/events/events/?action=login", nil))); after != before+1 || lastLoginMethod(t, s) != "auth_webauthn_pwl" {
		t.Errorf("autofill login: %d login events after %d, method %v", after, before, lastLoginMethod(t, s))
	}

	// Password, then the security key as second factor.
	login := func() {
		t.Helper()
		presence(false) // no autofill passkey login on the way
		defer presence(true)
		if err := chromedp.Do(ctx, signIn(base+"/flows/-/default/invalidation/", "akadmin", bootstrapPassword, chromedp.ID("webauthn-use"))); err != nil {
			t.Fatalf("to the validate stage: %v", err)
		}
	}
	login()
	screenshot(t, ctx, "webauthn-3-validate")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("webauthn-use")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("second factor: %v", err)
	}
	if m := lastLoginMethod(t, s); m != "auth_mfa" {
		t.Errorf("second factor login method %v", m)
	}

	// User verification required by the validate stage, and the
	// authenticator does not verify: refused, then accepted once it does.
	validate := s.stageByName("default-authentication-mfa-validation")
	s.must(200, "PATCH", "/stages/authenticator_validate/"+validate+"/", map[string]any{"settings": map[string]any{
		"device_classes": []any{"static", "totp", "webauthn", "email", "sms"}, "not_configured_action": "skip",
		"last_auth_threshold": "seconds=0", "webauthn_user_verification": "required"}})
	login()
	setUserVerified(t, ctx, auth, false)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("webauthn-use")),
		chromedp.WaitVisible(chromedp.CSS("#webauthn-form p[data-webauthn-error]")),
	); err != nil {
		t.Fatalf("second factor without user verification: %v", err)
	}
	screenshot(t, ctx, "webauthn-4-validate-refused")
	setUserVerified(t, ctx, auth, true)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("webauthn-use")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("second factor with user verification: %v", err)
	}

	// The other MFA setup pages, as a signed-in user sees them.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/default-authenticator-totp-setup/"),
		chromedp.WaitVisible(chromedp.ID("totp-qr")),
	); err != nil {
		t.Fatalf("TOTP setup page: %v", err)
	}
	screenshot(t, ctx, "webauthn-5-totp-setup")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/flow/default-authenticator-static-setup/"),
		chromedp.WaitVisible(chromedp.ID("static-codes")),
	); err != nil {
		t.Fatalf("static setup page: %v", err)
	}
	screenshot(t, ctx, "webauthn-6-static-codes")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("static-continue")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("static codes saved: %v", err)
	}
	// The email and SMS setup pages (their first step: the address).
	for _, c := range []struct{ typ, field string }{
		{"authenticator_email", "email-setup"},
		{"authenticator_sms", "sms-setup"},
	} {
		settings := map[string]any{}
		if c.typ == "authenticator_sms" {
			settings = map[string]any{"provider": "generic", "account_sid": "http://127.0.0.1:9/sms", "from_number": "Gatehouse"}
		}
		st := s.must(201, "POST", "/stages/"+c.typ+"/", map[string]any{"name": c.typ + "-setup", "settings": settings})
		f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": c.typ, "slug": c.typ + "-setup", "title": c.typ,
			"designation": "stage_configuration", "authentication": "require_authenticated"})
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": 0})
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := chromedp.Do(pctx,
			chromedp.Navigate(base+"/if/flow/"+c.typ+"-setup/"),
			chromedp.WaitVisible(chromedp.ID(c.field)),
		)
		cancel()
		if err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
			t.Fatalf("%s page: %v: %s", c.typ, err, body)
		}
		screenshot(t, ctx, "webauthn-6-"+c.typ)
	}
	// With recovery codes too, the validate page offers both.
	login()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("code-form"))); err != nil {
		t.Fatalf("validate with two classes: %v", err)
	}
	screenshot(t, ctx, "webauthn-3-validate-two-classes")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("webauthn-use")),
		chromedp.WaitVisible(chromedp.ID("signed-in")),
	); err != nil {
		t.Fatalf("second factor: %v", err)
	}

	// The authenticator's counter goes backwards (it stops counting after
	// having counted): the passkey login is refused (§6.1.1).
	creds, err := chromedp.Call(ctx, cdpwebauthn.GetCredentials, cdpwebauthn.GetCredentialsParams{AuthenticatorID: auth})
	if err != nil || len(creds.Credentials) != 1 {
		t.Fatalf("credentials: %v %v", creds, err)
	}
	noCounter := float64(-1)
	if _, err := chromedp.Call(ctx, cdpwebauthn.SetCredentialProperties, cdpwebauthn.SetCredentialPropertiesParams{
		AuthenticatorID: auth, CredentialID: creds.Credentials[0].CredentialID, SignCount: &noCounter}); err != nil {
		t.Fatalf("WebAuthn.setCredentialProperties: %v", err)
	}
	presence(false)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/flows/-/default/invalidation/"),
		chromedp.WaitVisible(chromedp.ID("passkey-login")),
	); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	presence(true)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("passkey-login")),
		chromedp.WaitVisible(chromedp.CSS("#passkey-form p.error:not([data-webauthn-error])")),
	); err != nil {
		t.Fatalf("passkey with a counter gone backwards: %v", err)
	}
	if msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#passkey-form p.error:not([data-webauthn-error])"))); !strings.Contains(msg, "counter") {
		t.Errorf("counter regression message %q", msg)
	}
	screenshot(t, ctx, "webauthn-7-counter-refused")
}
