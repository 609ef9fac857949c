package adminui

import (
	"net/http"
	"net/url"
)

// Brands: what a Host is served (title, logo, favicon, the default flows
// and the HTTPS certificate).

type brandObj struct {
	PK             string  `json:"brand_uuid"`
	Domain         string  `json:"domain"`
	Default        bool    `json:"default"`
	Title          string  `json:"branding_title"`
	Logo           string  `json:"branding_logo"`
	Favicon        string  `json:"branding_favicon"`
	WebCertificate *string `json:"web_certificate"`
	// The flows, by their API field.
	FlowAuthentication *string `json:"flow_authentication"`
	FlowInvalidation   *string `json:"flow_invalidation"`
	FlowRecovery       *string `json:"flow_recovery"`
	FlowUnenrollment   *string `json:"flow_unenrollment"`
	FlowUserSettings   *string `json:"flow_user_settings"`
	FlowDeviceCode     *string `json:"flow_device_code"`
}

type brandsData struct {
	Query  string
	Brands []brandObj
	Pager  pager
}

func (u *UI) brands(w http.ResponseWriter, r *http.Request) {
	d := brandsData{Query: query(r, "q")}
	q := url.Values{"ordering": {"domain"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	var err error
	if d.Brands, d.Pager, err = listPage[brandObj](u, r, "/core/brands/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "brands", page{Title: "Brands", Section: "brands", Notice: noticeOf(r), Data: d})
}

// brandFlows are the brand's flow fields: API field, label, designation.
var brandFlows = []struct{ Field, Label, Designation string }{
	{"flow_authentication", "Authentication flow", "authentication"},
	{"flow_invalidation", "Invalidation (sign-out) flow", "invalidation"},
	{"flow_recovery", "Recovery flow", "recovery"},
	{"flow_unenrollment", "Unenrollment flow", "unenrollment"},
	{"flow_user_settings", "User settings flow", "stage_configuration"},
	{"flow_device_code", "Device code flow", "stage_configuration"},
}

// flowOf is the brand's flow of an API field.
func (b *brandObj) flowOf(fieldName string) *string {
	return map[string]*string{"flow_authentication": b.FlowAuthentication, "flow_invalidation": b.FlowInvalidation,
		"flow_recovery": b.FlowRecovery, "flow_unenrollment": b.FlowUnenrollment, "flow_user_settings": b.FlowUserSettings,
		"flow_device_code": b.FlowDeviceCode}[fieldName]
}

// CertPK is the brand's web certificate, "" for the self-signed one.
func (b brandObj) CertPK() string { return deref(b.WebCertificate) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// brandForm is the create or edit form of b (nil: a new brand).
func (u *UI) brandForm(r *http.Request, b *brandObj) (*form, error) {
	f := &form{ID: "brand-form", Crumbs: []crumb{{Prefix + "system/brands/", "Brands"}}, Action: Prefix + "system/brands/new/",
		Submit: "Create brand", Cancel: Prefix + "system/brands/"}
	if b == nil {
		b = &brandObj{Title: "Gatehouse"}
	} else {
		f.Action, f.Submit = Prefix+"system/brands/"+url.PathEscape(b.PK)+"/edit/", "Save"
	}
	f.Fields = []field{
		{Name: "domain", Label: "Domain", Value: b.Domain, Required: true, Max: 253,
			Help: "The Host this brand serves, e.g. sso.example.com; subdomains match too."},
		{Name: "default", Label: "Default brand (for Hosts no brand matches)", Kind: "checkbox", Value: onIf(b.Default)},
		{Name: "branding_title", Label: "Title", Value: b.Title, Max: 200},
		{Name: "branding_logo", Label: "Logo URL", Kind: "url", Value: b.Logo, Max: 2000, Help: "An https:// URL or a path on this server, e.g. /media/..."},
		{Name: "branding_favicon", Label: "Favicon URL", Kind: "url", Value: b.Favicon, Max: 2000},
	}
	byDesignation := map[string][]option{}
	for _, bf := range brandFlows {
		if _, ok := byDesignation[bf.Designation]; ok {
			continue
		}
		flows, err := u.flowsOf(r, bf.Designation)
		if err != nil && !forbidden(err) {
			return nil, err
		}
		opts := []option{{Value: "", Label: "None"}}
		for _, fl := range flows {
			opts = append(opts, option{Value: fl.PK, Label: fl.Name + " (" + fl.Slug + ")"})
		}
		byDesignation[bf.Designation] = opts
	}
	for _, bf := range brandFlows {
		f.Fields = append(f.Fields, field{Name: bf.Field, Label: bf.Label, Kind: "select", Value: deref(b.flowOf(bf.Field)),
			Options: byDesignation[bf.Designation]})
	}
	certs, err := listAll[certificate](u, r, "/crypto/certificatekeypairs/", url.Values{"has_key": {"true"}, "ordering": {"name"}}, 1000)
	if err != nil && !forbidden(err) {
		return nil, err
	}
	opts := []option{{Value: "", Label: "The self-signed certificate"}}
	for _, c := range certs {
		opts = append(opts, option{Value: c.PK, Label: c.Name})
	}
	f.Fields = append(f.Fields, field{Name: "web_certificate", Label: "HTTPS certificate", Kind: "select",
		Value: deref(b.WebCertificate), Options: opts, Help: "Served to TLS clients that ask for this domain (SNI)."})
	return f, nil
}

func onIf(b bool) string {
	if b {
		return "on"
	}
	return ""
}

// brandBody is the API body of the form: an empty choice clears the flow
// or certificate (the nil UUID).
func brandBody(f *form) map[string]any {
	body := map[string]any{"domain": f.get("domain"), "default": f.on("default"), "branding_title": f.get("branding_title"),
		"branding_logo": f.get("branding_logo"), "branding_favicon": f.get("branding_favicon")}
	const none = "00000000-0000-0000-0000-000000000000"
	for _, name := range []string{"web_certificate", "flow_authentication", "flow_invalidation", "flow_recovery",
		"flow_unenrollment", "flow_user_settings", "flow_device_code"} {
		if v := f.get(name); v != "" {
			body[name] = v
		} else {
			body[name] = none
		}
	}
	return body
}

func (u *UI) newBrand(w http.ResponseWriter, r *http.Request) {
	f, err := u.brandForm(r, nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "form", page{Title: "New brand", Section: "brands", Data: f})
}

func (u *UI) createBrand(w http.ResponseWriter, r *http.Request) {
	f, err := u.brandForm(r, nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	f.read(r)
	err = u.do(r, http.MethodPost, "/core/brands/", brandBody(f), nil)
	if u.written(w, r, page{Title: "New brand", Section: "brands"}, f, err, nil) {
		back(w, r, Prefix+"system/brands/", "brand-created")
	}
}

func (u *UI) loadBrand(w http.ResponseWriter, r *http.Request) (*brandObj, bool) {
	return loadByID[brandObj](u, w, r, "/core/brands/")
}

func (u *UI) editBrand(w http.ResponseWriter, r *http.Request) {
	b, ok := u.loadBrand(w, r)
	if !ok {
		return
	}
	f, err := u.brandForm(r, b)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "form", page{Title: "Edit brand " + b.Domain, Section: "brands", Data: f})
}

func (u *UI) saveBrand(w http.ResponseWriter, r *http.Request) {
	b, ok := u.loadBrand(w, r)
	if !ok {
		return
	}
	f, err := u.brandForm(r, b)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	f.read(r)
	err = u.do(r, http.MethodPatch, "/core/brands/"+b.PK+"/", brandBody(f), nil)
	if u.written(w, r, page{Title: "Edit brand " + b.Domain, Section: "brands"}, f, err, nil) {
		back(w, r, Prefix+"system/brands/", "brand-saved")
	}
}

func (u *UI) confirmDeleteBrand(w http.ResponseWriter, r *http.Request) {
	b, ok := u.loadBrand(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete brand", Section: "brands", Data: confirmation{
		Heading: "Delete the brand “" + b.Domain + "”?",
		Text:    "Its Host is then served by the default brand (its title, logo, flows and certificate).",
		Action:  r.URL.Path, Button: "Delete brand", Back: Prefix + "system/brands/"}})
}

func (u *UI) deleteBrand(w http.ResponseWriter, r *http.Request) {
	u.deleteByID(w, r, "/core/brands/", Prefix+"system/brands/", "brand-deleted")
}
