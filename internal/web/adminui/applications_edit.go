package adminui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Applications: the wizard that creates an application and its provider in
// one go, the edit form (with the icon, uploaded or a URL, through the
// API's media operations), and delete. The wizard creates the provider
// first and the application with it; when the application is refused, it
// deletes the provider again, so a failed wizard leaves nothing behind.

func init() {
	for k, v := range map[string]string{"app-created": "The application was created.", "app-saved": "The application was saved.",
		"app-deleted": "The application was deleted.", "icon-saved": "The icon was saved."} {
		notices[k] = v
	}
}

// appDetail is the API's Application with its icon.
type appDetail struct {
	application
	MetaIcon string `json:"meta_icon"`
}

// loadApp reads the {slug} application.
func (u *UI) loadApp(w http.ResponseWriter, r *http.Request) (*appDetail, bool) {
	slug := chi.URLParam(r, "slug")
	if slug == "" || len(slug) > 50 {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, false
	}
	var app appDetail
	if err := u.do(r, http.MethodGet, "/core/applications/"+url.PathEscape(slug)+"/", nil, &app); err != nil {
		u.fail(w, r, err)
		return nil, false
	}
	return &app, true
}

// appForm is the application's fields and errors.
type appForm struct {
	Name, Slug, Group, LaunchURL, Description, Publisher, Mode string
	NewTab                                                     bool
	Modes                                                      []string
	Errors                                                     map[string][]string
}

func readAppForm(r *http.Request) appForm {
	pf := r.PostForm
	return appForm{Name: strings.TrimSpace(pf.Get("name")), Slug: strings.TrimSpace(pf.Get("slug")), Group: pf.Get("group"),
		LaunchURL: strings.TrimSpace(pf.Get("meta_launch_url")), Description: pf.Get("meta_description"),
		Publisher: pf.Get("meta_publisher"), Mode: pf.Get("policy_engine_mode"), NewTab: pf.Get("open_in_new_tab") == "on"}
}

func (f appForm) body() map[string]any {
	return map[string]any{"name": f.Name, "slug": f.Slug, "group": f.Group, "meta_launch_url": f.LaunchURL,
		"meta_description": f.Description, "meta_publisher": f.Publisher, "policy_engine_mode": f.Mode, "open_in_new_tab": f.NewTab}
}

// wizard is the new application page: the application, and a provider of
// a type (oauth2, or none for a bookmark).
type wizard struct {
	App      appForm
	Type     string
	Provider oauth2Form
}

func (u *UI) renderWizard(w http.ResponseWriter, r *http.Request, d wizard) {
	d.App.Modes = engineModes
	if err := u.fillOAuth2Choices(r, &d.Provider); err != nil {
		u.fail(w, r, err)
		return
	}
	if len(d.App.Errors) > 0 || len(d.Provider.Errors) > 0 {
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "app-wizard", page{Title: "New application", Section: "applications", Data: d})
}

func (u *UI) newApp(w http.ResponseWriter, r *http.Request) {
	u.renderWizard(w, r, wizard{App: appForm{Mode: "any"}, Type: "oauth2", Provider: newOAuth2Form()})
}

// createApp runs the wizard: the provider, then the application with it.
func (u *UI) createApp(w http.ResponseWriter, r *http.Request) {
	d := wizard{App: readAppForm(r), Type: r.PostForm.Get("provider_type"), Provider: readOAuth2Form(r)}
	body := d.App.body()
	var prov oauth2Detail
	if d.Type == "oauth2" {
		if d.Provider.Name == "" {
			d.Provider.Name = "Provider for " + d.App.Name
		}
		err := u.do(r, http.MethodPost, "/providers/oauth2/", d.Provider.body(false), &prov)
		if !u.submitted(w, r, err, func(errs map[string][]string) {
			d.Provider.Errors = providerErrors(errs)
			u.renderWizard(w, r, d)
		}) {
			return
		}
		body["provider"] = prov.PK
	} else {
		d.Type = "none"
	}
	var created appDetail
	err := u.do(r, http.MethodPost, "/core/applications/", body, &created)
	if err != nil && prov.PK != 0 {
		if derr := u.do(r, http.MethodDelete, fmt.Sprintf("/providers/oauth2/%d/", prov.PK), nil, nil); derr != nil && u.Log != nil {
			u.Log.Warn("deleting the provider of a refused application", "provider", prov.PK, "error", derr)
		}
	}
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		d.App.Errors = errs
		u.renderWizard(w, r, d)
	}) {
		return
	}
	back(w, r, Prefix+"applications/"+url.PathEscape(created.Slug)+"/", "app-created")
}

type appEditData struct {
	App  *appDetail
	Form appForm
	// IconErrors are the icon form's.
	IconErrors map[string][]string
	IconURL    string
}

// Icon is the icon's address if it is one an img may load.
func (d appEditData) Icon() string {
	i := d.App.MetaIcon
	if strings.HasPrefix(i, "/media/") || strings.HasPrefix(i, "https://") || strings.HasPrefix(i, "http://") {
		return i
	}
	return ""
}

func (u *UI) renderAppEdit(w http.ResponseWriter, r *http.Request, d appEditData) {
	d.Form.Modes = engineModes
	if len(d.Form.Errors) > 0 || len(d.IconErrors) > 0 {
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "app-edit", page{Title: "Edit " + d.App.Name, Section: "applications", Notice: noticeOf(r), Data: d})
}

func (u *UI) editApp(w http.ResponseWriter, r *http.Request) {
	app, ok := u.loadApp(w, r)
	if !ok {
		return
	}
	u.renderAppEdit(w, r, appEditData{App: app, Form: appForm{Name: app.Name, Slug: app.Slug, Group: app.Group,
		LaunchURL: app.MetaLaunchURL, Description: app.MetaDescription, Publisher: app.MetaPublisher,
		Mode: app.PolicyEngineMode, NewTab: app.OpenInNewTab}})
}

func (u *UI) saveApp(w http.ResponseWriter, r *http.Request) {
	app, ok := u.loadApp(w, r)
	if !ok {
		return
	}
	f := readAppForm(r)
	var saved appDetail
	err := u.do(r, http.MethodPatch, "/core/applications/"+url.PathEscape(app.Slug)+"/", f.body(), &saved)
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		f.Errors = errs
		u.renderAppEdit(w, r, appEditData{App: app, Form: f})
	}) {
		return
	}
	back(w, r, Prefix+"applications/"+url.PathEscape(saved.Slug)+"/", "app-saved")
}

// setIcon uploads an icon (multipart field file), sets a URL (icon_url),
// or clears it (clear), through the API's set_icon and set_icon_url.
func (u *UI) setIcon(w http.ResponseWriter, r *http.Request) {
	app, ok := u.loadApp(w, r)
	if !ok {
		return
	}
	base := "/core/applications/" + url.PathEscape(app.Slug) + "/"
	var err error
	iconURL := strings.TrimSpace(r.PostForm.Get("icon_url"))
	hasFile := r.MultipartForm != nil && len(r.MultipartForm.File["file"]) > 0
	switch {
	case r.PostForm.Get("clear") == "on" || hasFile:
		var status int
		var body []byte
		status, body, err = u.forwardUpload(r, base+"set_icon/", r.PostForm.Get("clear") == "on")
		if err == nil {
			err = decodeError(status, body)
		}
	case iconURL != "":
		err = u.do(r, http.MethodPost, base+"set_icon_url/", map[string]any{"url": iconURL}, nil)
	default:
		err = &apiError{Status: http.StatusBadRequest, Fields: map[string][]string{"file": {"Choose a file, enter a URL, or tick Remove."}}}
	}
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		u.renderAppEdit(w, r, appEditData{App: app, Form: appForm{Name: app.Name, Slug: app.Slug, Group: app.Group,
			LaunchURL: app.MetaLaunchURL, Description: app.MetaDescription, Publisher: app.MetaPublisher,
			Mode: app.PolicyEngineMode, NewTab: app.OpenInNewTab}, IconErrors: errs, IconURL: iconURL})
	}) {
		return
	}
	back(w, r, Prefix+"applications/"+url.PathEscape(app.Slug)+"/edit/", "icon-saved")
}

func (u *UI) confirmDeleteApp(w http.ResponseWriter, r *http.Request) {
	app, ok := u.loadApp(w, r)
	if !ok {
		return
	}
	text := "Its policy bindings are deleted with it. This cannot be undone."
	if app.ProviderObj != nil {
		text = "Its policy bindings are deleted with it; its provider “" + app.ProviderObj.Name + "” is kept (delete it on its own page). This cannot be undone."
	}
	u.render(w, r, "confirm", page{Title: "Delete application", Section: "applications", Data: confirmation{
		Heading: "Delete the application “" + app.Name + "”?", Text: text,
		Action: r.URL.Path, Button: "Delete application", Back: Prefix + "applications/" + url.PathEscape(app.Slug) + "/"}})
}

func (u *UI) deleteApp(w http.ResponseWriter, r *http.Request) {
	app, ok := u.loadApp(w, r)
	if !ok {
		return
	}
	if err := u.do(r, http.MethodDelete, "/core/applications/"+url.PathEscape(app.Slug)+"/", nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"applications/", "app-deleted")
}
