package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

// raw sends a request with the admin token and returns the status and body.
func (s *apiServer) raw(method, path, contentType string, body []byte) (int, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// importFlow uploads a blueprint to /flows/instances/import/ as authentik's
// UI does (multipart, field file).
func (s *apiServer) importFlow(file []byte, clear bool) (int, map[string]any) {
	s.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "flow.yaml")
	_, _ = fw.Write(file)
	if clear {
		_ = mw.WriteField("clear", "true")
	}
	_ = mw.Close()
	code, body := s.raw("POST", "/flows/instances/import/", mw.FormDataContentType(), buf.Bytes())
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	return code, out
}

// A flow exported, deleted, and imported again is the same flow: its
// export is byte for byte the first one. A blueprint that fails half-way
// leaves nothing behind, one naming models outside flows is refused, and
// clear drops bindings the file no longer has.
func TestFlowExportImport(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		f := s.must(201, "POST", "/flows/instances/", map[string]any{"name": "Round trip", "slug": "round-trip",
			"title": "Round trip", "designation": "authentication"})
		st := s.must(201, "POST", "/stages/identification/", map[string]any{"name": "rt-ident",
			"settings": map[string]any{"user_fields": []string{"username", "email"}}})
		pw := s.must(201, "POST", "/stages/password/", map[string]any{"name": "rt-password",
			"settings": map[string]any{"backends": []string{"authentik.core.auth.InbuiltBackend"}}})
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": st["pk"], "order": 10})
		s.must(201, "POST", "/flows/bindings/", map[string]any{"target": f["pk"], "stage": pw["pk"], "order": 20})
		pol := s.must(201, "POST", "/policies/expression/", map[string]any{"name": "rt-policy",
			"settings": map[string]any{"expression": "return True"}})
		s.must(201, "POST", "/policies/bindings/", map[string]any{"target": f["pk"], "policy": pol["pk"], "order": 0})

		code, first := s.raw("GET", "/flows/instances/round-trip/export/", "", nil)
		if code != 200 || !bytes.Contains(first, []byte("authentik_flows.flowstagebinding")) {
			t.Fatalf("export: %d %s", code, first)
		}
		s.must(204, "DELETE", "/flows/instances/round-trip/", nil)
		s.must(204, "DELETE", "/stages/all/"+st["pk"].(string)+"/", nil)
		s.must(204, "DELETE", "/stages/all/"+pw["pk"].(string)+"/", nil)
		s.must(204, "DELETE", "/policies/all/"+pol["pk"].(string)+"/", nil)

		code, res := s.importFlow(first, false)
		if code != 200 || res["success"] != true || len(res["logs"].([]any)) == 0 {
			t.Fatalf("import: %d %v", code, res)
		}
		_, second := s.raw("GET", "/flows/instances/round-trip/export/", "", nil)
		if !bytes.Equal(first, second) {
			t.Errorf("export after import differs:\n%s\n---\n%s", first, second)
		}
		// Importing again changes nothing.
		if code, res = s.importFlow(first, false); code != 200 || res["success"] != true {
			t.Fatalf("second import: %d %v", code, res)
		}

		// Fails half-way (a binding to a stage that does not exist): no
		// flow is left behind.
		broken := []byte(`version: 1
entries:
  - model: authentik_flows.flow
    identifiers: {slug: half-way}
    attrs: {name: Half, title: Half, designation: authentication}
    id: flow
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !Find [authentik_stages_password.passwordstage, [name, does-not-exist]], order: 10}
`)
		if code, res = s.importFlow(broken, false); code != 400 || res["success"] != false || len(res["logs"].([]any)) == 0 {
			t.Errorf("broken import: %d %v", code, res)
		}
		if code, _ := s.call(s.token, "GET", "/flows/instances/half-way/", nil); code != 404 {
			t.Errorf("half-way flow after a failed import: %d", code)
		}

		// Models outside flows are for blueprints, not flow imports.
		escalate := []byte("version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: admins2}\n    attrs: {is_superuser: true}\n")
		if code, res = s.importFlow(escalate, false); code != 400 || !strings.Contains(toJSON(res), "authentik_core.group") {
			t.Errorf("group import: %d %v", code, res)
		}
		if code, body := s.raw("POST", "/flows/instances/import/", "application/json", []byte(`{}`)); code != 400 {
			t.Errorf("non-multipart import: %d %s", code, body)
		}

		// clear: the file without the password binding leaves only the
		// identification binding.
		trimmed := dropEntry(t, first, "rt-password")
		if code, res = s.importFlow(trimmed, true); code != 200 || res["success"] != true {
			t.Fatalf("import with clear: %d %v", code, res)
		}
		flow := s.must(200, "GET", "/flows/instances/round-trip/", nil)
		list := s.must(200, "GET", "/flows/bindings/?target="+flow["pk"].(string), nil)
		if n := len(list["results"].([]any)); n != 1 {
			t.Errorf("bindings after clear = %d, want 1", n)
		}
	})
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// dropEntry removes from an exported blueprint the entries that mention
// name (the stage and its binding).
func dropEntry(t *testing.T, bp []byte, name string) []byte {
	t.Helper()
	parts := strings.Split(string(bp), "\n  - model:")
	var keep []string
	for i, p := range parts {
		if i > 0 && strings.Contains(p, name) {
			continue
		}
		keep = append(keep, p)
	}
	out := strings.Join(keep, "\n  - model:")
	if out == string(bp) {
		t.Fatalf("nothing mentions %q in:\n%s", name, bp)
	}
	return []byte(out)
}
