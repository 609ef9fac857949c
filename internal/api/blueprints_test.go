package api_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

type blueprintJSON struct {
	PK              string         `json:"pk"`
	Name            string         `json:"name"`
	Path            string         `json:"path"`
	Context         map[string]any `json:"context"`
	LastApplied     *time.Time     `json:"last_applied"`
	LastAppliedHash string         `json:"last_applied_hash"`
	Status          string         `json:"status"`
	Enabled         bool           `json:"enabled"`
	ManagedModels   []string       `json:"managed_models"`
	Metadata        map[string]any `json:"metadata"`
	Content         string         `json:"content"`
}

const groupBlueprint = `version: 1
metadata:
  name: API groups
  labels: {blueprints.goauthentik.io/description: Groups for the API test}
context: {suffix: one}
entries:
  - model: authentik_core.group
    identifiers: {name: !Format ["api-%s", !Context suffix]}
`

func TestBlueprintInstancesAPI(t *testing.T) {
	ctx := context.Background()
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	dir := e.srv.BlueprintsDir
	if err := os.MkdirAll(filepath.Join(dir, "team"), 0o700); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "team", "groups.yaml")
	if err := os.WriteFile(file, []byte(groupBlueprint), 0o600); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(file)

	// available/ lists the files, as authentik's BlueprintFile.
	var files []struct {
		Path  string    `json:"path"`
		LastM time.Time `json:"last_m"`
		Hash  string    `json:"hash"`
		Meta  *struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"meta"`
	}
	e.admin("GET", "/managed/blueprints/available/", nil, &files)
	if len(files) != 1 || files[0].Path != "team/groups.yaml" || files[0].Hash != blueprint.InstanceHash(data, nil) ||
		files[0].LastM.IsZero() || files[0].Meta == nil || files[0].Meta.Name != "API groups" ||
		files[0].Meta.Labels["blueprints.goauthentik.io/description"] != "Groups for the API test" {
		t.Fatalf("available = %+v", files)
	}

	// Validation: path or content, not both, not neither; paths stay in
	// the dir; content must apply.
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"neither", map[string]any{"name": "x"}, "non_field_errors"},
		{"both", map[string]any{"name": "x", "path": "team/groups.yaml", "content": groupBlueprint}, "non_field_errors"},
		{"parent dir", map[string]any{"name": "x", "path": "../groups.yaml"}, "path"},
		{"escape", map[string]any{"name": "x", "path": "team/../../etc/passwd.yaml"}, "path"},
		{"absolute", map[string]any{"name": "x", "path": file}, "path"},
		{"missing file", map[string]any{"name": "x", "path": "team/missing.yaml"}, "path"},
		{"not yaml", map[string]any{"name": "x", "path": "team"}, "path"},
		{"blank name", map[string]any{"name": "  ", "content": groupBlueprint}, "name"},
		{"not a blueprint", map[string]any{"name": "x", "content": "version: 2\nentries: []\n"}, "content"},
		{"unknown model", map[string]any{"name": "x", "content": "version: 1\nentries:\n  - model: authentik_core.gruop\n    identifiers: {name: x}\n"}, "content"},
		{"fails in a dry run", map[string]any{"name": "x", "content": "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: x}\n    attrs: {parent: not-a-uuid}\n"}, "content"},
		{"context not an object", map[string]any{"name": "x", "content": groupBlueprint, "context": []string{"a"}}, "context"},
	} {
		e.badRequest("POST", "/managed/blueprints/", tc.body, tc.field)
	}
	if _, n, _ := e.srv.Store.ListGroups(ctx, store.GroupFilter{ListOptions: store.ListOptions{Search: "x"}}); n != 0 {
		t.Errorf("validation wrote %d groups", n)
	}

	// A file instance.
	var fileInst blueprintJSON
	e.as(apitest.AdminToken, "POST", "/managed/blueprints/", map[string]any{"name": "groups file", "path": "team/./groups.yaml"}, 201, &fileInst)
	if fileInst.Path != "team/groups.yaml" || fileInst.Status != "unknown" || !fileInst.Enabled || fileInst.LastApplied != nil ||
		fileInst.Content != "" || fileInst.ManagedModels == nil || fileInst.Context == nil {
		t.Errorf("created file instance: %+v", fileInst)
	}
	var applied blueprintJSON
	e.as(apitest.AdminToken, "POST", "/managed/blueprints/"+fileInst.PK+"/apply/", nil, 200, &applied)
	if applied.Status != "successful" || applied.LastApplied == nil || applied.LastAppliedHash != blueprint.InstanceHash(data, nil) ||
		!cmp.Equal(applied.ManagedModels, []string{"authentik_core.group"}) || applied.Metadata["name"] != "API groups" {
		t.Errorf("applied: %+v", applied)
	}
	if _, err := e.srv.Store.GroupByName(ctx, "api-one"); err != nil {
		t.Errorf("the file's group: %v", err)
	}

	// A database instance, with a context.
	var dbInst blueprintJSON
	e.as(apitest.AdminToken, "POST", "/managed/blueprints/", map[string]any{"name": "groups db", "content": groupBlueprint,
		"context": map[string]any{"suffix": "two"}, "enabled": false}, 201, &dbInst)
	if dbInst.Path != "" || dbInst.Content != groupBlueprint || dbInst.Enabled || dbInst.Context["suffix"] != "two" {
		t.Errorf("created db instance: %+v", dbInst)
	}
	if _, err := e.srv.Store.GroupByName(ctx, "api-two"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("creating applied it: %v", err)
	}
	e.as(apitest.AdminToken, "POST", "/managed/blueprints/"+dbInst.PK+"/apply/", nil, 200, &applied)
	if applied.Status != "successful" {
		t.Errorf("applied db: %+v", applied)
	}
	if _, err := e.srv.Store.GroupByName(ctx, "api-two"); err != nil {
		t.Errorf("the db instance's group: %v", err)
	}
	e.badRequest("POST", "/managed/blueprints/", map[string]any{"name": "groups db", "content": groupBlueprint}, "non_field_errors")

	// Patch and put.
	var patched blueprintJSON
	e.as(apitest.AdminToken, "PATCH", "/managed/blueprints/"+dbInst.PK+"/", map[string]any{"context": map[string]any{"suffix": "three"},
		"enabled": true}, 200, &patched)
	if patched.Context["suffix"] != "three" || !patched.Enabled || patched.Content != groupBlueprint || patched.Status != "successful" {
		t.Errorf("patched: %+v", patched)
	}
	e.badRequest("PATCH", "/managed/blueprints/"+dbInst.PK+"/", map[string]any{"path": "team/groups.yaml"}, "non_field_errors")
	e.badRequest("PATCH", "/managed/blueprints/"+dbInst.PK+"/", map[string]any{"content": "entries: [\n"}, "content")
	var put blueprintJSON
	e.as(apitest.AdminToken, "PUT", "/managed/blueprints/"+dbInst.PK+"/", map[string]any{"name": "groups db 2", "content": groupBlueprint},
		200, &put)
	if put.Name != "groups db 2" || len(put.Context) != 0 || !put.Enabled {
		t.Errorf("put: %+v", put)
	}

	// A blueprint that fails answers 200 with status error, and an event
	// says why. (The API refuses such content; the store does not.)
	broken := &store.BlueprintInstance{Name: "broken", Enabled: true,
		Content: "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: api-broken}\n    attrs: {is_superuser: maybe}\n"}
	if err := e.srv.Store.CreateBlueprintInstance(ctx, broken); err != nil {
		t.Fatal(err)
	}
	e.as(apitest.AdminToken, "POST", "/managed/blueprints/"+broken.UUID.String()+"/apply/", nil, 200, &applied)
	if applied.Status != "error" || applied.LastApplied != nil {
		t.Errorf("broken: %+v", applied)
	}
	evs, _, err := e.srv.Store.ListEvents(ctx, store.EventFilter{Action: "configuration_error"})
	if err != nil || len(evs) != 1 || !strings.Contains(evs[0].Context["message"].(string), "is_superuser") ||
		evs[0].Context["blueprint"].(map[string]any)["pk"] != broken.UUID.String() {
		t.Errorf("configuration_error events: %+v %v", evs, err)
	}
	if created, _, _ := e.srv.Store.ListEvents(ctx, store.EventFilter{Action: "model_created"}); len(created) < 2 {
		t.Errorf("model_created events: %d", len(created))
	}

	// Lists: filters, search, ordering, pagination.
	list := func(query string) []string {
		t.Helper()
		var out struct {
			Pagination struct {
				Count int `json:"count"`
			} `json:"pagination"`
			Results []blueprintJSON `json:"results"`
		}
		e.admin("GET", "/managed/blueprints/"+query, nil, &out)
		names := []string{}
		for _, r := range out.Results {
			names = append(names, r.Name)
		}
		if out.Pagination.Count < len(names) {
			t.Errorf("%s: count %d < %d results", query, out.Pagination.Count, len(names))
		}
		return names
	}
	for query, want := range map[string][]string{
		"":                                  {"broken", "groups db 2", "groups file"},
		"?ordering=-name":                   {"groups file", "groups db 2", "broken"},
		"?name=broken":                      {"broken"},
		"?path=team/groups.yaml":            {"groups file"},
		"?search=TEAM":                      {"groups file"},
		"?ordering=status,name&page_size=2": {"broken", "groups db 2"},
		"?ordering=name&page=2&page_size=2": {"groups file"},
		"?name=nobody":                      {},
	} {
		if got := list(query); !cmp.Equal(got, want) {
			t.Errorf("list %q = %v, want %v", query, got, want)
		}
	}
	e.badRequest("GET", "/managed/blueprints/?ordering=content", nil, "ordering")

	// Permissions: view lets one list, get and see the files; changing and
	// applying need change_blueprintinstance (on the object will do).
	var u struct {
		PK int64 `json:"pk"`
	}
	e.admin("POST", "/core/users/", map[string]any{"username": "bob", "name": "Bob"}, &u)
	bob := e.tokenFor(u.PK, "bob-token")
	e.as(bob, "GET", "/managed/blueprints/available/", nil, 403, nil)
	var none struct {
		Results []blueprintJSON `json:"results"`
	}
	e.as(bob, "GET", "/managed/blueprints/", nil, 200, &none)
	if len(none.Results) != 0 {
		t.Errorf("bob sees %d instances", len(none.Results))
	}
	e.as(bob, "GET", "/managed/blueprints/"+fileInst.PK+"/", nil, 404, nil)
	e.as(bob, "POST", "/managed/blueprints/", map[string]any{"name": "bob's", "content": groupBlueprint}, 403, nil)
	e.grant(u.PK, "authentik_blueprints.view_blueprintinstance")
	e.as(bob, "GET", "/managed/blueprints/available/", nil, 200, nil)
	e.as(bob, "GET", "/managed/blueprints/"+fileInst.PK+"/", nil, 200, nil)
	e.as(bob, "POST", "/managed/blueprints/"+fileInst.PK+"/apply/", nil, 403, nil)
	e.as(bob, "DELETE", "/managed/blueprints/"+fileInst.PK+"/", nil, 403, nil)
	e.grant(u.PK, "authentik_blueprints.view_blueprintinstance", "authentik_blueprints.change_blueprintinstance")
	e.as(bob, "POST", "/managed/blueprints/"+fileInst.PK+"/apply/", nil, 200, nil)

	// Delete: the objects stay.
	e.as(apitest.AdminToken, "DELETE", "/managed/blueprints/"+fileInst.PK+"/", nil, 204, nil)
	e.as(apitest.AdminToken, "GET", "/managed/blueprints/"+fileInst.PK+"/", nil, 404, nil)
	e.as(apitest.AdminToken, "POST", "/managed/blueprints/"+uuid.NewString()+"/apply/", nil, 404, nil)
	if _, err := e.srv.Store.GroupByName(ctx, "api-one"); err != nil {
		t.Errorf("deleting the instance deleted its group: %v", err)
	}
}
