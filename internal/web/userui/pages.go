package userui

import (
	"errors"
	"hash/fnv"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

var funcs = template.FuncMap{
	"ago":     ago,
	"date":    func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"initial": initial,
	"hue":     hue,
	"path":    url.PathEscape,
}

// ago says how long ago t was, for lists ("3 minutes ago").
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour") + " ago"
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day") + " ago"
	}
	return t.UTC().Format("2 Jan 2006")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// initial is the letter an application without an icon shows.
func initial(name string) string {
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return string(unicode.ToUpper(r))
		}
	}
	return "?"
}

// hue picks one of the avatar colours (classes c0..c7) by name.
func hue(name string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(name))
	return int(h.Sum32() % 8)
}

// notices are the fixed messages a redirect after a write may name.
var notices = map[string]string{
	"renamed":         "The device was renamed.",
	"device-deleted":  "The device was deleted.",
	"session-revoked": "The session was signed out.",
	"others-revoked":  "All other sessions were signed out.",
	"token-deleted":   "The token was deleted.",
	"consent-revoked": "The consent was revoked. The application will ask again.",

	// notifications.go
	"notification-seen":  "The notification was marked as seen.",
	"notifications-seen": "All notifications were marked as seen.",
}

func noticeOf(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

// back sends the browser to a settings page after a write (303: GET).
func back(w http.ResponseWriter, r *http.Request, to, done string) {
	http.Redirect(w, r, to+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// uuidPath is the API path prefix+<uuid>/ of the route parameter param,
// or "" when it is not a UUID.
func uuidPath(r *http.Request, param, prefix string) string {
	id, err := uuid.Parse(chi.URLParam(r, param))
	if err != nil {
		return ""
	}
	return prefix + id.String() + "/"
}

// load GETs the API object at path into v. When it cannot (an empty path
// is a 404), it answers with the error page and reports false.
func (u *UI) load(w http.ResponseWriter, r *http.Request, path string, v any) bool {
	if path == "" {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return false
	}
	if err := u.do(r, http.MethodGet, path, nil, v); err != nil {
		u.fail(w, r, err)
		return false
	}
	return true
}

// deleteAt deletes the API object at path (an empty path is a 404) and
// goes back to the page to, with the notice done.
func (u *UI) deleteAt(w http.ResponseWriter, r *http.Request, path, to, done string) {
	if path == "" {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return
	}
	if err := u.do(r, http.MethodDelete, path, nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, to, done)
}

// ---- applications ----

type application struct {
	Name            string  `json:"name"`
	Slug            string  `json:"slug"`
	Group           string  `json:"group"`
	MetaIcon        string  `json:"meta_icon"`
	MetaDescription string  `json:"meta_description"`
	MetaPublisher   string  `json:"meta_publisher"`
	LaunchURL       *string `json:"launch_url"`
	OpenInNewTab    bool    `json:"open_in_new_tab"`
}

// Icon is the icon URL when it is one an img may load (a /media/ path, an
// http(s) URL or an image data URI), else "" (the initial is shown).
func (a application) Icon() string {
	i := a.MetaIcon
	switch {
	case strings.HasPrefix(i, "/") && !strings.HasPrefix(i, "//"),
		strings.HasPrefix(i, "https://"), strings.HasPrefix(i, "http://"):
		return i
	}
	return ""
}

// Launch is the launch URL if it is a safe link target.
func (a application) Launch() string {
	if a.LaunchURL == nil {
		return ""
	}
	l := *a.LaunchURL
	u, err := url.Parse(l)
	if err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return l
}

type appGroup struct {
	Name string
	Apps []application
}

type appsData struct {
	Query  string
	Count  int
	Groups []appGroup
}

// maxQuery bounds the search term (the API's limit).
const maxQuery = 200

func (u *UI) applications(w http.ResponseWriter, r *http.Request) {
	v := visitorOf(r.Context())
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if utf8.RuneCountInString(q) > maxQuery {
		q = string([]rune(q)[:maxQuery])
	}
	query := url.Values{"for_user": {strconv.FormatInt(v.Me.PK, 10)}, "only_with_launch_url": {"true"}, "ordering": {"name"}}
	if q != "" {
		query.Set("search", q)
	}
	apps, err := list[application](u, r, "/core/applications/", query)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := appsData{Query: q, Count: len(apps), Groups: groupApps(apps)}
	u.render(w, r, "apps", page{Title: "My applications", Section: "apps", Data: d})
}

// groupApps groups by the application's group: the ungrouped first, then
// groups by name; applications keep the API's order (by name).
func groupApps(apps []application) []appGroup {
	idx := map[string]int{}
	var groups []appGroup
	for _, a := range apps {
		i, ok := idx[a.Group]
		if !ok {
			i = len(groups)
			idx[a.Group] = i
			groups = append(groups, appGroup{Name: a.Group})
		}
		groups[i].Apps = append(groups[i].Apps, a)
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if (groups[i].Name == "") != (groups[j].Name == "") {
			return groups[i].Name == ""
		}
		return strings.ToLower(groups[i].Name) < strings.ToLower(groups[j].Name)
	})
	return groups
}

// ---- account ----

type userSetting struct {
	ObjectUID    string `json:"object_uid"`
	Component    string `json:"component"`
	Title        string `json:"title"`
	ConfigureURL string `json:"configure_url"`
}

type accountData struct {
	ProfileURL, PasswordURL string
}

func (u *UI) userSettings(r *http.Request) ([]userSetting, error) {
	var out []userSetting
	err := u.do(r, http.MethodGet, "/stages/all/user_settings/", nil, &out)
	return out, err
}

// profileURL is the brand's user settings flow (authentik's default
// blueprint's default-user-settings-flow when the brand names none). The
// password link is the password stage's configure_flow from user_settings,
// else the default blueprint's default-password-change.
func (u *UI) profileURL(r *http.Request) string {
	v := visitorOf(r.Context())
	st := u.Store()
	if st == nil {
		return ""
	}
	if id, err := uuid.Parse(v.Brand.FlowUserSettings); err == nil {
		if f, err := st.FlowByUUID(r.Context(), id); err == nil {
			return "/if/flow/" + url.PathEscape(f.Slug) + "/"
		}
	}
	return u.flowURL(r, "default-user-settings-flow")
}

// flowURL is the page of the flow with slug (one of authentik's default
// flows), or "" when it does not exist.
func (u *UI) flowURL(r *http.Request, slug string) string {
	st := u.Store()
	if st == nil {
		return ""
	}
	if f, err := st.FlowBySlug(r.Context(), slug); err == nil {
		return "/if/flow/" + url.PathEscape(f.Slug) + "/"
	}
	return ""
}

// andNext is the page of a flow that comes back to the settings page back
// when it is done: authentik's user settings open the profile, password and
// authenticator setup flows with AndNext (?next=) to the page they were
// started from (web/src/user/user-settings/, MFADevicesPage.ts).
func andNext(flowURL, back string) string {
	if flowURL == "" {
		return ""
	}
	sep := "?"
	if strings.Contains(flowURL, "?") {
		sep = "&"
	}
	return flowURL + sep + url.Values{"next": {back}}.Encode()
}

func (u *UI) account(w http.ResponseWriter, r *http.Request) {
	settings, err := u.userSettings(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := accountData{ProfileURL: u.profileURL(r)}
	for _, s := range settings {
		if s.Component == "ak-user-settings-password" {
			d.PasswordURL = s.ConfigureURL
		}
	}
	if d.PasswordURL == "" {
		d.PasswordURL = u.flowURL(r, "default-password-change")
	}
	d.ProfileURL, d.PasswordURL = andNext(d.ProfileURL, Prefix+"settings/"), andNext(d.PasswordURL, Prefix+"settings/")
	u.render(w, r, "account", page{Title: "Account", Section: "account", Notice: noticeOf(r), Data: d})
}

// ---- MFA devices ----

type device struct {
	PK          string     `json:"pk"`
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	VerboseName string     `json:"verbose_name"`
	Created     time.Time  `json:"created"`
	LastUsed    *time.Time `json:"last_used"`
	// Error is a rename's field error, shown at the device.
	Error string `json:"-"`
	// Value is the name typed in a failed rename.
	Value string `json:"-"`
}

// Class is the device's URL segment in /authenticators/{class}/.
func (d device) Class() string {
	app, _, _ := strings.Cut(d.Type, ".")
	return strings.TrimPrefix(app, "authentik_stages_authenticator_")
}

// Kind names the device type for people.
func (d device) Kind() string {
	switch d.Class() {
	case "totp":
		return "Authenticator app (TOTP)"
	case "webauthn":
		return "Security key or passkey"
	case "static":
		return "Recovery codes"
	case "sms":
		return "SMS"
	case "email":
		return "Email"
	}
	return d.VerboseName
}

type devicesData struct {
	Devices []device
	Setups  []userSetting
}

// deviceClasses are the classes the UI acts on (the API's URL segments).
var deviceClasses = map[string]bool{"totp": true, "webauthn": true, "static": true, "sms": true, "email": true}

func (u *UI) devicesPage(w http.ResponseWriter, r *http.Request, failed *device) {
	var ds []device
	if err := u.do(r, http.MethodGet, "/authenticators/all/", nil, &ds); err != nil {
		u.fail(w, r, err)
		return
	}
	settings, err := u.userSettings(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := devicesData{Devices: ds}
	for _, s := range settings {
		if strings.HasPrefix(s.Component, "ak-user-settings-authenticator-") {
			s.ConfigureURL = andNext(s.ConfigureURL, Prefix+"settings/mfa/")
			d.Setups = append(d.Setups, s)
		}
	}
	if failed != nil {
		for i := range d.Devices {
			if d.Devices[i].PK == failed.PK && d.Devices[i].Class() == failed.Class() {
				d.Devices[i].Error, d.Devices[i].Value = failed.Error, failed.Value
			}
		}
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "devices", page{Title: "MFA devices", Section: "mfa", Notice: noticeOf(r), Data: d})
}

func (u *UI) devices(w http.ResponseWriter, r *http.Request) { u.devicesPage(w, r, nil) }

// devicePath is the API path of the device in the URL, or "" if the URL
// names no device class.
func devicePath(r *http.Request) (class, id, path string) {
	class, id = chi.URLParam(r, "class"), chi.URLParam(r, "id")
	if !deviceClasses[class] {
		return "", "", ""
	}
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return "", "", ""
	}
	return class, id, "/authenticators/" + class + "/" + id + "/"
}

func (u *UI) renameDevice(w http.ResponseWriter, r *http.Request) {
	class, id, path := devicePath(r)
	if path == "" {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	err := u.do(r, http.MethodPatch, path, map[string]any{"name": name}, nil)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		msg := strings.Join(ae.Fields["name"], " ")
		if msg == "" {
			msg = ae.Error()
		}
		u.devicesPage(w, r, &device{PK: id, Type: "authentik_stages_authenticator_" + class + ".", Error: msg, Value: name})
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"settings/mfa/", "renamed")
}

// confirmation is the data of the "confirm" page.
type confirmation struct {
	Heading, Text, Action, Button, Back string
}

func (u *UI) confirmDeleteDevice(w http.ResponseWriter, r *http.Request) {
	_, _, path := devicePath(r)
	var d struct {
		Name string `json:"name"`
	}
	if !u.load(w, r, path, &d) {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete device", Section: "mfa", Data: confirmation{
		Heading: "Delete “" + d.Name + "”?",
		Text:    "You will no longer be able to sign in with this device. If it is your only one, you may be asked to set up another at your next sign-in.",
		Action:  r.URL.Path, Button: "Delete device", Back: Prefix + "settings/mfa/"}})
}

func (u *UI) deleteDevice(w http.ResponseWriter, r *http.Request) {
	_, _, path := devicePath(r)
	u.deleteAt(w, r, path, Prefix+"settings/mfa/", "device-deleted")
}

// ---- sessions ----

type session struct {
	UUID      string `json:"uuid"`
	Current   bool   `json:"current"`
	UserAgent struct {
		Device    struct{ Family string } `json:"device"`
		OS        struct{ Family string } `json:"os"`
		UserAgent struct{ Family string } `json:"user_agent"`
	} `json:"user_agent"`
	LastIP        string    `json:"last_ip"`
	LastUserAgent string    `json:"last_user_agent"`
	LastUsed      time.Time `json:"last_used"`
	Expires       time.Time `json:"expires"`
}

// Browser is "Firefox on Linux", or the raw user agent when unknown.
func (s session) Browser() string {
	b, o := s.UserAgent.UserAgent.Family, s.UserAgent.OS.Family
	switch {
	case b != "" && b != "Other" && o != "" && o != "Other":
		return b + " on " + o
	case b != "" && b != "Other":
		return b
	case s.LastUserAgent != "":
		return s.LastUserAgent
	}
	return "Unknown browser"
}

type sessionsData struct {
	Sessions []session
	Others   int
}

func (u *UI) ownSessions(r *http.Request) ([]session, error) {
	return list[session](u, r, "/core/authenticated_sessions/", nil)
}

func (u *UI) sessions(w http.ResponseWriter, r *http.Request) {
	ss, err := u.ownSessions(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].Current && !ss[j].Current }) // this one first
	d := sessionsData{Sessions: ss}
	for _, s := range ss {
		if !s.Current {
			d.Others++
		}
	}
	u.render(w, r, "sessions", page{Title: "Sessions", Section: "sessions", Notice: noticeOf(r), Data: d})
}

func sessionPath(r *http.Request) string { return uuidPath(r, "uuid", "/core/authenticated_sessions/") }

func (u *UI) confirmRevokeSession(w http.ResponseWriter, r *http.Request) {
	var s session
	if !u.load(w, r, sessionPath(r), &s) {
		return
	}
	text := "The browser (" + s.Browser() + ", last used from " + s.LastIP + ") will be signed out."
	if s.Current {
		text = "This is the session you are using now: you will be signed out here."
	}
	u.render(w, r, "confirm", page{Title: "Sign out session", Section: "sessions", Data: confirmation{
		Heading: "Sign out this session?", Text: text, Action: r.URL.Path, Button: "Sign out session",
		Back: Prefix + "settings/sessions/"}})
}

func (u *UI) revokeSession(w http.ResponseWriter, r *http.Request) {
	u.deleteAt(w, r, sessionPath(r), Prefix+"settings/sessions/", "session-revoked")
}

func (u *UI) confirmRevokeOthers(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "confirm", page{Title: "Sign out other sessions", Section: "sessions", Data: confirmation{
		Heading: "Sign out all other sessions?",
		Text:    "Every other browser signed in to your account will be signed out. This one stays signed in.",
		Action:  r.URL.Path, Button: "Sign out other sessions", Back: Prefix + "settings/sessions/"}})
}

func (u *UI) revokeOthers(w http.ResponseWriter, r *http.Request) {
	ss, err := u.ownSessions(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	for _, s := range ss {
		if s.Current {
			continue
		}
		err := u.do(r, http.MethodDelete, "/core/authenticated_sessions/"+url.PathEscape(s.UUID)+"/", nil, nil)
		var ae *apiError
		if err != nil && !(errors.As(err, &ae) && ae.Status == http.StatusNotFound) {
			u.fail(w, r, err)
			return
		}
	}
	back(w, r, Prefix+"settings/sessions/", "others-revoked")
}

// ---- tokens and app passwords ----

type token struct {
	Identifier  string     `json:"identifier"`
	Intent      string     `json:"intent"`
	Description string     `json:"description"`
	Expires     *time.Time `json:"expires"`
	Expiring    bool       `json:"expiring"`
}

// Kind names the intent for people.
func (t token) Kind() string {
	if t.Intent == "app_password" {
		return "App password"
	}
	return "API token"
}

// Expired is whether the token no longer works.
func (t token) Expired() bool { return t.Expiring && t.Expires != nil && t.Expires.Before(time.Now()) }

// tokenForm is the create form's values and errors.
type tokenForm struct {
	Identifier, Description, Intent, Expiry string
	Errors                                  map[string][]string
}

type tokensData struct {
	Tokens []token
	Form   tokenForm
	// Created is the key of the token just created, shown once.
	Created    *token
	CreatedKey string
}

// expiries are the form's lifetimes ("" never expires).
var expiries = map[string]time.Duration{"": 0, "1d": 24 * time.Hour, "30d": 30 * 24 * time.Hour,
	"90d": 90 * 24 * time.Hour, "365d": 365 * 24 * time.Hour}

func (u *UI) tokensPage(w http.ResponseWriter, r *http.Request, d tokensData, status int) {
	v := visitorOf(r.Context())
	ts, err := list[token](u, r, "/core/tokens/", url.Values{"user__pk": {strconv.FormatInt(v.Me.PK, 10)}})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	for _, t := range ts {
		if t.Intent == "api" || t.Intent == "app_password" {
			d.Tokens = append(d.Tokens, t)
		}
	}
	if d.Form.Intent == "" {
		d.Form.Intent = "app_password"
	}
	if status != 0 {
		w.WriteHeader(status)
	}
	u.render(w, r, "tokens", page{Title: "Tokens and app passwords", Section: "tokens", Notice: noticeOf(r), Data: d})
}

func (u *UI) tokens(w http.ResponseWriter, r *http.Request) {
	u.tokensPage(w, r, tokensData{Form: tokenForm{Expiry: "365d"}}, 0)
}

func (u *UI) createToken(w http.ResponseWriter, r *http.Request) {
	f := tokenForm{Identifier: strings.TrimSpace(r.PostForm.Get("identifier")), Description: r.PostForm.Get("description"),
		Intent: r.PostForm.Get("intent"), Expiry: r.PostForm.Get("expiry")}
	life, ok := expiries[f.Expiry]
	if !ok {
		f.Errors = map[string][]string{"expiry": {"Choose one of the lifetimes."}}
		u.tokensPage(w, r, tokensData{Form: f}, http.StatusBadRequest)
		return
	}
	body := map[string]any{"identifier": f.Identifier, "description": f.Description, "intent": f.Intent, "expiring": life > 0}
	if life > 0 {
		body["expires"] = time.Now().Add(life).UTC().Format(time.RFC3339)
	}
	var created token
	err := u.do(r, http.MethodPost, "/core/tokens/", body, &created)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		f.Errors = ae.Fields
		if ae.Detail != "" {
			f.Errors = map[string][]string{"non_field_errors": {ae.Detail}}
		}
		u.tokensPage(w, r, tokensData{Form: f}, http.StatusBadRequest)
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var key struct {
		Key string `json:"key"`
	}
	if err := u.do(r, http.MethodGet, "/core/tokens/"+url.PathEscape(created.Identifier)+"/view_key/", nil, &key); err != nil {
		u.fail(w, r, err)
		return
	}
	u.tokensPage(w, r, tokensData{Form: tokenForm{Expiry: "365d", Intent: f.Intent}, Created: &created, CreatedKey: key.Key},
		http.StatusCreated)
}

func tokenPath(r *http.Request) string {
	id := chi.URLParam(r, "identifier")
	if id == "" || len(id) > 200 {
		return ""
	}
	return "/core/tokens/" + url.PathEscape(id) + "/"
}

func (u *UI) confirmDeleteToken(w http.ResponseWriter, r *http.Request) {
	var t token
	if !u.load(w, r, tokenPath(r), &t) {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete token", Section: "tokens", Data: confirmation{
		Heading: "Delete “" + t.Identifier + "”?",
		Text:    "Anything still using this " + strings.ToLower(t.Kind()) + " will stop working.",
		Action:  r.URL.Path, Button: "Delete " + strings.ToLower(t.Kind()), Back: Prefix + "settings/tokens/"}})
}

func (u *UI) deleteToken(w http.ResponseWriter, r *http.Request) {
	u.deleteAt(w, r, tokenPath(r), Prefix+"settings/tokens/", "token-deleted")
}

// ---- consents ----

type consent struct {
	PK          string      `json:"pk"`
	Expires     *time.Time  `json:"expires"`
	Application application `json:"application"`
	Permissions string      `json:"permissions"`
}

// Scopes are the consented permissions, one per entry.
func (c consent) Scopes() []string { return strings.Fields(c.Permissions) }

func (u *UI) consents(w http.ResponseWriter, r *http.Request) {
	cs, err := list[consent](u, r, "/core/user_consent/", nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "consents", page{Title: "Consents", Section: "consents", Notice: noticeOf(r), Data: cs})
}

func consentPath(r *http.Request) string { return uuidPath(r, "id", "/core/user_consent/") }

func (u *UI) confirmRevokeConsent(w http.ResponseWriter, r *http.Request) {
	var c consent
	if !u.load(w, r, consentPath(r), &c) {
		return
	}
	u.render(w, r, "confirm", page{Title: "Revoke consent", Section: "consents", Data: confirmation{
		Heading: "Revoke consent for “" + c.Application.Name + "”?",
		Text:    "The application will ask for your consent again the next time you sign in to it.",
		Action:  r.URL.Path, Button: "Revoke consent", Back: Prefix + "settings/consents/"}})
}

func (u *UI) revokeConsent(w http.ResponseWriter, r *http.Request) {
	u.deleteAt(w, r, consentPath(r), Prefix+"settings/consents/", "consent-revoked")
}
