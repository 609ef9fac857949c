package adminui

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"
)

type token struct {
	Identifier  string     `json:"identifier"`
	Intent      string     `json:"intent"`
	Description string     `json:"description"`
	Expires     *time.Time `json:"expires"`
	Expiring    bool       `json:"expiring"`
	Managed     *string    `json:"managed"`
	UserObj     struct {
		PK       int64  `json:"pk"`
		Username string `json:"username"`
	} `json:"user_obj"`
}

// Expired is whether the token no longer works.
func (t token) Expired() bool { return t.Expiring && t.Expires != nil && t.Expires.Before(time.Now()) }

type tokensData struct {
	Query, Intent string
	Tokens        []token
	Pager         pager
}

// tokenIntents are the intents the list filters by.
var tokenIntents = []string{"api", "app_password", "recovery", "verification"}

func (u *UI) tokens(w http.ResponseWriter, r *http.Request) {
	d := tokensData{Query: query(r, "q"), Intent: r.URL.Query().Get("intent")}
	q := url.Values{"ordering": {"identifier"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	for _, i := range tokenIntents {
		if d.Intent == i {
			q.Set("intent", i)
		}
	}
	if q.Get("intent") == "" {
		d.Intent = ""
	}
	var err error
	if d.Tokens, d.Pager, err = listPage[token](u, r, "/core/tokens/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "tokens", page{Title: "Tokens", Section: "tokens", Notice: noticeOf(r), Data: d})
}

// lifetimes are the expiry choices of the token and service account forms.
var lifetimes = []option{{Value: "30d", Label: "30 days"}, {Value: "90d", Label: "90 days"}, {Value: "365d", Label: "1 year"},
	{Value: "never", Label: "Never expires"}}

// lifetime is the expiry a lifetime choice stands for (nil: never), and
// whether the choice is one of them.
func (u *UI) lifetime(choice string) (*time.Time, bool) {
	days := map[string]int{"30d": 30, "90d": 90, "365d": 365}
	if choice == "never" {
		return nil, true
	}
	n, ok := days[choice]
	if !ok {
		return nil, false
	}
	t := u.now().Add(time.Duration(n) * 24 * time.Hour).UTC()
	return &t, true
}

func tokenForm() *form {
	return &form{ID: "token-form", Crumbs: []crumb{{Prefix + "tokens/", "Tokens"}}, Action: Prefix + "tokens/new/",
		Submit: "Create token", Cancel: Prefix + "tokens/",
		Intro: "The key is shown once, after the token is created.",
		Fields: []field{
			{Name: "identifier", Label: "Identifier", Required: true, Max: 200, Help: "Letters, digits, - and _."},
			{Name: "username", Label: "User", Required: true, Max: 150, Help: "The username the token acts as."},
			{Name: "intent", Label: "Kind", Kind: "select", Value: "api", Required: true,
				Options: []option{{Value: "api", Label: "API token"}, {Value: "app_password", Label: "App password"}}},
			{Name: "expiry", Label: "Expires", Kind: "select", Value: "365d", Required: true, Options: lifetimes},
			{Name: "description", Label: "Description", Max: 1000},
		}}
}

func (u *UI) newToken(w http.ResponseWriter, r *http.Request) {
	f := tokenForm()
	f.set("username", visitorOf(r.Context()).Me.Username)
	u.render(w, r, "form", page{Title: "New token", Section: "tokens", Data: f})
}

func (u *UI) createToken(w http.ResponseWriter, r *http.Request) {
	f := tokenForm()
	f.read(r)
	p := page{Title: "New token", Section: "tokens"}
	pk, err := u.userByName(r, f.get("username"))
	expires, ok := u.lifetime(f.get("expiry"))
	switch {
	case err != nil:
	case !ok:
		err = f.invalid("expiry", "Choose one of the lifetimes.")
	default:
		body := map[string]any{"identifier": f.get("identifier"), "intent": f.get("intent"), "user": pk,
			"description": f.get("description"), "expiring": expires != nil}
		if expires != nil {
			body["expires"] = expires.Format(time.RFC3339)
		}
		err = u.do(r, http.MethodPost, "/core/tokens/", body, nil)
	}
	if !u.written(w, r, p, f, err, map[string]string{"user": "username", "expires": "expiry"}) {
		return
	}
	var key struct {
		Key string `json:"key"`
	}
	if err := u.do(r, http.MethodGet, "/core/tokens/"+url.PathEscape(f.get("identifier"))+"/view_key/", nil, &key); err != nil {
		u.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
	u.render(w, r, "secret", page{Title: "Token created", Section: "tokens", Data: secret{
		Crumbs: []crumb{{Prefix + "tokens/", "Tokens"}}, Heading: "Token “" + f.get("identifier") + "” created",
		Text:  "Copy the key now: it is not shown again here. Send it as Authorization: Bearer <key>.",
		Items: []secretItem{{ID: "token-key", Label: "Key", Value: key.Key}}, Next: Prefix + "tokens/?done=token-created",
		NextID: "done", NextMsg: "Done"}})
}

func tokenAPIPath(r *http.Request) string {
	id := chi.URLParam(r, "identifier")
	if id == "" || len(id) > 200 {
		return ""
	}
	return apiPath("/core/tokens/", id)
}

func (u *UI) confirmDeleteToken(w http.ResponseWriter, r *http.Request) {
	path := tokenAPIPath(r)
	if path == "" {
		u.notFound(w, r)
		return
	}
	var t token
	if err := u.do(r, http.MethodGet, path, nil, &t); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete token", Section: "tokens", Data: confirmation{
		Heading: "Delete the token “" + t.Identifier + "” of " + t.UserObj.Username + "?",
		Text:    "Anything still using it stops working at once.",
		Action:  r.URL.Path, Button: "Delete token", Back: Prefix + "tokens/"}})
}

func (u *UI) deleteToken(w http.ResponseWriter, r *http.Request) {
	u.deleteAt(w, r, tokenAPIPath(r), Prefix+"tokens/", "token-deleted")
}

func serviceAccountForm() *form {
	return &form{ID: "service-account-form", Crumbs: []crumb{{Prefix + "users/", "Users"}}, Action: Prefix + "users/service-account/",
		Submit: "Create service account", Cancel: Prefix + "users/",
		Intro: "A service account is a user for machines: it cannot sign in interactively and authenticates with its token (an app password), shown once.",
		Fields: []field{
			{Name: "name", Label: "Username", Required: true, Max: 150},
			{Name: "create_group", Label: "Also create a group of the same name with the account in it", Kind: "checkbox"},
			{Name: "expiry", Label: "Token expires", Kind: "select", Value: "365d", Required: true, Options: lifetimes},
		}}
}

func (u *UI) newServiceAccount(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "form", page{Title: "New service account", Section: "users", Data: serviceAccountForm()})
}

func (u *UI) createServiceAccount(w http.ResponseWriter, r *http.Request) {
	f := serviceAccountForm()
	f.read(r)
	var out struct {
		Username string `json:"username"`
		Token    string `json:"token"`
		UserPK   int64  `json:"user_pk"`
	}
	expires, ok := u.lifetime(f.get("expiry"))
	var err error
	if !ok {
		err = f.invalid("expiry", "Choose one of the lifetimes.")
	} else {
		body := map[string]any{"name": f.get("name"), "create_group": f.on("create_group"), "expiring": expires != nil}
		if expires != nil {
			body["expires"] = expires.Format(time.RFC3339)
		}
		err = u.do(r, http.MethodPost, "/core/users/service_account/", body, &out)
	}
	if !u.written(w, r, page{Title: "New service account", Section: "users"}, f, err, map[string]string{"expires": "expiry"}) {
		return
	}
	w.WriteHeader(http.StatusCreated)
	u.render(w, r, "secret", page{Title: "Service account created", Section: "users", Data: secret{
		Crumbs: []crumb{{Prefix + "users/", "Users"}}, Heading: "Service account “" + out.Username + "” created",
		Text:  "Copy the token now: it is not shown again here. It signs in as the password of this username (for example over LDAP or HTTP Basic) or as a Bearer token.",
		Items: []secretItem{{ID: "sa-username", Label: "Username", Value: out.Username}, {ID: "sa-token", Label: "Token", Value: out.Token}},
		Next:  fmt.Sprintf("%susers/%d/", Prefix, out.UserPK), NextID: "done", NextMsg: "Open the account"}})
}
