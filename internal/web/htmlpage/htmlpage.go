// Package htmlpage writes the server-rendered pages of /if/user/ and
// /if/admin/ with the headers they share.
package htmlpage

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
)

// CSP is the pages' Content-Security-Policy: no inline script or style;
// stylesheets and scripts from this origin; images from this origin, data:
// URIs and https (application icons may be remote URLs); forms post only
// here; never framed.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Write sets the strict CSP, no caching (pages show the visitor's data)
// and a same-origin referrer policy, then renders t with data into a
// buffer first, so a template error becomes a clean 500 instead of half a
// page.
func Write(w http.ResponseWriter, log *slog.Logger, t *template.Template, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Referrer-Policy", "same-origin")
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		if log != nil {
			log.Error("rendering a page", "page", t.Name(), "error", err)
		}
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(buf.Bytes())
}
