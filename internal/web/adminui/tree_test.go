package adminui_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// groupRows are the list's rows as "pk@depth", in page order.
var groupRowRE = regexp.MustCompile(`<tr class="group-row" data-pk="([^"]+)" data-depth="(\d+)">`)

func groupRows(body string) []string {
	var out []string
	for _, m := range groupRowRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1]+"@"+m[2])
	}
	return out
}

// TestGroupTree checks the groups list's tree (depth first, indented, a
// page at a time with the ancestors of its first group), the flat list,
// and the group page's breadcrumbs and subgroups.
func TestGroupTree(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mk := func(name string, parent *store.Group) *store.Group {
		t.Helper()
		g := &store.Group{Name: name}
		if parent != nil {
			g.Parent = &parent.UUID
		}
		if err := e.st.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		return g
	}
	// newEnv made the root "Team <xss>"; Bootstrap the admins' group.
	eng := mk("Eng "+xss, nil)
	backend := mk("Backend", eng)
	api := mk("api "+xss, backend)
	frontend := mk("frontend", eng)
	ops := mk("ops", nil)
	at := func(g *store.Group, depth int) string { return fmt.Sprintf("%s@%d", g.UUID, depth) }
	admins, err := e.st.GroupByName(ctx, core.AdminGroupName)
	if err != nil {
		t.Fatal(err)
	}

	body := e.page("/if/admin/groups/")
	want := []string{at(eng, 0), at(backend, 1), at(api, 2), at(frontend, 1), at(admins, 0), at(ops, 0), at(e.group, 0)}
	if diff := cmp.Diff(want, groupRows(body)); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	for _, s := range []string{
		`<td class="tree-name depth-2"><span class="tree-branch" aria-hidden="true">└</span> <a href="/if/admin/groups/` + api.UUID.String() + `/">api &lt;script&gt;`,
		`<span class="visually-hidden">, subgroup of Eng &lt;script&gt;`,
		`<td class="tree-name depth-0"><a href="/if/admin/groups/` + ops.UUID.String() + `/">ops</a></td>`,
		`id="flat-view"`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("tree page lacks %s", s)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, `id="groups-above"`) {
		t.Error("unescaped name, or ancestors above the first page")
	}

	// Page 2 of 2-group pages starts at the grandchild: its ancestors head
	// the page, and the depths count them. Page 3 starts at a root.
	w := e.get(e.adminC, "/if/admin/groups/?page=2&page_size=2")
	body = w.Body.String()
	if diff := cmp.Diff([]string{at(api, 2), at(frontend, 1)}, groupRows(body)); diff != "" {
		t.Errorf("page 2 (-want +got):\n%s", diff)
	}
	above := regexp.MustCompile(`(?s)<tr class="tree-above" id="groups-above">.*?</tr>`).FindString(body)
	if !strings.Contains(above, `Continued from <a href="/if/admin/groups/`+eng.UUID.String()+`/">Eng &lt;script&gt;`) ||
		!strings.Contains(above, ` / <a href="/if/admin/groups/`+backend.UUID.String()+`/">Backend</a></td>`) {
		t.Errorf("page 2's ancestors: %q", above)
	}
	if !strings.Contains(body, `href="/if/admin/groups/?page=3&amp;page_size=2"`) || !strings.Contains(body, `href="/if/admin/groups/?page=1&amp;page_size=2"`) {
		t.Error("page 2 without its pager links")
	}
	body = e.page("/if/admin/groups/?page=3&page_size=2")
	if diff := cmp.Diff([]string{at(admins, 0), at(ops, 0)}, groupRows(body)); diff != "" || strings.Contains(body, `id="groups-above"`) {
		t.Errorf("page 3 (-want +got):\n%s", diff)
	}

	// The flat list and a search are by name, without depth.
	for _, path := range []string{"/if/admin/groups/?view=flat&page_size=100", "/if/admin/groups/?q=e"} {
		body = e.page(path)
		rows := groupRows(body)
		if len(rows) < 4 || strings.Contains(body, `class="tree-branch"`) || !strings.Contains(body, `id="tree-view"`) {
			t.Errorf("%s: %v", path, rows)
		}
		for _, r := range rows {
			if !strings.HasSuffix(r, "@0") {
				t.Errorf("%s: row %s is indented", path, r)
			}
		}
	}
	body = e.page("/if/admin/groups/?parent=" + eng.UUID.String())
	if diff := cmp.Diff([]string{at(backend, 0), at(frontend, 0)}, groupRows(body)); diff != "" || !strings.Contains(body, `id="subgroups-of">Subgroups of <a`) {
		t.Errorf("subgroups of eng (-want +got):\n%s", diff)
	}

	// The group page: its ancestors as breadcrumbs, its subgroups.
	body = e.page("/if/admin/groups/" + api.UUID.String() + "/")
	crumbs := regexp.MustCompile(`(?s)<nav class="crumbs"[^>]*>.*?</nav>`).FindString(body)
	wantCrumbs := `<a href="/if/admin/groups/">Groups</a> / <a href="/if/admin/groups/` + eng.UUID.String() + `/">Eng &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</a> / ` +
		`<a href="/if/admin/groups/` + backend.UUID.String() + `/">Backend</a> / <span aria-current="page">api &lt;script&gt;`
	if !strings.Contains(crumbs, wantCrumbs) {
		t.Errorf("crumbs %q", crumbs)
	}
	if !strings.Contains(body, `id="no-children"`) || strings.Contains(body, "<script>alert") {
		t.Error("leaf group: subgroups listed, or a name unescaped")
	}
	body = e.page("/if/admin/groups/" + eng.UUID.String() + "/")
	children := regexp.MustCompile(`<li class="child-group" data-pk="([^"]+)">`).FindAllStringSubmatch(body, -1)
	var got []string
	for _, c := range children {
		got = append(got, c[1])
	}
	if diff := cmp.Diff([]string{backend.UUID.String(), frontend.UUID.String()}, got); diff != "" {
		t.Errorf("eng's subgroups (-want +got):\n%s", diff)
	}
	if !strings.Contains(body, `<h2 id="children-title">Subgroups (2)</h2>`) || strings.Contains(body, `id="all-children"`) ||
		!strings.Contains(body, `<span aria-current="page">Eng &lt;script&gt;`) {
		t.Error("eng's page: count, link or crumbs")
	}

	// Past groupChildren subgroups, the page links to the rest.
	for i := range 26 {
		mk(fmt.Sprintf("ops-%02d", i), ops)
	}
	body = e.page("/if/admin/groups/" + ops.UUID.String() + "/")
	if n := strings.Count(body, `<li class="child-group"`); n != 25 ||
		!strings.Contains(body, `<a href="/if/admin/groups/?parent=`+ops.UUID.String()+`" id="all-children">All 26 subgroups</a>`) {
		t.Errorf("ops' page lists %d subgroups, or no link to all 26", n)
	}
}

// TestEventDateRange checks the events page's From and To: the range
// filters the list, stays in the pager's links, and a range the API
// refuses comes back as the form with its message.
func TestEventDateRange(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{day.Add(-time.Second), day, day.Add(12 * time.Hour), day.Add(24*time.Hour - time.Second), day.Add(24 * time.Hour)} {
		ev := &store.Event{Action: "custom_range", User: store.Attributes{"username": fmt.Sprintf("ranger%d", i)}, Context: store.Attributes{},
			Brand: store.Attributes{}, Created: at, Expires: time.Now().Add(time.Hour)}
		if err := e.st.CreateEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	body := e.page("/if/admin/events/?action=custom_range&created__gte=2026-03-10&created__lte=2026-03-10")
	for i, in := range []bool{false, true, true, true, false} {
		if got := strings.Contains(body, fmt.Sprintf("ranger%d", i)); got != in {
			t.Errorf("ranger%d listed: %v, want %v", i, got, in)
		}
	}
	for _, s := range []string{
		`<label for="created-from">From</label><input type="date" id="created-from" name="created__gte" value="2026-03-10">`,
		`<label for="created-to">To</label><input type="date" id="created-to" name="created__lte" value="2026-03-10">`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("no %s", s)
		}
	}
	body = e.page("/if/admin/events/?action=custom_range&created__gte=2026-03-10&page_size=1")
	if !strings.Contains(body, "created__gte=2026-03-10") || !strings.Contains(body, "page=2") ||
		!regexp.MustCompile(`href="[^"]*created__gte=2026-03-10[^"]*page=2`).MatchString(body) {
		t.Error("the next page's link drops the range")
	}

	for _, tc := range []struct{ query, field, msg string }{
		{"created__gte=2026-03-11&created__lte=2026-03-10", "created-to", "Must not be before created__gte."},
		{"created__gte=10.03.2026", "created-from", "Enter a valid date/time."},
	} {
		w := e.get(e.adminC, "/if/admin/events/?"+tc.query)
		body := w.Body.String()
		if w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.query, w.Code)
		}
		if !strings.Contains(body, `id="`+tc.field+`" name="`) || !strings.Contains(body, `aria-describedby="`+tc.field+`-err"`) ||
			!strings.Contains(body, `<div id="`+tc.field+`-err"><p class="field-error">`+tc.msg+`</p></div>`) ||
			!strings.Contains(body, `id="events-refused"`) || strings.Contains(body, `class="pager"`) {
			t.Errorf("%s: no inline error on %s: %.2000s", tc.query, tc.field, body)
		}
	}
}

// TestTreeOnPostgres runs the tree and date range tests on PostgreSQL
// (GATEHOUSE_TEST_POSTGRES_URL), whose collation and time types differ.
func TestTreeOnPostgres(t *testing.T) {
	testenv.PostgresDB(t) // skips (fails under CI=true) without PostgreSQL
	onPostgres = true
	t.Cleanup(func() { onPostgres = false })
	t.Run("tree", TestGroupTree)
	t.Run("dates", TestEventDateRange)
}
