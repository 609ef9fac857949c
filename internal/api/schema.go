package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/yaml"
)

// serveSchema serves the OpenAPI document at /api/v3/schema/: YAML by
// default (as authentik's drf-spectacular), JSON with ?format=json or an
// Accept: application/json header. ?version=3.1 serves the native 3.1
// document; the default is the 3.0 downgrade that most generators read.
func (a *API) serveSchema(w http.ResponseWriter, r *http.Request) {
	doc := a.huma.OpenAPI()
	asJSON := r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json")
	v31 := r.URL.Query().Get("version") == "3.1"
	var (
		body []byte
		err  error
	)
	switch {
	case v31 && asJSON:
		body, err = json.Marshal(doc)
	case v31:
		body, err = doc.YAML()
	case asJSON:
		body, err = downgrade(doc)
	default:
		if body, err = downgrade(doc); err == nil {
			var buf bytes.Buffer
			err = yaml.Convert(&buf, bytes.NewReader(body))
			body = buf.Bytes()
		}
	}
	if err != nil {
		a.Log.Error("api: rendering the schema", "error", err)
		writeDetail(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "application/vnd.oai.openapi; charset=utf-8")
	}
	_, _ = w.Write(body)
}

// nullable is the schema of an object field that may be null, which huma's
// nullable tag cannot say: 3.1's anyOf the object and null, served in 3.0 as
// authentik's allOf with nullable (see downgrade).
func nullable(s *huma.Schema) *huma.Schema {
	return &huma.Schema{AnyOf: []*huma.Schema{s, {Type: "null"}}}
}

// downgrade is huma's 3.0 downgrade, which keeps anyOf [X, {type: null}]
// (invalid in 3.0), with that rewritten as {allOf: [X], nullable: true}.
func downgrade(doc *huma.OpenAPI) ([]byte, error) {
	b, err := doc.Downgrade()
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			// huma writes 3.1's contentMediaType beside format: binary
			// (a file upload); 3.0 says it with the format alone.
			if v["format"] == "binary" {
				delete(v, "contentMediaType")
			}
			if alts, ok := v["anyOf"].([]any); ok && len(alts) == 2 {
				if n, ok := alts[1].(map[string]any); ok && len(n) == 1 && n["type"] == "null" {
					delete(v, "anyOf")
					v["allOf"], v["nullable"] = alts[:1], true
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return json.Marshal(v)
}
