package e2e

import (
	"fmt"
	"html"
	"mime"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
)

// mailEnv is the settings that send mail to smtpd: queued, and sent by the
// worker embedded in the server (on PostgreSQL too).
func mailEnv(smtpd *mailtest.Server) map[string]string {
	return map[string]string{"GATEHOUSE_EMAIL__HOST": "127.0.0.1", "GATEHOUSE_EMAIL__PORT": smtpd.Port(),
		"GATEHOUSE_EMAIL__FROM": "Gatehouse <id@example.com>", "GATEHOUSE_WORKER__EMBEDDED": "true"}
}

// The recovery mail rendered from templates in email.template_dir: an
// override of the built-in email/password_reset.html (using the built-in
// layout) and its .txt sibling arrive as the two parts of one
// multipart/alternative message, and the link in it works. A stage naming a
// template outside the directory is refused when saved; one naming a missing
// or broken template ends the flow with an error and records a
// configuration_error event naming it.
func TestEmailTemplates(t *testing.T) {
	smtpd := mailtest.Start(t)
	dir := t.TempDir()
	for name, text := range map[string]string{
		"email/password_reset.html": `{{define "content"}}<p>CUSTOM-HTML for {{.user.username}}: <a href="{{.url}}">reset</a> within {{.expires}} min</p>{{end}}{{template "layout" .}}`,
		"email/password_reset.txt":  "CUSTOM-TEXT for {{.user.username}}:\n\n{{.url}}\n",
		"custom/broken.html":        `<p>{{.user.name</p>`,
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := mailEnv(smtpd)
	env["GATEHOUSE_EMAIL__TEMPLATE_DIR"] = dir
	sent, hedy := 0, smtpd.To("hedy@example.com")
	adminSeen, admin := 0, smtpd.To("root@example.com") // akadmin's address (bootstrap_email)
	eachEngineWith(t, env, func(t *testing.T, s *apiServer) {
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "hedy", "name": "Hedy", "email": "hedy@example.com"})
		s.must(204, "POST", fmt.Sprintf("/core/users/%v/set_password/", u["pk"]), map[string]any{"password": "old-password-1"})
		s.setDefaultBrandDomain("127.0.0.1")
		const flow = "default-recovery-flow"
		startRecovery := func() map[string]any {
			c := newFlowClient(t, s)
			c.exec("GET", flow, nil)
			return c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "hedy"})
		}

		if ch := startRecovery(); component(ch) != "ak-stage-email" {
			t.Fatalf("after identification: %v", ch)
		}
		m := hedy.Wait(t, sent, 10*time.Second)
		sent++
		if typ, _, _ := mime.ParseMediaType(m.Msg.Header.Get("Content-Type")); typ != "multipart/alternative" {
			t.Errorf("Content-Type %q", m.Msg.Header.Get("Content-Type"))
		}
		if !strings.HasPrefix(m.Body, "CUSTOM-TEXT for hedy:") {
			t.Errorf("text part %q", m.Body)
		}
		i := strings.Index(m.Body, "flow_token=")
		if i < 0 {
			t.Fatalf("no link in the text part %q", m.Body)
		}
		key := strings.Fields(m.Body[i+len("flow_token="):])[0]
		link := s.base[:strings.Index(s.base, "/api/v3")] + "/if/flow/" + flow + "/?" + url.Values{"flow_token": {key}}.Encode()
		for _, want := range []string{"<!DOCTYPE html>", "CUSTOM-HTML for hedy", `href="` + html.EscapeString(link) + `"`, "within 30 min"} {
			if !strings.Contains(m.HTML, want) {
				t.Errorf("HTML part lacks %q:\n%s", want, m.HTML)
			}
		}
		if ch := newFlowClient(t, s).execQ("GET", flow, "flow_token="+key, nil); component(ch) != "ak-stage-prompt" {
			t.Errorf("the link: %v", ch)
		}

		stage := "/stages/email/" + s.stageByName("default-recovery-email") + "/"
		for _, bad := range []string{"../password_reset.html", "/etc/passwd.html", "email/password_reset.txt"} {
			if code, out := s.call(s.token, "PATCH", stage, map[string]any{"settings": map[string]any{"template": bad}}); code != 400 {
				t.Errorf("template %q: %d %v, want 400", bad, code, out)
			}
		}
		for _, name := range []string{"custom/missing.html", "custom/broken.html"} {
			s.must(200, "PATCH", stage, map[string]any{"settings": map[string]any{"template": name}})
			if ch := startRecovery(); component(ch) != "ak-stage-flow-error" {
				t.Errorf("template %s: %v", name, ch)
			}
			found := false
			for _, e := range results(s.must(200, "GET", "/events/events/?action=configuration_error&page_size=100", nil)) {
				if ctx, _ := e["context"].(map[string]any); ctx["template"] == name && strings.Contains(fmt.Sprint(ctx["message"]), name) {
					found = true
				}
			}
			if !found {
				t.Errorf("no configuration_error event for %s", name)
			}
		}
		if n := hedy.Count(); n != sent {
			t.Errorf("%d messages, want %d", n, sent)
		}
		// The default notification rules (authentik's events-default.yaml)
		// tell the administrators of the configuration errors: by email
		// and in the interface.
		m = admin.Wait(t, adminSeen, 30*time.Second)
		adminSeen = admin.Count()
		if subj := m.Msg.Header.Get("Subject"); subj != "authentik Notification: configuration_error" || !strings.Contains(m.Body, "custom/") {
			t.Errorf("the administrator's notification: %q\n%s", subj, m.Body)
		}
		// The in-app notification is another transport's task: it may
		// land after the email.
		var notes []map[string]any
		poll(t, "the administrator's in-app notification", 15*time.Second, func() bool {
			notes = results(s.must(200, "GET", "/events/notifications/?page_size=100", nil))
			return len(notes) > 0
		})
		if !strings.Contains(fmt.Sprint(notes[0]["body"]), "custom/") {
			t.Errorf("the administrator's notifications: %v", notes)
		}
	})
}

// `gatehouse email test` (authentik's ak test_email) sends email/setup.html
// with the configured settings, or another template to preview it; a
// server that cannot be reached is a clear error and exit status 1.
func TestEmailTestCommand(t *testing.T) {
	smtpd := mailtest.Start(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "custom"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "custom/preview.html"), []byte(`<p>PREVIEW {{.code}}</p>`), 0o644); err != nil {
		t.Fatal(err)
	}
	env := baseEnv(t.TempDir())
	env["GATEHOUSE_EMAIL__HOST"] = "127.0.0.1"
	env["GATEHOUSE_EMAIL__PORT"] = smtpd.Port()
	env["GATEHOUSE_EMAIL__FROM"] = "Gatehouse <id@example.com>"
	env["GATEHOUSE_EMAIL__TEMPLATE_DIR"] = dir

	code, out := runCmd(t, env, "email", "test", "--to", "ops@example.com")
	if code != 0 || !strings.Contains(out, "sent email/setup.html to ops@example.com") {
		t.Fatalf("email test: %d %s", code, out)
	}
	m := smtpd.Wait(t, 0, 10*time.Second)
	if len(m.To) != 1 || m.To[0] != "ops@example.com" || !strings.Contains(m.HTML, "Email settings work") ||
		!strings.Contains(m.Body, "test message") {
		t.Errorf("test email to %v: text %q html %q", m.To, m.Body, m.HTML)
	}

	if code, out := runCmd(t, env, "email", "test", "--to", "ops@example.com", "--template", "custom/preview.html"); code != 0 {
		t.Fatalf("email test --template: %d %s", code, out)
	}
	if m := smtpd.Wait(t, 1, 10*time.Second); m.HTML != "<p>PREVIEW 123456</p>" || !strings.Contains(m.Body, "123456") {
		t.Errorf("preview: text %q html %q", m.Body, m.HTML)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "ops@example.com", "--template", "../preview.html"}, "relative path"},
		{[]string{"--to", "ops@example.com", "--template", "custom/none.html"}, "no such template"},
		{[]string{"--to", "not an address"}, "recipient"},
		{[]string{}, `"to" not set`},
	} {
		if code, out := runCmd(t, env, append([]string{"email", "test"}, tc.args...)...); code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("email test %v: %d %s, want %q", tc.args, code, out, tc.want)
		}
	}
	env["GATEHOUSE_EMAIL__PORT"] = "1"
	env["GATEHOUSE_EMAIL__TIMEOUT"] = "2"
	if code, out := runCmd(t, env, "email", "test", "--to", "ops@example.com"); code != 1 || !strings.Contains(out, "127.0.0.1:1") {
		t.Errorf("unreachable server: %d %s", code, out)
	}
	if n := smtpd.Count(); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
}
