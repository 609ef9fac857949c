// Package userui is the user interface at /if/user/: the applications a
// signed-in user may open, and their settings (profile and password through
// the brand's flows, MFA devices, sessions, tokens and app passwords,
// consents).
//
// Pages are rendered on the server with html/template and work without
// JavaScript. With it, htmx (vendored in static/, HTMXVersion) boosts the
// links and forms inside the interface: a navigation fetches only the part
// of the page that changes (htmlpage.Fragment) and swaps it in; user.js
// adds "copy" buttons and keeps boosting to links that stay in the
// interface. Every read and write goes through the /api/v3 handler in
// process, with the visitor's own session cookie and CSRF header, so the
// API's permission checks, policy checks, validation and audit events apply
// unchanged: the UI has no second code path to the store for its data. The UI's own forms carry the CSRF
// cookie's value in a hidden field (double submit), checked before the API
// is called, behind Go's cross-origin protection.
//
// Destructive actions ask first: the action's link opens a confirmation
// page whose form does the POST.
package userui

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web/apicall"
	"github.com/gatehouse-idp/gatehouse/internal/web/htmlpage"
)

// Prefix is where the UI is mounted.
const Prefix = "/if/user/"

// Static asset paths.
const (
	StylePath  = "/static/dist/user/user.css"
	ScriptPath = "/static/dist/user/user.js"
	// HTMXPath is htmx, for both interfaces.
	HTMXPath = "/static/dist/user/htmx.min.js"
)

// HTMXVersion is the vendored htmx (static/htmx.min.js, static/README.md).
const HTMXVersion = "2.0.11"

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/user.css
var styleCSS []byte

//go:embed static/user.js
var scriptJS []byte

//go:embed static/htmx.min.js
var htmxJS []byte

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html"))

// csrfField is the hidden form field that repeats the CSRF cookie.
const csrfField = "csrf"

// UI serves the user interface.
type UI struct {
	// API is the /api/v3 handler (api.API.Handler: paths below the prefix).
	API http.Handler
	// Store reads what the API does not serve to users: flows by id (for
	// the brand's flow links).
	Store func() store.Store
	Log   *slog.Logger
}

// Mount adds the routes.
func (u *UI) Mount(r chi.Router) {
	guard := http.NewCrossOriginProtection()
	r.Get(StylePath, asset("text/css; charset=utf-8", styleCSS))
	r.Get(ScriptPath, asset("text/javascript; charset=utf-8", scriptJS))
	r.Get(HTMXPath, asset("text/javascript; charset=utf-8", htmxJS))
	r.Get("/if/user", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
	})
	r.Route("/if/user/", func(r chi.Router) {
		r.Use(htmlpage.Headers, guard.Handler, u.signedIn)
		r.Get("/", u.applications)
		r.Get("/settings/", u.account)
		r.Get("/settings/mfa/", u.devices)
		r.Post("/settings/mfa/{class}/{id}/rename/", u.renameDevice)
		r.Get("/settings/mfa/{class}/{id}/delete/", u.confirmDeleteDevice)
		r.Post("/settings/mfa/{class}/{id}/delete/", u.deleteDevice)
		r.Get("/settings/sessions/", u.sessions)
		r.Get("/settings/sessions/{uuid}/revoke/", u.confirmRevokeSession)
		r.Post("/settings/sessions/{uuid}/revoke/", u.revokeSession)
		r.Get("/settings/sessions/revoke-others/", u.confirmRevokeOthers)
		r.Post("/settings/sessions/revoke-others/", u.revokeOthers)
		r.Get("/settings/tokens/", u.tokens)
		r.Post("/settings/tokens/", u.createToken)
		r.Get("/settings/tokens/{identifier}/delete/", u.confirmDeleteToken)
		r.Post("/settings/tokens/{identifier}/delete/", u.deleteToken)
		r.Get("/settings/consents/", u.consents)
		r.Get("/settings/consents/{id}/revoke/", u.confirmRevokeConsent)
		r.Post("/settings/consents/{id}/revoke/", u.revokeConsent)
		r.Get("/notifications/", u.notifications)
		r.Post("/notifications/mark-all-seen/", u.markAllSeen)
		r.Post("/notifications/{uuid}/seen/", u.markSeen)
		r.Post("/impersonation/end/", u.endImpersonation)
	})
}

func asset(contentType string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(body)
	}
}

// ctxKey keys the request context values of this package.
type ctxKey int

const ctxVisitor ctxKey = iota

// visitor is the signed-in user and the page chrome that goes with them.
type visitor struct {
	Me    me
	Brand brand
	CSRF  string
	// Impersonator is the user impersonating Me in this session ("" when
	// nobody is); Unread counts Me's unseen notifications (notifications.go).
	Impersonator string
	Unread       int
}

type me struct {
	PK          int64  `json:"pk"`
	Username    string `json:"username"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	IsSuperuser bool   `json:"is_superuser"`
}

type brand struct {
	Title            string `json:"branding_title"`
	Logo             string `json:"branding_logo"`
	FlowUserSettings string `json:"flow_user_settings"`
}

func visitorOf(ctx context.Context) *visitor {
	v, _ := ctx.Value(ctxVisitor).(*visitor)
	return v
}

// signedIn asks the API who the visitor is; an anonymous visitor goes to
// the brand's authentication flow and comes back here. A POST must repeat
// the CSRF cookie in its form.
func (u *UI) signedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			User     me  `json:"user"`
			Original *me `json:"original"`
		}
		back := Prefix
		if strings.HasPrefix(r.URL.Path, Prefix) {
			back = r.URL.RequestURI()
		}
		ok, err := apicall.Me(u.API, w, r, back, &m)
		if !ok {
			if err != nil {
				u.fail(w, r, err)
			}
			return
		}
		v := &visitor{Me: m.User}
		if m.Original != nil {
			v.Impersonator = m.Original.Username
		}
		if err := u.do(r, http.MethodGet, "/core/brands/current/", nil, &v.Brand); err != nil {
			u.fail(w, r, err)
			return
		}
		if v.Unread, err = u.unread(r); err != nil {
			u.fail(w, r, err)
			return
		}
		if v.Brand.Title == "" {
			v.Brand.Title = "Gatehouse"
		}
		v.CSRF = apicall.CSRFToken(w, r)
		if r.Method == http.MethodPost {
			ok, refused := apicall.CheckForm(w, r, csrfField)
			if !ok && !refused {
				return
			}
			if refused {
				w.WriteHeader(http.StatusForbidden)
				u.render(w, r, "message", page{Title: "Request refused", V: v, Data: message{
					Heading: "Request refused", Text: "The form was not sent from this page (CSRF check failed). Go back, reload the page and try again."}})
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxVisitor, v)))
	})
}

// apiError is an API answer that is not a success (apicall.Error).
type apiError = apicall.Error

// do calls the API, decoding a 2xx JSON answer into out (apicall.Do).
func (u *UI) do(r *http.Request, method, path string, body, out any) error {
	return apicall.Do(u.API, r, method, path, body, out)
}

// listLimit bounds what a page lists of one API list.
const listLimit = 10000

// list reads every page of an API list (at most listLimit objects).
func list[T any](u *UI, r *http.Request, path string, q url.Values) ([]T, error) {
	return apicall.List[T](u.API, r, path, q, listLimit)
}

// fail answers an unexpected error with an error page (and logs it).
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		w.WriteHeader(http.StatusNotFound)
		u.render(w, r, "message", page{Title: "Not found", Data: message{Heading: "Not found",
			Text: "This item does not exist or is not yours.", Back: Prefix + "settings/"}})
		return
	}
	if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
		w.WriteHeader(http.StatusForbidden)
		u.render(w, r, "message", page{Title: "Not allowed", Data: message{Heading: "Not allowed",
			Text: "You may not do this.", Back: Prefix}})
		return
	}
	if u.Log != nil {
		u.Log.Error("user interface", "path", r.URL.Path, "error", err)
	}
	w.WriteHeader(http.StatusInternalServerError)
	u.render(w, r, "message", page{Title: "Something went wrong", Data: message{Heading: "Something went wrong",
		Text: "Please try again. If the problem persists, tell your administrator.", Back: Prefix}})
}

// page is what every template gets.
type page struct {
	Title   string
	Section string // nav entry: apps, account, mfa, sessions, tokens, consents
	V       *visitor
	Notice  string
	Data    any
	// Fragment renders only the <title> and the inside of #page, for an
	// htmx navigation (htmlpage.Fragment).
	Fragment bool
}

// message is the data of the "message" page.
type message struct {
	Heading, Text, Back string
}

// render writes a page through htmlpage.Write (the strict CSP, no-store):
// the whole document, or for an htmx navigation only the <title> and what
// is inside the layout's #page element (the "head" and "foot" templates
// leave out the rest), which htmx swaps into #page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	p.Fragment = htmlpage.Fragment(r)
	if p.V == nil {
		p.V = visitorOf(r.Context())
	}
	if p.V == nil { // before the visitor is known: the chrome without them
		p.V = &visitor{Brand: brand{Title: "Gatehouse"}}
	}
	t := pages.Lookup(name)
	if t == nil {
		panic("userui: no template " + name)
	}
	htmlpage.Write(w, u.Log, t, p)
}
