package e2e

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// The admin interface's directory and system pages in headless Chromium,
// as akadmin: they create a token (its key, shown once, works as a Bearer
// token) and an invitation (its link opens the enrollment flow), generate
// a certificate and download it (a parseable ECDSA P-256 certificate),
// create a local notification transport and send a test through it, and
// find the notification counted in the user interface's header, then mark
// everything seen.
func TestAdminSystemPagesBrowser(t *testing.T) {
	base, s := browserServer(t, nil)
	enroll := s.must(200, "GET", "/flows/instances/default-enrollment-flow/", nil)

	ctx := browserWith(t, 1000, 120*time.Second)
	if err := chromedp.Do(ctx, signIn(base+"/if/admin/tokens/", "akadmin", bootstrapPassword, chromedp.ID("new-token"))); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	shootThemes(t, ctx, "adminb-01-tokens")

	// A token for akadmin; a refused identifier first.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("new-token")),
		chromedp.WaitVisible(chromedp.ID("identifier")),
		chromedp.SendKeys(chromedp.ID("identifier"), "bad id!"),
		chromedp.Click(chromedp.ID("token-form-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#identifier-err .field-error`)),
	); err != nil {
		t.Fatalf("bad identifier: %v", err)
	}
	screenshot(t, ctx, "adminb-02-token-form-error-light")
	if err := chromedp.Do(ctx,
		chromedp.Clear(chromedp.ID("identifier")),
		chromedp.SendKeys(chromedp.ID("identifier"), "deploy-bot"),
		chromedp.SendKeys(chromedp.ID("description"), "Deploys from CI"),
		chromedp.Click(chromedp.ID("token-form-submit")),
		chromedp.WaitVisible(chromedp.ID("token-key")),
	); err != nil {
		t.Fatalf("create token: %v", err)
	}
	shootThemes(t, ctx, "adminb-03-token-key")
	key, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("token-key")))
	if err != nil || len(key) < 32 {
		t.Fatalf("key shown: %q %v", key, err)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v3/core/users/me/", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the shown key does not authenticate: %v %v", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}

	// An invitation to the enrollment flow.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/invitations/new/"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "new-hires"),
		chromedp.SetValue(chromedp.ID("fixed_data"), `{"email": "hire@example.com"}`),
		chromedp.Click(chromedp.ID("invitation-form-submit")),
		chromedp.WaitVisible(chromedp.ID("invitation-link")),
	); err != nil {
		t.Fatalf("create invitation: %v", err)
	}
	shootThemes(t, ctx, "adminb-04-invitation")
	link, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("invitation-link")))
	invs := results(s.must(200, "GET", "/stages/invitation/invitations/?search=new-hires", nil))
	if len(invs) != 1 || invs[0]["flow"] != enroll["pk"] || invs[0]["single_use"] != true {
		t.Fatalf("invitation: %v", invs)
	}
	if want := base + "/if/flow/default-enrollment-flow/?itoken=" + invs[0]["pk"].(string); link != want {
		t.Errorf("link %q, want %q", link, want)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/if/admin/invitations/"), chromedp.WaitVisible(chromedp.ID("invitations"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "adminb-05-invitations-light")

	// Generate a certificate and download it.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/system/certificates/"),
		chromedp.WaitVisible(chromedp.ID("generate-certificate")),
		chromedp.Click(chromedp.ID("generate-certificate")),
		chromedp.WaitVisible(chromedp.ID("common_name")),
		chromedp.SendKeys(chromedp.ID("common_name"), "idp.example.com"),
		chromedp.SetValue(chromedp.ID("validity_days"), "20"),
		chromedp.Click(chromedp.ID("generate-form-submit")),
		chromedp.WaitVisible(chromedp.ID("download-certificate")),
	); err != nil {
		t.Fatalf("generate: %v", err)
	}
	shootThemes(t, ctx, "adminb-06-certificate")
	if w, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("expiry-warning"))); !strings.Contains(w, "expires in") {
		t.Errorf("no expiry warning for a 20-day certificate: %q", w)
	}
	// Click the download link; the browser saves the file.
	dir := t.TempDir()
	if _, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("download-certificate"))); err != nil {
		t.Fatalf("download: %v", err)
	}
	var data []byte
	for deadline := time.Now().Add(15 * time.Second); len(data) == 0; time.Sleep(200 * time.Millisecond) {
		data, _ = os.ReadFile(filepath.Join(dir, "idp.example.com.pem"))
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("no idp.example.com.pem downloaded: %v", entries)
		}
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("not PEM: %.200q", data)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || cert.Subject.CommonName != "idp.example.com" {
		t.Fatalf("certificate: %v %v", cert, err)
	}
	if _, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("key %T, want ECDSA (the default)", cert.PublicKey)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/if/admin/system/certificates/"), chromedp.WaitVisible(chromedp.ID("certificates"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "adminb-07-certificates-light")

	// A local transport; its test notifies akadmin in the user interface.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/events/transports/new/"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "In-app"),
		chromedp.Click(chromedp.ID("transport-form-submit")),
		chromedp.WaitVisible(chromedp.CSS(`tr.transport-row button`)),
		chromedp.Click(chromedp.CSS(`tr.transport-row button`)),
		chromedp.WaitVisible(chromedp.ID("test-result")),
	); err != nil {
		t.Fatalf("transport and test: %v", err)
	}
	shootThemes(t, ctx, "adminb-08-transports")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/user/"),
		chromedp.WaitVisible(chromedp.ID("unread-count")),
	); err != nil {
		t.Fatalf("no unread count in the user interface: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("unread-count"))); n != "1" {
		t.Errorf("unread count %q, want 1", n)
	}
	shootThemes(t, ctx, "adminb-09-user-badge")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("notifications-link")),
		chromedp.WaitVisible(chromedp.CSS(`li.notification.unseen`)),
	); err != nil {
		t.Fatalf("notifications page: %v", err)
	}
	shootThemes(t, ctx, "adminb-10-notifications")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("mark-all-seen")),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	); err != nil {
		t.Fatalf("mark all seen: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#unread-count, li.notification.unseen").length`)); n != 0 {
		t.Errorf("%d unread markers after mark all seen", n)
	}

	// The rest of the new pages, for the eye.
	me := results(s.must(200, "GET", "/core/users/?username=akadmin", nil))
	akadmin := "/if/admin/users/" + strconv.Itoa(int(me[0]["pk"].(float64))) + "/"
	for _, p := range []struct{ path, wait, name string }{
		{"/if/admin/roles/", "new-role", "adminb-11-roles-light"},
		{"/if/admin/system/brands/", "brands", "adminb-12-brands-light"},
		{"/if/admin/system/settings/", "settings-form", "adminb-13-settings-light"},
		{"/if/admin/system/workers/", "workers", "adminb-14-workers-light"},
		{"/if/admin/events/rules/new/", "rule-form", "adminb-15-rule-form-light"},
		{akadmin, "user-title", "adminb-16-user-light"},
		{akadmin + "permissions/", "eff-title", "adminb-17-user-permissions-light"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.ID(p.wait))); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		screenshot(t, ctx, p.name)
	}
}
