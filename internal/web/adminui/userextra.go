package adminui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/web/userui"
)

// The user page's actions beyond editing: activate and deactivate,
// impersonate, and the user's sessions and MFA devices.

type userSession struct {
	UUID          string    `json:"uuid"`
	LastIP        string    `json:"last_ip"`
	LastUserAgent string    `json:"last_user_agent"`
	LastUsed      time.Time `json:"last_used"`
	Expires       time.Time `json:"expires"`
	Current       bool      `json:"current"`
	UserAgent     struct {
		UserAgent struct {
			Family string `json:"family"`
		} `json:"user_agent"`
		OS struct {
			Family string `json:"family"`
		} `json:"os"`
	} `json:"user_agent"`
}

// Browser names the session's browser and system for people.
func (s userSession) Browser() string {
	return s.UserAgent.UserAgent.Family + " on " + s.UserAgent.OS.Family
}

// maxUserSessions bounds the sessions listed on a user's page.
const maxUserSessions = 100

// userSessions are the user's sessions (nil when the visitor may not see
// them).
func (u *UI) userSessions(r *http.Request, pk int64) ([]userSession, error) {
	ss, err := listAll[userSession](u, r, "/core/authenticated_sessions/", url.Values{"user": {strconv.FormatInt(pk, 10)}}, maxUserSessions)
	if forbidden(err) {
		return nil, nil
	}
	return ss, err
}

// Class is the device's class in /authenticators/admin/{class}/.
func (d device) Class() string {
	app, _, _ := strings.Cut(d.Type, ".")
	return strings.TrimPrefix(app, "authentik_stages_authenticator_")
}

// deviceClasses are the classes a device delete may name.
var deviceClasses = map[string]bool{"totp": true, "static": true, "webauthn": true, "sms": true, "email": true}

func (u *UI) activateUser(w http.ResponseWriter, r *http.Request) {
	u.setActive(w, r, true)
}

func (u *UI) confirmDeactivateUser(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Deactivate user", Section: "users", Data: confirmation{
		Heading: "Deactivate “" + us.Username + "”?",
		Text:    "They can no longer sign in and their tokens stop working; their account and data are kept, and you can activate it again.",
		Action:  r.URL.Path, Button: "Deactivate", Back: fmt.Sprintf("%susers/%d/", Prefix, us.PK)}})
}

func (u *UI) deactivateUser(w http.ResponseWriter, r *http.Request) {
	u.setActive(w, r, false)
}

func (u *UI) setActive(w http.ResponseWriter, r *http.Request, active bool) {
	pk := userPK(r)
	if pk == 0 {
		u.notFound(w, r)
		return
	}
	if err := u.do(r, http.MethodPatch, fmt.Sprintf("/core/users/%d/", pk), map[string]any{"is_active": active}, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	done := "user-deactivated"
	if active {
		done = "user-activated"
	}
	back(w, r, fmt.Sprintf("%susers/%d/", Prefix, pk), done)
}

func impersonateForm(us *user) *form {
	return &form{ID: "impersonate-form", Crumbs: []crumb{{Prefix + "users/", "Users"}, {fmt.Sprintf("%susers/%d/", Prefix, us.PK), us.Username}},
		Action: fmt.Sprintf("%susers/%d/impersonate/", Prefix, us.PK), Submit: "Impersonate", Cancel: fmt.Sprintf("%susers/%d/", Prefix, us.PK),
		Intro: "This browser then acts as " + us.Username + " until you end the impersonation from the banner of the user interface. The start and the end are recorded as events.",
		Fields: []field{{Name: "reason", Label: "Reason", Kind: "textarea", Max: 1000,
			Help: "Recorded with the event; the system settings may require one."}}}
}

func (u *UI) impersonateUser(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	u.render(w, r, "form", page{Title: "Impersonate " + us.Username, Section: "users", Data: impersonateForm(us)})
}

func (u *UI) startImpersonation(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	f := impersonateForm(us)
	f.read(r)
	err := u.do(r, http.MethodPost, fmt.Sprintf("/core/users/%d/impersonate/", us.PK), map[string]any{"reason": f.get("reason")}, nil)
	if u.written(w, r, page{Title: "Impersonate " + us.Username, Section: "users"}, f, err, nil) {
		http.Redirect(w, r, userui.Prefix, http.StatusSeeOther)
	}
}

// sessionAPIPath is the API path of the {uuid} session, "" when it is not
// a UUID.
func sessionAPIPath(r *http.Request) string {
	if id := uuidParam(r, "uuid"); id != "" {
		return "/core/authenticated_sessions/" + id + "/"
	}
	return ""
}

func (u *UI) confirmRevokeUserSession(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	var s userSession
	if path := sessionAPIPath(r); path == "" {
		u.notFound(w, r)
		return
	} else if err := u.do(r, http.MethodGet, path, nil, &s); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "confirm", page{Title: "Sign out session", Section: "users", Data: confirmation{
		Heading: "Sign out " + us.Username + "’s session from " + s.LastIP + "?",
		Text:    s.Browser() + ", last used " + ago(s.LastUsed) + ". The browser has to sign in again.",
		Action:  r.URL.Path, Button: "Sign out session", Back: fmt.Sprintf("%susers/%d/", Prefix, us.PK)}})
}

func (u *UI) revokeUserSession(w http.ResponseWriter, r *http.Request) {
	pk := userPK(r)
	if pk == 0 {
		u.notFound(w, r)
		return
	}
	u.deleteAt(w, r, sessionAPIPath(r), fmt.Sprintf("%susers/%d/", Prefix, pk), "session-revoked")
}

// deviceAPIPath is the admin API path of the {class}/{id} device, "" when
// they name none.
func deviceAPIPath(r *http.Request) string {
	class, id := chi.URLParam(r, "class"), chi.URLParam(r, "id")
	if !deviceClasses[class] {
		return ""
	}
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n <= 0 {
		return ""
	}
	return "/authenticators/admin/" + class + "/" + id + "/"
}

func (u *UI) confirmDeleteUserDevice(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	var d struct {
		Name string `json:"name"`
	}
	if path := deviceAPIPath(r); path == "" {
		u.notFound(w, r)
		return
	} else if err := u.do(r, http.MethodGet, path, nil, &d); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete MFA device", Section: "users", Data: confirmation{
		Heading: "Delete " + us.Username + "’s device “" + d.Name + "”?",
		Text:    "They can no longer use it to sign in; if it was their only one, they may have to set up a new one at their next sign-in.",
		Action:  r.URL.Path, Button: "Delete device", Back: fmt.Sprintf("%susers/%d/", Prefix, us.PK)}})
}

func (u *UI) deleteUserDevice(w http.ResponseWriter, r *http.Request) {
	pk := userPK(r)
	if pk == 0 {
		u.notFound(w, r)
		return
	}
	u.deleteAt(w, r, deviceAPIPath(r), fmt.Sprintf("%susers/%d/", Prefix, pk), "device-deleted")
}
