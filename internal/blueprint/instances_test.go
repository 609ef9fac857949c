package blueprint_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

func writeBlueprint(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newInstances(t *testing.T, st *sqlstore.Store, dir string) *blueprint.Instances {
	t.Helper()
	ts, err := crypto.NewSealer("instances-test-secret-key-0123456789", "token-key")
	if err != nil {
		t.Fatal(err)
	}
	return &blueprint.Instances{Store: st, Dir: dir, TokenSealer: ts}
}

func mustInstance(t *testing.T, st store.Store, in *store.BlueprintInstance) *store.BlueprintInstance {
	t.Helper()
	if err := st.CreateBlueprintInstance(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	return in
}

func TestInstanceHash(t *testing.T) {
	a := blueprint.InstanceHash([]byte("version: 1\n"), nil)
	if len(a) != 128 || a != blueprint.InstanceHash([]byte("version: 1\n"), map[string]any{}) {
		t.Errorf("hash without context: %s", a)
	}
	b := blueprint.InstanceHash([]byte("version: 1\n"), map[string]any{"x": 1, "a": []any{"b"}})
	c := blueprint.InstanceHash([]byte("version: 1\n"), map[string]any{"a": []any{"b"}, "x": 1})
	if b == a || b != c {
		t.Errorf("context: %s %s %s", a, b, c)
	}
}

// Instance paths stay inside the blueprints dir.
func TestCheckPath(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	writeBlueprint(t, dir, "a/ok.yaml", "version: 1\n")
	writeBlueprint(t, dir, "a/notes.txt", "x")
	writeBlueprint(t, outside, "secret.yaml", "version: 1\n")
	if runtime.GOOS != "windows" {
		if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "link.yaml")); err != nil {
			t.Fatal(err)
		}
	}
	m := &blueprint.Instances{Dir: dir}
	if got, err := m.CheckPath("a/./ok.yaml"); err != nil || got != "a/ok.yaml" {
		t.Errorf("CheckPath(a/./ok.yaml) = %q, %v", got, err)
	}
	for _, p := range []string{"", "../secret.yaml", "a/../../secret.yaml", "/etc/passwd", filepath.Join(outside, "secret.yaml"),
		"a/notes.txt", "a/missing.yaml", "a", `a\ok.yaml`, "a/ok.yaml\x00", "link.yaml"} {
		if _, err := m.CheckPath(p); err == nil {
			t.Errorf("CheckPath(%q) accepted", p)
		}
	}
	// Nor is a link out of the dir read when an instance names it.
	if runtime.GOOS != "windows" {
		st := openStore(t)
		in := mustInstance(t, st, &store.BlueprintInstance{Name: "link", Path: "link.yaml", Enabled: true})
		got, err := newInstances(t, st, dir).Apply(context.Background(), in.UUID)
		if err != nil || got.Status != store.BlueprintError {
			t.Errorf("a link out of the dir: %+v %v", got, err)
		}
	}
	if _, err := (&blueprint.Instances{}).CheckPath("a/ok.yaml"); !errors.Is(err, blueprint.ErrNoBlueprintsDir) {
		t.Errorf("no dir: %v", err)
	}
}

func TestFilesAndDiscoverOfDatabaseInstances(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	dir := t.TempDir()
	writeBlueprint(t, dir, "z/last.yaml", "version: 1\nmetadata: {name: Last, labels: {x: y}}\nentries: []\n")
	writeBlueprint(t, dir, "bad.yml", "version: [\n")
	m := newInstances(t, st, dir)
	files, err := m.Files()
	if err != nil || len(files) != 2 {
		t.Fatalf("Files = %+v, %v", files, err)
	}
	if files[0].Path != "bad.yml" || files[0].Err == nil || files[0].Meta != nil || files[0].Hash == "" {
		t.Errorf("bad.yml: %+v", files[0])
	}
	if f := files[1]; f.Path != "z/last.yaml" || f.Meta == nil || f.Meta.Name != "Last" || f.Meta.Labels["x"] != "y" || f.LastModified.IsZero() {
		t.Errorf("z/last.yaml: %+v", f)
	}
	if files, err := (&blueprint.Instances{Dir: filepath.Join(dir, "nope")}).Files(); err != nil || len(files) != 0 {
		t.Errorf("a missing dir: %v %v", files, err)
	}

	// A database instance is applied by discovery, with its context; a
	// changed context applies it again.
	content := `version: 1
context: {floor: "0"}
entries:
  - model: authentik_core.group
    identifiers: {name: !Format ["%s-team", !Context team]}
    attrs: {attributes: {floor: !Context floor}}
`
	in := mustInstance(t, st, &store.BlueprintInstance{Name: "db", Content: content, Enabled: true,
		Context: store.Attributes{"team": "blue"}})
	res, err := m.Discover(ctx)
	if err != nil || res.Applied != 2 || res.Failed != 1 || res.Created != 2 {
		t.Fatalf("Discover = %+v, %v", res, err)
	}
	g, err := st.GroupByName(ctx, "blue-team")
	if err != nil || g.Attributes["floor"] != "0" {
		t.Fatalf("blue-team: %+v %v", g, err)
	}
	if res, _ := m.Discover(ctx); res.Applied != 0 {
		t.Errorf("unchanged: %+v", res)
	}
	got, _ := st.BlueprintInstanceByUUID(ctx, in.UUID)
	got.Context = store.Attributes{"team": "blue", "floor": "7"}
	if err := st.UpdateBlueprintInstance(ctx, got); err != nil {
		t.Fatal(err)
	}
	if res, _ := m.Discover(ctx); res.Applied != 1 {
		t.Errorf("changed context: %+v", res)
	}
	if g, _ := st.GroupByName(ctx, "blue-team"); g.Attributes["floor"] != "7" {
		t.Errorf("floor after the context changed: %v", g.Attributes)
	}
	// A disabled one is left alone by discovery, and applied on request.
	got, _ = st.BlueprintInstanceByUUID(ctx, in.UUID)
	got.Enabled, got.Context = false, store.Attributes{"team": "red"}
	if err := st.UpdateBlueprintInstance(ctx, got); err != nil {
		t.Fatal(err)
	}
	if res, _ := m.Discover(ctx); res.Applied != 0 {
		t.Errorf("disabled: %+v", res)
	}
	if out, err := m.Apply(ctx, in.UUID); err != nil || out.Status != store.BlueprintSuccessful {
		t.Fatalf("Apply = %+v, %v", out, err)
	}
	if _, err := st.GroupByName(ctx, "red-team"); err != nil {
		t.Errorf("red-team: %v", err)
	}
	if _, err := m.Apply(ctx, uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Apply(unknown) = %v", err)
	}
}

// metaapplyblueprint applies another instance in the same transaction.
func TestMetaApplyBlueprint(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	dir := t.TempDir()
	writeBlueprint(t, dir, "deps/groups.yaml", `version: 1
metadata: {name: Dependency groups}
entries:
  - model: authentik_core.group
    identifiers: {name: dependency}
`)
	m := newInstances(t, st, dir)
	if _, err := m.Discover(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteGroup(ctx, mustGroup(t, st, "dependency").UUID); err != nil {
		t.Fatal(err)
	}

	main := mustInstance(t, st, &store.BlueprintInstance{Name: "main", Enabled: true, Content: `version: 1
entries:
  - model: authentik_blueprints.metaapplyblueprint
    attrs:
      identifiers: {path: deps/groups.yaml}
  - model: authentik_blueprints.metaapplyblueprint
    attrs:
      identifiers: {name: Not there}
      required: false
  - model: authentik_blueprints.metaapplyblueprint
    attrs:
      identifiers: {name: "Default - Password change flow"}
  - model: authentik_core.group
    identifiers: {name: child}
    attrs: {parent: !Find [authentik_core.group, [name, dependency]]}
`})
	out, err := m.Apply(ctx, main.UUID)
	if err != nil || out.Status != store.BlueprintWarning {
		t.Fatalf("Apply(main) = %+v, %v", out, err)
	}
	child := mustGroup(t, st, "child")
	if dep := mustGroup(t, st, "dependency"); child.Parent == nil || *child.Parent != dep.UUID {
		t.Errorf("child's parent %v, dependency %v", child.Parent, dep.UUID)
	}
	if strings.Join(out.ManagedModels, ",") != "authentik_blueprints.metaapplyblueprint,authentik_core.group" {
		t.Errorf("managed_models = %v", out.ManagedModels)
	}
	if dep, _ := st.BlueprintInstanceByPath(ctx, "deps/groups.yaml"); dep.Status != store.BlueprintSuccessful {
		t.Errorf("the dependency's instance: %+v", dep)
	}

	// A required instance that does not exist fails the blueprint; nothing
	// of it is written.
	missing := mustInstance(t, st, &store.BlueprintInstance{Name: "missing", Enabled: true, Content: `version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: never-written}
  - model: authentik_blueprints.metaapplyblueprint
    attrs: {identifiers: {name: Not there}}
`})
	if out, err := m.Apply(ctx, missing.UUID); err != nil || out.Status != store.BlueprintError {
		t.Errorf("Apply(missing) = %+v, %v", out, err)
	}
	if _, err := st.GroupByName(ctx, "never-written"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("never-written: %v", err)
	}

	// Instances that apply each other are refused.
	a := mustInstance(t, st, &store.BlueprintInstance{Name: "cycle-a", Content: "version: 1\nentries:\n" +
		"  - model: authentik_blueprints.metaapplyblueprint\n    attrs: {identifiers: {name: cycle-b}}\n"})
	mustInstance(t, st, &store.BlueprintInstance{Name: "cycle-b", Content: "version: 1\nentries:\n" +
		"  - model: authentik_core.group\n    identifiers: {name: cycle-group}\n" +
		"  - model: authentik_blueprints.metaapplyblueprint\n    attrs: {identifiers: {name: cycle-a}}\n"})
	if out, err := m.Apply(ctx, a.UUID); err != nil || out.Status != store.BlueprintError {
		t.Errorf("Apply(cycle) = %+v, %v", out, err)
	}
	if _, err := st.GroupByName(ctx, "cycle-group"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cycle-group: %v", err)
	}
	// Without instances (a plain Apply), a required one does not exist.
	bp := parse(t, "version: 1\nentries:\n  - model: authentik_blueprints.metaapplyblueprint\n    attrs: {identifiers: {name: x}}\n")
	if _, err := blueprint.Apply(ctx, st, bp, blueprint.Options{}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("required without instances: %v", err)
	}
	bp = parse(t, "version: 1\nentries:\n  - model: authentik_blueprints.metaapplyblueprint\n    attrs: {identifiers: {colour: x}}\n")
	if _, err := blueprint.Apply(ctx, st, bp, blueprint.Options{Instances: m}); err == nil || !strings.Contains(err.Error(), "not by colour") {
		t.Errorf("unknown identifier: %v", err)
	}
}

func mustGroup(t *testing.T, st store.Store, name string) *store.Group {
	t.Helper()
	g, err := st.GroupByName(context.Background(), name)
	if err != nil {
		t.Fatalf("group %s: %v", name, err)
	}
	return g
}

// !File in an instance of the blueprints dir reads only below it.
func TestInstanceFileTagConfined(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	dir := t.TempDir()
	outside := filepath.Join(filepath.Dir(dir), "outside-secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(outside) })
	writeBlueprint(t, dir, "files/floor.txt", "5\n")
	writeBlueprint(t, dir, "inside.yaml", `version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: files}
    attrs: {attributes: {floor: !File files/floor.txt}}
`)
	writeBlueprint(t, dir, "escape.yaml", `version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: escaped}
    attrs: {attributes: {secret: !File ../outside-secret}}
`)
	m := newInstances(t, st, dir)
	if res, err := m.Discover(ctx); err != nil || res.Applied != 1 || res.Failed != 1 {
		t.Fatalf("Discover = %+v, %v", res, err)
	}
	if g := mustGroup(t, st, "files"); g.Attributes["floor"] != "5" {
		t.Errorf("!File inside: %v", g.Attributes)
	}
	if _, err := st.GroupByName(ctx, "escaped"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("!File outside the dir was applied: %v", err)
	}
}

// authentik_core.token and authentik_stages_invitation.invitation.
func TestApplyTokenAndInvitation(t *testing.T) {
	ctx := context.Background()
	st := bootstrapped(t, true)
	m := newInstances(t, st, "")
	src := `version: 1
entries:
  - model: authentik_core.token
    identifiers: {identifier: automation}
    attrs:
      intent: api
      user: !Find [authentik_core.user, [username, akadmin]]
      key: automation-key-0123456789
      expiring: false
      description: CI
  - model: authentik_core.token
    identifiers: {identifier: short-lived}
    attrs: {user: !Find [authentik_core.user, [username, akadmin]]}
  - model: authentik_stages_invitation.invitation
    identifiers: {name: welcome}
    attrs:
      flow: !Find [authentik_flows.flow, [slug, default-enrollment-flow]]
      single_use: true
      fixed_data: {email: new@example.com}
      expires: "2099-01-01T00:00:00Z"
`
	bp := parse(t, src)
	res := apply(t, st, bp, blueprint.Options{TokenSealer: m.TokenSealer})
	if res.Created != 3 {
		t.Fatalf("first apply: %+v %v", countsOf(res), res.Warnings)
	}
	tok, err := st.TokenByIdentifier(ctx, "automation")
	if err != nil || tok.Intent != store.IntentAPI || tok.Expiring || tok.Description != "CI" ||
		!bytes.Equal(tok.KeyHash, core.HashTokenKey("automation-key-0123456789")) || tok.KeySealed == "" {
		t.Fatalf("automation token: %+v %v", tok, err)
	}
	if key, err := m.TokenSealer.Open(tok.KeySealed); err != nil || string(key) != "automation-key-0123456789" {
		t.Errorf("sealed key: %q %v", key, err)
	}
	if p, _, err := st.TokenPrincipal(ctx, core.HashTokenKey("automation-key-0123456789")); err != nil || p.Identifier != "automation" {
		t.Errorf("the key does not authenticate: %v", err)
	}
	short, err := st.TokenByIdentifier(ctx, "short-lived")
	if err != nil || short.Intent != store.IntentVerification || !short.Expiring || short.Expires == nil || len(short.KeyHash) == 0 {
		t.Errorf("authentik's defaults: %+v %v", short, err)
	}
	inv, _, err := st.ListInvitations(ctx, store.ListOptions{Search: "welcome"})
	if err != nil || len(inv) != 1 || !inv[0].SingleUse || inv[0].FlowUUID == nil || inv[0].FixedData["email"] != "new@example.com" ||
		inv[0].Expires == nil || inv[0].Expires.Year() != 2099 {
		t.Fatalf("invitation: %+v %v", inv, err)
	}
	if again := apply(t, st, bp, blueprint.Options{TokenSealer: m.TokenSealer}); again.Changed() {
		t.Errorf("re-apply: %+v", countsOf(again))
	}

	// Exports hold the invitation, never the tokens (their keys are kept hashed).
	out, err := blueprint.Export(ctx, st, blueprint.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "model: authentik_stages_invitation.invitation") || strings.Contains(string(out), "authentik_core.token") {
		t.Errorf("export:\n%s", out)
	}

	// A token needs a user.
	_, err = blueprint.Apply(ctx, st, parse(t, "version: 1\nentries:\n  - model: authentik_core.token\n    identifiers: {identifier: orphan}\n"), blueprint.Options{})
	if err == nil || !strings.Contains(err.Error(), "user") {
		t.Errorf("token without a user: %v", err)
	}
}
