// Package adminui is the admin interface at /if/admin/: a dashboard, the
// directory (users, groups), applications, flows, events and system pages
// (tasks and schedules, certificates).
//
// It is built as the user interface (internal/web/userui) is: pages are
// rendered on the server with html/template, work without JavaScript (with
// it, htmx navigates between them by swapping in only the part that
// changes, see render), and read and write only through the /api/v3
// handler in process with the visitor's own session cookie and CSRF
// header, so the API's permission checks, validation and audit events
// apply unchanged. It links userui's stylesheet (the colour tokens, light
// and dark themes, buttons, fields, cards), its script and htmx, and adds
// its own sheet for the admin layout.
//
// Only superusers and users holding at least one system permission get in;
// everyone else signed in gets a 403 page before any data is read, and what
// a permitted non-superuser may see is then decided by the API per page.
// Forms repeat the CSRF cookie (double submit) behind Go's cross-origin
// protection; destructive actions ask first on a page of their own.
package adminui

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/web/apicall"
	"github.com/gatehouse-idp/gatehouse/internal/web/htmlpage"
	"github.com/gatehouse-idp/gatehouse/internal/web/userui"
)

// Prefix is where the UI is mounted.
const Prefix = "/if/admin/"

// StylePath is the admin stylesheet (on top of userui's).
const StylePath = "/static/dist/admin/admin.css"

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/admin.css
var styleCSS []byte

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(templateFiles, "templates/*.html"))

// csrfField is the hidden form field that repeats the CSRF cookie.
const csrfField = "csrf"

// UI serves the admin interface.
type UI struct {
	// API is the /api/v3 handler (api.API.Handler: paths below the prefix).
	API http.Handler
	// Version is the running version, shown on the dashboard.
	Version string
	Log     *slog.Logger
	// Now is the clock of the dashboard's chart (time.Now when nil).
	Now func() time.Time
}

func (u *UI) now() time.Time {
	if u.Now != nil {
		return u.Now()
	}
	return time.Now()
}

// Mount adds the routes.
func (u *UI) Mount(r chi.Router) {
	guard := http.NewCrossOriginProtection()
	r.Get(StylePath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(styleCSS)
	})
	r.Get("/if/admin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
	})
	r.Route(Prefix, func(r chi.Router) {
		r.Use(htmlpage.Headers, guard.Handler, u.admin)
		r.Get("/", u.dashboard)
		r.Get("/users/", u.users)
		r.Get("/users/new/", u.newUser)
		r.Post("/users/new/", u.createUser)
		r.Get("/users/{pk}/", u.user)
		r.Get("/users/{pk}/edit/", u.editUser)
		r.Post("/users/{pk}/edit/", u.saveUser)
		r.Get("/users/{pk}/password/", u.passwordForm)
		r.Post("/users/{pk}/password/", u.setPassword)
		r.Get("/users/{pk}/delete/", u.confirmDeleteUser)
		r.Post("/users/{pk}/delete/", u.deleteUser)
		r.Get("/groups/", u.groups)
		r.Get("/groups/new/", u.newGroup)
		r.Post("/groups/new/", u.createGroup)
		r.Get("/groups/{id}/", u.group)
		r.Post("/groups/{id}/members/", u.addMember)
		r.Get("/groups/{id}/members/{pk}/remove/", u.confirmRemoveMember)
		r.Post("/groups/{id}/members/{pk}/remove/", u.removeMember)
		r.Get("/groups/{id}/delete/", u.confirmDeleteGroup)
		r.Post("/groups/{id}/delete/", u.deleteGroup)
		r.Get("/applications/", u.applications)
		r.Get("/applications/{slug}/", u.application)
		r.Get("/flows/", u.flows)
		u.mountA(r) // applications, providers, flows, stages, policies (routes_a.go)
		r.Get("/events/", u.events)
		r.Get("/events/{id}/", u.event)
		r.Get("/system/tasks/", u.tasks)
		r.Post("/system/schedules/{id}/run/", u.runSchedule)
		r.Get("/system/certificates/", u.certificates)
		// Part B: directory (roles, tokens, invitations, the user page's
		// actions) and system pages (brands, settings, certificates,
		// workers, notification rules and transports).
		r.Get("/roles/", u.roles)
		r.Get("/roles/new/", u.newRole)
		r.Post("/roles/new/", u.createRole)
		r.Get("/roles/{id}/", u.role)
		r.Get("/roles/{id}/edit/", u.editRole)
		r.Post("/roles/{id}/edit/", u.saveRole)
		r.Get("/roles/{id}/delete/", u.confirmDeleteRole)
		r.Post("/roles/{id}/delete/", u.deleteRole)
		r.Post("/roles/{id}/permissions/", u.assignPermissions)
		r.Get("/roles/{id}/permissions/remove/", u.confirmUnassign)
		r.Post("/roles/{id}/permissions/remove/", u.unassignPermission)
		r.Post("/roles/{id}/groups/", u.addRoleToGroup)
		r.Get("/roles/{id}/groups/{gid}/remove/", u.confirmRemoveRoleGroup)
		r.Post("/roles/{id}/groups/{gid}/remove/", u.removeRoleGroup)
		r.Post("/roles/{id}/users/", u.addRoleToUser)
		r.Get("/users/{pk}/permissions/", u.userPermissions)
		r.Get("/users/{pk}/roles/{id}/remove/", u.confirmRemoveUserRole)
		r.Post("/users/{pk}/roles/{id}/remove/", u.removeUserRole)
		r.Post("/users/{pk}/activate/", u.activateUser)
		r.Get("/users/{pk}/deactivate/", u.confirmDeactivateUser)
		r.Post("/users/{pk}/deactivate/", u.deactivateUser)
		r.Get("/users/{pk}/impersonate/", u.impersonateUser)
		r.Post("/users/{pk}/impersonate/", u.startImpersonation)
		r.Get("/users/{pk}/sessions/{uuid}/revoke/", u.confirmRevokeUserSession)
		r.Post("/users/{pk}/sessions/{uuid}/revoke/", u.revokeUserSession)
		r.Get("/users/{pk}/devices/{class}/{id}/delete/", u.confirmDeleteUserDevice)
		r.Post("/users/{pk}/devices/{class}/{id}/delete/", u.deleteUserDevice)
		r.Get("/users/service-account/", u.newServiceAccount)
		r.Post("/users/service-account/", u.createServiceAccount)
		r.Get("/tokens/", u.tokens)
		r.Get("/tokens/new/", u.newToken)
		r.Post("/tokens/new/", u.createToken)
		r.Get("/tokens/{identifier}/delete/", u.confirmDeleteToken)
		r.Post("/tokens/{identifier}/delete/", u.deleteToken)
		r.Get("/invitations/", u.invitations)
		r.Get("/invitations/new/", u.newInvitation)
		r.Post("/invitations/new/", u.createInvitation)
		r.Get("/invitations/{id}/", u.invitation)
		r.Get("/invitations/{id}/delete/", u.confirmDeleteInvitation)
		r.Post("/invitations/{id}/delete/", u.deleteInvitation)
		r.Get("/system/brands/", u.brands)
		r.Get("/system/brands/new/", u.newBrand)
		r.Post("/system/brands/new/", u.createBrand)
		r.Get("/system/brands/{id}/edit/", u.editBrand)
		r.Post("/system/brands/{id}/edit/", u.saveBrand)
		r.Get("/system/brands/{id}/delete/", u.confirmDeleteBrand)
		r.Post("/system/brands/{id}/delete/", u.deleteBrand)
		r.Get("/system/settings/", u.settingsPage)
		r.Post("/system/settings/", u.saveSettings)
		r.Get("/system/workers/", u.workers)
		r.Get("/system/certificates/generate/", u.newCertificate)
		r.Post("/system/certificates/generate/", u.generateCertificate)
		r.Get("/system/certificates/import/", u.newImport)
		r.Post("/system/certificates/import/", u.importCertificate)
		r.Get("/system/certificates/{id}/", u.certificateDetail)
		r.Get("/system/certificates/{id}/certificate.pem", u.downloadPEM("view_certificate", ".pem"))
		r.Get("/system/certificates/{id}/private-key.pem", u.downloadPEM("view_private_key", "-key.pem"))
		r.Get("/system/certificates/{id}/delete/", u.confirmDeleteCertificate)
		r.Post("/system/certificates/{id}/delete/", u.deleteCertificate)
		r.Get("/events/rules/", u.rules)
		r.Get("/events/rules/new/", u.newRule)
		r.Post("/events/rules/new/", u.createRule)
		r.Get("/events/rules/{id}/edit/", u.editRule)
		r.Post("/events/rules/{id}/edit/", u.saveRule)
		r.Get("/events/rules/{id}/delete/", u.confirmDeleteRule)
		r.Post("/events/rules/{id}/delete/", u.deleteRule)
		r.Get("/events/transports/", u.transports)
		r.Get("/events/transports/new/", u.newTransport)
		r.Post("/events/transports/new/", u.createTransport)
		r.Get("/events/transports/{id}/edit/", u.editTransport)
		r.Post("/events/transports/{id}/edit/", u.saveTransport)
		r.Post("/events/transports/{id}/test/", u.testTransport)
		r.Get("/events/transports/{id}/delete/", u.confirmDeleteTransport)
		r.Post("/events/transports/{id}/delete/", u.deleteTransport)
	})
}

// ctxKey keys the request context values of this package.
type ctxKey int

const ctxVisitor ctxKey = iota

// visitor is the signed-in administrator and the page chrome.
type visitor struct {
	Me    me
	Brand brand
	CSRF  string
}

type me struct {
	PK                int64    `json:"pk"`
	Username          string   `json:"username"`
	Name              string   `json:"name"`
	IsSuperuser       bool     `json:"is_superuser"`
	SystemPermissions []string `json:"system_permissions"`
}

type brand struct {
	Title string `json:"branding_title"`
	Logo  string `json:"branding_logo"`
}

func visitorOf(ctx context.Context) *visitor {
	v, _ := ctx.Value(ctxVisitor).(*visitor)
	return v
}

// admin asks the API who the visitor is: an anonymous visitor goes to the
// brand's authentication flow and comes back; a user who is neither a
// superuser nor holds a system permission gets a 403 page. A POST must
// repeat the CSRF cookie in its form.
func (u *UI) admin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			User me `json:"user"`
		}
		if ok, err := apicall.Me(u.API, w, r, r.URL.RequestURI(), &m); !ok {
			if err != nil {
				u.fail(w, r, err)
			}
			return
		}
		v := &visitor{Me: m.User}
		if err := u.do(r, http.MethodGet, "/core/brands/current/", nil, &v.Brand); err != nil {
			u.fail(w, r, err)
			return
		}
		if v.Brand.Title == "" {
			v.Brand.Title = "Gatehouse"
		}
		if !v.Me.IsSuperuser && len(v.Me.SystemPermissions) == 0 {
			w.WriteHeader(http.StatusForbidden)
			u.render(w, r, "message", page{Title: "Not allowed", V: v, Data: message{Heading: "Not allowed",
				Text: "The admin interface is for administrators. Ask one if you need access.", Back: userui.Prefix}})
			return
		}
		v.CSRF = apicall.CSRFToken(w, r)
		if r.Method == http.MethodPost {
			ok, refused := apicall.CheckForm(w, r, csrfField)
			if !ok && !refused {
				return
			}
			if refused {
				w.WriteHeader(http.StatusForbidden)
				u.render(w, r, "message", page{Title: "Request refused", V: v, Data: message{Heading: "Request refused",
					Text: "The form was not sent from this page (CSRF check failed). Go back, reload the page and try again.", Back: Prefix}})
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

// fail answers an unexpected error with an error page (and logs it).
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		w.WriteHeader(http.StatusNotFound)
		u.render(w, r, "message", page{Title: "Not found", Data: message{Heading: "Not found",
			Text: "This item does not exist.", Back: Prefix}})
		return
	}
	if errors.As(err, &ae) && ae.Status == http.StatusForbidden {
		w.WriteHeader(http.StatusForbidden)
		u.render(w, r, "message", page{Title: "Not allowed", Data: message{Heading: "Not allowed",
			Text: "You may not see or do this. Ask an administrator for the permission.", Back: Prefix}})
		return
	}
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "message", page{Title: "Not accepted", Data: message{Heading: "Not accepted",
			Text: ae.Error(), Back: Prefix}})
		return
	}
	if u.Log != nil {
		u.Log.Error("admin interface", "path", r.URL.Path, "error", err)
	}
	w.WriteHeader(http.StatusInternalServerError)
	u.render(w, r, "message", page{Title: "Something went wrong", Data: message{Heading: "Something went wrong",
		Text: "Please try again. The server log has the details.", Back: Prefix}})
}

// page is what every template gets.
type page struct {
	Title   string
	Section string // sidebar entry: dashboard, users, groups, applications, flows, events, tasks, certificates
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

// confirmation is the data of the "confirm" page.
type confirmation struct {
	Heading, Text, Action, Button, Back string
}

// render writes a page with the strict CSP of the user interface: the
// whole document, or for an htmx navigation (a boosted link or form) only
// the <title> and what is inside the layout's #page element, the sidebar
// (whose aria-current moves) and <main>; the layout's "head" and "end"
// templates leave out the rest, and htmx swaps it into #page. Every page
// goes through here, so every page has both forms.
func (u *UI) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	p.Fragment = htmlpage.Fragment(r)
	if p.V == nil {
		p.V = visitorOf(r.Context())
	}
	if p.V == nil {
		p.V = &visitor{Brand: brand{Title: "Gatehouse"}}
	}
	t := pages.Lookup(name)
	if t == nil {
		panic("adminui: no template " + name)
	}
	htmlpage.Write(w, u.Log, t, p)
}

// formErrors are a 400's messages by field; a detail goes to
// non_field_errors.
func formErrors(err error) (map[string][]string, bool) {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest && ae.Status != http.StatusUnprocessableEntity {
		return nil, false
	}
	f := map[string][]string{}
	for k, v := range ae.Fields {
		f[k] = v
	}
	if ae.Detail != "" {
		f["non_field_errors"] = append(f["non_field_errors"], ae.Detail)
	}
	return f, true
}
