package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
)

// flowClient is a script with a cookie jar and no browser, as outposts use
// the flow executor API.
type flowClient struct {
	t    *testing.T
	s    *apiServer
	http *http.Client
}

func newFlowClient(t *testing.T, s *apiServer) *flowClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &flowClient{t: t, s: s, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (c *flowClient) exec(method, slug string, body map[string]any) map[string]any {
	c.t.Helper()
	return c.execQ(method, slug, "next=/if/user/", body)
}

// passwordLogin runs default-authentication-flow as username: the
// identification stage, then the password stage. It returns the answer to
// the password, xak-flow-redirect once signed in.
func (c *flowClient) passwordLogin(username, password string) map[string]any {
	c.t.Helper()
	const flow = "default-authentication-flow"
	c.exec("GET", flow, nil)
	c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": username})
	return c.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": password})
}

// execQ is exec with the query the flow was opened with (?itoken=, ?next=).
func (c *flowClient) execQ(method, slug, query string, body map[string]any) map[string]any {
	c.t.Helper()
	u := c.s.base + "/flows/executor/" + slug + "/?query=" + url.QueryEscape(query)
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req) // follows the 302 after a finished stage
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, slug, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		c.t.Fatalf("%s %s: status %d, body not a challenge: %v", method, slug, resp.StatusCode, err)
	}
	return out
}

func (c *flowClient) me() (int, map[string]any) {
	c.t.Helper()
	resp, err := c.http.Get(c.s.base + "/core/users/me/")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func component(ch map[string]any) string { s, _ := ch["component"].(string); return s }

// fieldErrors joins the messages a challenge's response_errors holds for
// field ("" when there are none).
func fieldErrors(ch map[string]any, field string) string {
	errs, _ := ch["response_errors"].(map[string]any)
	list, _ := errs[field].([]any)
	var out []string
	for _, e := range list {
		m, _ := e.(map[string]any)
		s, _ := m["string"].(string)
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

// setDefaultBrandDomain points the default brand at domain (email links are
// only built for hosts that are a brand's domain).
func (s *apiServer) setDefaultBrandDomain(domain string) {
	s.t.Helper()
	for _, b := range results(s.must(200, "GET", "/core/brands/", nil)) {
		if b["default"] == true {
			s.must(200, "PATCH", "/core/brands/"+b["brand_uuid"].(string)+"/", map[string]any{"domain": domain})
			return
		}
	}
	s.t.Fatal("no default brand")
}

// Logging in through the executor API with a cookie jar: identification,
// password, login, redirect to ?next=, then the session works for the API;
// logging out through the invalidation flow ends it.
func TestFlowLoginExecutorAPI(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		c := newFlowClient(t, s)
		const flow = "default-authentication-flow"
		ch := c.exec("GET", flow, nil)
		if component(ch) != "ak-stage-identification" || ch["flow_info"].(map[string]any)["title"] != "Welcome to Gatehouse!" {
			t.Fatalf("first challenge = %v", ch)
		}
		ch = c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"})
		if component(ch) != "ak-stage-password" || ch["pending_user"] != "akadmin" {
			t.Fatalf("after identification = %v", ch)
		}
		ch = c.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": "wrong"})
		errs, _ := ch["response_errors"].(map[string]any)
		if component(ch) != "ak-stage-password" || errs["password"] == nil {
			t.Fatalf("wrong password = %v", ch)
		}
		if code, _ := c.me(); code != 403 {
			t.Errorf("me before login: %d", code)
		}
		ch = c.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": bootstrapPassword})
		if component(ch) != "xak-flow-redirect" || ch["to"] != "/if/user/" {
			t.Fatalf("after the password = %v", ch)
		}
		code, me := c.me()
		if code != 200 || me["user"].(map[string]any)["username"] != "akadmin" {
			t.Fatalf("me after login: %d %v", code, me)
		}
		logins := results(s.must(200, "GET", "/events/events/?action=login", nil))
		if len(logins) == 0 || logins[0]["user"].(map[string]any)["username"] != "akadmin" ||
			logins[0]["context"].(map[string]any)["auth_method"] != "password" {
			t.Errorf("login events: %v", logins)
		}
		failed := results(s.must(200, "GET", "/events/events/?action=login_failed", nil))
		if len(failed) == 0 {
			t.Error("no login_failed event")
		}

		ch = c.exec("GET", "default-invalidation-flow", nil)
		if component(ch) != "xak-flow-redirect" {
			t.Fatalf("logout = %v", ch)
		}
		if code, _ := c.me(); code != 403 {
			t.Errorf("me after logout: %d", code)
		}
		if len(results(s.must(200, "GET", "/events/events/?action=logout", nil))) == 0 {
			t.Error("no logout event")
		}
	})
}

// Unknown and known users get the same answers (pretend_user_exists), and
// failed_attempts_before_cancel restarts the flow.
func TestFlowLoginFailures(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		const flow = "default-authentication-flow"
		c := newFlowClient(t, s)
		c.exec("GET", flow, nil)
		ch := c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "nobody"})
		if component(ch) != "ak-stage-password" || ch["pending_user"] != "nobody" {
			t.Fatalf("unknown user: %v", ch)
		}
		unknown := c.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": "x"})
		k := newFlowClient(t, s)
		known := k.passwordLogin("akadmin", "x")
		ue, _ := json.Marshal(unknown["response_errors"])
		ke, _ := json.Marshal(known["response_errors"])
		if string(ue) != string(ke) || !strings.Contains(string(ue), "Failed to authenticate.") {
			t.Errorf("answers differ: unknown %s, known %s", ue, ke)
		}
		// 5 failures in all (1 above + 4) restart the flow at identification.
		var last map[string]any
		for range 4 {
			last = k.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": "x"})
		}
		if component(last) != "ak-stage-identification" {
			t.Errorf("after 5 failures: %v", last)
		}
		// A replayed identification answer while the password is asked: an
		// error on the current challenge, nothing else happens.
		k.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"})
		ch = k.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "someone-else"})
		if errs, _ := ch["response_errors"].(map[string]any); component(ch) != "ak-stage-password" || ch["pending_user"] != "akadmin" || errs["non_field_errors"] == nil {
			t.Errorf("a response for another stage: %v", ch)
		}
		req, _ := http.NewRequest("POST", s.base+"/flows/executor/"+flow+"/", strings.NewReader("{not json"))
		resp, err := k.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var bad map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&bad)
		resp.Body.Close()
		if errs, _ := bad["response_errors"].(map[string]any); resp.StatusCode != 200 || component(bad) != "ak-stage-password" || errs["non_field_errors"] == nil {
			t.Errorf("a body that is not JSON: %d %v", resp.StatusCode, bad)
		}
		k.exec("GET", "default-invalidation-flow", nil) // start over below
		k.exec("GET", flow, nil)
		// A malformed response is an error on the challenge, not a 500.
		ch = k.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": strings.Repeat("x", 300)})
		if errs, _ := ch["response_errors"].(map[string]any); errs["uid_field"] == nil {
			t.Errorf("oversized uid: %v", ch)
		}
		if code, out := s.call("", "GET", "/flows/executor/no-such-flow/", nil); code != 404 || out["detail"] == nil {
			t.Errorf("unknown flow: %d %v", code, out)
		}
	})
}

// Policies bound to a flow through the API decide whether it runs: a failing
// policy denies, negate inverts, a user binding lets just that user through.
func TestFlowPolicies(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		flow := s.must(200, "GET", "/flows/instances/default-authentication-flow/", nil)
		deny := s.must(201, "POST", "/policies/dummy/", map[string]any{"name": "always-deny", "settings": map[string]any{"result": false}})
		b := s.must(201, "POST", "/policies/bindings/", map[string]any{"target": flow["pk"], "policy": deny["pk"], "order": 0})
		c := newFlowClient(t, s)
		if ch := c.exec("GET", "default-authentication-flow", nil); component(ch) != "ak-stage-access-denied" {
			t.Errorf("with a failing policy: %v", ch)
		}
		s.must(200, "PATCH", "/policies/bindings/"+b["pk"].(string)+"/", map[string]any{"negate": true})
		c = newFlowClient(t, s)
		if ch := c.exec("GET", "default-authentication-flow", nil); component(ch) != "ak-stage-identification" {
			t.Errorf("with the policy negated: %v", ch)
		}
		// A bad policy setting is refused when saved, not at login.
		if code, out := s.call(s.token, "POST", "/policies/dummy/", map[string]any{"name": "bad", "settings": map[string]any{"result": "maybe"}}); code != 400 || out["settings"] == nil {
			t.Errorf("bad dummy settings: %d %v", code, out)
		}
		if code, out := s.call(s.token, "POST", "/policies/password/", map[string]any{"name": "bad-pw", "settings": map[string]any{"zxcvbn_score_threshold": 9}}); code != 400 || out["settings"] == nil {
			t.Errorf("bad password settings: %d %v", code, out)
		}
		res := s.must(200, "POST", "/policies/all/"+deny["pk"].(string)+"/test/", map[string]any{"user": 1})
		if res["passing"] != false {
			t.Errorf("policy test = %v", res)
		}
		// A deny stage bound into the flow ends it with its message.
		st := s.must(201, "POST", "/stages/deny/", map[string]any{"name": "no-entry", "settings": map[string]any{"deny_message": "Closed for maintenance"}})
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": flow["pk"], "stage": st["pk"], "order": 5})
		c = newFlowClient(t, s)
		if ch := c.exec("GET", "default-authentication-flow", nil); component(ch) != "ak-stage-access-denied" || ch["error_message"] != "Closed for maintenance" {
			t.Errorf("with a deny stage first: %v", ch)
		}
	})
}

// An enrollment flow built through the API (prompt, user_write, user_login)
// creates the user from the answers and logs them in.
func TestFlowEnrollment(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		flow := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Sign up", "slug": "sign-up",
			"title": "Create your account", "designation": "enrollment"})
		prompt := s.must(201, "POST", "/stages/prompt/", map[string]any{"name": "sign-up-prompt", "settings": map[string]any{
			"fields": []any{
				map[string]any{"field_key": "username", "label": "Username", "type": "username", "required": true, "order": 0},
				map[string]any{"field_key": "email", "label": "Email", "type": "email", "required": true, "order": 1},
				map[string]any{"field_key": "password", "label": "Password", "type": "password", "required": true, "order": 2},
				map[string]any{"field_key": "password_repeat", "label": "Password (repeat)", "type": "password", "required": true, "order": 3},
			}}})
		write := s.must(201, "POST", "/stages/user_write/", map[string]any{"name": "sign-up-write",
			"settings": map[string]any{"user_creation_mode": "always_create", "user_type": "internal"}})
		login := s.must(201, "POST", "/stages/user_login/", map[string]any{"name": "sign-up-login"})
		for i, st := range []map[string]any{prompt, write, login} {
			s.must(201, "POST", "/flows/bindings/", map[string]any{"target": flow["pk"], "stage": st["pk"], "order": 10 * (i + 1)})
		}
		if code, out := s.call(s.token, "POST", "/stages/prompt/", map[string]any{"name": "bad-prompt",
			"settings": map[string]any{"fields": []any{map[string]any{"field_key": "x", "type": "hologram"}}}}); code != 400 || out["settings"] == nil {
			t.Errorf("an unknown field type: %d %v", code, out)
		}

		c := newFlowClient(t, s)
		ch := c.exec("GET", "sign-up", nil)
		if component(ch) != "ak-stage-prompt" || len(ch["fields"].([]any)) != 4 {
			t.Fatalf("prompt = %v", ch)
		}
		ch = c.exec("POST", "sign-up", map[string]any{"component": "ak-stage-prompt", "username": "akadmin",
			"email": "not-an-email", "password": "a-good-passphrase", "password_repeat": "different"})
		errs, _ := ch["response_errors"].(map[string]any)
		if errs["username"] == nil || errs["email"] == nil || errs["password_repeat"] == nil {
			t.Errorf("invalid answers: %v", errs)
		}
		ch = c.exec("POST", "sign-up", map[string]any{"component": "ak-stage-prompt", "username": "newbie",
			"email": "newbie@example.com", "password": "a-good-passphrase", "password_repeat": "a-good-passphrase"})
		if component(ch) != "xak-flow-redirect" {
			t.Fatalf("after the prompt = %v", ch)
		}
		code, me := c.me()
		if code != 200 || me["user"].(map[string]any)["username"] != "newbie" || me["user"].(map[string]any)["email"] != "newbie@example.com" {
			t.Errorf("me after enrollment: %d %v", code, me)
		}
		// The new user logs in with the chosen password.
		c2 := newFlowClient(t, s)
		if ch := c2.passwordLogin("newbie@example.com", "a-good-passphrase"); component(ch) != "xak-flow-redirect" {
			t.Errorf("login as the new user (by email): %v", ch)
		}
	})
}

// Without bootstrap_password the log points to the initial-setup flow; it
// sets akadmin's email and password once, logs akadmin in, and then refuses
// to run again (its expression policies, authentik's own).
func TestInitialSetupFlow(t *testing.T) {
	eachEngineWith(t, nil, func(t *testing.T, s *apiServer) {
		c := newFlowClient(t, s)
		ch := c.exec("GET", "initial-setup", nil)
		if component(ch) != "ak-stage-prompt" {
			t.Fatalf("initial-setup = %v", ch)
		}
		ch = c.exec("POST", "initial-setup", map[string]any{"component": "ak-stage-prompt", "email": "admin@example.org",
			"password": "a-new-admin-password", "password_repeat": "a-new-admin-password"})
		if component(ch) != "xak-flow-redirect" {
			t.Fatalf("after the setup prompt: %v", ch)
		}
		code, me := c.me()
		if code != 200 || me["user"].(map[string]any)["username"] != "akadmin" || me["user"].(map[string]any)["email"] != "admin@example.org" {
			t.Fatalf("me after setup: %d %v", code, me)
		}
		if ch := newFlowClient(t, s).exec("GET", "initial-setup", nil); component(ch) != "ak-stage-access-denied" {
			t.Errorf("initial-setup a second time: %v", ch)
		}
		l := newFlowClient(t, s)
		if ch := l.passwordLogin("akadmin", "a-new-admin-password"); component(ch) != "xak-flow-redirect" {
			t.Errorf("login with the password set during setup: %v", ch)
		}
		// An expression that Starlark cannot run is refused when saved.
		if code, out := s.call(s.token, "POST", "/policies/expression/", map[string]any{"name": "py-only",
			"settings": map[string]any{"expression": "import os\nreturn True"}}); code != 400 || out["settings"] == nil {
			t.Errorf("an import in an expression: %d %v", code, out)
		}
		p := s.must(201, "POST", "/policies/expression/", map[string]any{"name": "only-akadmin",
			"settings": map[string]any{"expression": "return request.user.username == \"akadmin\""}})
		if r := s.must(200, "POST", "/policies/all/"+p["pk"].(string)+"/test/", map[string]any{"user": 1}); r["passing"] != true {
			t.Errorf("expression test for akadmin: %v", r)
		}
	})
}

// An expression that fails at run time fails its binding (failure_result)
// and is recorded as a configuration_error event naming the policy.
func TestFlowExpressionErrors(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		flow := s.must(200, "GET", "/flows/instances/default-authentication-flow/", nil)
		p := s.must(201, "POST", "/policies/expression/", map[string]any{"name": "broken",
			"settings": map[string]any{"expression": "return request.user.attributes[\"missing\"]"}})
		s.must(201, "POST", "/policies/bindings/", map[string]any{"target": flow["pk"], "policy": p["pk"], "order": 0})
		c := newFlowClient(t, s)
		if ch := c.exec("GET", "default-authentication-flow", nil); component(ch) != "ak-stage-access-denied" {
			t.Errorf("with a failing expression: %v", ch)
		}
		evs := results(s.must(200, "GET", "/events/events/?action=configuration_error", nil))
		if len(evs) == 0 || evs[0]["context"].(map[string]any)["policy"].(map[string]any)["name"] != "broken" {
			t.Fatalf("configuration_error events: %v", evs)
		}
		// failure_result true lets the flow run despite the error.
		bs := results(s.must(200, "GET", "/policies/bindings/?target="+flow["pk"].(string), nil))
		s.must(200, "PATCH", "/policies/bindings/"+bs[0]["pk"].(string)+"/", map[string]any{"failure_result": true})
		if ch := newFlowClient(t, s).exec("GET", "default-authentication-flow", nil); component(ch) != "ak-stage-identification" {
			t.Errorf("with failure_result true: %v", ch)
		}
	})
}

// Brute force: wrong passwords lower the client's reputation; a negated
// reputation policy on the login flow then turns the client away.
func TestFlowReputation(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		const flow = "default-authentication-flow"
		f := s.must(200, "GET", "/flows/instances/"+flow+"/", nil)
		p := s.must(201, "POST", "/policies/reputation/", map[string]any{"name": "bad-reputation",
			"settings": map[string]any{"check_ip": true, "check_username": false, "threshold": -3}})
		s.must(201, "POST", "/policies/bindings/", map[string]any{"target": f["pk"], "policy": p["pk"], "order": 0, "negate": true})
		c := newFlowClient(t, s)
		c.exec("GET", flow, nil)
		c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"})
		for range 3 {
			c.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": "guess"})
		}
		if ch := newFlowClient(t, s).exec("GET", flow, nil); component(ch) != "ak-stage-access-denied" {
			t.Errorf("after 3 failures from this IP: %v", ch)
		}
		if code, out := s.call(s.token, "POST", "/policies/reputation/", map[string]any{"name": "bad",
			"settings": map[string]any{"check_ip": false, "check_username": false}}); code != 400 || out["settings"] == nil {
			t.Errorf("a reputation policy checking nothing: %d %v", code, out)
		}
	})
}

// Enrollment with an invitation: the invitation's fixed data lands on the
// new user, a single-use invitation works once, and without one the flow
// refuses.
func TestFlowEnrollmentWithInvitation(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		flow := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Invited sign-up", "slug": "invited",
			"title": "Join", "designation": "enrollment"})
		inv := s.must(201, "POST", "/stages/invitation/", map[string]any{"name": "invited-check"})
		prompt := s.must(201, "POST", "/stages/prompt/", map[string]any{"name": "invited-prompt", "settings": map[string]any{
			"fields": []any{
				map[string]any{"field_key": "username", "label": "Username", "type": "username", "required": true},
				map[string]any{"field_key": "password", "label": "Password", "type": "password", "required": true, "order": 1},
			}}})
		write := s.must(201, "POST", "/stages/user_write/", map[string]any{"name": "invited-write",
			"settings": map[string]any{"user_creation_mode": "always_create", "user_type": "internal"}})
		for i, st := range []map[string]any{inv, prompt, write} {
			s.must(201, "POST", "/flows/bindings/", map[string]any{"target": flow["pk"], "stage": st["pk"], "order": i})
		}
		invite := s.must(201, "POST", "/stages/invitation/invitations/", map[string]any{"name": "for-dana",
			"single_use": true, "flow": flow["pk"], "fixed_data": map[string]any{"email": "dana@example.com", "name": "Dana"}})
		link := "itoken=" + invite["pk"].(string)

		if ch := newFlowClient(t, s).exec("GET", "invited", nil); component(ch) != "ak-stage-access-denied" {
			t.Errorf("without an invitation: %v", ch)
		}
		c := newFlowClient(t, s)
		if ch := c.execQ("GET", "invited", link, nil); component(ch) != "ak-stage-prompt" {
			t.Fatalf("with the invitation: %v", ch)
		}
		if ch := c.execQ("POST", "invited", link, map[string]any{"component": "ak-stage-prompt", "username": "dana",
			"password": "dana-s-password"}); component(ch) != "xak-flow-redirect" {
			t.Fatalf("after the prompt: %v", ch)
		}
		users := results(s.must(200, "GET", "/core/users/?username=dana", nil))
		if len(users) != 1 || users[0]["email"] != "dana@example.com" || users[0]["name"] != "Dana" {
			t.Errorf("the invited user: %v", users)
		}
		if ch := newFlowClient(t, s).execQ("GET", "invited", link, nil); component(ch) != "ak-stage-access-denied" {
			t.Errorf("the single-use invitation a second time: %v", ch)
		}
		if len(results(s.must(200, "GET", "/events/events/?action=invitation_used", nil))) != 1 {
			t.Error("no invitation_used event")
		}

		// An expired invitation, and one made for another flow, open nothing.
		expired := s.must(201, "POST", "/stages/invitation/invitations/", map[string]any{"name": "expired",
			"expires": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)})
		if ch := newFlowClient(t, s).execQ("GET", "invited", "itoken="+expired["pk"].(string), nil); component(ch) != "ak-stage-access-denied" {
			t.Errorf("an expired invitation: %v", ch)
		}
		other := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Other", "slug": "other-enrol",
			"title": "Other", "designation": "enrollment"})
		elsewhere := s.must(201, "POST", "/stages/invitation/invitations/", map[string]any{"name": "elsewhere", "flow": other["pk"]})
		if ch := newFlowClient(t, s).execQ("GET", "invited", "itoken="+elsewhere["pk"].(string), nil); component(ch) != "ak-stage-access-denied" {
			t.Errorf("an invitation for another flow: %v", ch)
		}
	})
}

// A captcha stage verifies the token with the provider's siteverify
// endpoint (a fake one here, reached over loopback by the server), and the
// API never shows the private key.
func TestFlowCaptcha(t *testing.T) {
	var calls atomic.Int32
	verify := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = r.ParseForm()
		ok := r.PostForm.Get("secret") == "the-private-key" && r.PostForm.Get("response") == "good-token"
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"success": ok, "score": 0.9})
	}))
	defer verify.Close()
	eachEngine(t, func(t *testing.T, s *apiServer) {
		calls.Store(0)
		flow := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Captcha", "slug": "captcha-flow",
			"title": "Prove it", "designation": "authentication"})
		cs := s.must(201, "POST", "/stages/captcha/", map[string]any{"name": "captcha", "settings": map[string]any{
			"public_key": "site-key", "private_key": "the-private-key", "api_url": verify.URL, "js_url": "https://example.invalid/api.js"}})
		if _, leaked := cs["settings"].(map[string]any)["private_key"]; leaked {
			t.Error("the API shows the captcha private key")
		}
		st := s.must(201, "POST", "/stages/redirect/", map[string]any{"name": "to-docs", "settings": map[string]any{
			"mode": "static", "target_static": "https://docs.example.com/welcome"}})
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": flow["pk"], "stage": cs["pk"], "order": 0})
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": flow["pk"], "stage": st["pk"], "order": 1})

		c := newFlowClient(t, s)
		ch := c.exec("GET", "captcha-flow", nil)
		if component(ch) != "ak-stage-captcha" || ch["site_key"] != "site-key" {
			t.Fatalf("captcha challenge = %v", ch)
		}
		ch = c.exec("POST", "captcha-flow", map[string]any{"component": "ak-stage-captcha", "token": "forged"})
		if errs, _ := ch["response_errors"].(map[string]any); component(ch) != "ak-stage-captcha" || errs["token"] == nil {
			t.Errorf("a forged token: %v", ch)
		}
		ch = c.exec("POST", "captcha-flow", map[string]any{"component": "ak-stage-captcha", "token": "good-token"})
		if component(ch) != "xak-flow-redirect" || ch["to"] != "https://docs.example.com/welcome" {
			t.Errorf("after a good token (then the redirect stage): %v", ch)
		}
		if calls.Load() < 2 {
			t.Errorf("the verification endpoint was called %d times", calls.Load())
		}
	})
}

// A redirect stage ends the flow at its target: a URL in static mode, the
// target flow's page in flow mode; settings that name neither are refused.
func TestFlowRedirectStage(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		s.must(400, "POST", "/stages/redirect/", map[string]any{"name": "bad", "settings": map[string]any{"mode": "static", "target_static": "javascript:alert(1)"}})
		s.must(400, "POST", "/stages/redirect/", map[string]any{"name": "bad", "settings": map[string]any{"mode": "flow"}})
		for _, tc := range []struct {
			slug     string
			settings map[string]any
			want     string
		}{
			{"to-docs", map[string]any{"mode": "static", "target_static": "https://docs.example.com/start"}, "https://docs.example.com/start"},
			{"to-flow", map[string]any{"mode": "flow", "target_flow": "default-authentication-flow"}, "/if/flow/default-authentication-flow/"},
		} {
			f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": tc.slug, "slug": tc.slug, "title": tc.slug, "designation": "stage_configuration"})
			st := s.must(201, "POST", "/stages/redirect/", map[string]any{"name": tc.slug, "settings": tc.settings})
			s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": 0})
			ch := newFlowClient(t, s).exec("GET", tc.slug, nil)
			if component(ch) != "xak-flow-redirect" || ch["to"] != tc.want {
				t.Errorf("%s: %v, want a redirect to %s", tc.slug, ch, tc.want)
			}
		}
	})
}

// check_access evaluates an application's policy bindings in its
// policy_engine_mode: here a group binding or an expression (with its
// message), so "any" lets either through and "all" needs both.
func TestApplicationCheckAccess(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		alice := s.must(201, "POST", "/core/users/", map[string]any{"username": "alice", "name": "Alice"})
		bob := s.must(201, "POST", "/core/users/", map[string]any{"username": "bob", "name": "Bob", "attributes": map[string]any{"vip": true}})
		carol := s.must(201, "POST", "/core/users/", map[string]any{"username": "carol", "name": "Carol", "is_active": false})
		staff := s.must(201, "POST", "/core/groups/", map[string]any{"name": "wiki-staff", "users": []any{alice["pk"]}})
		app := s.must(201, "POST", "/core/applications/", map[string]any{"name": "Wiki", "slug": "wiki"})
		check := func(u map[string]any) map[string]any {
			return s.must(200, "GET", fmt.Sprintf("/core/applications/wiki/check_access/?for_user=%v", u["pk"]), nil)
		}
		if r := check(bob); r["passing"] != true {
			t.Errorf("no bindings: bob %v", r)
		}
		if r := check(carol); r["passing"] != false {
			t.Errorf("an inactive user: %v", r)
		}
		vip := s.must(201, "POST", "/policies/expression/", map[string]any{"name": "vip-only", "settings": map[string]any{
			"expression": "if request.user.attributes.get(\"vip\"):\n    return True\nak_message(\"VIPs only\")\nreturn False"}})
		s.must(201, "POST", "/policies/bindings/", map[string]any{"target": app["pk"], "group": staff["pk"], "order": 0})
		s.must(201, "POST", "/policies/bindings/", map[string]any{"target": app["pk"], "policy": vip["pk"], "order": 1})
		for _, c := range []struct {
			user map[string]any
			want bool
		}{{alice, true}, {bob, true}, {carol, false}} {
			if r := check(c.user); r["passing"] != c.want {
				t.Errorf("mode any: %v = %v, want %v", c.user["username"], r, c.want)
			}
		}
		s.must(200, "PATCH", "/core/applications/wiki/", map[string]any{"policy_engine_mode": "all"})
		r := check(alice)
		if r["passing"] != false || fmt.Sprint(r["messages"]) != "[VIPs only]" {
			t.Errorf("mode all: alice (in the group, not a VIP) = %v", r)
		}
		if r := check(bob); r["passing"] != false {
			t.Errorf("mode all: bob (a VIP, not in the group) = %v", r)
		}
		// A policy that fails while checking access is a configuration_error,
		// as in flows.
		broken := s.must(201, "POST", "/policies/expression/", map[string]any{"name": "broken-app-policy",
			"settings": map[string]any{"expression": "return request.user.attributes[\"missing\"]"}})
		s.must(201, "POST", "/core/applications/", map[string]any{"name": "Broken", "slug": "broken"})
		brokenApp := s.must(200, "GET", "/core/applications/broken/", nil)
		s.must(201, "POST", "/policies/bindings/", map[string]any{"target": brokenApp["pk"], "policy": broken["pk"], "order": 0})
		if r := s.must(200, "GET", fmt.Sprintf("/core/applications/broken/check_access/?for_user=%v", alice["pk"]), nil); r["passing"] != false {
			t.Errorf("a failing policy: %v", r)
		}
		errs := results(s.must(200, "GET", "/events/events/?action=configuration_error", nil))
		if len(errs) == 0 || errs[0]["context"].(map[string]any)["policy"].(map[string]any)["name"] != "broken-app-policy" {
			t.Errorf("configuration_error events: %v", errs)
		}
	})
}

// The password_expiry policy is saved with its settings checked, and a
// password set just now has not expired (the ageing itself is unit-tested
// with a clock).
func TestPasswordExpiryPolicy(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		if code, out := s.call(s.token, "POST", "/policies/password_expiry/", map[string]any{"name": "bad",
			"settings": map[string]any{"days": 0}}); code != 400 || out["settings"] == nil {
			t.Errorf("days=0: %d %v", code, out)
		}
		p := s.must(201, "POST", "/policies/password_expiry/", map[string]any{"name": "90 days",
			"settings": map[string]any{"days": 90, "deny_only": true}})
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "erin", "name": "Erin"})
		s.must(204, "POST", fmt.Sprintf("/core/users/%v/set_password/", u["pk"]), map[string]any{"password": "erin-s-password"})
		if r := s.must(200, "POST", "/policies/all/"+p["pk"].(string)+"/test/", map[string]any{"user": u["pk"]}); r["passing"] != true {
			t.Errorf("a fresh password: %v", r)
		}
	})
}

// An unenrollment flow with a user_delete stage, run by a signed-in user,
// deletes them and ends their session; without a user it is denied.
func TestFlowUnenrollment(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "frank", "name": "Frank"})
		s.must(204, "POST", fmt.Sprintf("/core/users/%v/set_password/", u["pk"]), map[string]any{"password": "frank-s-password"})
		f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Delete account", "slug": "delete-account",
			"title": "Delete your account", "designation": "unenrollment"})
		st := s.must(201, "POST", "/stages/user_delete/", map[string]any{"name": "delete-me"})
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": 0})

		if ch := newFlowClient(t, s).exec("GET", "delete-account", nil); component(ch) != "ak-stage-access-denied" {
			t.Errorf("without a user: %v", ch)
		}
		c := newFlowClient(t, s)
		if ch := c.passwordLogin("frank", "frank-s-password"); component(ch) != "xak-flow-redirect" {
			t.Fatalf("login: %v", ch)
		}
		if code, _ := c.me(); code != 200 {
			t.Fatalf("me after login: %d", code)
		}
		if ch := c.exec("GET", "delete-account", nil); component(ch) != "xak-flow-redirect" {
			t.Fatalf("unenrollment: %v", ch)
		}
		if code, _ := c.me(); code != 403 {
			t.Errorf("me after deletion: %d", code)
		}
		if code, _ := s.call(s.token, "GET", fmt.Sprintf("/core/users/%v/", u["pk"]), nil); code != 404 {
			t.Errorf("the deleted user: %d", code)
		}
		ev := results(s.must(200, "GET", "/events/events/?action=model_deleted", nil))
		if len(ev) == 0 || ev[0]["context"].(map[string]any)["model"].(map[string]any)["name"] != "frank" {
			t.Errorf("model_deleted events: %v", ev)
		}
	})
}

// With a remember_me_offset the user_login stage asks "Stay signed in?": a
// yes makes the session cookie persistent for the offset, a no leaves a
// browser session (session_duration 0).
func TestFlowRememberMe(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		login := s.stageByName("default-authentication-login")
		s.must(200, "PATCH", "/stages/user_login/"+login+"/", map[string]any{
			"settings": map[string]any{"session_duration": "seconds=0", "remember_me_offset": "days=30"}})
		const flow = "default-authentication-flow"
		for _, remember := range []bool{true, false} {
			c := newFlowClient(t, s)
			ch := c.passwordLogin("akadmin", bootstrapPassword)
			if component(ch) != "ak-stage-user-login" {
				t.Fatalf("after the password: %v", ch)
			}
			// The answer, without following the redirect, to read its cookie.
			b, _ := json.Marshal(map[string]any{"component": "ak-stage-user-login", "remember_me": remember})
			req, _ := http.NewRequest("POST", s.base+"/flows/executor/"+flow+"/?query="+url.QueryEscape("next=/if/user/"), bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			noFollow := *c.http
			noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var session *http.Cookie
			for _, ck := range resp.Cookies() {
				if ck.Name == "authentik_session" {
					session = ck
				}
			}
			if session == nil {
				t.Fatalf("remember=%v: no session cookie (status %d)", remember, resp.StatusCode)
			}
			left := time.Until(session.Expires)
			if remember && (left < 29*24*time.Hour || left > 31*24*time.Hour) {
				t.Errorf("remember me: cookie expires in %v, want 30 days", left)
			}
			if !remember && !session.Expires.IsZero() {
				t.Errorf("no remember me: cookie expires %v, want a browser session", session.Expires)
			}
			if code, _ := c.me(); code != 200 {
				t.Errorf("remember=%v: me after login: %d", remember, code)
			}
		}
	})
}

// Recovery by email, against a real SMTP server (go-smtp) the binary sends
// to: the link arrives, opens the flow in another browser (a fresh cookie
// jar) at the new-password prompt, works once, and the new password then
// logs in while the old one does not. An unknown user sees the same page and
// gets no mail.
func TestFlowRecoveryByEmail(t *testing.T) {
	smtpd := mailtest.Start(t)
	env := mailEnv(smtpd)
	sent, grace := 0, smtpd.To("grace@example.com")
	eachEngineWith(t, env, func(t *testing.T, s *apiServer) {
		before := sent // mail of the other engine's run
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "grace", "name": "Grace", "email": "grace@example.com"})
		s.must(204, "POST", fmt.Sprintf("/core/users/%v/set_password/", u["pk"]), map[string]any{"password": "old-password-1"})
		const flow = "default-recovery-flow"

		// Until a brand's domain names the host, no link is mailed (for
		// anyone: known and unknown users get the same error).
		for _, who := range []string{"grace", "nobody"} {
			c := newFlowClient(t, s)
			c.exec("GET", flow, nil)
			if ch := c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": who}); component(ch) != "ak-stage-flow-error" {
				t.Errorf("%s, host not a brand's domain: %v", who, ch)
			}
		}
		s.setDefaultBrandDomain("127.0.0.1")
		// A Host header the client made up is not trusted for the link: the
		// whole exchange claims Host evil.example (redirects not followed).
		spoof := newFlowClient(t, s)
		spoof.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		evil := func(method string, body map[string]any) map[string]any {
			var rd io.Reader
			if body != nil {
				b, _ := json.Marshal(body)
				rd = bytes.NewReader(b)
			}
			req, _ := http.NewRequest(method, s.base+"/flows/executor/"+flow+"/?query="+url.QueryEscape("next=/if/user/"), rd)
			req.Header.Set("Content-Type", "application/json")
			req.Host = "evil.example"
			resp, err := spoof.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var ch map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&ch)
			return ch
		}
		evil("GET", nil)
		evil("POST", map[string]any{"component": "ak-stage-identification", "uid_field": "grace"}) // 302 to the next stage
		if ch := evil("GET", nil); component(ch) != "ak-stage-flow-error" {
			t.Errorf("a spoofed Host: %v", ch)
		}
		if n := grace.Count(); n != sent {
			t.Fatalf("%d messages sent before the brand's domain was set or for a spoofed host", n-sent)
		}

		nobody := newFlowClient(t, s)
		nobody.exec("GET", flow, nil)
		unknown := nobody.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "nobody"})
		a := newFlowClient(t, s)
		if ch := a.exec("GET", flow, nil); component(ch) != "ak-stage-identification" {
			t.Fatalf("recovery start: %v", ch)
		}
		known := a.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "grace@example.com"})
		if component(known) != "ak-stage-email" || component(unknown) != "ak-stage-email" {
			t.Fatalf("after identification: known %v, unknown %v", known, unknown)
		}
		m := grace.Wait(t, sent, 10*time.Second)
		sent++
		if len(m.To) != 1 || m.To[0] != "grace@example.com" || m.Msg.Header.Get("Subject") != "Password reset" {
			t.Errorf("mail to %v, subject %q", m.To, m.Msg.Header.Get("Subject"))
		}
		i := strings.Index(m.Body, "flow_token=")
		if i < 0 {
			t.Fatalf("no link in %q", m.Body)
		}
		key := strings.Fields(m.Body[i+len("flow_token="):])[0]
		if !strings.Contains(m.Body, "/if/flow/default-recovery-flow/?flow_token=") {
			t.Errorf("link in %q", m.Body)
		}

		// The token opened at another flow is ignored and not used up.
		if ch := newFlowClient(t, s).execQ("GET", "default-authentication-flow", "flow_token="+key, nil); component(ch) != "ak-stage-identification" {
			t.Errorf("the link at another flow: %v", ch)
		}
		b := newFlowClient(t, s) // another browser
		ch := b.execQ("GET", flow, "flow_token="+key, nil)
		if component(ch) != "ak-stage-prompt" {
			t.Fatalf("the link: %v", ch)
		}
		ch = b.execQ("POST", flow, "flow_token="+key, map[string]any{"component": "ak-stage-prompt",
			"password": "new-password-2", "password_repeat": "new-password-2"})
		if component(ch) != "xak-flow-redirect" {
			t.Fatalf("new password: %v", ch)
		}
		if code, me := b.me(); code != 200 || me["user"].(map[string]any)["username"] != "grace" {
			t.Errorf("me after recovery: %d %v", code, me)
		}
		if ch := newFlowClient(t, s).execQ("GET", flow, "flow_token="+key, nil); component(ch) != "ak-stage-identification" {
			t.Errorf("the link a second time: %v", ch)
		}
		for pw, want := range map[string]string{"old-password-1": "ak-stage-password", "new-password-2": "xak-flow-redirect"} {
			c := newFlowClient(t, s)
			if ch := c.passwordLogin("grace", pw); component(ch) != want {
				t.Errorf("login with %s: %v, want %s", pw, component(ch), want)
			}
		}
		if n := smtpd.Count() - smtpd.To("root@example.com").Count(); n != sent {
			t.Errorf("%d messages, want %d (none for the unknown user)", n, sent)
		}

		// With recovery_max_attempts 1, a second unused link within the
		// window is not sent; the page is the same.
		s.must(200, "PATCH", "/stages/email/"+s.stageByName("default-recovery-email")+"/", map[string]any{"settings": map[string]any{
			"subject": "Password reset", "recovery_max_attempts": 1, "recovery_cache_timeout": "minutes=5"}})
		for range 2 {
			c := newFlowClient(t, s)
			c.exec("GET", flow, nil)
			if ch := c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "grace"}); component(ch) != "ak-stage-email" {
				t.Fatalf("asking again: %v", ch)
			}
		}
		grace.Wait(t, sent, 10*time.Second)
		sent++
		// Mail is queued before the flow answers: the email_sent events
		// count what was queued, delivered or not yet.
		queued := 0
		for _, e := range results(s.must(200, "GET", "/events/events/?action=email_sent&page_size=100", nil)) {
			if ctx, _ := e["context"].(map[string]any); ctx["to"] == "grace@example.com" {
				queued++
			}
		}
		if n := grace.Count(); n != sent || queued != sent-before {
			t.Errorf("%d messages (%d queued) after two more requests with a limit of one, want %d", n, queued, sent)
		}
	})
}

// The consent stage for the plan's application (put there by a policy, as
// an authorization flow's provider does): always_require asks every time,
// permanent once, expiring again after consent_expire_in; an answer without
// the challenge's token is refused.
func TestFlowConsent(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		c := newFlowClient(t, s)
		if ch := c.passwordLogin("akadmin", bootstrapPassword); component(ch) != "xak-flow-redirect" {
			t.Fatalf("login: %v", ch)
		}
		for _, tc := range []struct {
			mode     string
			settings map[string]any
			asks     []bool // whether each run asks
		}{
			{"always", map[string]any{"mode": "always_require"}, []bool{true, true}},
			{"permanent", map[string]any{"mode": "permanent"}, []bool{true, false, false}},
			{"expiring", map[string]any{"mode": "expiring", "consent_expire_in": "seconds=1"}, []bool{true, false, true}},
		} {
			// A consent is per user and application: one application per mode.
			slug := "consent-" + tc.mode
			s.must(201, "POST", "/core/applications/", map[string]any{"name": "Wiki", "slug": slug})
			setApp := s.must(201, "POST", "/policies/expression/", map[string]any{"name": "app-" + slug, "settings": map[string]any{
				"expression": "context[\"flow_plan\"].context[\"application\"] = \"" + slug + "\"\nreturn True"}})
			f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": slug, "slug": slug, "title": "Sign in to Wiki", "designation": "authorization"})
			s.must(201, "POST", "/policies/bindings/", map[string]any{"target": f["pk"], "policy": setApp["pk"], "order": 0})
			st := s.must(201, "POST", "/stages/consent/", map[string]any{"name": slug, "settings": tc.settings})
			s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": 0})
			for i, asks := range tc.asks {
				if tc.mode == "expiring" && i == 2 {
					time.Sleep(1100 * time.Millisecond) // let the one-second consent lapse
				}
				ch := c.exec("GET", slug, nil)
				if !asks {
					if component(ch) != "xak-flow-redirect" {
						t.Errorf("%s run %d: %v, want no question", tc.mode, i, ch)
					}
					continue
				}
				if component(ch) != "ak-stage-consent" || ch["header_text"] != "You're about to sign into Wiki." {
					t.Fatalf("%s run %d: %v, want the consent question", tc.mode, i, ch)
				}
				bad := c.exec("POST", slug, map[string]any{"component": "ak-stage-consent", "token": "forged"})
				if errs, _ := bad["response_errors"].(map[string]any); component(bad) != "ak-stage-consent" || errs["token"] == nil {
					t.Errorf("%s: a forged token: %v", tc.mode, bad)
				}
				if ch := c.exec("POST", slug, map[string]any{"component": "ak-stage-consent", "token": ch["token"]}); component(ch) != "xak-flow-redirect" {
					t.Errorf("%s run %d: consenting: %v", tc.mode, i, ch)
				}
			}
		}
	})
}

// The prompt stage's choice, date and locale fields: bad answers are
// refused per field, good ones reach the user through user_write.
func TestFlowPromptFieldTypes(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		if code, out := s.call(s.token, "POST", "/stages/prompt/", map[string]any{"name": "no-choices", "settings": map[string]any{
			"fields": []any{map[string]any{"field_key": "team", "label": "Team", "type": "dropdown"}}}}); code != 400 || out["settings"] == nil {
			t.Errorf("a dropdown without choices: %d %v", code, out)
		}
		f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Sign up", "slug": "signup-typed", "title": "Sign up", "designation": "enrollment"})
		prompt := s.must(201, "POST", "/stages/prompt/", map[string]any{"name": "typed", "settings": map[string]any{"fields": []any{
			map[string]any{"field_key": "username", "label": "Username", "type": "username", "required": true, "order": 0},
			map[string]any{"field_key": "attributes.team", "label": "Team", "type": "dropdown", "required": true, "order": 1, "choices": []any{"red", "blue"}},
			map[string]any{"field_key": "attributes.plan", "label": "Plan", "type": "radio-button-group", "required": true, "order": 2, "placeholder": "free"},
			map[string]any{"field_key": "attributes.birthday", "label": "Birthday", "type": "date", "order": 3},
			map[string]any{"field_key": "attributes.start", "label": "Start", "type": "date-time", "order": 4},
			map[string]any{"field_key": "attributes.locale", "label": "Language", "type": "ak-locale", "order": 5},
		}}})
		write := s.must(201, "POST", "/stages/user_write/", map[string]any{"name": "typed-write", "settings": map[string]any{"user_creation_mode": "always_create"}})
		for i, st := range []map[string]any{prompt, write} {
			s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": i})
		}
		c := newFlowClient(t, s)
		ch := c.exec("GET", "signup-typed", nil)
		fields, _ := ch["fields"].([]any)
		if component(ch) != "ak-stage-prompt" || len(fields) != 6 || fmt.Sprint(fields[2].(map[string]any)["choices"]) != "[free]" {
			t.Fatalf("the prompt: %v", ch)
		}
		bad := c.exec("POST", "signup-typed", map[string]any{"component": "ak-stage-prompt", "username": "ivan",
			"attributes.team": "green", "attributes.plan": "free", "attributes.birthday": "1990-02-30",
			"attributes.start": "tomorrow", "attributes.locale": "english please"})
		errs, _ := bad["response_errors"].(map[string]any)
		for _, k := range []string{"attributes.team", "attributes.birthday", "attributes.start", "attributes.locale"} {
			if errs[k] == nil {
				t.Errorf("no error for %s: %v", k, errs)
			}
		}
		if errs["attributes.plan"] != nil || errs["username"] != nil {
			t.Errorf("errors on valid answers: %v", errs)
		}
		ok := c.exec("POST", "signup-typed", map[string]any{"component": "ak-stage-prompt", "username": "ivan",
			"attributes.team": "blue", "attributes.plan": "free", "attributes.birthday": "1990-02-28",
			"attributes.start": "2027-01-04T09:30", "attributes.locale": "pt-BR"})
		if component(ok) != "xak-flow-redirect" {
			t.Fatalf("valid answers: %v", ok)
		}
		users := results(s.must(200, "GET", "/core/users/?username=ivan", nil))
		if len(users) != 1 {
			t.Fatalf("the new user: %v", users)
		}
		attrs := users[0]["attributes"].(map[string]any)
		if attrs["team"] != "blue" || attrs["plan"] != "free" || attrs["birthday"] != "1990-02-28" || attrs["start"] != "2027-01-04T09:30" || attrs["locale"] != "pt-BR" {
			t.Errorf("attributes %v", attrs)
		}
	})
}

// An event_matcher policy, dry-run through the test endpoint with an event
// in the context (as notification rules will evaluate it).
func TestEventMatcherPolicy(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		if code, _ := s.call(s.token, "POST", "/policies/event_matcher/", map[string]any{"name": "empty", "settings": map[string]any{}}); code != 400 {
			t.Errorf("no criteria: %d", code)
		}
		p := s.must(201, "POST", "/policies/event_matcher/", map[string]any{"name": "user-deleted",
			"settings": map[string]any{"action": "model_deleted", "model": "authentik_core.user"}})
		test := func(ev map[string]any) any {
			return s.must(200, "POST", "/policies/all/"+p["pk"].(string)+"/test/", map[string]any{"user": 1, "context": map[string]any{"event": ev}})["passing"]
		}
		userDeleted := map[string]any{"action": "model_deleted", "context": map[string]any{"model": map[string]any{"app": "authentik_core", "model_name": "user"}}}
		groupDeleted := map[string]any{"action": "model_deleted", "context": map[string]any{"model": map[string]any{"app": "authentik_core", "model_name": "group"}}}
		if test(userDeleted) != true || test(groupDeleted) != false {
			t.Errorf("user deleted: %v, group deleted: %v", test(userDeleted), test(groupDeleted))
		}
	})
}

// The flow diagram: Mermaid text with the flow's policies and its stages in
// order.
func TestFlowDiagram(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		f := s.must(200, "GET", "/flows/instances/default-authentication-flow/", nil)
		p := s.must(201, "POST", "/policies/dummy/", map[string]any{"name": "gate \"one\"", "settings": map[string]any{"result": true}})
		s.must(201, "POST", "/policies/bindings/", map[string]any{"target": f["pk"], "policy": p["pk"], "order": 0})
		d, _ := s.must(200, "GET", "/flows/instances/default-authentication-flow/diagram/", nil)["diagram"].(string)
		want := []string{"graph TD", "Policy<br>gate #quot;one#quot;", "Stage (identification)<br>default-authentication-identification",
			"Stage (password)<br>default-authentication-password", "Stage (user_login)<br>default-authentication-login", "End of the flow"}
		last := -1
		for _, w := range want {
			i := strings.Index(d, w)
			if i <= last {
				t.Errorf("%q missing or out of order in:\n%s", w, d)
				break
			}
			last = i
		}
		if code, _ := s.call(s.token, "GET", "/flows/instances/no-such-flow/diagram/", nil); code != 404 {
			t.Errorf("diagram of an unknown flow: %d", code)
		}
	})
}

// A prompt stage's validation policies see the answers in
// request.context["prompt_data"]; a failing one shows its message and the
// flow stays on the prompt.
func TestFlowPromptValidationPolicy(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		pol := s.must(201, "POST", "/policies/expression/", map[string]any{"name": "no-root", "settings": map[string]any{
			"expression": "if request.context[\"prompt_data\"][\"nickname\"] == \"root\":\n    ak_message(\"Pick another nickname.\")\n    return False\nreturn True"}})
		f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Nick", "slug": "nick", "title": "Nickname",
			"designation": "stage_configuration"})
		st := s.must(201, "POST", "/stages/prompt/", map[string]any{"name": "nick-prompt", "settings": map[string]any{
			"fields":              []any{map[string]any{"field_key": "nickname", "label": "Nickname", "type": "text", "required": true, "order": 0}},
			"validation_policies": []any{pol["pk"]}}})
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": 0})
		c := newFlowClient(t, s)
		if ch := c.exec("GET", "nick", nil); component(ch) != "ak-stage-prompt" {
			t.Fatalf("first challenge = %v", ch)
		}
		ch := c.exec("POST", "nick", map[string]any{"component": "ak-stage-prompt", "nickname": "root"})
		errs, _ := ch["response_errors"].(map[string]any)
		if component(ch) != "ak-stage-prompt" || !strings.Contains(fmt.Sprint(errs["non_field_errors"]), "Pick another nickname.") {
			t.Fatalf("refused value = %v", ch)
		}
		if ch := c.exec("POST", "nick", map[string]any{"component": "ak-stage-prompt", "nickname": "neo"}); component(ch) != "xak-flow-redirect" {
			t.Errorf("accepted value = %v", ch)
		}
	})
}
