package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// devUser is a user with a password, an API token and a flow client.
type devUser struct {
	pk    string
	name  string
	token string
}

// newDevUser creates a user with a password and an API token.
func newDevUser(t *testing.T, s *apiServer, name string) devUser {
	t.Helper()
	u := s.must(201, "POST", "/core/users/", map[string]any{"username": name, "name": strings.ToUpper(name[:1]) + name[1:]})
	pk := fmt.Sprint(u["pk"])
	s.must(204, "POST", "/core/users/"+pk+"/set_password/", map[string]any{"password": name + "-password"})
	s.must(201, "POST", "/core/tokens/", map[string]any{"identifier": name + "-api", "intent": "api", "user": u["pk"]})
	key := s.must(200, "GET", "/core/tokens/"+name+"-api/view_key/", nil)["key"].(string)
	return devUser{pk: pk, name: name, token: key}
}

// login runs default-authentication-flow up to the answer after the password.
func (u devUser) login(t *testing.T, s *apiServer) (*flowClient, map[string]any) {
	t.Helper()
	c := newFlowClient(t, s)
	const flow = "default-authentication-flow"
	c.exec("GET", flow, nil)
	if ch := c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": u.name}); component(ch) != "ak-stage-password" {
		t.Fatalf("%s after identification: %v", u.name, ch)
	}
	return c, c.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": u.name + "-password"})
}

// enrollTOTP answers an ak-stage-authenticator-totp challenge of flow with
// a code computed independently (oathtool or pquerna/otp) and returns the
// answer.
func enrollTOTP(t *testing.T, c *flowClient, flow string, ch map[string]any) map[string]any {
	t.Helper()
	if component(ch) != "ak-stage-authenticator-totp" {
		t.Fatalf("%s: want the TOTP setup challenge, got %v", flow, ch)
	}
	u, err := url.Parse(ch["config_url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	code := totpCode(t, u.Query().Get("secret"), time.Now().Unix()/30)
	return c.exec("POST", flow, map[string]any{"component": "ak-stage-authenticator-totp", "code": code})
}

// The device API against the binary, with a device enrolled through the
// TOTP setup stage over the executor API: the owner lists, renames and
// deletes it; another user cannot see it (404) nor use the admin paths
// (403); malformed ids are 400/404, never 500; and once the user's last
// device is deleted, a validate stage with not_configured_action configure
// makes the next login set one up.
func TestAuthenticatorsAPI(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword}, func(t *testing.T, s *apiServer) {
		dana, bob := newDevUser(t, s, "dana"), newDevUser(t, s, "bob")

		// Enrollment: signed in (no device yet: the default validate stage
		// skips), then the shipped setup flow.
		c, ch := dana.login(t, s)
		if component(ch) != "xak-flow-redirect" {
			t.Fatalf("login without a device: %v", ch)
		}
		const setup = "default-authenticator-totp-setup"
		if ch := enrollTOTP(t, c, setup, c.exec("GET", setup, nil)); component(ch) != "xak-flow-redirect" {
			t.Fatalf("TOTP setup: %v", ch)
		}

		// The user settings offer the setup stages that have a configure flow:
		// the shipped setup stage links its own flow, as authentik's does.
		setupStage := results(s.must(200, "GET", "/stages/all/?search="+setup, nil))
		if len(setupStage) != 1 {
			t.Fatalf("setup stages: %v", setupStage)
		}
		if st := setupStage[0]["settings"].(map[string]any); st["configure_flow"] != s.must(200, "GET", "/flows/instances/"+setup+"/", nil)["pk"] {
			t.Errorf("the shipped %s stage's configure_flow = %v, not its flow", setup, st["configure_flow"])
		}
		code, out := s.call(dana.token, "GET", "/stages/all/user_settings/", nil)
		found := false
		if list, ok := out["_"].([]any); code == 200 && ok {
			for _, e := range list {
				m := e.(map[string]any)
				if m["component"] == "ak-user-settings-authenticator-totp" {
					found = m["configure_url"] == "/if/flow/"+setup+"/" && m["object_uid"] != ""
				}
			}
		}
		if !found {
			t.Errorf("user_settings: %d %v", code, out)
		}

		// The owner's view.
		code, list := s.call(dana.token, "GET", "/authenticators/totp/", nil)
		if code != 200 || count(list) != 1 {
			t.Fatalf("dana's TOTP devices: %d %v", code, list)
		}
		dev := results(list)[0]
		pk := fmt.Sprint(dev["pk"])
		if dev["name"] != "TOTP Device" || dev["user"].(map[string]any)["username"] != "dana" || dev["key"] != nil {
			t.Errorf("device = %v", dev)
		}
		code, all := s.call(dana.token, "GET", "/authenticators/all/", nil)
		if items, _ := all["_"].([]any); code != 200 || len(items) != 1 ||
			items[0].(map[string]any)["type"] != "authentik_stages_authenticator_totp.TOTPDevice" ||
			items[0].(map[string]any)["pk"] != pk || items[0].(map[string]any)["confirmed"] != true {
			t.Errorf("dana's devices of all classes: %d %v", code, all)
		}

		// Another user: not found on the user paths, refused on the admin paths.
		path := "/authenticators/totp/" + pk + "/"
		for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
			var body any
			if m == "PATCH" || m == "PUT" {
				body = map[string]any{"name": "bob's now"}
			}
			if code, out := s.call(bob.token, m, path, body); code != 404 {
				t.Errorf("bob %s %s: %d %v", m, path, code, out)
			}
		}
		for _, p := range []string{"/authenticators/admin/totp/", "/authenticators/admin/totp/" + pk + "/", "/authenticators/admin/all/"} {
			if code, out := s.call(bob.token, "GET", p, nil); code != 403 {
				t.Errorf("bob GET %s: %d %v", p, code, out)
			}
		}
		if code, out := s.call(bob.token, "DELETE", "/authenticators/admin/totp/"+pk+"/", nil); code != 403 {
			t.Errorf("bob DELETE on the admin path: %d %v", code, out)
		}
		if code, list := s.call(bob.token, "GET", "/authenticators/totp/", nil); code != 200 || count(list) != 0 {
			t.Errorf("bob's devices: %d %v", code, list)
		}

		// Malformed ids.
		for _, bad := range []string{"abc", "1e99", strings.Repeat("9", 30), "-5", "0x10", "%20"} {
			for _, m := range []string{"GET", "DELETE"} {
				code, out := s.call(dana.token, m, "/authenticators/totp/"+bad+"/", nil)
				if code != 400 && code != 404 {
					t.Errorf("%s /authenticators/totp/%s/: %d %v", m, bad, code, out)
				}
			}
		}

		// Rename, seen by the admin, with an event.
		if code, out := s.call(dana.token, "PATCH", path, map[string]any{"name": "Dana's phone"}); code != 200 || out["name"] != "Dana's phone" {
			t.Fatalf("rename: %d %v", code, out)
		}
		if code, out := s.call(dana.token, "PATCH", path, map[string]any{"name": strings.Repeat("n", 100)}); code != 400 || out["name"] == nil {
			t.Errorf("a 100-character name: %d %v", code, out)
		}
		ev := s.wantEvent("model_updated", pk)
		if m := ev["context"].(map[string]any)["model"].(map[string]any); m["model_name"] != "totpdevice" || m["name"] != "Dana's phone" {
			t.Errorf("model_updated event: %v", ev)
		}
		admin := s.must(200, "GET", "/authenticators/admin/totp/?user="+dana.pk, nil)
		if count(admin) != 1 || results(admin)[0]["name"] != "Dana's phone" {
			t.Errorf("admin list for dana: %v", admin)
		}

		// Make the default login require a device (configure with the TOTP
		// setup stage), as an admin would.
		validation := results(s.must(200, "GET", "/stages/all/?search=default-authentication-mfa-validation", nil))
		if len(validation) != 1 {
			t.Fatalf("validation stages: %v", validation)
		}
		settings := validation[0]["settings"].(map[string]any)
		settings["not_configured_action"] = "configure"
		settings["configuration_stages"] = []any{setupStage[0]["pk"]}
		s.must(200, "PATCH", "/stages/authenticator_validate/"+validation[0]["pk"].(string)+"/", map[string]any{"settings": settings})
		if _, ch := dana.login(t, s); component(ch) != "ak-stage-authenticator-validate" {
			t.Fatalf("login with a device: %v", ch)
		}

		// Deleting the last device: gone, with an event; the next login
		// asks to set one up, and the new device works for the login.
		if code, out := s.call(dana.token, "DELETE", path, nil); code != 204 {
			t.Fatalf("delete: %d %v", code, out)
		}
		if code, _ := s.call(dana.token, "GET", path, nil); code != 404 {
			t.Errorf("deleted device: %d", code)
		}
		ev = s.wantEvent("model_deleted", pk)
		if m := ev["context"].(map[string]any)["model"].(map[string]any); m["app"] != "authentik_stages_authenticator_totp" ||
			ev["user"].(map[string]any)["username"] != "dana" {
			t.Errorf("model_deleted event: %v", ev)
		}
		c, ch = dana.login(t, s)
		if ch := enrollTOTP(t, c, "default-authentication-flow", ch); component(ch) != "xak-flow-redirect" {
			t.Fatalf("login that set up a device: %v", ch)
		}
		if code, me := c.me(); code != 200 || me["user"].(map[string]any)["username"] != "dana" {
			t.Errorf("me after the login: %d %v", code, me)
		}
		if code, list := s.call(dana.token, "GET", "/authenticators/totp/", nil); code != 200 || count(list) != 1 ||
			fmt.Sprint(results(list)[0]["pk"]) == pk {
			t.Errorf("devices after the configuring login: %d %v", code, list)
		}
	})
}
