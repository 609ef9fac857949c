package mail_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/mail"
)

var sample = mail.Data{User: mail.User{Name: "Dana Scully", Username: "dana", Email: "dana@example.com"},
	URL: "https://id.example.com/if/flow/recovery/?flow_token=k3y", Expires: 30, Code: "123456",
	BrandTitle: "Example ID", Title: "Login failed", Body: "Someone failed to log in.",
	KeyValue: []mail.KeyValue{{Key: "client_ip", Value: "192.0.2.1"}}}

// writeFiles makes dir/name for each name/content pair.
func writeFiles(t *testing.T, dir string, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		p := filepath.Join(dir, filepath.FromSlash(kv[i]))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(kv[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuiltinTemplates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		html, txt []string // substrings each part must hold
	}{
		{mail.TemplatePasswordReset, []string{`href="https://id.example.com/if/flow/recovery/?flow_token=k3y"`, "Reset password", "30 minutes", "Hello Dana Scully"},
			[]string{"Hello Dana Scully,", "\nhttps://id.example.com/if/flow/recovery/?flow_token=k3y\n", "30 minutes"}},
		{mail.TemplateAccountConfirmation, []string{`href="https://id.example.com/if/flow/recovery/?flow_token=k3y"`, "Confirm account"},
			[]string{"confirm your account", "\nhttps://id.example.com/if/flow/recovery/?flow_token=k3y\n"}},
		{mail.TemplateEmailOTP, []string{">123456</td>", "30 minutes"}, []string{"    123456\n", "30 minutes"}},
		{mail.TemplateEventNotification, []string{"Login failed", "Someone failed to log in.", ">client_ip</th>", ">192.0.2.1</td>"},
			[]string{"Login failed\n", "client_ip: 192.0.2.1\n"}},
		{mail.TemplateSetup, []string{"Email settings work", "Example ID"}, []string{"test message from Example ID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !mail.Builtin(tc.name) {
				t.Errorf("Builtin(%q) = false", tc.name)
			}
			// A nil *Templates renders the built-in templates.
			var none *mail.Templates
			r, err := none.Render(tc.name, sample)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range append(tc.html, "<!DOCTYPE html>", `lang="en"`, `role="presentation"`,
				`name="color-scheme" content="light dark"`, "prefers-color-scheme: dark", "Example ID") {
				if !strings.Contains(r.HTML, want) {
					t.Errorf("HTML part lacks %q", want)
				}
			}
			if !strings.HasPrefix(r.HTML, "<!DOCTYPE html>") {
				t.Errorf("HTML part starts %q", r.HTML[:min(len(r.HTML), 40)])
			}
			for _, want := range tc.txt {
				if !strings.Contains(r.Text, want) {
					t.Errorf("text part %q lacks %q", r.Text, want)
				}
			}
			if strings.Contains(r.HTML+r.Text, "<no value>") {
				t.Errorf("a missing variable was printed:\n%s\n%s", r.HTML, r.Text)
			}
		})
	}
}

// User-controlled fields are escaped in the HTML part; a javascript: link
// is defused.
func TestRenderEscapes(t *testing.T) {
	d := sample
	d.User.Name = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`
	d.Body = `<a href="https://evil.example">click</a>`
	d.KeyValue = []mail.KeyValue{{Key: "<b>k</b>", Value: "<i>v</i>"}}
	for _, name := range []string{mail.TemplatePasswordReset, mail.TemplateEventNotification} {
		r, err := mail.NewTemplates("").Render(name, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<script>", "<img", `<a href="https://evil.example">`, "<b>k</b>", "<i>v</i>"} {
			if strings.Contains(r.HTML, bad) {
				t.Errorf("%s: HTML part holds %q unescaped", name, bad)
			}
		}
	}
	d.URL = "javascript:alert(1)"
	r, err := mail.NewTemplates("").Render(mail.TemplatePasswordReset, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, `href="javascript:`) {
		t.Errorf("javascript: link kept")
	}
}

func TestOverrides(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir,
		"email/password_reset.html", `<p>Reset for {{.user.username}}: <a href="{{.url}}">go</a></p>`,
		"email/email_otp.html", `{{define "content"}}<p class="mine">{{.code}}</p>{{end}}{{template "layout" .}}`,
		"email/email_otp.txt", `Code {{.code}} for {{.user.email}}`,
		"custom/welcome.html", `<h1>Welcome {{.user.name}}</h1>`,
		"custom/notice.html", `<p>{{.title}}</p>`,
		"custom/notice.txt", `Notice: {{.title}}`,
	)
	tpl := mail.NewTemplates(dir)
	for _, tc := range []struct{ name, html, text string }{
		// The HTML file replaces the built-in one; the text part stays built in.
		{mail.TemplatePasswordReset, `<p>Reset for dana: <a href="https://id.example.com/if/flow/recovery/?flow_token=k3y">go</a></p>`,
			"Hello Dana Scully,\n\nsomeone asked"},
		// The built-in layout is available to overrides; the .txt sibling
		// replaces the text part.
		{mail.TemplateEmailOTP, `<p class="mine">123456</p>`, "Code 123456 for dana@example.com"},
		// A custom name without a .txt sibling gets the generic text part.
		{"custom/welcome.html", "<h1>Welcome Dana Scully</h1>", "https://id.example.com/if/flow/recovery/?flow_token=k3y"},
		{"custom/notice.html", "<p>Login failed</p>", "Notice: Login failed"},
		// Built-in templates not overridden stay as they are.
		{mail.TemplateSetup, "Email settings work", "test message from Example ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tpl.Render(tc.name, sample)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.HTML, tc.html) {
				t.Errorf("HTML part %q lacks %q", r.HTML, tc.html)
			}
			if !strings.Contains(r.Text, tc.text) {
				t.Errorf("text part %q lacks %q", r.Text, tc.text)
			}
			if err := tpl.Check(tc.name); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
	if r, _ := tpl.Render(mail.TemplateEmailOTP, sample); !strings.Contains(r.HTML, "<!DOCTYPE html>") {
		t.Errorf("the layout was not used: %q", r.HTML)
	}
}

// A changed file is parsed again; the cache serves it otherwise.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, "custom/a.html", "<p>one</p>")
	tpl := mail.NewTemplates(dir)
	render := func() string {
		t.Helper()
		r, err := tpl.Render("custom/a.html", sample)
		if err != nil {
			t.Fatal(err)
		}
		return r.HTML
	}
	if got := render(); got != "<p>one</p>" {
		t.Fatalf("first render %q", got)
	}
	writeFiles(t, dir, "custom/a.html", "<p>two</p>")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(filepath.Join(dir, "custom/a.html"), later, later); err != nil {
		t.Fatal(err)
	}
	if got := render(); got != "<p>two</p>" {
		t.Fatalf("after a change %q", got)
	}
	// A new .txt sibling is picked up too.
	writeFiles(t, dir, "custom/a.txt", "plain two")
	if r, err := tpl.Render("custom/a.html", sample); err != nil || r.Text != "plain two" {
		t.Fatalf("after adding a .txt: %q %v", r.Text, err)
	}
	// Removing the override of a built-in template restores it.
	writeFiles(t, dir, "email/setup.html", "<p>mine</p>")
	if r, _ := tpl.Render(mail.TemplateSetup, sample); r.HTML != "<p>mine</p>" {
		t.Fatalf("override %q", r.HTML)
	}
	if err := os.Remove(filepath.Join(dir, "email/setup.html")); err != nil {
		t.Fatal(err)
	}
	if r, _ := tpl.Render(mail.TemplateSetup, sample); !strings.Contains(r.HTML, "Email settings work") {
		t.Fatalf("after removing the override %q", r.HTML)
	}
	// Concurrent renders share the cache safely (run with -race).
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := tpl.Render("custom/a.html", sample); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestTemplateErrors(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeFiles(t, outside, "secret.html", "<p>secret</p>", "email/setup.html", "<p>secret</p>")
	writeFiles(t, dir,
		"custom/syntax.html", "<p>{{.user.name</p>",
		"custom/syntaxtxt.html", "<p>fine</p>",
		"custom/syntaxtxt.txt", "{{if .code}}unclosed",
		"custom/exec.html", `<p>{{template "nowhere" .}}</p>`,
		"custom/huge.html", `{{define "x"}}`+strings.Repeat("A", 4096)+`{{template "x" .}}{{end}}{{template "x" .}}`,
		"custom/inside.html", "<p>inside</p>",
	)
	for _, link := range []struct{ name, target string }{
		{"custom/escape.html", filepath.Join(outside, "secret.html")},
		{"custom/relescape.html", "../../" + filepath.Base(outside) + "/secret.html"},
		{"linkdir", outside},
		{"custom/ok.html", "inside.html"},
	} {
		if err := os.Symlink(link.target, filepath.Join(dir, filepath.FromSlash(link.name))); err != nil {
			t.Skipf("symlinks: %v", err)
		}
	}
	tpl := mail.NewTemplates(dir)
	for _, tc := range []struct {
		name    string
		want    string // in the error
		invalid bool   // refused by ValidTemplateName
	}{
		{"custom/syntax.html", "custom/syntax.html", false},
		{"custom/syntaxtxt.html", "syntaxtxt.txt", false},
		{"custom/exec.html", "nowhere", false},
		{"custom/huge.html", "larger than", false},
		{"custom/escape.html", "escape", false},
		{"custom/relescape.html", "relescape", false},
		{"linkdir/secret.html", "linkdir", false},
		{"linkdir/email/setup.html", "linkdir", false},
		{"custom/missing.html", "no such template", false},
		{"../secret.html", "relative path", true},
		{"custom/../../secret.html", "relative path", true},
		{"/etc/passwd.html", "relative path", true},
		{filepath.Join(outside, "secret.html"), "relative path", true},
		{`custom\..\..\secret.html`, "relative path", true},
		{"./custom/inside.html", "relative path", true},
		{"custom/inside.txt", ".html", true},
		{"", "1 to 255", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := mail.ValidTemplateName(tc.name); (err != nil) != tc.invalid {
				t.Errorf("ValidTemplateName = %v, want invalid=%v", err, tc.invalid)
			}
			r, err := tpl.Render(tc.name, sample)
			var te *mail.TemplateError
			if !errors.As(err, &te) {
				t.Fatalf("Render = %q, %v; want a *TemplateError", r.HTML, err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "email template") {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
			if strings.Contains(r.HTML, "secret") {
				t.Errorf("read outside the template dir")
			}
			if tc.name == "custom/missing.html" && !errors.Is(err, mail.ErrTemplateNotFound) {
				t.Errorf("not ErrTemplateNotFound: %v", err)
			}
		})
	}
	// A symbolic link inside the directory is followed.
	if r, err := tpl.Render("custom/ok.html", sample); err != nil || r.HTML != "<p>inside</p>" {
		t.Errorf("link inside the dir: %q %v", r.HTML, err)
	}
	// A missing template directory leaves the built-in templates.
	if _, err := mail.NewTemplates(filepath.Join(dir, "nope")).Render(mail.TemplateSetup, sample); err != nil {
		t.Errorf("missing dir: %v", err)
	}
}
