package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// authentikFlow is an authentik-style default authentication flow written
// for the blueprint package's tests: identification, password (gated by an
// expression policy), an MFA stage Gatehouse does not have, login.
const authentikFlow = "../internal/blueprint/testdata/default-authentication-flow.yaml"

// `gatehouse blueprint apply` on a new instance, before its first start:
// the server then serves the imported flow (its title, its stages) rather
// than making its own default, and logs in through it. Exporting that flow
// and applying the export changes nothing; a broken blueprint writes
// nothing.
func TestBlueprintApplyThenServe(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		env := baseEnv(t.TempDir())
		blueprintApplyThenServe(t, env)
	})
	t.Run("postgres", func(t *testing.T) {
		env := postgresEnv(t, testenv.PostgresDB(t))
		env["GATEHOUSE_SECRET_KEY"] = secretKey
		blueprintApplyThenServe(t, env)
	})
}

func blueprintApplyThenServe(t *testing.T, env map[string]string) {
	env["GATEHOUSE_BOOTSTRAP_PASSWORD"] = bootstrapPassword
	env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken

	code, out := runCmd(t, env, "blueprint", "apply", "--dry-run", authentikFlow)
	if code != 0 || !strings.Contains(out, "dry run, nothing written: 11 created, 0 updated, 0 unchanged, 0 deleted, 0 skipped") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	code, out = runCmd(t, env, "blueprint", "apply", authentikFlow)
	if code != 0 || !strings.Contains(out, "applied: 11 created, 0 updated, 0 unchanged, 0 deleted, 0 skipped") ||
		strings.Contains(out, "warning:") {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}

	p := start(t, env, "server")
	p.waitReady(30 * time.Second)
	s := &apiServer{t: t, base: p.url("http") + "/api/v3", token: bootstrapToken}
	c := newFlowClient(t, s)
	const flow = "default-authentication-flow"
	ch := c.exec("GET", flow, nil)
	if component(ch) != "ak-stage-identification" || ch["flow_info"].(map[string]any)["title"] != "Welcome to authentik!" {
		t.Fatalf("first challenge = %v", ch)
	}
	ch = c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"})
	if component(ch) != "ak-stage-password" {
		t.Fatalf("after identification = %v", ch)
	}
	ch = c.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": bootstrapPassword})
	if component(ch) != "xak-flow-redirect" {
		t.Fatalf("after the password = %v", ch)
	}
	if code, me := c.me(); code != 200 || me["user"].(map[string]any)["username"] != "akadmin" {
		t.Fatalf("me after login: %d %v", code, me)
	}
	// The bindings are the blueprint's: identification, password, MFA
	// validation (akadmin has no device: it passes), login.
	f := s.must(200, "GET", "/flows/instances/"+flow+"/", nil)
	if stages := f["stages"].([]any); len(stages) != 4 {
		t.Errorf("the flow has %d stages, want 4: %v", len(stages), f)
	}

	// Export the flow next to the running server, and apply the export.
	exported := filepath.Join(t.TempDir(), "exported.yaml")
	code, out = runCmd(t, env, "blueprint", "export", "--flow", flow, "-o", exported)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	data, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"title: Welcome to authentik!", "model: authentik_policies_expression.expressionpolicy",
		"target: !KeyOf flowstagebinding-default-authentication-flow-default-authentication-password-20"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the export lacks %q:\n%s", want, data)
		}
	}
	code, out = runCmd(t, env, "blueprint", "apply", exported)
	if code != 0 || !strings.Contains(out, "applied: 0 created, 0 updated, 11 unchanged, 0 deleted, 0 skipped") {
		t.Errorf("applying the export: exit %d\n%s", code, out)
	}

	// A blueprint that fails half-way leaves the database as it was.
	broken := filepath.Join(t.TempDir(), "broken.yaml")
	if err := os.WriteFile(broken, []byte(`version: 1
entries:
  - model: authentik_flows.flow
    identifiers: {slug: never-written}
    attrs: {name: Never, title: Never, designation: authentication}
  - model: authentik_flows.flow
    identifiers: {slug: default-authentication-flow}
    attrs: {designation: not-a-designation}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = runCmd(t, env, "blueprint", "apply", broken)
	if code != 1 || !strings.Contains(out, "entry 1 (authentik_flows.flow): attrs.designation") ||
		!strings.Contains(out, "failed, nothing was written") {
		t.Errorf("broken blueprint: exit %d\n%s", code, out)
	}
	if code, _ := s.call(bootstrapToken, "GET", "/flows/instances/never-written/", nil); code != 404 {
		t.Errorf("the broken blueprint's first flow exists: %d", code)
	}
}

// `gatehouse blueprint apply` writes to the database behind the running
// servers' caches; it tells them over the bus (PostgreSQL NOTIFY here), so
// the next request sees the change at once instead of after the cache TTL.
func TestBlueprintApplyInvalidatesServers(t *testing.T) {
	env := postgresEnv(t, testenv.PostgresDB(t))
	env["GATEHOUSE_SECRET_KEY"] = secretKey
	env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
	p := start(t, env, "server")
	p.waitReady(30 * time.Second)
	s := &apiServer{t: t, base: p.url("http") + "/api/v3", token: bootstrapToken}
	const flow = "default-authentication-flow"
	title := func() any {
		return newFlowClient(t, s).exec("GET", flow, nil)["flow_info"].(map[string]any)["title"]
	}
	before := title() // now cached by the server
	bp := filepath.Join(t.TempDir(), "retitle.yaml")
	if err := os.WriteFile(bp, []byte(`version: 1
metadata:
  name: retitle
entries:
  - model: authentik_flows.flow
    identifiers:
      slug: `+flow+`
    attrs:
      title: Retitled by the CLI
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := runCmd(t, env, "blueprint", "apply", bp); code != 0 || strings.Contains(out, "warning:") {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	deadline := time.Now().Add(time.Second) // the flow cache's TTL is 10 s
	for title() != "Retitled by the CLI" {
		if time.Now().After(deadline) {
			t.Fatalf("the server still shows %q (was %q) a second after the CLI applied the change", title(), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
