package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
)

// Stages and policies take and give authentik's flat serializer fields
// (user_fields beside name) as well as Gatehouse's settings object; a
// PATCH of one flat field changes that field only; a GET body sent back
// with PUT-like PATCH changes nothing.
func TestFlatStageAndPolicyFields(t *testing.T) {
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	var st map[string]any
	e.admin("POST", "/stages/identification/", map[string]any{"name": "flat-ident",
		"user_fields": []string{"username", "email"}, "case_insensitive_matching": false}, &st)
	id := st["pk"].(string)
	settings, _ := st["settings"].(map[string]any)
	if fields, _ := st["user_fields"].([]any); len(fields) != 2 || settings["user_fields"] == nil ||
		st["case_insensitive_matching"] != false || st["name"] != "flat-ident" {
		t.Fatalf("created = %v", st)
	}

	st = nil
	e.admin("PATCH", "/stages/identification/"+id+"/", map[string]any{"show_matched_user": false}, &st)
	if st["show_matched_user"] != false || st["case_insensitive_matching"] != false || len(st["user_fields"].([]any)) != 2 {
		t.Errorf("after a flat PATCH = %v", st)
	}
	// The GET body sent back: read-only fields are ignored, nothing changes.
	var got map[string]any
	e.admin("GET", "/stages/all/"+id+"/", nil, &got)
	st = nil
	e.admin("PATCH", "/stages/identification/"+id+"/", got, &st)
	if st["show_matched_user"] != false || st["name"] != "flat-ident" || st["type"] != "identification" {
		t.Errorf("after sending the GET body back = %v", st)
	}
	// Wrong types still fail, whichever way they come.
	e.badRequest("PATCH", "/stages/identification/"+id+"/", map[string]any{"user_fields": "username"}, "settings")

	// Nested settings still replace the whole set.
	st = nil
	e.admin("PATCH", "/stages/identification/"+id+"/", map[string]any{"settings": map[string]any{"user_fields": []string{"email"}}}, &st)
	if _, kept := st["show_matched_user"]; kept || !slices.Equal(anyStrings(st["user_fields"]), []string{"email"}) {
		t.Errorf("after a settings PATCH = %v", st)
	}

	var pol map[string]any
	e.admin("POST", "/policies/expression/", map[string]any{"name": "flat-policy", "expression": "return True",
		"execution_logging": true}, &pol)
	if pol["expression"] != "return True" || pol["execution_logging"] != true {
		t.Fatalf("policy = %v", pol)
	}
	e.admin("PATCH", "/policies/expression/"+pol["pk"].(string)+"/", map[string]any{"expression": "return False"}, &pol)
	if pol["expression"] != "return False" || pol["settings"].(map[string]any)["expression"] != "return False" {
		t.Errorf("policy after PATCH = %v", pol)
	}
	if code, b := e.call(apitest.AdminToken, "POST", "/policies/expression/", map[string]any{"name": "bad", "expression": 42}); code != http.StatusBadRequest {
		t.Errorf("expression of the wrong type: %d %s", code, b)
	}
}

func anyStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// A NUL character anywhere in a stage's or policy's settings is a 400 (a
// PostgreSQL text column cannot hold it), whichever way it is sent.
func TestSettingsWithNUL(t *testing.T) {
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	e.badRequest("POST", "/policies/expression/", map[string]any{"name": "nul", "expression": "return True\x00"}, "settings")
	e.badRequest("POST", "/stages/deny/", map[string]any{"name": "nul", "settings": map[string]any{"deny_message": []any{"a\x00"}}}, "settings")
	e.badRequest("POST", "/stages/identification/", map[string]any{"name": "nul", "user_fields": []any{"username"},
		"x\x00": 1}, "settings")
}
