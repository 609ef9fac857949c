package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// testEventFilters checks the date range and the app filters of
// ListEvents and EventVolume: bounds inclusive on both sides, at the
// microsecond the engines keep, whatever the bounds' time zone.
func testEventFilters(t *testing.T, s store.Store) {
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	app := uuid.New().String()
	mk := func(name string, created time.Time, evctx store.Attributes) {
		t.Helper()
		e := &store.Event{Action: "custom_" + name, User: store.Attributes{}, Context: evctx, Brand: store.Attributes{},
			Created: created, Expires: created.Add(24 * 365 * time.Hour)}
		if err := s.CreateEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	mk("before", day.Add(-time.Microsecond), store.Attributes{})
	mk("start", day, store.Attributes{"model": map[string]any{"app": "authentik_core", "pk": 1.0}})
	mk("noon", day.Add(12*time.Hour), store.Attributes{"authorized_application": map[string]any{"pk": app, "name": "Wiki"}})
	mk("end", day.Add(24*time.Hour-time.Microsecond), store.Attributes{"model": map[string]any{"app": "authentik_flows", "pk": "x"}})
	mk("next", day.Add(24*time.Hour), store.Attributes{"authorized_application": map[string]any{"pk": uuid.New().String()}})
	berlin := time.FixedZone("CET", 3600)

	for name, tc := range map[string]struct {
		f    store.EventFilter
		want []string
	}{
		"since":                  {store.EventFilter{Since: day}, []string{"next", "end", "noon", "start"}},
		"until":                  {store.EventFilter{Until: day.Add(12 * time.Hour)}, []string{"noon", "start", "before"}},
		"one day":                {store.EventFilter{Since: day, Until: day.Add(24*time.Hour - time.Microsecond)}, []string{"end", "noon", "start"}},
		"one instant":            {store.EventFilter{Since: day, Until: day}, []string{"start"}},
		"bounds in another zone": {store.EventFilter{Since: day.In(berlin), Until: day.Add(12 * time.Hour).In(berlin)}, []string{"noon", "start"}},
		"empty range":            {store.EventFilter{Since: day.Add(time.Hour), Until: day}, nil},
		"range and action":       {store.EventFilter{Since: day, Action: "custom_noon"}, []string{"noon"}},
		"model app":              {store.EventFilter{ContextModelApp: "authentik_core"}, []string{"start"}},
		"authorized app":         {store.EventFilter{ContextAuthorizedApp: app}, []string{"noon"}},
		"authorized app, other":  {store.EventFilter{ContextAuthorizedApp: uuid.New().String()}, nil},
	} {
		es, n, err := s.ListEvents(ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Action[len("custom_"):])
		}
		if diff := cmp.Diff(tc.want, got); diff != "" || n != len(tc.want) {
			t.Errorf("%s: total %d, want %d; (-want +got):\n%s", name, n, len(tc.want), diff)
		}
	}
	// A range alone is a condition: its total is counted, on a page that
	// does not show it by itself.
	if _, n, err := s.ListEvents(ctx, store.EventFilter{Since: day, ListOptions: store.ListOptions{Page: store.Page{Limit: 1}}}); err != nil || n != 4 {
		t.Errorf("range on a page of 1: total %d, %v; want 4", n, err)
	}

	got, err := s.EventVolume(ctx, store.EventFilter{Until: day.Add(12 * time.Hour)}, day)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.EventVolume{{Action: "custom_start", Hour: day, Count: 1}, {Action: "custom_noon", Hour: day.Add(12 * time.Hour), Count: 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EventVolume with a range (-want +got):\n%s", diff)
	}
}

// testGroupFilters checks ListGroups' parent filters and its tree order.
func testGroupFilters(t *testing.T, s store.Store) {
	mk := func(name string, parent *store.Group) *store.Group {
		t.Helper()
		g := &store.Group{Name: name}
		if parent != nil {
			g.Parent = &parent.UUID
		}
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	// The names catch a sort on a joined path of names: "Eng ops" and
	// "eng-web" would fall between "eng" and its subtree ("eng/…"), and
	// "Backend" (upper case) before "admins" byte-wise.
	eng := mk("eng", nil)
	mk("Eng ops", nil)
	backend := mk("Backend", eng)
	mk("api", backend)
	mk("frontend", eng)
	web := mk("eng-web", nil)
	mk("design", web)
	mk("admins", nil)

	names := func(f store.GroupFilter) []string {
		t.Helper()
		gs, n, err := s.ListGroups(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, g := range gs {
			out = append(out, g.Name)
		}
		if f.Page.Limit == 0 && n != len(out) {
			t.Errorf("%+v: total %d for %d groups", f, n, len(out))
		}
		return out
	}
	yes, no := true, false
	tree := store.ListOptions{Ordering: "tree"}
	for name, tc := range map[string]struct {
		f    store.GroupFilter
		want []string
	}{
		"children":      {store.GroupFilter{Parent: &eng.UUID, ListOptions: store.ListOptions{Ordering: "name"}}, []string{"Backend", "frontend"}},
		"no children":   {store.GroupFilter{Parent: &web.UUID, ListOptions: store.ListOptions{Search: "nothing"}}, []string{}},
		"roots":         {store.GroupFilter{HasParent: &no, ListOptions: store.ListOptions{Search: "eng"}}, []string{"eng", "Eng ops", "eng-web"}},
		"with a parent": {store.GroupFilter{HasParent: &yes, ListOptions: store.ListOptions{Search: "e"}}, []string{"Backend", "design", "frontend"}},
		"tree": {store.GroupFilter{ListOptions: tree},
			[]string{"admins", "eng", "Backend", "api", "frontend", "Eng ops", "eng-web", "design"}},
		"tree, roots":  {store.GroupFilter{HasParent: &no, ListOptions: tree}, []string{"admins", "eng", "Eng ops", "eng-web"}},
		"tree, search": {store.GroupFilter{ListOptions: store.ListOptions{Ordering: "tree", Search: "EN"}}, []string{"eng", "Backend", "frontend", "Eng ops", "eng-web"}},
		"tree, second page": {store.GroupFilter{ListOptions: store.ListOptions{Ordering: "tree", Page: store.Page{Offset: 3, Limit: 3}}},
			[]string{"api", "frontend", "Eng ops"}},
	} {
		// The name order is the engine's collation: compare those as sets.
		var opts []cmp.Option
		if tc.f.Ordering != "tree" {
			opts = append(opts, cmpopts.SortSlices(func(a, b string) bool { return a < b }))
		}
		if diff := cmp.Diff(tc.want, names(tc.f), opts...); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	if _, n, err := s.ListGroups(ctx, store.GroupFilter{ListOptions: store.ListOptions{Ordering: "tree", Page: store.Page{Limit: 2}}}); err != nil || n != 8 {
		t.Errorf("tree page of 2: total %d, %v; want 8", n, err)
	}
	_, _, err := s.ListGroups(ctx, store.GroupFilter{ListOptions: store.ListOptions{Ordering: "-tree"}})
	wantErr(t, err, store.ErrInvalid, "ordering -tree")

	// Re-parenting moves the subtree.
	backend.Parent = &web.UUID
	if err := s.UpdateGroup(ctx, backend); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"admins", "eng", "frontend", "Eng ops", "eng-web", "Backend", "api", "design"},
		names(store.GroupFilter{ListOptions: tree})); diff != "" {
		t.Errorf("tree after a move (-want +got):\n%s", diff)
	}
}
