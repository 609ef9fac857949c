package blueprint_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// configured is an instance as a server leaves it at first start, plus an
// application with an OAuth2 provider, groups, a role and policy bindings.
func configured(t *testing.T) *sqlstore.Store {
	t.Helper()
	st := bootstrapped(t, true)
	apply(t, st, parse(t, `
version: 1
entries:
  - model: authentik_rbac.role
    id: role
    identifiers: {name: helpdesk}
    attrs: {permissions: [authentik_core.view_user, authentik_core.reset_user_password]}
  - model: authentik_core.group
    id: staff
    identifiers: {name: staff}
    attrs: {attributes: {department: all}}
  - model: authentik_core.group
    id: helpdesk
    identifiers: {name: helpdesk}
    attrs: {parent: !KeyOf staff, roles: [!KeyOf role]}
  - model: authentik_core.user
    identifiers: {username: bob}
    attrs: {name: Bob, email: bob@example.com, groups: [!KeyOf helpdesk], type: internal}
  - model: authentik_providers_oauth2.oauth2provider
    id: provider
    identifiers: {name: wiki}
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      invalidation_flow: !Find [authentik_flows.flow, [slug, default-provider-invalidation-flow]]
      client_id: wiki-client
      redirect_uris:
        - {matching_mode: strict, url: "https://wiki.example.com/oauth2/callback"}
        - {matching_mode: regex, url: "https://.*\\.wiki\\.example\\.com/cb"}
      property_mappings:
        - !Find [authentik_providers_oauth2.scopemapping, [managed, goauthentik.io/providers/oauth2/scope-openid]]
        - !Find [authentik_providers_oauth2.scopemapping, [managed, goauthentik.io/providers/oauth2/scope-email]]
      sub_mode: user_email
  - model: authentik_core.application
    id: app
    identifiers: {slug: wiki}
    attrs: {name: Wiki, provider: !KeyOf provider, meta_launch_url: "https://wiki.example.com/", group: Tools}
  - model: authentik_policies.policybinding
    identifiers: {target: !KeyOf app, order: 0, group: !KeyOf staff}
  - model: authentik_stages_identification.identificationstage
    identifiers: {name: default-authentication-identification}
    attrs:
      enrollment_flow: !Find [authentik_flows.flow, [slug, default-enrollment-flow]]
      recovery_flow: default-recovery-flow
      user_fields: [username, email]
`), blueprint.Options{})
	return st
}

// Export, import into an empty instance, export again: the same blueprint.
// Applying it again to either instance changes nothing.
func TestExportRoundTrip(t *testing.T) {
	cheapHashes(t)
	ctx := context.Background()
	stA := configured(t)
	for _, secrets := range []bool{false, true} {
		first, err := blueprint.Export(ctx, stA, blueprint.ExportOptions{Secrets: secrets})
		if err != nil {
			t.Fatal(err)
		}
		bp, err := blueprint.Parse(first)
		if err != nil {
			t.Fatalf("the export does not parse: %v\n%s", err, first)
		}
		b := openStore(t)
		res := apply(t, b, bp, blueprint.Options{})
		if res.Skipped+res.Updated+res.Deleted != 0 || len(res.Warnings) != 0 {
			t.Errorf("import into an empty store: %+v %v", countsOf(res), res.Warnings)
		}
		second, err := blueprint.Export(ctx, b, blueprint.ExportOptions{Secrets: secrets})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(first), string(second)); diff != "" {
			t.Errorf("secrets %v: export after import differs (-first +second):\n%s", secrets, diff)
		}
		if again := apply(t, b, bp, blueprint.Options{}); again.Changed() {
			t.Errorf("re-import: %+v", countsOf(again))
		}
		if again := apply(t, stA, bp, blueprint.Options{}); again.Changed() {
			for _, e := range again.Entries {
				if e.Action != blueprint.ActionUnchanged {
					t.Logf("%+v", e)
				}
			}
			t.Errorf("import into the exported instance: %+v", countsOf(again))
		}
		if t.Failed() {
			t.Logf("export:\n%s", first)
			return
		}
	}
}

// A flow's export holds the flow, its stages, bindings and policies, and
// runs in an empty instance.
func TestExportFlow(t *testing.T) {
	cheapHashes(t)
	ctx := context.Background()
	st := bootstrapped(t, true)
	out, err := blueprint.Export(ctx, st, blueprint.ExportOptions{Flow: core.DefaultPasswordChangeFlow})
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{
		"model: authentik_flows.flow", "slug: default-password-change",
		"model: authentik_stages_prompt.promptstage", "model: authentik_stages_user_write.userwritestage",
		"model: authentik_policies_password.passwordpolicy", "model: authentik_policies.policybinding",
		"stage: !KeyOf stage-default-password-change-write",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the export lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "default-authentication-flow") {
		t.Errorf("the export holds another flow:\n%s", text)
	}
	b := openStore(t)
	res := apply(t, b, parse(t, text), blueprint.Options{})
	if res.Created != 7 {
		t.Errorf("import: %+v\n%s", countsOf(res), text)
	}
	again, err := blueprint.Export(ctx, b, blueprint.ExportOptions{Flow: core.DefaultPasswordChangeFlow})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(text, string(again)); diff != "" {
		t.Errorf("(-first +second):\n%s", diff)
	}
	if _, err := blueprint.Export(ctx, st, blueprint.ExportOptions{Flow: "no-such-flow"}); err == nil {
		t.Error("exporting a missing flow did not fail")
	}
}
