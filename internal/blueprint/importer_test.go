package blueprint_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// cheapHashes makes argon2id fast for the test.
func cheapHashes(t testing.TB) {
	saved := password.DefaultParams
	password.DefaultParams = password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	t.Cleanup(func() { password.DefaultParams = saved })
}

// openStore is a migrated SQLite store in a temporary directory.
func openStore(t testing.TB) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return st
}

// scopeMappings are OAuth2 scope mappings in the shape of authentik's
// system blueprint (identified by managed), with Gatehouse's expressions.
const scopeMappings = `
version: 1
metadata: {name: Test - OAuth2 scopes}
entries:
  - model: authentik_providers_oauth2.scopemapping
    identifiers: {managed: goauthentik.io/providers/oauth2/scope-openid}
    attrs:
      name: "OpenID 'openid'"
      scope_name: openid
      expression: "return {}"
  - model: authentik_providers_oauth2.scopemapping
    identifiers: {managed: goauthentik.io/providers/oauth2/scope-email}
    attrs:
      name: "OpenID 'email'"
      scope_name: email
      description: Email address
      expression: |
        return {"email": request.user.email, "email_verified": False}
  - model: authentik_providers_oauth2.scopemapping
    identifiers: {managed: goauthentik.io/providers/oauth2/scope-profile}
    attrs:
      name: "OpenID 'profile'"
      scope_name: profile
      description: General Profile Information
      expression: |
        return {"name": request.user.name, "preferred_username": request.user.username}
`

// bootstrapped is openStore plus what a server start creates: the brand,
// akadmin (with password), the default flows and scope mappings.
func bootstrapped(t testing.TB, defaultFlows bool) *sqlstore.Store {
	t.Helper()
	cheapHashes(t)
	ctx := context.Background()
	st := openStore(t)
	if _, err := core.Bootstrap(ctx, st, core.BootstrapOptions{Password: "test-password"}, nil); err != nil {
		t.Fatal(err)
	}
	if defaultFlows {
		if _, err := core.EnsureDefaultFlows(ctx, st); err != nil {
			t.Fatal(err)
		}
		apply(t, st, parse(t, scopeMappings), blueprint.Options{})
	}
	return st
}

func parseFile(t testing.TB, name string) *blueprint.Blueprint {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(data))
}

func parse(t testing.TB, src string) *blueprint.Blueprint {
	t.Helper()
	bp, err := blueprint.Parse([]byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return bp
}

func apply(t testing.TB, st store.Store, bp *blueprint.Blueprint, opts blueprint.Options) blueprint.Result {
	t.Helper()
	res, err := blueprint.Apply(context.Background(), st, bp, opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

// counts is a Result's counts, for comparisons.
type counts struct{ Created, Updated, Unchanged, Deleted, Skipped, Inlined int }

func countsOf(r blueprint.Result) counts {
	return counts{r.Created, r.Updated, r.Unchanged, r.Deleted, r.Skipped, r.Inlined}
}

// login runs a flow through the executor API as a script would, and
// returns the last challenge's component.
func login(t *testing.T, st store.Store, slug, username, pw string) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	events := &event.Recorder{Store: st, Log: log}
	e := &flow.Executor{Store: st, Stages: stageall.Registry(), Log: log, Sessions: &session.Manager{Store: st},
		Events: events, Policies: policyall.Engine(st, log, events)}
	r := chi.NewRouter()
	r.Handle("/api/v3/flows/executor/{slug}/", e)
	srv := httptest.NewServer(r)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	url := srv.URL + "/api/v3/flows/executor/" + slug + "/?query=next%3D%2F"
	step := func(method, body string) string {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", method, resp.StatusCode, out)
		}
		return string(out)
	}
	first := step("GET", "")
	if !strings.Contains(first, `"ak-stage-identification"`) {
		t.Fatalf("first challenge: %s", first)
	}
	second := step("POST", fmt.Sprintf(`{"component":"ak-stage-identification","uid_field":%q}`, username))
	if !strings.Contains(second, `"ak-stage-password"`) {
		t.Fatalf("after identification: %s", second)
	}
	last := step("POST", fmt.Sprintf(`{"component":"ak-stage-password","password":%q}`, pw))
	if strings.Contains(last, `"xak-flow-redirect"`) {
		return "xak-flow-redirect"
	}
	return last
}

// An authentik-style default authentication flow applies, its MFA
// validation stage included, and makes a flow the executor runs (akadmin
// has no device, so the MFA stage passes); applying again changes nothing.
func TestApplyDefaultAuthenticationFlow(t *testing.T) {
	cheapHashes(t)
	st := bootstrapped(t, false)
	bp := parseFile(t, "default-authentication-flow.yaml")
	res := apply(t, st, bp, blueprint.Options{})
	if diff := cmp.Diff(counts{Created: 11}, countsOf(res)); diff != "" {
		t.Errorf("first apply (-want +got):\n%s", diff)
	}
	var skipped []string
	for _, e := range res.Entries {
		if e.Action == blueprint.ActionSkipped {
			skipped = append(skipped, fmt.Sprintf("%d %s: %s", e.Index, e.Model, e.Reason))
		}
	}
	if len(skipped) != 0 {
		t.Errorf("skipped entries: %v", skipped)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}

	ctx := context.Background()
	f, err := st.FlowBySlug(ctx, "default-authentication-flow")
	if err != nil {
		t.Fatal(err)
	}
	bs, err := st.FlowStageBindings(ctx, f.UUID)
	if err != nil {
		t.Fatal(err)
	}
	var orders []int
	for _, b := range bs {
		orders = append(orders, b.Order)
		if !b.ReEvaluatePolicies || b.InvalidResponseAction != "retry" {
			t.Errorf("binding %d: authentik's defaults not applied: %+v", b.Order, b)
		}
	}
	if diff := cmp.Diff([]int{10, 20, 30, 100}, orders); diff != "" {
		t.Errorf("binding orders (-want +got):\n%s", diff)
	}
	pbs, err := st.PolicyBindings(ctx, bs[1].UUID)
	if err != nil || len(pbs) != 1 || !pbs[0].FailureResult || !pbs[0].Enabled {
		t.Fatalf("password binding's policy bindings: %+v, %v", pbs, err)
	}

	if got := login(t, st, "default-authentication-flow", "akadmin", "test-password"); got != "xak-flow-redirect" {
		t.Errorf("login through the imported flow ended with %s", got)
	}

	again := apply(t, st, bp, blueprint.Options{})
	if diff := cmp.Diff(counts{Unchanged: 11}, countsOf(again)); diff != "" {
		t.Errorf("second apply (-want +got):\n%s", diff)
	}
}

// The blueprints written for the parser's tests apply too.
func TestApplyParserTestdata(t *testing.T) {
	cheapHashes(t)
	st := bootstrapped(t, true)
	t.Setenv("GATEHOUSE_BOOTSTRAP_EMAIL", "admin@acme.test")
	for _, name := range []string{"authentication-flow.yaml", "templated.yaml"} {
		t.Run(name, func(t *testing.T) {
			bp := parseFile(t, name)
			opts := blueprint.Options{LookupEnv: os.LookupEnv, EnvPolicy: blueprint.DefaultEnvPolicy(), FileRoot: "testdata"}
			res := apply(t, st, bp, opts)
			if res.Created == 0 {
				t.Errorf("nothing created: %+v", res)
			}
			again := apply(t, st, bp, opts)
			if again.Created+again.Updated+again.Deleted != 0 {
				t.Errorf("second apply changed things: %+v", countsOf(again))
			}
			for _, w := range res.Warnings {
				t.Log(w)
			}
		})
	}
	ctx := context.Background()
	u, err := st.UserByUsername(ctx, "acme-admin")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "admin@acme.test" || u.Name != "Administrator" {
		t.Errorf("acme-admin: %+v", u)
	}
	if flowObj, _ := u.Attributes["settings_flow"].(map[string]any); flowObj["slug"] != core.DefaultUserSettingsFlow {
		t.Errorf("!FindObject gave %v", u.Attributes["settings_flow"])
	}
	groups, err := st.UserGroups(ctx, u.PK, false)
	if err != nil || len(groups) != 1 || groups[0].Name != "acme-admins" {
		t.Errorf("acme-admin's groups: %v %v", groups, err)
	}
	s, err := st.StageByName(ctx, "test-authentication-identification")
	if err != nil {
		t.Fatal(err)
	}
	pw, err := st.StageByName(ctx, "test-authentication-password")
	if err != nil {
		t.Fatal(err)
	}
	if s.Settings["password_stage"] != pw.UUID.String() {
		t.Errorf("password_stage = %v, want %s", s.Settings["password_stage"], pw.UUID)
	}
	pc, _ := st.FlowBySlug(ctx, core.DefaultPasswordChangeFlow)
	if pw.Settings["configure_flow"] != pc.UUID.String() {
		t.Errorf("configure_flow = %v, want %s (!Find)", pw.Settings["configure_flow"], pc.UUID)
	}
}

// A failure half-way rolls back every entry before it.
func TestApplyRollsBack(t *testing.T) {
	st := bootstrapped(t, false)
	bp := parse(t, `
version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: rollback-group}
  - model: authentik_flows.flow
    id: flow
    identifiers: {slug: rollback-flow}
    attrs: {name: Rollback, title: Rollback, designation: authentication}
  - model: authentik_stages_dummy.dummystage
    id: dummy
    identifiers: {name: rollback-dummy}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf dummy, order: 0}
  - model: authentik_policies_expression.expressionpolicy
    identifiers: {name: rollback-broken}
    attrs: {expression: "return ("}
`)
	_, err := blueprint.Apply(context.Background(), st, bp, blueprint.Options{})
	var be *blueprint.Error
	if !errors.As(err, &be) || be.Entry != 4 || be.Field != "attrs" {
		t.Fatalf("error = %v, want entry 4's attrs", err)
	}
	t.Log(err)
	ctx := context.Background()
	if _, err := st.GroupByName(ctx, "rollback-group"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the group survived the failed blueprint: %v", err)
	}
	if _, err := st.FlowBySlug(ctx, "rollback-flow"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the flow survived the failed blueprint: %v", err)
	}
	if _, err := st.StageByName(ctx, "rollback-dummy"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the stage survived the failed blueprint: %v", err)
	}
}

// Unknown models and fields fail before anything is applied, naming the
// entry, the model and the field; models authentik has and Gatehouse not
// yet are warnings.
func TestApplyValidation(t *testing.T) {
	st := bootstrapped(t, false)
	bp := parse(t, `
version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: valid-group}
  - model: authentik_flows.flw
    identifiers: {slug: typo}
  - model: authentik_flows.flow
    identifiers: {slug: x}
    attrs: {name: X, titel: X, designation: authentication}
  - model: authentik_stages_identification.identificationstage
    identifiers: {name: x, user_feilds: [email]}
  - model: authentik_sources_ldap.ldapsource
    identifiers: {slug: ldap}
`)
	_, err := blueprint.Apply(context.Background(), st, bp, blueprint.Options{})
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		"blueprint: entry 1 (authentik_flows.flw): model: line 6:5: unknown model: authentik_flows.flw is not a model Gatehouse knows (see `gatehouse blueprint models`)",
		`blueprint: entry 2 (authentik_flows.flow): attrs.titel: line 8:5: unknown field: authentik_flows.flow has no field "titel"`,
		`blueprint: entry 3 (authentik_stages_identification.identificationstage): identifiers.user_feilds: line 11:5: unknown field: authentik_stages_identification.identificationstage has no field "user_feilds"`,
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if !errors.Is(err, blueprint.ErrUnknownModel) || !errors.Is(err, blueprint.ErrUnknownField) {
		t.Errorf("errors.Is fails: %v", err)
	}
	if _, err := st.GroupByName(context.Background(), "valid-group"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an entry was applied despite the errors: %v", err)
	}

	// Without the bad entries, the LDAP source is skipped with a warning.
	bp.Entries = []blueprint.Entry{bp.Entries[0], bp.Entries[4]}
	bp.Entries[1].Index = 1
	res := apply(t, st, bp, blueprint.Options{})
	if diff := cmp.Diff(counts{Created: 1, Skipped: 1}, countsOf(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].String(),
		"entry 1 (authentik_sources_ldap.ldapsource): model: Gatehouse does not have authentik_sources_ldap.ldapsource yet") {
		t.Errorf("warnings: %v", res.Warnings)
	}
}

// A dry run plans and writes nothing.
func TestApplyDryRun(t *testing.T) {
	st := bootstrapped(t, false)
	bp := parseFile(t, "default-authentication-flow.yaml")
	res := apply(t, st, bp, blueprint.Options{DryRun: true})
	if !res.DryRun || res.Created != 11 {
		t.Errorf("dry run result: %+v", countsOf(res))
	}
	if _, err := st.FlowBySlug(context.Background(), "default-authentication-flow"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a dry run wrote the flow: %v", err)
	}
}

// The states: created never updates, must_created fails on an existing
// object, absent deletes; present updates only the fields given.
func TestApplyStates(t *testing.T) {
	ctx := context.Background()
	st := bootstrapped(t, false)
	apply(t, st, parse(t, `
version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: states}
    attrs: {is_superuser: false, attributes: {team: a}}
`), blueprint.Options{})

	res := apply(t, st, parse(t, `
version: 1
entries:
  - model: authentik_core.group
    state: created
    identifiers: {name: states}
    attrs: {is_superuser: true}
`), blueprint.Options{})
	if g, _ := st.GroupByName(ctx, "states"); g.IsSuperuser || res.Unchanged != 1 {
		t.Errorf("state created updated the group: %+v %+v", g, countsOf(res))
	}

	_, err := blueprint.Apply(ctx, st, parse(t, `
version: 1
entries:
  - model: authentik_core.group
    state: must_created
    identifiers: {name: states}
`), blueprint.Options{})
	if err == nil || !strings.Contains(err.Error(), "must_created") {
		t.Errorf("must_created on an existing object: %v", err)
	}

	res = apply(t, st, parse(t, `
version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: states}
    attrs: {is_superuser: true}
`), blueprint.Options{})
	g, _ := st.GroupByName(ctx, "states")
	if !g.IsSuperuser || g.Attributes["team"] != "a" || res.Updated != 1 {
		t.Errorf("present: %+v %+v", g, countsOf(res))
	}

	res = apply(t, st, parse(t, `
version: 1
entries:
  - model: authentik_core.group
    state: absent
    identifiers: {name: states}
`), blueprint.Options{})
	if _, err := st.GroupByName(ctx, "states"); !errors.Is(err, store.ErrNotFound) || res.Deleted != 1 {
		t.Errorf("absent: %v %+v", err, countsOf(res))
	}
}

// authentik's prompts, separate objects there, end up inline in the
// prompt stage; the blueprint stays idempotent.
func TestApplyPrompts(t *testing.T) {
	cheapHashes(t)
	st := bootstrapped(t, false)
	bp := parse(t, `
version: 1
entries:
  - model: authentik_stages_prompt.prompt
    id: username
    identifiers: {name: enroll-field-username}
    attrs: {field_key: username, label: Username, type: username, placeholder: Username, order: 0}
  - model: authentik_stages_prompt.prompt
    id: email
    identifiers: {name: enroll-field-email}
    attrs: {field_key: email, label: Email, type: email, required: false, order: 1}
  - model: authentik_stages_prompt.promptstage
    identifiers: {name: enroll-prompt}
    attrs:
      fields: [!KeyOf username, !KeyOf email]
      validation_policies: []
`)
	res := apply(t, st, bp, blueprint.Options{})
	if diff := cmp.Diff(counts{Created: 1, Inlined: 2}, countsOf(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	s, err := st.StageByName(context.Background(), "enroll-prompt")
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		map[string]any{"field_key": "username", "label": "Username", "type": "username", "required": true, "placeholder": "Username",
			"initial_value": "", "order": float64(0), "sub_text": "", "placeholder_expression": false, "initial_value_expression": false},
		map[string]any{"field_key": "email", "label": "Email", "type": "email", "required": false, "placeholder": "",
			"initial_value": "", "order": float64(1), "sub_text": "", "placeholder_expression": false, "initial_value_expression": false},
	}
	if diff := cmp.Diff(want, s.Settings["fields"]); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if again := apply(t, st, bp, blueprint.Options{}); again.Changed() {
		t.Errorf("second apply: %+v", countsOf(again))
	}
}

// Users: passwords are hashed and re-applying the same one is a no-op;
// groups and roles are set; object permissions go to roles.
func TestApplyUsersAndPermissions(t *testing.T) {
	cheapHashes(t)
	ctx := context.Background()
	st := bootstrapped(t, false)
	bp := parse(t, `
version: 1
entries:
  - model: authentik_rbac.role
    id: role
    identifiers: {name: auditors}
    attrs: {permissions: [authentik_events.view_event]}
  - model: authentik_core.group
    id: group
    identifiers: {name: auditors}
    attrs: {roles: [!KeyOf role]}
  - model: authentik_core.user
    identifiers: {username: alice}
    attrs:
      name: Alice
      email: alice@example.com
      password: correct horse
      groups: [!KeyOf group]
      path: users/audit
  - model: authentik_flows.flow
    identifiers: {slug: audit}
    attrs: {name: Audit, title: Audit, designation: stage_configuration}
    permissions:
      - {permission: view_flow, role: !KeyOf role}
      - {permission: change_flow, user: !Find [authentik_core.user, [username, alice]]}
`)
	res := apply(t, st, bp, blueprint.Options{})
	if res.Created != 4 || len(res.Warnings) != 1 {
		t.Errorf("first apply: %+v %v", countsOf(res), res.Warnings)
	}
	u, err := st.UserByUsername(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := password.Verify("correct horse", u.PasswordHash); !ok || u.Path != "users/audit" {
		t.Errorf("alice: %+v", u)
	}
	perms, err := st.UserPermissions(ctx, u.PK, "*")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := st.FlowBySlug(ctx, "audit")
	var got []string
	for _, p := range perms {
		got = append(got, p.Permission+"@"+p.ObjectPK)
	}
	want := []string{"authentik_events.view_event@", "authentik_flows.view_flow@" + f.UUID.String()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("alice's permissions (-want +got):\n%s", diff)
	}
	if again := apply(t, st, bp, blueprint.Options{}); again.Changed() {
		t.Errorf("second apply: %+v", countsOf(again))
	}
	// A new password is a change.
	bp.Entries[2].Attrs["password"] = "battery staple"
	if res := apply(t, st, bp, blueprint.Options{}); res.Updated != 1 {
		t.Errorf("new password: %+v", countsOf(res))
	}
}

// A certificate-key pair's key is sealed; the same key again is no change.
func TestApplyKeyPair(t *testing.T) {
	ctx := context.Background()
	st := bootstrapped(t, false)
	certPEM, keyPEM, err := crypto.Generate(crypto.GenerateOptions{CommonName: "blueprint.test", Validity: 24 * 3600e9})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := crypto.NewSealer("test-secret-key-test-secret-key-0123", "certificate-private-key")
	if err != nil {
		t.Fatal(err)
	}
	bp := parse(t, fmt.Sprintf(`
version: 1
entries:
  - model: authentik_crypto.certificatekeypair
    identifiers: {name: blueprint-key}
    attrs:
      certificate_data: %q
      key_data: %q
`, certPEM, keyPEM))
	if _, err := blueprint.Apply(ctx, st, bp, blueprint.Options{}); err == nil || !strings.Contains(err.Error(), "secret key") {
		t.Errorf("key_data without a sealer: %v", err)
	}
	opts := blueprint.Options{KeySealer: sealer}
	if res := apply(t, st, bp, opts); res.Created != 1 {
		t.Fatalf("%+v", countsOf(res))
	}
	ks, _, err := st.ListKeyPairs(ctx, nil, store.ListOptions{})
	if err != nil || len(ks) != 1 || ks[0].KeySealed == "" || ks[0].CertSubject != "CN=blueprint.test,O=Gatehouse" {
		t.Fatalf("keypairs: %+v %v", ks[0], err)
	}
	if res := apply(t, st, bp, opts); res.Changed() {
		t.Errorf("second apply: %+v", countsOf(res))
	}
}

// The built-in context: a role with the view permission of every model
// Gatehouse's RBAC guards, as authentik's read-only role blueprint makes it.
func TestApplyBuiltinContext(t *testing.T) {
	ctx := context.Background()
	st := bootstrapped(t, false)
	res := apply(t, st, parse(t, `
version: 1
entries:
  - model: authentik_rbac.role
    identifiers: {name: viewers}
    conditions: [!Condition [NOR, !Context goauthentik.io/enterprise/licensed]]
    attrs:
      permissions: !Enumerate [!Context goauthentik.io/rbac/models, SEQ, !Format ["%s.view_%s", !Value 0, !Index 0]]
`), blueprint.Options{})
	if res.Created != 1 {
		t.Fatalf("%+v", countsOf(res))
	}
	rs, _, err := st.ListRoles(ctx, store.ListOptions{Search: "viewers"})
	if err != nil || len(rs) != 1 {
		t.Fatal(rs, err)
	}
	perms, err := st.RolePermissions(ctx, rs[0].UUID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range perms {
		got = append(got, p.Permission)
	}
	for _, want := range []string{"authentik_flows.view_flow", "authentik_flows.view_stage", "authentik_core.view_user",
		"authentik_policies.view_policy", "authentik_providers_oauth2.view_oauth2provider"} {
		if !slices.Contains(got, want) {
			t.Errorf("the role lacks %s: %v", want, got)
		}
	}
}

// Blueprints with many entries of a model find them in one list of the
// model (bulk): the same results as one lookup each, kept current by the
// entries' own writes.
func TestApplyMany(t *testing.T) {
	ctx := context.Background()
	st := bootstrapped(t, false)
	src := bigBlueprint(25)
	if res := apply(t, st, parse(t, src), blueprint.Options{}); res.Created != 250 {
		t.Fatalf("first apply: %+v", countsOf(res))
	}
	if res := apply(t, st, parse(t, src), blueprint.Options{}); res.Unchanged != 250 {
		t.Fatalf("second apply: %+v", countsOf(res))
	}
	// The same flow twice in one blueprint: the second entry finds what
	// the first wrote; a group renamed (by pk, as in authentik: identifiers
	// win over attrs) is found under its new name.
	changed := strings.Replace(src, "title: Bench 3,", "title: Changed,", 1) + `
  - model: authentik_flows.flow
    identifiers: {slug: bench-flow-3}
    attrs: {title: Changed again}
  - model: authentik_core.group
    identifiers: {pk: !Find [authentik_core.group, [name, bench-group-4]]}
    attrs: {name: renamed-group-4}
  - model: authentik_core.group
    identifiers: {name: renamed-group-4}
    attrs: {is_superuser: true}
  - model: authentik_stages_dummy.dummystage
    identifiers: {name: bench-ident-5}
  - model: authentik_flows.flow
    state: absent
    identifiers: {slug: bench-flow-6}
`
	_, err := blueprint.Apply(ctx, st, parse(t, changed), blueprint.Options{})
	if err == nil || !strings.Contains(err.Error(), "entry 253") {
		t.Fatalf("a dummy stage named like an identification stage: %v", err)
	}
	changed = strings.Replace(changed, "  - model: authentik_stages_dummy.dummystage\n    identifiers: {name: bench-ident-5}\n", "", 1)
	res := apply(t, st, parse(t, changed), blueprint.Options{})
	if diff := cmp.Diff(counts{Updated: 4, Unchanged: 249, Deleted: 1}, countsOf(res)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if f, err := st.FlowBySlug(ctx, "bench-flow-3"); err != nil || f.Title != "Changed again" {
		t.Errorf("bench-flow-3: %+v %v", f, err)
	}
	if g, err := st.GroupByName(ctx, "renamed-group-4"); err != nil || !g.IsSuperuser {
		t.Errorf("renamed group: %+v %v", g, err)
	}
	if _, err := st.FlowBySlug(ctx, "bench-flow-6"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bench-flow-6 was not deleted: %v", err)
	}
}
