package apiclient_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"os/exec"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the served schema and regenerate client.gen.go")

const regenerate = "go test ./internal/api/apiclient -run TestSchemaUpToDate -update"

// TestSchemaUpToDate checks that openapi.json, which client.gen.go is
// generated from, is the schema the server serves.
func TestSchemaUpToDate(t *testing.T) {
	srv := apitest.New(t)
	resp, err := http.Get(srv.URL + "/api/v3/schema/?format=json")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	served, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v3/schema/?format=json: %d %s", resp.StatusCode, served)
	}
	var want any
	if err := json.Unmarshal(served, &want); err != nil {
		t.Fatalf("the served schema is not JSON: %v", err)
	}

	if *update {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, served, "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty.WriteByte('\n')
		if err := os.WriteFile("openapi.json", pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("go", "tool", "oapi-codegen", "-config", "cfg.yaml", "openapi.json")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go tool oapi-codegen: %v\n%s", err, out)
		}
		t.Log("rewrote openapi.json and client.gen.go")
		return
	}

	golden, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatalf("%v: run %s", err, regenerate)
	}
	var got any
	if err := json.Unmarshal(golden, &got); err != nil {
		t.Fatalf("openapi.json is not JSON (%v): run %s", err, regenerate)
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Fatalf("openapi.json differs from the schema the server serves (-openapi.json +served):\n%s\nThe API changed: run\n\t%s\nto rewrite openapi.json and client.gen.go, and review the diff.", d, regenerate)
	}
}
