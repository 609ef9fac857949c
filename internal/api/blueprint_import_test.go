package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// upload posts a multipart file to path with token.
func upload(t *testing.T, srv *apitest.Server, token, path string, file []byte) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "blueprint.yaml")
	_, _ = fw.Write(file)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v3"+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// authentik's /managed/blueprints/import/: an uploaded blueprint applies at
// once (no instance is kept), with its log; one that fails writes nothing
// and answers 400 with the log; a user without the permission gets 403.
func TestBlueprintImport(t *testing.T) {
	ctx := context.Background()
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	code, out := upload(t, e.srv, apitest.AdminToken, "/managed/blueprints/import/", []byte(groupBlueprint))
	if code != 200 || out["success"] != true || len(out["logs"].([]any)) == 0 {
		t.Fatalf("import = %d %v", code, out)
	}
	if _, err := e.srv.Store.GroupByName(ctx, "api-one"); err != nil {
		t.Errorf("the group was not created: %v", err)
	}
	if list, _, _ := e.srv.Store.ListBlueprintInstances(ctx, store.BlueprintInstanceFilter{}); len(list) != 0 {
		t.Errorf("an instance was kept: %d", len(list))
	}

	broken := []byte("version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: half}\n" +
		"  - model: authentik_core.group\n    identifiers: {name: half2}\n    attrs: {parent: !Find [authentik_core.group, [name, nope]], no_such_field: 1}\n")
	code, out = upload(t, e.srv, apitest.AdminToken, "/managed/blueprints/import/", broken)
	if code != 400 || out["success"] != false || len(out["logs"].([]any)) == 0 {
		t.Errorf("broken import = %d %v", code, out)
	}
	if _, err := e.srv.Store.GroupByName(ctx, "half"); err == nil {
		t.Error("a failed import left a group behind")
	}
	if code, _ := upload(t, e.srv, apitest.AdminToken, "/managed/blueprints/import/", nil); code != 400 {
		t.Errorf("no file = %d", code)
	}

	var u struct {
		PK int64 `json:"pk"`
	}
	e.admin("POST", "/core/users/", map[string]any{"username": "alice", "name": "Alice"}, &u)
	if code, _ := upload(t, e.srv, e.tokenFor(u.PK, "alice-token"), "/managed/blueprints/import/", []byte(groupBlueprint)); code != 403 {
		t.Errorf("without the permission = %d", code)
	}
}
