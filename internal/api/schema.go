package api

import (
	"encoding/json"
	"net/http"
	"strings"
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
		body, err = doc.Downgrade()
	default:
		body, err = doc.DowngradeYAML()
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
