package e2e

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
)

// htmlBrowser follows server-rendered flow pages with plain HTTP: a cookie
// jar, forms read from the page (action and hidden fields), redirects
// followed. It runs no script, as the flow UI needs none.
type htmlBrowser struct {
	t    *testing.T
	http *http.Client
}

func newHTMLBrowser(t *testing.T) *htmlBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &htmlBrowser{t: t, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// page is a fetched page: its final address and body.
type page struct {
	url  *url.URL
	body string
}

func (b *htmlBrowser) read(resp *http.Response, err error) page {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s: status %d: %s", resp.Request.URL, resp.StatusCode, raw)
	}
	return page{url: resp.Request.URL, body: string(raw)}
}

func (b *htmlBrowser) get(u string) page { b.t.Helper(); return b.read(b.http.Get(u)) }

var (
	formTag     = regexp.MustCompile(`<form[^>]*\smethod="post"[^>]*\saction="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
)

// submit fills the page's post form with fields (on top of its hidden
// ones) and sends it, as a browser does.
func (b *htmlBrowser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	m := formTag.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no post form on %s:\n%s", p.url, p.body)
	}
	action, err := p.url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		b.t.Fatal(err)
	}
	form := url.Values{}
	for _, h := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		form.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	for k, v := range fields {
		if !strings.Contains(p.body, `name="`+k+`"`) {
			b.t.Fatalf("the form on %s has no field %s", p.url, k)
		}
		form.Set(k, v)
	}
	return b.read(b.http.PostForm(action.String(), form))
}

// An administrator makes a recovery link through the API; the user opens
// it in a browser of their own, which lands on the recovery flow's password
// prompt (not on the identification: the link names the user), sets a new
// password and is signed in; the new password then logs in and the old one
// does not; the link works once. The same link sent by recovery_email/
// arrives by mail through the worker and works too.
func TestRecoveryLinkEndToEnd(t *testing.T) {
	smtpd := mailtest.Start(t)
	env := mailEnv(smtpd)
	sent, lin := 0, smtpd.To("lin@example.com")
	eachEngineWith(t, env, func(t *testing.T, s *apiServer) {
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "lin", "name": "Lin", "email": "lin@example.com"})
		pk := fmt.Sprint(u["pk"])
		s.must(204, "POST", "/core/users/"+pk+"/set_password/", map[string]any{"password": "old-password-1"})

		link, _ := s.must(200, "POST", "/core/users/"+pk+"/recovery/", nil)["link"].(string)
		origin := strings.TrimSuffix(s.base, "/api/v3")
		if !strings.HasPrefix(link, origin+"/if/flow/default-recovery-flow/?flow_token=") {
			t.Fatalf("link %q", link)
		}

		b := newHTMLBrowser(t)
		p := b.get(link)
		if !strings.Contains(p.body, `name="password_repeat"`) || strings.Contains(p.body, `name="uid_field"`) {
			t.Fatalf("the link opens:\n%s", p.body)
		}
		p = b.submit(p, map[string]string{"password": "new-password-2", "password_repeat": "new-password-2"})
		if p.url.Path == "/if/flow/default-recovery-flow/" {
			t.Fatalf("the flow did not finish:\n%s", p.body)
		}
		me := b.get(s.base + "/core/users/me/")
		if !strings.Contains(me.body, `"username":"lin"`) {
			t.Errorf("signed in after the recovery as: %s", me.body)
		}
		if p := newHTMLBrowser(t).get(link); strings.Contains(p.body, `name="password_repeat"`) || !strings.Contains(p.body, `name="uid_field"`) {
			t.Errorf("the link a second time:\n%s", p.body)
		}
		for pw, want := range map[string]string{"old-password-1": "ak-stage-password", "new-password-2": "xak-flow-redirect"} {
			c := newFlowClient(t, s)
			if ch := c.passwordLogin("lin", pw); component(ch) != want {
				t.Errorf("login with %s: %v, want %s", pw, component(ch), want)
			}
		}

		// recovery_email/: the default recovery flow's email stage, the
		// default brand answering at this address.
		s.setDefaultBrandDomain("127.0.0.1")
		s.must(204, "POST", "/core/users/"+pk+"/recovery_email/", map[string]any{"email_stage": s.stageByName("default-recovery-email")})
		m := lin.Wait(t, sent, 30*time.Second)
		sent++
		if subj := m.Msg.Header.Get("Subject"); subj != "Password reset" {
			t.Errorf("subject %q", subj)
		}
		i := strings.Index(m.Body, origin+"/if/flow/default-recovery-flow/?flow_token=")
		if i < 0 {
			t.Fatalf("no link in %q", m.Body)
		}
		b = newHTMLBrowser(t)
		p = b.get(strings.Fields(m.Body[i:])[0])
		p = b.submit(p, map[string]string{"password": "new-password-3", "password_repeat": "new-password-3"})
		if me := b.get(s.base + "/core/users/me/"); !strings.Contains(me.body, `"username":"lin"`) {
			t.Errorf("signed in after the mailed link as: %s", me.body)
		}
	})
}
