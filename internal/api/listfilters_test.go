package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// TestEventFilters checks the events list's and volume's created range
// and app filters.
func TestEventFilters(t *testing.T) {
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	app := uuid.New()
	for _, ev := range []struct {
		name string
		at   time.Time
		ctx  store.Attributes
	}{
		{"before", day.Add(-time.Second), store.Attributes{}},
		{"start", day, store.Attributes{"model": map[string]any{"app": "authentik_core", "pk": "x"}}},
		{"noon", day.Add(12 * time.Hour), store.Attributes{"authorized_application": map[string]any{"pk": app.String()}}},
		{"last", day.Add(24*time.Hour - time.Microsecond), store.Attributes{}},
		{"next", day.Add(24 * time.Hour), store.Attributes{}},
	} {
		err := e.srv.Store.CreateEvent(context.Background(), &store.Event{Action: "custom_" + ev.name, User: store.Attributes{},
			Context: ev.ctx, Brand: store.Attributes{}, Created: ev.at, Expires: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	list := func(q url.Values) []string {
		t.Helper()
		var out struct {
			Pagination struct {
				Count int `json:"count"`
			} `json:"pagination"`
			Results []struct {
				Action string `json:"action"`
			} `json:"results"`
		}
		q.Set("search", "custom_")
		e.admin("GET", "/events/events/?"+q.Encode(), nil, &out)
		var got []string
		for _, r := range out.Results {
			got = append(got, strings.TrimPrefix(r.Action, "custom_"))
		}
		if out.Pagination.Count != len(got) {
			t.Errorf("%v: count %d for %d results", q, out.Pagination.Count, len(got))
		}
		return got
	}
	for name, tc := range map[string]struct {
		q    url.Values
		want []string
	}{
		"a day":               {url.Values{"created__gte": {"2026-03-10"}, "created__lte": {"2026-03-10"}}, []string{"last", "noon", "start"}},
		"from a time":         {url.Values{"created__gte": {"2026-03-10T12:00:00Z"}}, []string{"next", "last", "noon"}},
		"until, offset":       {url.Values{"created__lte": {"2026-03-10T13:00:00+01:00"}}, []string{"noon", "start", "before"}},
		"fraction":            {url.Values{"created__gte": {"2026-03-10T23:59:59.999999Z"}}, []string{"next", "last"}},
		"authorized app":      {url.Values{"context_authorized_app": {app.String()}}, []string{"noon"}},
		"authorized app, hex": {url.Values{"context_authorized_app": {strings.ReplaceAll(app.String(), "-", "")}}, []string{"noon"}},
		"model app":           {url.Values{"context_model_app": {"authentik_core"}}, []string{"start"}},
	} {
		if diff := cmp.Diff(tc.want, list(tc.q)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	for _, tc := range []struct{ q, field string }{
		{"created__gte=yesterday", "created__gte"},
		{"created__lte=2026-13-01", "created__lte"},
		{"created__gte=2026-03-10T12:00:00", "created__gte"}, // no zone
		{"created__gte=2026-03-11&created__lte=2026-03-10", "created__lte"},
	} {
		e.badRequest("GET", "/events/events/?"+tc.q, nil, tc.field)
		e.badRequest("GET", "/events/events/volume/?"+tc.q, nil, tc.field)
	}

	var vol []struct {
		Action string    `json:"action"`
		Time   time.Time `json:"time"`
		Count  int       `json:"count"`
	}
	e.admin("GET", "/events/events/volume/?history_days=365&action=custom_noon&created__lte=2026-03-10", nil, &vol)
	if len(vol) != 1 || vol[0].Count != 1 || !vol[0].Time.Equal(day.Add(12*time.Hour)) {
		t.Errorf("volume of the day = %+v", vol)
	}
	e.admin("GET", "/events/events/volume/?history_days=365&action=custom_noon&created__lte=2026-03-09", nil, &vol)
	if len(vol) != 0 {
		t.Errorf("volume before the day = %+v", vol)
	}
}

// TestGroupParentFilters checks the groups list's parent filters and its
// tree order.
func TestGroupParentFilters(t *testing.T) {
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	mk := func(name string, parent string) string {
		t.Helper()
		body := map[string]any{"name": name}
		if parent != "" {
			body["parent"] = parent
		}
		var g struct {
			PK string `json:"pk"`
		}
		e.admin("POST", "/core/groups/", body, &g)
		return g.PK
	}
	ops := mk("t-ops", "")
	web := mk("t-web", "")
	mk("t-zeta", ops)
	oncall := mk("t-alpha", ops)
	mk("t-pager", oncall)
	mk("t-design", web)
	names := func(q url.Values) []string {
		t.Helper()
		var out struct {
			Results []struct {
				Name string `json:"name"`
			} `json:"results"`
		}
		q.Set("search", "t-")
		e.admin("GET", "/core/groups/?"+q.Encode(), nil, &out)
		got := []string{}
		for _, r := range out.Results {
			got = append(got, r.Name)
		}
		return got
	}
	for name, tc := range map[string]struct {
		q    url.Values
		want []string
	}{
		"children":   {url.Values{"parent": {ops}, "ordering": {"name"}}, []string{"t-alpha", "t-zeta"}},
		"roots":      {url.Values{"parent__isnull": {"true"}, "ordering": {"name"}}, []string{"t-ops", "t-web"}},
		"subgroups":  {url.Values{"parent__isnull": {"false"}, "ordering": {"name"}}, []string{"t-alpha", "t-design", "t-pager", "t-zeta"}},
		"tree":       {url.Values{"ordering": {"tree"}}, []string{"t-ops", "t-alpha", "t-pager", "t-zeta", "t-web", "t-design"}},
		"tree, page": {url.Values{"ordering": {"tree"}, "page": {"2"}, "page_size": {"4"}}, []string{"t-web", "t-design"}},
		"no group":   {url.Values{"parent": {uuid.NewString()}}, []string{}},
	} {
		if diff := cmp.Diff(tc.want, names(tc.q)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	e.badRequest("GET", "/core/groups/?parent=nope", nil, "parent")
	e.badRequest("GET", "/core/groups/?parent__isnull=maybe", nil, "parent__isnull")
	e.badRequest("GET", "/core/groups/?ordering=-tree", nil, "ordering")
}
