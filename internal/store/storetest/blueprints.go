package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func testBlueprintInstances(t *testing.T, s store.Store) {
	file := &store.BlueprintInstance{Name: "Example", Path: "example/flow.yaml", Enabled: true,
		Context: store.Attributes{"prefix": "acme", "nested": map[string]any{"n": 1.0}}}
	if err := s.CreateBlueprintInstance(ctx, file); err != nil {
		t.Fatalf("CreateBlueprintInstance: %v", err)
	}
	if file.UUID == uuid.Nil || file.Status != store.BlueprintUnknown || file.Created.IsZero() || file.Updated.IsZero() ||
		file.ManagedModels == nil || file.Metadata == nil {
		t.Fatalf("CreateBlueprintInstance did not fill defaults: %+v", file)
	}
	got, err := s.BlueprintInstanceByUUID(ctx, file.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(file, got, cmpTime, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("BlueprintInstanceByUUID mismatch (-want +got):\n%s", diff)
	}
	if got, err := s.BlueprintInstanceByPath(ctx, "example/flow.yaml"); err != nil || got.UUID != file.UUID {
		t.Errorf("BlueprintInstanceByPath = %+v, %v", got, err)
	}
	_, err = s.BlueprintInstanceByPath(ctx, "")
	wantErr(t, err, store.ErrNotFound, "BlueprintInstanceByPath(\"\")")
	_, err = s.BlueprintInstanceByPath(ctx, "nope\x00.yaml")
	wantErr(t, err, store.ErrNotFound, "BlueprintInstanceByPath(NUL)")
	_, err = s.BlueprintInstanceByUUID(ctx, uuid.New())
	wantErr(t, err, store.ErrNotFound, "BlueprintInstanceByUUID(unknown)")

	// The (name, path) pair is unique: the same name in the database and
	// in a file is allowed, twice in the database is not.
	db := &store.BlueprintInstance{Name: "Example", Content: "version: 1\nentries: []\n", Enabled: false}
	if err := s.CreateBlueprintInstance(ctx, db); err != nil {
		t.Fatalf("same name, no path: %v", err)
	}
	wantErr(t, s.CreateBlueprintInstance(ctx, &store.BlueprintInstance{Name: "Example"}), store.ErrConflict, "duplicate (name, path)")
	wantErr(t, s.CreateBlueprintInstance(ctx, &store.BlueprintInstance{Name: "x", Status: "bogus"}), store.ErrInvalid, "unknown status")

	// Update writes everything but created.
	applied := time.Now().UTC().Truncate(time.Microsecond)
	created := file.Created
	file.Status, file.LastApplied, file.LastAppliedHash = store.BlueprintSuccessful, &applied, "abc123"
	file.ManagedModels = []string{"authentik_flows.flow", "authentik_core.group"}
	file.Metadata = store.Attributes{"name": "Example", "labels": map[string]any{"blueprints.goauthentik.io/instantiate": "true"}}
	file.Context = store.Attributes{}
	file.Created = time.Time{}
	if err := s.UpdateBlueprintInstance(ctx, file); err != nil {
		t.Fatal(err)
	}
	got, err = s.BlueprintInstanceByUUID(ctx, file.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created.Truncate(time.Microsecond).Equal(created.Truncate(time.Microsecond)) {
		t.Errorf("created changed: %v -> %v", created, got.Created)
	}
	if got.Status != store.BlueprintSuccessful || got.LastApplied == nil || !got.LastApplied.Equal(applied) ||
		got.LastAppliedHash != "abc123" || !cmp.Equal(got.ManagedModels, file.ManagedModels) ||
		got.Metadata["labels"].(map[string]any)["blueprints.goauthentik.io/instantiate"] != "true" || len(got.Context) != 0 {
		t.Errorf("after update: %+v", got)
	}
	wantErr(t, s.UpdateBlueprintInstance(ctx, &store.BlueprintInstance{UUID: uuid.New(), Name: "ghost"}), store.ErrNotFound, "update unknown")
	db.Name = "Example"
	db.Path = "example/flow.yaml"
	wantErr(t, s.UpdateBlueprintInstance(ctx, db), store.ErrConflict, "update onto a taken (name, path)")
	db.Path = ""

	// Lists: filters, search, ordering, paging.
	for _, b := range []*store.BlueprintInstance{
		{Name: "Alpha", Path: "a/alpha.yaml", Enabled: true, Status: store.BlueprintError},
		{Name: "Beta", Path: "b/beta.yml", Enabled: true, Status: store.BlueprintOrphaned},
	} {
		if err := s.CreateBlueprintInstance(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	names := func(list []*store.BlueprintInstance) []string {
		out := []string{}
		for _, b := range list {
			out = append(out, b.Name+"|"+b.Path)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		f     store.BlueprintInstanceFilter
		want  []string
		total int
	}{
		{"all by name", store.BlueprintInstanceFilter{}, []string{"Alpha|a/alpha.yaml", "Beta|b/beta.yml", "Example|", "Example|example/flow.yaml"}, 4},
		{"by name", store.BlueprintInstanceFilter{Name: "Example", ListOptions: store.ListOptions{Ordering: "-path"}},
			[]string{"Example|example/flow.yaml", "Example|"}, 2},
		{"by path", store.BlueprintInstanceFilter{Path: "b/beta.yml"}, []string{"Beta|b/beta.yml"}, 1},
		{"stored in the database", store.BlueprintInstanceFilter{NoPath: true}, []string{"Example|"}, 1},
		{"search path", store.BlueprintInstanceFilter{ListOptions: store.ListOptions{Search: "ALPHA.Y"}}, []string{"Alpha|a/alpha.yaml"}, 1},
		{"ordering status", store.BlueprintInstanceFilter{ListOptions: store.ListOptions{Ordering: "status,name"}},
			[]string{"Alpha|a/alpha.yaml", "Beta|b/beta.yml", "Example|example/flow.yaml", "Example|"}, 4},
		{"page", store.BlueprintInstanceFilter{ListOptions: store.ListOptions{Page: store.Page{Offset: 1, Limit: 2}}},
			[]string{"Beta|b/beta.yml", "Example|"}, 4},
		{"only", store.BlueprintInstanceFilter{ListOptions: store.ListOptions{Only: []string{file.UUID.String()}}},
			[]string{"Example|example/flow.yaml"}, 1},
		{"NUL", store.BlueprintInstanceFilter{Name: "a\x00"}, []string{}, 0},
	} {
		list, n, err := s.ListBlueprintInstances(ctx, tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, names(list)); diff != "" || n != tc.total {
			t.Errorf("%s: total %d (want %d), (-want +got):\n%s", tc.name, n, tc.total, diff)
		}
	}
	_, _, err = s.ListBlueprintInstances(ctx, store.BlueprintInstanceFilter{ListOptions: store.ListOptions{Ordering: "content"}})
	wantErr(t, err, store.ErrInvalid, "ordering by an unknown field")

	// Writes inside a rolled-back transaction leave nothing.
	errRollback := store.ErrInvalid
	err = s.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateBlueprintInstance(ctx, &store.BlueprintInstance{Name: "in-tx"}); err != nil {
			return err
		}
		return errRollback
	})
	wantErr(t, err, errRollback, "InTx")
	if _, n, _ := s.ListBlueprintInstances(ctx, store.BlueprintInstanceFilter{Name: "in-tx"}); n != 0 {
		t.Errorf("a rolled-back instance exists")
	}

	if err := s.DeleteBlueprintInstance(ctx, db.UUID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteBlueprintInstance(ctx, db.UUID), store.ErrNotFound, "delete twice")
}
