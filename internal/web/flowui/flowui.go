// Package flowui renders flows as HTML (/if/flow/<slug>/): the same engine
// and challenges as the JSON executor API, as server-rendered forms that work
// without JavaScript, branded per brand. It also serves authentik's
// /flows/-/default/{authentication,invalidation}/ and /flows/-/cancel/.
package flowui

import (
	"embed"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/stage/identification"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

//go:embed templates/*.html
var files embed.FS

// webauthnJS is the one script of the flow UI: the WebAuthn ceremonies
// (pages of the WebAuthn setup and validate stages, and the passkey button
// of the identification stage). Pages without it allow no script at all.
//
//go:embed static/webauthn.js
var webauthnJS []byte

// ScriptPath is where webauthnJS is served.
const ScriptPath = "/static/dist/flow/webauthn.js"

var pages = template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html"))

// UI serves the flow pages.
type UI struct {
	Executor *flow.Executor
	Store    func() store.Store
	Sessions func() *session.Manager
	Log      *slog.Logger
	// Home, when set, is where "/" sends a signed-in visitor (the user
	// interface); else "/" says who is signed in.
	Home string
}

// Mount adds the routes.
func (u *UI) Mount(r chi.Router) {
	guard := http.NewCrossOriginProtection()
	r.Handle("/if/flow/{slug}/", guard.Handler(http.HandlerFunc(u.flow)))
	r.Get("/flows/-/default/authentication/", u.defaultFlow(store.DesignationAuthentication))
	r.Get("/flows/-/default/invalidation/", u.defaultFlow(store.DesignationInvalidation))
	r.Get("/flows/-/cancel/", u.cancel)
	r.Get(ScriptPath, serveScript)
	r.Get("/", u.home)
}

func serveScript(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(webauthnJS)
}

// view is the data of a page.
type view struct {
	Title, Brand, FlowTitle, Action, Component, UIDLabel, UID, Username string
	C                                                                   any
	Err                                                                 map[string][]flow.ErrorDetail
	// Refresh is an absolute http(s) URL the page moves on to (a redirect
	// to another origin at the end of a flow).
	Refresh string
	// FormOrigin is another origin the page's form posts to (the
	// autosubmit stage posting to an application).
	FormOrigin string
	// Script includes the WebAuthn script (and allows script-src 'self').
	Script bool
	// Captcha are the CSP sources of a captcha provider's script and
	// widget (captcha.go).
	Captcha []string
}

func (u *UI) brand(r *http.Request) *store.Brand {
	brands, err := u.Store().ListBrands(r.Context())
	if err != nil {
		return nil
	}
	return core.MatchBrand(brands, r.Host)
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, name string, v view) {
	v.Brand = "Gatehouse"
	if b := u.brand(r); b != nil && b.BrandingTitle != "" {
		v.Brand = b.BrandingTitle
	}
	if v.Title == "" {
		v.Title = v.Brand
	}
	body := pages.Lookup(name)
	if body == nil {
		body = pages.Lookup("unsupported")
	}
	t, err := pages.Clone()
	if err == nil {
		_, err = t.AddParseTree("body", body.Tree)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	formAction := "'self'"
	if v.FormOrigin != "" {
		formAction += " " + v.FormOrigin
	}
	scripts := ""
	if v.Script {
		scripts = "script-src 'self'; "
	}
	if len(v.Captcha) > 0 {
		src := strings.Join(v.Captcha, " ")
		own := ""
		if v.Script {
			own = "'self' "
		}
		scripts = "script-src " + own + src + "; frame-src " + src + "; connect-src " + src + "; "
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; "+scripts+"style-src 'unsafe-inline'; img-src 'self' data:; form-action "+
		formAction+"; frame-ancestors 'self'; base-uri 'none'")
	if err == nil {
		err = t.ExecuteTemplate(w, "page", v)
	}
	if err != nil && u.Log != nil {
		u.Log.Error("rendering a flow page", "error", err)
	}
}

// flow runs the executor for the page.
func (u *UI) flow(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	var resp flow.Response
	if r.Method == http.MethodPost {
		if err := parseForm(r); err != nil {
			resp = flow.Response{"_invalid": json.RawMessage("true")}
		} else {
			resp = formResponse(r.PostForm)
			captchaToken(resp, r.PostForm)
			// Uploads (a prompt's file field) go on as data URIs, as
			// authentik's UI sends them.
			if r.MultipartForm != nil {
				for k, fhs := range r.MultipartForm.File {
					if len(fhs) == 0 || fhs[0].Size == 0 {
						continue
					}
					if uri, err := dataURI(fhs[0]); err == nil {
						b, _ := json.Marshal(uri)
						resp[k] = b
					}
				}
			}
		}
	} else if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The executor reads ?next= from the original query in ?query=, as the
	// authentik UI passes it.
	q := r.URL.Query()
	q.Set("query", r.URL.RawQuery)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	o := u.Executor.Execute(w, r2, slug, resp)
	self := r.URL.RequestURI()
	switch {
	case o.NotFound:
		w.WriteHeader(http.StatusNotFound)
		u.render(w, r, "ak-stage-access-denied", view{C: map[string]string{"ErrorMessage": "No such flow."}})
		return
	case o.Again:
		http.Redirect(w, r, self, http.StatusSeeOther)
		return
	}
	if rc, ok := o.Challenge.(*flow.RedirectChallenge); ok {
		// A redirect to another origin right after a form POST is checked
		// against the page's CSP form-action by browsers (CSP 3 §6.3.1.1),
		// which would stop the user at the end of an authorization flow:
		// such redirects go through a page that moves on by itself.
		if target := otherOrigin(r, rc.To); target != "" {
			u.render(w, r, "xak-flow-redirect", view{Refresh: target, C: rc})
			return
		}
		http.Redirect(w, r, rc.To, http.StatusFound)
		return
	}
	b := o.Challenge.ChallengeBase()
	v := view{Action: self, Component: b.Component, C: o.Challenge, Err: map[string][]flow.ErrorDetail(b.ResponseErrors)}
	if as, ok := o.Challenge.(interface{ AutosubmitURL() string }); ok {
		v.FormOrigin = origin(as.AutosubmitURL())
	}
	if b.FlowInfo != nil {
		v.FlowTitle = b.FlowInfo.Title
	}
	if r.Method == http.MethodPost {
		v.UID = r.PostForm.Get("uid_field")
	}
	v.Script = needsScript(o.Challenge)
	v.Captcha = captchaSources(o.Challenge)
	v.UIDLabel = "Username"
	if c, ok := o.Challenge.(*identification.Challenge); ok && len(c.UserFields) > 1 {
		v.UIDLabel = "Email or username"
	}
	u.render(w, r, b.Component, v)
}

// defaultFlow redirects to the brand's flow of a designation (the first flow
// of that designation when the brand names none), keeping a safe ?next=.
func (u *UI) defaultFlow(designation string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var id *uuid.UUID
		if b := u.brand(r); b != nil {
			if designation == store.DesignationAuthentication {
				id = b.FlowAuthentication
			} else {
				id = b.FlowInvalidation
			}
		}
		var f *store.Flow
		var err error
		if id != nil {
			f, err = u.Store().FlowByUUID(ctx, *id)
		}
		if f == nil {
			var fs []*store.Flow
			fs, _, err = u.Store().ListFlows(ctx, designation, store.ListOptions{Page: store.Page{Limit: 1}})
			if err == nil && len(fs) > 0 {
				f = fs[0]
			}
		}
		if f == nil {
			if err != nil && u.Log != nil {
				u.Log.Error("finding the default flow", "designation", designation, "error", err)
			}
			w.WriteHeader(http.StatusNotFound)
			u.render(w, r, "ak-stage-access-denied", view{C: map[string]string{"ErrorMessage": "No " + designation + " flow is configured."}})
			return
		}
		target := "/if/flow/" + url.PathEscape(f.Slug) + "/"
		if next := flow.SafeNext(r.URL.Query().Get("next")); next != "" {
			target += "?" + url.Values{"next": {next}}.Encode()
		}
		http.Redirect(w, r, target, http.StatusFound)
	}
}

// cancel drops the running flow plan and starts the authentication flow.
func (u *UI) cancel(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sessions := u.Sessions()
	if s, err := sessions.Load(ctx, r); err == nil && s != nil {
		if err := flow.Cancel(ctx, sessions, s); err != nil && u.Log != nil {
			u.Log.Error("cancelling a flow", "error", err)
		}
	}
	http.Redirect(w, r, "/flows/-/default/authentication/", http.StatusFound)
}

// home sends a signed-in visitor to Home (or shows who is signed in), and
// others to sign in.
func (u *UI) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := u.Sessions().Load(ctx, r)
	if err == nil && s != nil && s.UserPK != nil {
		if usr, err := u.Store().UserByPK(ctx, *s.UserPK); err == nil && usr.IsActive {
			if u.Home != "" {
				http.Redirect(w, r, u.Home, http.StatusFound)
				return
			}
			u.render(w, r, "home", view{Username: usr.Username})
			return
		}
	}
	http.Redirect(w, r, "/flows/-/default/authentication/?next=%2F", http.StatusFound)
}

// otherOrigin returns to when it is an absolute http(s) URL of another
// origin than the request's, else "".
func otherOrigin(r *http.Request, to string) string {
	u, err := url.Parse(to)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	if u.Host == r.Host && u.Scheme == web.Scheme(r.Context()) {
		return ""
	}
	return u.String()
}

// origin is scheme://host of an absolute http(s) URL, else "".
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, " ;'") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// maxUpload bounds a flow page's multipart body (prompt file fields).
const maxUpload = 256 << 10

// parseForm reads a urlencoded or multipart form body (bounded).
func parseForm(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(nil, r.Body, maxUpload)
		return r.ParseMultipartForm(maxUpload)
	}
	return r.ParseForm()
}

// dataURI reads an uploaded file into "data:<type>;base64,...".
func dataURI(fh *multipart.FileHeader) (string, error) {
	f, err := fh.Open()
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
	if err != nil {
		return "", err
	}
	ct := fh.Header.Get("Content-Type")
	if _, _, err := mime.ParseMediaType(ct); err != nil {
		ct = http.DetectContentType(b)
	}
	return "data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(b), nil
}
