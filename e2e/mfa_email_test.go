package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
)

var sentCodeRE = regexp.MustCompile(`\b\d{6}\b`)

// mfaLoginFlow builds, through the API, an authentication flow of
// identification, password, authenticator_validate for one device class
// (deny without a device) and user_login.
func mfaLoginFlow(s *apiServer, slug, class string) {
	s.t.Helper()
	flow := s.must(201, "POST", "/flows/instances/", map[string]any{"name": slug, "slug": slug, "title": "Sign in with " + class,
		"designation": "authentication"})
	ident := s.must(201, "POST", "/stages/identification/", map[string]any{"name": slug + "-identification",
		"settings": map[string]any{"user_fields": []any{"username", "email"}}})
	pw := s.must(201, "POST", "/stages/password/", map[string]any{"name": slug + "-password"})
	validate := s.must(201, "POST", "/stages/authenticator_validate/", map[string]any{"name": slug + "-mfa",
		"settings": map[string]any{"device_classes": []any{class}, "not_configured_action": "deny"}})
	login := s.must(201, "POST", "/stages/user_login/", map[string]any{"name": slug + "-login"})
	for i, st := range []map[string]any{ident, pw, validate, login} {
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": flow["pk"], "stage": st["pk"], "order": 10 * (i + 1)})
	}
}

// setupFlow builds a stage_configuration flow with one setup stage.
func setupFlow(s *apiServer, slug string, stage map[string]any) {
	s.t.Helper()
	flow := s.must(201, "POST", "/flows/instances/", map[string]any{"name": slug, "slug": slug, "title": "Set up " + slug,
		"designation": "stage_configuration", "authentication": "require_authenticated"})
	s.must(201, "POST", "/flows/bindings/", map[string]any{"target": flow["pk"], "stage": stage["pk"], "order": 0})
}

// toMFA runs flow slug as username up to the validate stage's challenge.
func toMFA(t *testing.T, c *flowClient, slug, username, password string) map[string]any {
	t.Helper()
	if ch := c.exec("GET", slug, nil); component(ch) != "ak-stage-identification" {
		t.Fatalf("%s start: %v", slug, ch)
	}
	if ch := c.exec("POST", slug, map[string]any{"component": "ak-stage-identification", "uid_field": username}); component(ch) != "ak-stage-password" {
		t.Fatalf("%s identification: %v", slug, ch)
	}
	ch := c.exec("POST", slug, map[string]any{"component": "ak-stage-password", "password": password})
	if component(ch) != "ak-stage-authenticator-validate" {
		t.Fatalf("%s after the password: %v", slug, ch)
	}
	return ch
}

// pickClass answers the validate challenge by choosing a device class.
func pickClass(c *flowClient, slug string, ch map[string]any, class string) map[string]any {
	c.t.Helper()
	for _, dc := range ch["device_challenges"].([]any) {
		if m := dc.(map[string]any); m["device_class"] == class {
			return c.exec("POST", slug, map[string]any{"component": "ak-stage-authenticator-validate", "selected_challenge": m})
		}
	}
	c.t.Fatalf("no %s device challenge in %v", class, ch)
	return nil
}

func sendCode(c *flowClient, slug string, code any) map[string]any {
	c.t.Helper()
	return c.exec("POST", slug, map[string]any{"component": "ak-stage-authenticator-validate", "code": code})
}

// rawExec posts a raw body to the executor and decodes the answer (which
// must be a 200 challenge, not a 500).
func rawExec(t *testing.T, c *flowClient, slug, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", c.s.base+"/flows/executor/"+slug+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("raw %q: status %d, %v", body, resp.StatusCode, err)
	}
	return out
}

func loggedInAs(t *testing.T, c *flowClient, username string) {
	t.Helper()
	code, me := c.me()
	if code != 200 || me["user"].(map[string]any)["username"] != username {
		t.Fatalf("me: %d %v, want %s", code, me, username)
	}
}

// An email device enrolled through a stage_configuration flow built with
// the API, then used to log in: the codes arrive at a real SMTP server;
// a wrong, malformed or reused code fails; the right one logs in.
func TestMFAEmail(t *testing.T) {
	smtpd := mailtest.Start(t)
	env := mailEnv(smtpd)
	env["GATEHOUSE_BOOTSTRAP_PASSWORD"] = bootstrapPassword
	sent := 0
	next := func(t *testing.T, to string) string {
		t.Helper()
		m := smtpd.Wait(t, sent, 20*time.Second)
		sent++
		if len(m.To) != 1 || m.To[0] != to {
			t.Fatalf("mail to %v, want %s", m.To, to)
		}
		code := sentCodeRE.FindString(m.Body)
		if code == "" {
			t.Fatalf("no code in %q", m.Body)
		}
		return code
	}
	eachEngineWith(t, env, func(t *testing.T, s *apiServer) {
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "mira", "name": "Mira", "email": "mira@example.com"})
		s.must(204, "POST", fmt.Sprintf("/core/users/%v/set_password/", u["pk"]), map[string]any{"password": "mira-password-1"})
		if code, out := s.call(s.token, "POST", "/stages/authenticator_email/", map[string]any{"name": "bad-email",
			"settings": map[string]any{"use_global_settings": true, "token_expiry": "weeks=9"}}); code != 400 || out["settings"] == nil {
			t.Errorf("a bad token_expiry: %d %v", code, out)
		}
		// The stage's own SMTP password is write-only.
		own := s.must(201, "POST", "/stages/authenticator_email/", map[string]any{"name": "own-smtp", "settings": map[string]any{
			"host": "127.0.0.1", "port": 25, "from_address": "otp@example.com", "username": "otp", "password": "smtp-password-9"}})
		if got := s.must(200, "GET", "/stages/all/"+own["pk"].(string)+"/", nil); strings.Contains(fmt.Sprint(got), "smtp-password-9") {
			t.Errorf("the SMTP password is shown: %v", got)
		}
		st := s.must(201, "POST", "/stages/authenticator_email/", map[string]any{"name": "email-setup",
			"settings": map[string]any{"use_global_settings": true, "subject": "Your Gatehouse code", "token_expiry": "minutes=10"}})
		if st["meta_model_name"] != "authentik_stages_authenticator_email.authenticatoremailstage" {
			t.Errorf("stage = %v", st)
		}
		setupFlow(s, "email-setup", st)
		mfaLoginFlow(s, "email-login", "email")

		// Enrollment, signed in through the default flow (no device yet).
		c := newFlowClient(t, s)
		if ch := c.passwordLogin("mira", "mira-password-1"); component(ch) != "xak-flow-redirect" {
			t.Fatalf("login without a device: %v", ch)
		}
		ch := c.exec("GET", "email-setup", nil)
		if component(ch) != "ak-stage-authenticator-email" || ch["email_required"] != false || ch["email"] != "m***@example.com" {
			t.Fatalf("setup challenge: %v", ch)
		}
		code := next(t, "mira@example.com")
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		ch = c.exec("POST", "email-setup", map[string]any{"component": "ak-stage-authenticator-email", "code": wrong})
		if component(ch) != "ak-stage-authenticator-email" || fieldErrors(ch, "code") == "" {
			t.Fatalf("a wrong setup code: %v", ch)
		}
		if ch := c.exec("POST", "email-setup", map[string]any{"component": "ak-stage-authenticator-email", "code": code}); component(ch) != "xak-flow-redirect" {
			t.Fatalf("the setup code: %v", ch)
		}

		// Login with the device.
		a := newFlowClient(t, s)
		ch = toMFA(t, a, "email-login", "mira", "mira-password-1")
		if n := smtpd.Count(); n != sent {
			t.Fatalf("%d mails before the class was picked", n-sent)
		}
		ch = pickClass(a, "email-login", ch, "email")
		if sel, _ := ch["selected_challenge"].(map[string]any); sel == nil || fieldErrors(ch, "code") != "" {
			t.Fatalf("after picking email: %v", ch)
		}
		code = next(t, "mira@example.com")
		wrong = "999999"
		if code == wrong {
			wrong = "999998"
		}
		for _, bad := range []any{wrong, "12a456", strings.Repeat("3", 100)} {
			if ch := sendCode(a, "email-login", bad); component(ch) != "ak-stage-authenticator-validate" || fieldErrors(ch, "code") == "" {
				t.Fatalf("code %v: %v", bad, ch)
			}
		}
		if ch := rawExec(t, a, "email-login", `{"component":"ak-stage-authenticator-validate","code":`); component(ch) != "ak-stage-authenticator-validate" || fieldErrors(ch, "non_field_errors") == "" {
			t.Fatalf("truncated JSON: %v", ch)
		}
		if code, _ := a.me(); code != 403 {
			t.Fatalf("signed in before the code: %d", code)
		}
		if ch := sendCode(a, "email-login", code); component(ch) != "xak-flow-redirect" {
			t.Fatalf("the right code: %v", ch)
		}
		loggedInAs(t, a, "mira")

		// The same code again in another login: refused.
		b := newFlowClient(t, s)
		toMFA(t, b, "email-login", "mira", "mira-password-1")
		if ch := sendCode(b, "email-login", code); component(ch) != "ak-stage-authenticator-validate" || fieldErrors(ch, "code") == "" {
			t.Fatalf("a reused code: %v", ch)
		}
		if c, _ := b.me(); c != 403 {
			t.Fatalf("signed in with a reused code: %d", c)
		}
		if n := smtpd.Count(); n != sent {
			t.Errorf("%d unexpected mails", n-sent)
		}
	})
}

// smsGateway is the SMS provider's webhook, in the test process.
type smsGateway struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []map[string]any
	auths  []string
	got    chan struct{}
}

func newSMSGateway(t *testing.T) *smsGateway {
	g := &smsGateway{got: make(chan struct{}, 100)}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if r.Method != "POST" || json.Unmarshal(b, &m) != nil {
			http.Error(w, "bad request", 400)
			return
		}
		g.mu.Lock()
		g.bodies = append(g.bodies, m)
		g.auths = append(g.auths, r.Header.Get("Authorization"))
		g.mu.Unlock()
		g.got <- struct{}{}
		_, _ = w.Write([]byte(`{"status":"queued"}`))
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *smsGateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.bodies)
}

// wait returns the n-th message and its Authorization header.
func (g *smsGateway) wait(t *testing.T, n int) (map[string]any, string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		g.mu.Lock()
		if len(g.bodies) > n {
			b, a := g.bodies[n], g.auths[n]
			g.mu.Unlock()
			return b, a
		}
		g.mu.Unlock()
		select {
		case <-g.got:
		case <-deadline:
			t.Fatalf("no SMS %d", n)
		}
	}
}

// An SMS device through the generic webhook provider with a Starlark
// mapping: enrolled, then used to log in; twilio is refused; wrong and
// reused codes fail.
func TestMFASMS(t *testing.T) {
	gw := newSMSGateway(t)
	sent := 0
	next := func(t *testing.T) string {
		t.Helper()
		body, auth := gw.wait(t, sent)
		sent++
		if auth != "Bearer e2e-gateway-token" || body["to"] != "+442079460958" {
			t.Fatalf("SMS %v with %q", body, auth)
		}
		msg, _ := body["message"].(string)
		code := strings.TrimPrefix(msg, "Your code for nora: ")
		if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
			t.Fatalf("SMS text %q", msg)
		}
		return code
	}
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "nora", "name": "Nora"})
		s.must(204, "POST", fmt.Sprintf("/core/users/%v/set_password/", u["pk"]), map[string]any{"password": "nora-password-1"})
		settings := map[string]any{"provider": "generic", "from_number": "Gatehouse", "account_sid": gw.URL + "/sms",
			"auth_type": "bearer", "auth": "e2e-gateway-token",
			"mapping": `return {"to": device.phone_number, "from": stage.from_number, "message": "Your code for " + user.username + ": " + token}`}
		twilio := map[string]any{"provider": "twilio", "from_number": "+15550000000", "account_sid": "AC123", "auth": "x"}
		if code, out := s.call(s.token, "POST", "/stages/authenticator_sms/", map[string]any{"name": "twilio", "settings": twilio}); code != 400 ||
			!strings.Contains(fmt.Sprint(out["settings"]), "twilio is not supported") {
			t.Errorf("a twilio stage: %d %v", code, out)
		}
		st := s.must(201, "POST", "/stages/authenticator_sms/", map[string]any{"name": "sms-setup", "settings": settings})
		setupFlow(s, "sms-setup", st)
		mfaLoginFlow(s, "sms-login", "sms")

		c := newFlowClient(t, s)
		c.passwordLogin("nora", "nora-password-1")
		ch := c.exec("GET", "sms-setup", nil)
		if component(ch) != "ak-stage-authenticator-sms" || ch["phone_number_required"] != true {
			t.Fatalf("setup challenge: %v", ch)
		}
		for _, bad := range []any{"12345", "+44 20 7946 0958 x", 442079460958} {
			ch = c.exec("POST", "sms-setup", map[string]any{"component": "ak-stage-authenticator-sms", "phone_number": bad})
			if fieldErrors(ch, "phone_number") == "" {
				t.Fatalf("number %v: %v", bad, ch)
			}
		}
		if gw.count() != sent {
			t.Fatal("an SMS for a bad number")
		}
		ch = c.exec("POST", "sms-setup", map[string]any{"component": "ak-stage-authenticator-sms", "phone_number": "+44 20 7946 0958"})
		if ch["phone_number_required"] != false || ch["response_errors"] != nil {
			t.Fatalf("after the number: %v", ch)
		}
		code := next(t)
		if ch := c.exec("POST", "sms-setup", map[string]any{"component": "ak-stage-authenticator-sms", "code": code}); component(ch) != "xak-flow-redirect" {
			t.Fatalf("the setup code: %v", ch)
		}

		a := newFlowClient(t, s)
		ch = toMFA(t, a, "sms-login", "nora", "nora-password-1")
		ch = pickClass(a, "sms-login", ch, "sms")
		if fieldErrors(ch, "non_field_errors") != "" {
			t.Fatalf("after picking sms: %v", ch)
		}
		code = next(t)
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		if ch := sendCode(a, "sms-login", wrong); fieldErrors(ch, "code") == "" {
			t.Fatalf("a wrong code: %v", ch)
		}
		if ch := sendCode(a, "sms-login", code); component(ch) != "xak-flow-redirect" {
			t.Fatalf("the right code: %v", ch)
		}
		loggedInAs(t, a, "nora")

		b := newFlowClient(t, s)
		toMFA(t, b, "sms-login", "nora", "nora-password-1")
		if ch := sendCode(b, "sms-login", code); fieldErrors(ch, "code") == "" {
			t.Fatalf("a reused code: %v", ch)
		}
		if c, _ := b.me(); c != 403 {
			t.Fatalf("signed in with a reused code: %d", c)
		}
	})
}
