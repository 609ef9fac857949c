package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

func openStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

const groupsBlueprint = `version: 1
metadata:
  name: Team groups
entries:
  - model: authentik_core.group
    id: staff
    identifiers: {name: staff}
    attrs: {attributes: {floor: "%s"}}
  - model: authentik_core.group
    identifiers: {name: helpdesk}
    attrs: {parent: !KeyOf staff}
`

// The discovery task over a blueprints dir: a new file is applied, a
// changed one applied again, an unchanged one left alone, a broken one
// recorded as an error with nothing applied, a deleted one orphaned.
func TestBlueprintsDiscovery(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	dir := t.TempDir()
	inst := &blueprint.Instances{Store: st, Dir: dir, Log: slog.New(slog.DiscardHandler),
		Events: &event.Recorder{Store: st}}
	task := worker.BlueprintsDiscovery(inst, nil)
	if task.Name != "blueprints_discovery" || task.Interval != time.Hour {
		t.Fatalf("task = %s every %s", task.Name, task.Interval)
	}
	run := func(want string) {
		t.Helper()
		got, err := task.Run(ctx)
		if err != nil || got != want {
			t.Fatalf("Run = %q, %v; want %q", got, err, want)
		}
	}
	instance := func(path string) *store.BlueprintInstance {
		t.Helper()
		in, err := st.BlueprintInstanceByPath(ctx, path)
		if err != nil {
			t.Fatalf("instance of %s: %v", path, err)
		}
		return in
	}
	floor := func() string {
		t.Helper()
		g, err := st.GroupByName(ctx, "staff")
		if err != nil {
			t.Fatalf("group staff: %v", err)
		}
		return g.Attributes["floor"].(string)
	}

	run("0 files, 0 instances created, 0 applied, 0 failed, 0 orphaned")

	groups := filepath.Join(dir, "team", "groups.yaml")
	writeFile(t, groups, strings.Replace(groupsBlueprint, "%s", "1", 1))
	// Not blueprints: other extensions, hidden files and directories.
	writeFile(t, filepath.Join(dir, "README.txt"), "not a blueprint")
	writeFile(t, filepath.Join(dir, ".hidden.yaml"), "version: 1\nentries: []\n")
	writeFile(t, filepath.Join(dir, ".git", "x.yaml"), "version: 1\nentries: []\n")
	// Listed, but not applied: instantiate is "false".
	writeFile(t, filepath.Join(dir, "example.yml"), `version: 1
metadata:
  name: Example only
  labels: {blueprints.goauthentik.io/instantiate: "false"}
entries:
  - model: authentik_core.group
    identifiers: {name: example-only}
`)
	run("2 files, 2 instances created, 1 applied, 0 failed, 0 orphaned")
	in := instance("team/groups.yaml")
	data, _ := os.ReadFile(groups)
	if in.Name != "Team groups" || !in.Enabled || in.Status != store.BlueprintSuccessful || in.LastApplied == nil ||
		in.LastAppliedHash != blueprint.InstanceHash(data, nil) || strings.Join(in.ManagedModels, ",") != "authentik_core.group" ||
		in.Metadata["name"] != "Team groups" {
		t.Errorf("instance after the first run: %+v", in)
	}
	if floor() != "1" {
		t.Errorf("floor = %q", floor())
	}
	if ex := instance("example.yml"); ex.Enabled || ex.Status != store.BlueprintUnknown || ex.Name != "Example only" {
		t.Errorf("instantiate false: %+v", ex)
	}
	if _, err := st.GroupByName(ctx, "example-only"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a blueprint with instantiate false was applied: %v", err)
	}

	// Unchanged: nothing is applied.
	run("2 files, 0 instances created, 0 applied, 0 failed, 0 orphaned")

	// Changed: applied again.
	writeFile(t, groups, strings.Replace(groupsBlueprint, "%s", "2", 1))
	data, _ = os.ReadFile(groups)
	run("2 files, 0 instances created, 1 applied, 0 failed, 0 orphaned")
	if floor() != "2" {
		t.Errorf("after the change, floor = %q", floor())
	}

	// Broken half-way: the first entry would apply, the second cannot;
	// nothing is written, the status is error, an event says why.
	writeFile(t, groups, `version: 1
metadata: {name: Team groups}
entries:
  - model: authentik_core.group
    identifiers: {name: staff}
    attrs: {attributes: {floor: "3"}}
  - model: authentik_core.group
    identifiers: {name: never}
    attrs: {parent: !Find [authentik_core.group, [name, no-such-group]], is_superuser: not-a-bool}
`)
	run("2 files, 0 instances created, 0 applied, 1 failed, 0 orphaned")
	if in := instance("team/groups.yaml"); in.Status != store.BlueprintError || in.LastAppliedHash != blueprint.InstanceHash(data, nil) {
		t.Errorf("broken blueprint: status %s, hash changed %v", in.Status, in.LastAppliedHash != blueprint.InstanceHash(data, nil))
	}
	if floor() != "2" {
		t.Errorf("a failed blueprint changed floor to %q", floor())
	}
	if _, err := st.GroupByName(ctx, "never"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed blueprint's group exists: %v", err)
	}
	evs, _, err := st.ListEvents(ctx, store.EventFilter{Action: "configuration_error"})
	if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Context["message"].(string), "is_superuser") {
		t.Errorf("configuration_error events: %v %v", evs, err)
	}
	// Not a blueprint at all: an error too.
	writeFile(t, groups, "version: 2\nentries: []\n")
	run("2 files, 0 instances created, 0 applied, 1 failed, 0 orphaned")
	if in := instance("team/groups.yaml"); in.Status != store.BlueprintError {
		t.Errorf("version 2: status %s", in.Status)
	}
	// A failed instance is tried again at every discovery.
	run("2 files, 0 instances created, 0 applied, 1 failed, 0 orphaned")

	// Fixed: applied.
	writeFile(t, groups, strings.Replace(groupsBlueprint, "%s", "4", 1))
	run("2 files, 0 instances created, 1 applied, 0 failed, 0 orphaned")
	if in := instance("team/groups.yaml"); in.Status != store.BlueprintSuccessful || floor() != "4" {
		t.Errorf("fixed: status %s, floor %q", in.Status, floor())
	}

	// Deleted: orphaned, its objects kept.
	if err := os.Remove(groups); err != nil {
		t.Fatal(err)
	}
	run("1 files, 0 instances created, 0 applied, 0 failed, 1 orphaned")
	if in := instance("team/groups.yaml"); in.Status != store.BlueprintOrphaned {
		t.Errorf("deleted file: status %s", in.Status)
	}
	if floor() != "4" {
		t.Errorf("an orphaned blueprint's objects changed")
	}
	run("1 files, 0 instances created, 0 applied, 0 failed, 0 orphaned")

	// Back again: applied (and no longer orphaned).
	writeFile(t, groups, strings.Replace(groupsBlueprint, "%s", "4", 1))
	run("2 files, 0 instances created, 1 applied, 0 failed, 0 orphaned")
	if in := instance("team/groups.yaml"); in.Status != store.BlueprintSuccessful {
		t.Errorf("file back: status %s", in.Status)
	}
}

// The watch signals a change to a file, in a new subdirectory too, soon
// after it settles; a dir that does not exist yet is no failure.
func TestWatchBlueprints(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	changed := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		worker.WatchBlueprints(ctx, slog.New(slog.DiscardHandler), dir, 50*time.Millisecond, changed)
		close(done)
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the watch did not stop")
		}
	}()
	expect := func(what string, write func()) {
		t.Helper()
		// The watch is set up asynchronously: write until it signals.
		deadline := time.After(20 * time.Second)
		for {
			write()
			select {
			case <-changed:
				return
			case <-time.After(500 * time.Millisecond):
			case <-deadline:
				t.Fatalf("%s: no signal", what)
			}
		}
	}
	expect("a new file", func() { writeFile(t, filepath.Join(dir, "a.yaml"), "version: 1\n") })
	expect("a file in a new subdirectory", func() { writeFile(t, filepath.Join(dir, "sub", "deeper", "b.yml"), "version: 1\n") })
	// Other files do not count (after the last signals have settled).
	time.Sleep(500 * time.Millisecond)
	select {
	case <-changed:
	default:
	}
	writeFile(t, filepath.Join(dir, "notes.txt"), "x")
	writeFile(t, filepath.Join(dir, ".swap.yaml"), "x")
	select {
	case <-changed:
		t.Error("a change to notes.txt or a hidden file was signalled")
	case <-time.After(300 * time.Millisecond):
	}
	expect("a removed file", func() { _ = os.Remove(filepath.Join(dir, "a.yaml")); writeFile(t, filepath.Join(dir, "a.yaml"), "v") })
}
