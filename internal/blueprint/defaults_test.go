package blueprint_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

var update = flag.Bool("update", false, "rewrite defaults/*.yaml from core's default flows")

// The default blueprints are core.EnsureDefaultFlows's flows, exported one
// per flow with state created (go test -run TestDefaultBlueprints -update
// rewrites them while core's Go table is the source). Applying them makes
// the same objects as EnsureDefaultFlows, points the brand at them, and
// changes nothing the second time or on an instance EnsureDefaultFlows
// set up.
func TestDefaultBlueprints(t *testing.T) {
	ctx := context.Background()
	a := bootstrapped(t, false)
	if _, err := core.EnsureDefaultFlows(ctx, a); err != nil {
		t.Fatal(err)
	}
	// ApplyDefaults also makes the default notification rules.
	apply(t, a, parse(t, string(blueprint.EventsDefault())), blueprint.Options{})
	flows, _, err := a.ListFlows(ctx, "", store.ListOptions{Ordering: "slug", Page: store.Page{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	files, err := blueprint.DefaultBlueprints()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for _, f := range flows {
		out, err := blueprint.Export(ctx, a, blueprint.ExportOptions{Flow: f.Slug, State: blueprint.StateCreated,
			Name: "Gatehouse default - " + f.Slug, Labels: map[string]string{blueprint.LabelSystem: "true"}})
		if err != nil {
			t.Fatal(err)
		}
		want["defaults/"+f.Slug+".yaml"] = out
	}
	if *update {
		for name, data := range want {
			if err := os.WriteFile(filepath.FromSlash(name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Skip("rewrote defaults/*.yaml; run again without -update")
	}
	if diff := cmp.Diff(want, files, cmp.Transformer("text", func(b []byte) string { return string(b) })); diff != "" {
		t.Errorf("defaults/*.yaml differ from core's default flows (-core +files; go test -run TestDefaultBlueprints -update):\n%s", diff)
	}

	b := bootstrapped(t, false)
	created, err := blueprint.ApplyDefaults(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, f := range flows {
		slugs = append(slugs, f.Slug)
	}
	slices.Sort(created)
	if diff := cmp.Diff(slugs, created); diff != "" {
		t.Errorf("created flows (-want +got):\n%s", diff)
	}
	exportA, err := blueprint.Export(ctx, a, blueprint.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	exportB, err := blueprint.Export(ctx, b, blueprint.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(exportA), string(exportB)); diff != "" {
		t.Errorf("EnsureDefaultFlows and ApplyDefaults differ (-EnsureDefaultFlows +ApplyDefaults):\n%s", diff)
	}
	for name, st := range map[string]store.Store{"again": b, "after EnsureDefaultFlows": a} {
		if created, err := blueprint.ApplyDefaults(ctx, st); err != nil || len(created) != 0 {
			t.Errorf("%s: created %v, %v", name, created, err)
		}
	}
	if again, _ := blueprint.Export(ctx, b, blueprint.ExportOptions{}); string(again) != string(exportB) {
		t.Error("applying the defaults again changed the instance")
	}
}

// The defaults are applied on a first start and again only when they
// change (their hash is kept as a setting), as authentik re-applies a
// blueprint whose hash changed.
func TestApplyDefaultsIfChanged(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	created, applied, err := blueprint.ApplyDefaultsIfChanged(ctx, st)
	if err != nil || !applied || len(created) == 0 {
		t.Fatalf("first start: %v %v %v", created, applied, err)
	}
	if _, applied, err := blueprint.ApplyDefaultsIfChanged(ctx, st); err != nil || applied {
		t.Fatalf("unchanged defaults were applied again: %v %v", applied, err)
	}
	f, err := st.FlowBySlug(ctx, "default-enrollment-flow")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteFlow(ctx, f.UUID); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSetting(ctx, blueprint.DefaultsHashKey, []byte(`"an older release"`)); err != nil {
		t.Fatal(err)
	}
	created, applied, err = blueprint.ApplyDefaultsIfChanged(ctx, st)
	if err != nil || !applied || !slices.Contains(created, "default-enrollment-flow") {
		t.Fatalf("changed defaults: %v %v %v", created, applied, err)
	}
}
