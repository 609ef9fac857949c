package adminui

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
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
	// Recovery is the Recovery section: a link just made, the email
	// stages to send one with, the last refusal.
	Recovery recoveryData
}

func (u *UI) user(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	u.userPage(w, r, us, recoveryData{}, http.StatusOK)
}

// userPage renders the user's page with the Recovery section in state rec,
// answering status.
func (u *UI) userPage(w http.ResponseWriter, r *http.Request, us *user, rec recoveryData, status int) {
	d := userData{User: us, Recovery: rec}
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
	if d.Recovery.EmailStages, err = u.emailStages(r); err != nil {
		u.fail(w, r, err)
		return
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	u.render(w, r, "user", page{Title: us.Username, Section: "users", Notice: noticeOf(r), Data: d})
}

// recoveryData is the state of the user page's Recovery section: a
// recovery link (authentik's "Create recovery link") or a recovery email
// ("Send recovery email") through /core/users/{id}/recovery/ and
// recovery_email/.
type recoveryData struct {
	// Link was just made: shown once, as token keys are.
	Link string
	// LinkErrors and EmailErrors are the API's refusal of the last try.
	LinkErrors, EmailErrors map[string][]string
	// EmailStages are the email stages the visitor can see; Stage is the
	// one picked.
	EmailStages []stageChoice
	Stage       string
}

type stageChoice struct {
	PK   string `json:"pk"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// emailStages lists the email stages for the recovery email's select (none
// when the visitor may not see stages).
func (u *UI) emailStages(r *http.Request) ([]stageChoice, error) {
	ss, err := listAll[stageChoice](u, r, "/stages/all/", url.Values{"type": {"email"}, "ordering": {"name"}}, maxPageSize)
	if forbidden(err) {
		return nil, nil
	}
	return ss, err
}

// createRecoveryLink makes a recovery link and shows it once on the user's
// page; a refusal (no recovery flow, ...) is shown in the section.
func (u *UI) createRecoveryLink(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	var out struct {
		Link string `json:"link"`
	}
	err := u.do(r, http.MethodPost, fmt.Sprintf("/core/users/%d/recovery/", us.PK), nil, &out)
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		u.userPage(w, r, us, recoveryData{LinkErrors: errs}, http.StatusBadRequest)
	}) {
		return
	}
	u.userPage(w, r, us, recoveryData{Link: out.Link}, http.StatusOK)
}

// recoveryStage is the email stage the recovery email form picked ("" when
// it is not a UUID).
func recoveryStage(r *http.Request) string {
	id := r.URL.Query().Get("email_stage")
	if id == "" && r.PostForm != nil {
		id = r.PostForm.Get("email_stage")
	}
	if _, err := uuid.Parse(id); err != nil {
		return ""
	}
	return strings.ToLower(id)
}

func (u *UI) confirmRecoveryEmail(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	stage := recoveryStage(r)
	if stage == "" {
		u.userPage(w, r, us, recoveryData{EmailErrors: map[string][]string{"email_stage": {"Choose an email stage."}}}, http.StatusBadRequest)
		return
	}
	var st stageChoice
	err := u.do(r, http.MethodGet, "/stages/all/"+stage+"/", nil, &st)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound || err == nil && st.Type != "email" {
		u.userPage(w, r, us, recoveryData{Stage: stage, EmailErrors: map[string][]string{"email_stage": {"Email stage not found."}}}, http.StatusBadRequest)
		return
	} else if err != nil {
		u.fail(w, r, err)
		return
	}
	to := us.Email
	if to == "" {
		to = "(no address)"
	}
	u.render(w, r, "confirm", page{Title: "Send recovery email", Section: "users", Data: confirmation{
		Heading: "Send " + us.Username + " a recovery link by email?",
		Text: "A message with a link to reset their password goes to " + to + ", with the subject and template of the email stage “" +
			st.Name + "”. The link works once; an earlier recovery link of theirs stops working.",
		Action: r.URL.Path + "?" + url.Values{"email_stage": {stage}}.Encode(), Button: "Send email",
		Back: fmt.Sprintf("%susers/%d/", Prefix, us.PK)}})
}

func (u *UI) sendRecoveryEmail(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	stage := recoveryStage(r)
	var err error
	if stage == "" {
		err = &apiError{Status: http.StatusBadRequest, Fields: map[string][]string{"email_stage": {"Choose an email stage."}}}
	} else {
		err = u.do(r, http.MethodPost, fmt.Sprintf("/core/users/%d/recovery_email/", us.PK), map[string]any{"email_stage": stage}, nil)
	}
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		u.userPage(w, r, us, recoveryData{Stage: stage, EmailErrors: errs}, http.StatusBadRequest)
	}) {
		return
	}
	back(w, r, fmt.Sprintf("%susers/%d/", Prefix, us.PK), "recovery-sent")
}

// mountRecovery adds the Recovery section's actions.
func (u *UI) mountRecovery(r chi.Router) {
	r.Post("/users/{pk}/recovery/", u.createRecoveryLink)
	r.Get("/users/{pk}/recovery/email/", u.confirmRecoveryEmail)
	r.Post("/users/{pk}/recovery/email/", u.sendRecoveryEmail)
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
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		f.Errors = errs
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "user-form", page{Title: "New user", Section: "users", Data: f})
	}) {
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
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		f.Errors = errs
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "user-form", page{Title: "Edit " + us.Username, Section: "users", Data: f})
	}) {
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
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "password", page{Title: "Set password for " + us.Username, Section: "users",
			Data: passwordData{User: us, Errors: errs}})
	}) {
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
