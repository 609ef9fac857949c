package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The admin interface's applications, policies and flows in headless
// Chromium, as akadmin: the wizard creates an application with an OAuth2
// provider (a refused slug first, its error at the field), the provider
// page shows the issuer and, on request, the client secret the API has;
// an expression policy is created on its typed form, tested for akadmin,
// and bound to the application, whose check access then follows it; the
// default authentication flow's page shows its stage bindings and the
// structure view.
func TestAdminApplicationsFlowsBrowser(t *testing.T) {
	base, s := browserServer(t, nil)
	authz := s.must(200, "GET", "/flows/instances/default-provider-authorization-implicit-consent/", nil)
	inv := s.must(200, "GET", "/flows/instances/default-provider-invalidation-flow/", nil)

	ctx := browserWith(t, 1100, 150*time.Second)
	if err := chromedp.Do(ctx, signIn(base+"/if/admin/applications/new/", "akadmin", bootstrapPassword, chromedp.ID("app-wizard"))); err != nil {
		t.Fatalf("sign in to the wizard: %v", err)
	}
	// The wizard (openid, email and profile preselected): a reserved slug
	// first (the API refuses it).
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("name"), "Team Chat"),
		chromedp.SendKeys(chromedp.ID("slug"), "authorize"),
		chromedp.SendKeys(chromedp.ID("meta_launch_url"), "https://chat.example.com/"),
		chromedp.SendKeys(chromedp.ID("meta_publisher"), "ACME"),
		chromedp.SetValue(chromedp.ID("authorization_flow"), authz["pk"].(string)),
		chromedp.SetValue(chromedp.ID("invalidation_flow"), inv["pk"].(string)),
		chromedp.SendKeys(chromedp.ID("redirect_url-0"), "https://chat.example.com/oauth/callback"),
	); err != nil {
		t.Fatalf("filling the wizard: %v", err)
	}
	shootThemes(t, ctx, "admina-01-wizard")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("create-app")),
		chromedp.WaitVisible(chromedp.CSS(`#slug-err .field-error`)),
	); err != nil {
		t.Fatalf("refused slug: %v", err)
	}
	screenshot(t, ctx, "admina-02-wizard-error-light")
	if n := len(results(s.must(200, "GET", "/providers/all/", nil))); n != 0 {
		t.Errorf("%d providers after the refused application", n)
	}
	if err := chromedp.Do(ctx,
		chromedp.Clear(chromedp.ID("slug")),
		chromedp.SendKeys(chromedp.ID("slug"), "team-chat"),
		chromedp.Click(chromedp.ID("create-app")),
		chromedp.WaitVisible(chromedp.ID("endpoints")),
	); err != nil {
		t.Fatalf("create the application: %v", err)
	}
	if issuer, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("ep-issuer"))); issuer != base+"/application/o/team-chat/" {
		t.Errorf("issuer: %q", issuer)
	}
	shootThemes(t, ctx, "admina-03-application")
	app := s.must(200, "GET", "/core/applications/team-chat/", nil)
	prov := s.must(200, "GET", fmt.Sprintf("/providers/oauth2/%.0f/", app["provider"].(float64)), nil)
	if uris := prov["redirect_uris"].([]any); len(uris) != 1 || len(prov["property_mappings"].([]any)) != 3 {
		t.Errorf("provider: %v", prov)
	}

	// The provider page: the secret only on request.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.ID("provider-page")),
		chromedp.WaitVisible(chromedp.ID("show-secret")),
		chromedp.Click(chromedp.ID("show-secret")),
		chromedp.WaitVisible(chromedp.ID("ep-client-secret")),
	); err != nil {
		t.Fatalf("provider page: %v", err)
	}
	if secret, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("ep-client-secret"))); secret == "" || secret != prov["client_secret"] {
		t.Errorf("secret shown %q, API %q", secret, prov["client_secret"])
	}
	shootThemes(t, ctx, "admina-04-provider")

	// A policy on its typed form, tested, then bound to the application.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/policies/new/?type=expression"),
		chromedp.WaitVisible(chromedp.ID("set-expression")),
		chromedp.SendKeys(chromedp.ID("name"), "Only akadmin"),
		chromedp.SendKeys(chromedp.ID("set-expression"), `return request.user.username == "akadmin"`),
		chromedp.Click(chromedp.ID("save-typed")),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
		chromedp.Click(chromedp.ID("test-policy")),
		chromedp.WaitVisible(chromedp.ID("test-username")),
		chromedp.SendKeys(chromedp.ID("test-username"), "akadmin"),
		chromedp.Click(chromedp.ID("run-test")),
		chromedp.WaitVisible(chromedp.ID("test-passing")),
	); err != nil {
		t.Fatalf("policy: %v", err)
	}
	screenshot(t, ctx, "admina-05-policy-test-light")
	policy := results(s.must(200, "GET", "/policies/all/?search=Only+akadmin", nil))
	if len(policy) != 1 || policy[0]["expression"] != `return request.user.username == "akadmin"` {
		t.Fatalf("policy: %v", policy)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/applications/team-chat/"),
		chromedp.WaitVisible(chromedp.ID("app-policies")),
		chromedp.Click(chromedp.ID("app-policies")),
		chromedp.WaitVisible(chromedp.ID("bind-policy")),
		chromedp.SetValue(chromedp.ID("bind-policy"), policy[0]["pk"].(string)),
		chromedp.Click(chromedp.ID("add-binding-button")),
		chromedp.WaitVisible(chromedp.CSS(`tr.policy-binding`)),
	); err != nil {
		t.Fatalf("bind the policy: %v", err)
	}
	shootThemes(t, ctx, "admina-06-policy-bindings")
	if b := results(s.must(200, "GET", "/policies/bindings/?target="+app["pk"].(string), nil)); len(b) != 1 || b[0]["policy"] != policy[0]["pk"] {
		t.Errorf("bindings: %v", b)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/applications/team-chat/?check=akadmin"),
		chromedp.WaitVisible(chromedp.ID("check-result")),
	); err != nil {
		t.Fatal(err)
	}
	if res, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("check-result"))); !strings.Contains(res, "Allowed") {
		t.Errorf("check access: %q", res)
	}

	// The default authentication flow's page (the policy bound to its MFA
	// stage's binding, to see it in the structure view).
	flow := s.must(200, "GET", "/flows/instances/default-authentication-flow/", nil)
	for _, b := range results(s.must(200, "GET", "/flows/bindings/?target="+flow["pk"].(string), nil)) {
		if b["stage_obj"].(map[string]any)["type"] == "authenticator_validate" {
			s.must(201, "POST", "/policies/bindings/", map[string]any{"target": b["pk"], "policy": policy[0]["pk"], "order": 0})
		}
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/if/admin/flows/"),
		chromedp.WaitVisible(chromedp.ID("new-flow")),
		chromedp.Click(chromedp.CSS(`tr.flow-row[data-slug="default-authentication-flow"] a`)),
		chromedp.WaitVisible(chromedp.ID("stage-bindings")),
		chromedp.WaitVisible(chromedp.ID("flow-diagram")),
	); err != nil {
		t.Fatalf("flow page: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr.stage-binding").length`)); n < 2 {
		t.Errorf("%d stage bindings on the default authentication flow", n)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#flow-diagram g.node-stage").length`)); n < 2 {
		t.Errorf("%d stages drawn", n)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#flow-diagram g.node-policy").length`)); n != 1 {
		t.Errorf("%d policies drawn, want 1", n)
	}
	shootThemes(t, ctx, "admina-07-flow")
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.scrollTo(0, document.getElementById("structure-title").getBoundingClientRect().top + window.scrollY - 70), true`)); err != nil {
		t.Fatal(err)
	}
	shootThemes(t, ctx, "admina-07-flow-structure")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`tr.stage-binding td:nth-child(2) a`)),
		chromedp.WaitVisible(chromedp.ID("typed-form")),
	); err != nil {
		t.Fatalf("stage page: %v", err)
	}
	screenshot(t, ctx, "admina-08-stage-light")
	for _, p := range []struct{ path, wait, name string }{
		{"/if/admin/stages/", "stages", "admina-09-stages-light"},
		{"/if/admin/stages/new/", "type-choices", "admina-10-stage-types-light"},
		{"/if/admin/applications/team-chat/edit/", "icon-form", "admina-11-app-edit-light"},
		{"/if/admin/flows/import/", "import-form", "admina-12-flow-import-light"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.ID(p.wait))); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		screenshot(t, ctx, p.name)
	}
}
