package adminui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

type user struct {
	PK          int64      `json:"pk"`
	Username    string     `json:"username"`
	Name        string     `json:"name"`
	Email       string     `json:"email"`
	IsActive    bool       `json:"is_active"`
	IsSuperuser bool       `json:"is_superuser"`
	LastLogin   *time.Time `json:"last_login"`
	DateJoined  time.Time  `json:"date_joined"`
	Path        string     `json:"path"`
	Type        string     `json:"type"`
	UUID        string     `json:"uuid"`
	GroupsObj   []struct {
		PK   string `json:"pk"`
		Name string `json:"name"`
	} `json:"groups_obj"`
	Attributes map[string]any `json:"attributes"`
}

// AttributesJSON is the attributes as indented JSON.
func (u user) AttributesJSON() string {
	if len(u.Attributes) == 0 {
		return ""
	}
	return indentJSON(u.Attributes)
}

type usersData struct {
	Query, Active string
	Users         []user
	Pager         pager
}

func (u *UI) users(w http.ResponseWriter, r *http.Request) {
	d := usersData{Query: query(r, "q"), Active: r.URL.Query().Get("active")}
	q := url.Values{"ordering": {"username"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	switch d.Active {
	case "true", "false":
		q.Set("is_active", d.Active)
	default:
		d.Active = ""
	}
	var err error
	if d.Users, d.Pager, err = listPage[user](u, r, "/core/users/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "users", page{Title: "Users", Section: "users", Notice: noticeOf(r), Data: d})
}

// userPK is the {pk} path parameter, 0 when it is not a user pk.
func userPK(r *http.Request) int64 {
	n, err := strconv.ParseInt(chi.URLParam(r, "pk"), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

func (u *UI) loadUser(w http.ResponseWriter, r *http.Request) (*user, bool) {
	pk := userPK(r)
	if pk == 0 {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, false
	}
	var us user
	if err := u.do(r, http.MethodGet, fmt.Sprintf("/core/users/%d/", pk), nil, &us); err != nil {
		u.fail(w, r, err)
		return nil, false
	}
	return &us, true
}

type device struct {
	PK          string     `json:"pk"`
	Name        string     `json:"name"`
	VerboseName string     `json:"verbose_name"`
	Type        string     `json:"type"`
	Confirmed   bool       `json:"confirmed"`
	Created     time.Time  `json:"created"`
	LastUsed    *time.Time `json:"last_used"`
}

type userData struct {
	User     *user
	Sessions int
	Devices  []device
	Events   []event
	// SessionList is the user's sessions, to sign out one (userextra.go).
	SessionList []userSession
}

func (u *UI) user(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	d := userData{User: us}
	var err error
	if d.Sessions, err = u.count(r, "/core/authenticated_sessions/", url.Values{"user": {strconv.FormatInt(us.PK, 10)}}); err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	if err := u.do(r, http.MethodGet, fmt.Sprintf("/authenticators/admin/all/?user=%d", us.PK), nil, &d.Devices); err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	var evs struct {
		Results []event `json:"results"`
	}
	q := url.Values{"username": {us.Username}, "page_size": {"10"}}
	if err := u.do(r, http.MethodGet, "/events/events/?"+q.Encode(), nil, &evs); err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	d.Events = evs.Results
	if d.SessionList, err = u.userSessions(r, us.PK); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "user", page{Title: us.Username, Section: "users", Notice: noticeOf(r), Data: d})
}

// userForm is the create and edit form's values and errors.
type userForm struct {
	PK                    int64
	Username, Name, Email string
	Active                bool
	Errors                map[string][]string
}

func (u *UI) newUser(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "user-form", page{Title: "New user", Section: "users", Data: userForm{Active: true}})
}

func (u *UI) createUser(w http.ResponseWriter, r *http.Request) {
	f := userForm{Username: strings.TrimSpace(r.PostForm.Get("username")), Name: r.PostForm.Get("name"),
		Email: strings.TrimSpace(r.PostForm.Get("email")), Active: r.PostForm.Get("is_active") == "on"}
	var created user
	err := u.do(r, http.MethodPost, "/core/users/", map[string]any{"username": f.Username, "name": f.Name,
		"email": f.Email, "is_active": f.Active}, &created)
	if errs, ok := formErrors(err); ok {
		f.Errors = errs
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "user-form", page{Title: "New user", Section: "users", Data: f})
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, fmt.Sprintf("%susers/%d/", Prefix, created.PK), "user-created")
}

func (u *UI) editUser(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	u.render(w, r, "user-form", page{Title: "Edit " + us.Username, Section: "users", Data: userForm{PK: us.PK,
		Username: us.Username, Name: us.Name, Email: us.Email, Active: us.IsActive}})
}

func (u *UI) saveUser(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	f := userForm{PK: us.PK, Username: us.Username, Name: r.PostForm.Get("name"),
		Email: strings.TrimSpace(r.PostForm.Get("email")), Active: r.PostForm.Get("is_active") == "on"}
	err := u.do(r, http.MethodPatch, fmt.Sprintf("/core/users/%d/", us.PK), map[string]any{"name": f.Name,
		"email": f.Email, "is_active": f.Active}, nil)
	if errs, ok := formErrors(err); ok {
		f.Errors = errs
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "user-form", page{Title: "Edit " + us.Username, Section: "users", Data: f})
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, fmt.Sprintf("%susers/%d/", Prefix, us.PK), "user-saved")
}

type passwordData struct {
	User   *user
	Errors map[string][]string
}

func (u *UI) passwordForm(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	u.render(w, r, "password", page{Title: "Set password for " + us.Username, Section: "users", Data: passwordData{User: us}})
}

func (u *UI) setPassword(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	pw, again := r.PostForm.Get("password"), r.PostForm.Get("password_repeat")
	var err error
	if pw != again {
		err = &apiError{Status: http.StatusBadRequest, Fields: map[string][]string{"password_repeat": {"The passwords do not match."}}}
	} else {
		err = u.do(r, http.MethodPost, fmt.Sprintf("/core/users/%d/set_password/", us.PK), map[string]any{"password": pw}, nil)
	}
	if errs, ok := formErrors(err); ok {
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "password", page{Title: "Set password for " + us.Username, Section: "users",
			Data: passwordData{User: us, Errors: errs}})
		return
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, fmt.Sprintf("%susers/%d/", Prefix, us.PK), "password-set")
}

func (u *UI) confirmDeleteUser(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete user", Section: "users", Data: confirmation{
		Heading: "Delete the user “" + us.Username + "”?",
		Text:    "Their sessions, tokens, devices and consents are deleted with them. This cannot be undone; to stop them signing in but keep the account, deactivate it instead.",
		Action:  r.URL.Path, Button: "Delete user", Back: fmt.Sprintf("%susers/%d/", Prefix, us.PK)}})
}

func (u *UI) deleteUser(w http.ResponseWriter, r *http.Request) {
	pk := userPK(r)
	if pk == 0 {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return
	}
	if err := u.do(r, http.MethodDelete, fmt.Sprintf("/core/users/%d/", pk), nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"users/", "user-deleted")
}
