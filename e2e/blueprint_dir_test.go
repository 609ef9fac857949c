package e2e

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// The blueprints dir: a blueprint in it is applied when the server starts,
// a rewrite is applied again within seconds (the worker's file watch),
// a deleted file leaves its instance orphaned, and a blueprint stored
// through the API is applied on request. On SQLite the single binary does
// it all (the worker runs in `gatehouse server`); on PostgreSQL a
// `gatehouse worker` process watches the dir.
func TestBlueprintsDir(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		blueprintsDir(t, baseEnv(t.TempDir()), false)
	})
	t.Run("postgres", func(t *testing.T) {
		env := postgresEnv(t, testenv.PostgresDB(t))
		env["GATEHOUSE_SECRET_KEY"] = secretKey
		blueprintsDir(t, env, true)
	})
}

// teamBlueprint is a blueprint of a group and a flow; floor varies.
func teamBlueprint(floor string, extraGroup bool) string {
	s := fmt.Sprintf(`version: 1
metadata:
  name: E2E team
  labels: {blueprints.goauthentik.io/description: written by the e2e test}
entries:
  - model: authentik_core.group
    id: staff
    identifiers: {name: e2e-staff}
    attrs: {attributes: {floor: "%s"}}
  - model: authentik_flows.flow
    identifiers: {slug: e2e-blueprint-flow}
    attrs: {name: E2E blueprint flow, title: "Floor %s", designation: authentication}
`, floor, floor)
	if extraGroup {
		s += `  - model: authentik_core.group
    identifiers: {name: e2e-helpdesk}
    attrs: {parent: !KeyOf staff}
`
	}
	return s
}

func blueprintsDir(t *testing.T, env map[string]string, separateWorker bool) {
	dir := t.TempDir()
	file := filepath.Join(dir, "team", "e2e.yaml")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(teamBlueprint("1", false)), 0o600); err != nil {
		t.Fatal(err)
	}
	env["GATEHOUSE_BLUEPRINTS_DIR"] = dir
	env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
	p := start(t, env, "server")
	p.waitReady(60 * time.Second)
	if separateWorker {
		wenv := map[string]string{}
		for k, v := range env {
			wenv[k] = v
		}
		wenv["GATEHOUSE_DATA_DIR"] = t.TempDir()
		w := start(t, wenv, "worker")
		w.waitLog("worker started", 60*time.Second)
	}
	s := &apiServer{t: t, base: p.url("http") + "/api/v3", token: bootstrapToken}

	// poll waits (generously: the machine may be loaded) until check holds.
	poll := func(what string, check func() bool) time.Duration {
		t.Helper()
		began := time.Now()
		for time.Since(began) < 60*time.Second {
			if check() {
				return time.Since(began)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: not within 60s\n%s", what, p.output())
		return 0
	}
	group := func(name string) map[string]any {
		_, out := s.call(s.token, "GET", "/core/groups/?search="+url.QueryEscape(name), nil)
		for _, g := range results(out) {
			if g["name"] == name {
				return g
			}
		}
		return nil
	}
	floor := func() any {
		if g := group("e2e-staff"); g != nil {
			return g["attributes"].(map[string]any)["floor"]
		}
		return nil
	}
	instance := func() map[string]any {
		out := s.must(200, "GET", "/managed/blueprints/?path=team/e2e.yaml", nil)
		if rs := results(out); len(rs) == 1 {
			return rs[0]
		}
		return nil
	}

	// Applied at start.
	poll("the blueprint's group", func() bool { return floor() == "1" })
	in := instance()
	if in == nil || in["name"] != "E2E team" || in["status"] != "successful" || in["enabled"] != true ||
		in["last_applied_hash"] == "" || in["metadata"].(map[string]any)["name"] != "E2E team" {
		t.Fatalf("the instance: %v", in)
	}
	if f := s.must(200, "GET", "/flows/instances/e2e-blueprint-flow/", nil); f["title"] != "Floor 1" {
		t.Errorf("the blueprint's flow: %v", f)
	}
	avail := s.must(200, "GET", "/managed/blueprints/available/", nil)
	if files, _ := avail["_"].([]any); len(files) != 1 || files[0].(map[string]any)["path"] != "team/e2e.yaml" {
		t.Errorf("available: %v", avail)
	}

	// Rewritten: applied again, within seconds.
	hash := in["last_applied_hash"]
	if err := os.WriteFile(file, []byte(teamBlueprint("2", true)), 0o600); err != nil {
		t.Fatal(err)
	}
	took := poll("the rewritten blueprint", func() bool {
		h := group("e2e-helpdesk")
		return floor() == "2" && h != nil && h["parent"] != nil
	})
	t.Logf("the rewrite was applied after %s", took.Round(10*time.Millisecond))
	if f := s.must(200, "GET", "/flows/instances/e2e-blueprint-flow/", nil); f["title"] != "Floor 2" {
		t.Errorf("the flow after the rewrite: %v", f)
	}
	poll("the instance's new hash", func() bool {
		in = instance()
		return in != nil && in["last_applied_hash"] != hash && in["status"] == "successful"
	})

	// A blueprint kept in the database, applied on request.
	created := s.must(201, "POST", "/managed/blueprints/", map[string]any{
		"name": "E2E stored", "enabled": false, "context": map[string]any{"team": "db"},
		"content": "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: !Format [\"e2e-%s\", !Context team]}\n",
	})
	if created["status"] != "unknown" || group("e2e-db") != nil {
		t.Fatalf("created: %v", created)
	}
	applied := s.must(200, "POST", "/managed/blueprints/"+created["pk"].(string)+"/apply/", nil)
	if applied["status"] != "successful" || applied["last_applied"] == nil {
		t.Errorf("applied: %v", applied)
	}
	if group("e2e-db") == nil {
		t.Error("the stored blueprint's group does not exist")
	}
	// Bad content is refused, and nothing of it applied.
	if code, out := s.call(s.token, "POST", "/managed/blueprints/", map[string]any{"name": "E2E bad",
		"content": "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: e2e-bad}\n    attrs: {is_superuser: maybe}\n"}); code != 400 || out["content"] == nil {
		t.Errorf("bad content: %d %v", code, out)
	}
	if code, out := s.call(s.token, "POST", "/managed/blueprints/", map[string]any{"name": "E2E escape", "path": "../x.yaml"}); code != 400 || out["path"] == nil {
		t.Errorf("path outside the dir: %d %v", code, out)
	}

	// Deleted: orphaned, the objects stay.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	poll("the orphaned instance", func() bool { in = instance(); return in != nil && in["status"] == "orphaned" })
	if floor() != "2" {
		t.Error("the orphaned blueprint's group changed")
	}
}
