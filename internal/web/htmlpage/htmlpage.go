// Package htmlpage writes the server-rendered pages of /if/user/ and
// /if/admin/ with the headers they share, whole or, for an htmx
// navigation, as the fragment that changes between pages.
package htmlpage

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
)

// CSP is the pages' Content-Security-Policy: no inline script or style;
// stylesheets and scripts from this origin; images from this origin, data:
// URIs and https (application icons may be remote URLs); requests from
// scripts (htmx's navigations) and forms only to this origin; never framed.
// htmx runs under it as configured by the layouts' htmx-config meta tag:
// no indicator <style>, no eval, no <script> from responses.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Fragment reports whether r is an htmx navigation (a boosted link or
// form: the HX-Request header), which gets only the fragment of the page
// that changes (its <title> and the layout's #page element) instead of the
// whole document. A history restore (HX-History-Restore-Request, after the
// back button found no cached snapshot) gets the whole page: htmx takes its
// <body>. See https://htmx.org/reference/#request_headers.
func Fragment(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true"
}

// setHeaders sets the headers every page has; the answer depends on
// HX-Request (Fragment), so caches must key on it.
func setHeaders(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Referrer-Policy", "same-origin")
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "HX-Request") {
				return
			}
		}
	}
	h.Add("Vary", "HX-Request")
}

// Headers sets the pages' headers (those of Write but the content type)
// before next runs: a handler that answers with an explicit status first (a
// form with errors gets a 400, a missing item a 404) can no longer change
// its headers when Write renders the page, and its page must have them too.
func Headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

// Write sets the strict CSP, no caching (pages show the visitor's data),
// a same-origin referrer policy and Vary: HX-Request, then renders t with
// data into a buffer first, so a template error becomes a clean 500 instead
// of half a page.
func Write(w http.ResponseWriter, log *slog.Logger, t *template.Template, data any) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	setHeaders(h)
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
