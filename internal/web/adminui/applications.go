package adminui

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"
)

type provider struct {
	PK          int64  `json:"pk"`
	Name        string `json:"name"`
	Component   string `json:"component"`
	VerboseName string `json:"verbose_name"`
}

type application struct {
	PK               string    `json:"pk"`
	Name             string    `json:"name"`
	Slug             string    `json:"slug"`
	Group            string    `json:"group"`
	Provider         *int64    `json:"provider"`
	ProviderObj      *provider `json:"provider_obj"`
	LaunchURL        *string   `json:"launch_url"`
	MetaLaunchURL    string    `json:"meta_launch_url"`
	MetaDescription  string    `json:"meta_description"`
	MetaPublisher    string    `json:"meta_publisher"`
	PolicyEngineMode string    `json:"policy_engine_mode"`
	OpenInNewTab     bool      `json:"open_in_new_tab"`
}

// Launch is the launch URL if it is a safe link target.
func (a application) Launch() string {
	if a.LaunchURL == nil {
		return ""
	}
	l := *a.LaunchURL
	p, err := url.Parse(l)
	if err != nil || (p.Scheme != "" && p.Scheme != "http" && p.Scheme != "https") {
		return ""
	}
	return l
}

type appsData struct {
	Query string
	Apps  []application
	Pager pager
}

func (u *UI) applications(w http.ResponseWriter, r *http.Request) {
	d := appsData{Query: query(r, "q")}
	q := url.Values{"ordering": {"name"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	var err error
	if d.Apps, d.Pager, err = listPage[application](u, r, "/core/applications/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "applications", page{Title: "Applications", Section: "applications", Notice: noticeOf(r), Data: d})
}

type oauth2Provider struct {
	ClientID   string `json:"client_id"`
	ClientType string `json:"client_type"`
}

type setupURLs struct {
	Issuer       string `json:"issuer"`
	Authorize    string `json:"authorize"`
	Token        string `json:"token"`
	UserInfo     string `json:"user_info"`
	ProviderInfo string `json:"provider_info"`
	Logout       string `json:"logout"`
	JWKS         string `json:"jwks"`
}

// endpoint is one row of the provider's copyable values.
type endpoint struct{ ID, Label, Value string }

type accessCheck struct {
	Username string
	Error    string
	Done     bool
	Passing  bool
	Messages []string
}

type appData struct {
	App       *application
	Endpoints []endpoint
	Check     accessCheck
}

func (u *UI) application(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	if slug == "" || len(slug) > 50 {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return
	}
	var app application
	if err := u.do(r, http.MethodGet, "/core/applications/"+url.PathEscape(slug)+"/", nil, &app); err != nil {
		u.fail(w, r, err)
		return
	}
	d := appData{App: &app}
	if p := app.ProviderObj; p != nil && p.Component == "ak-provider-oauth2-form" {
		var o oauth2Provider
		var s setupURLs
		base := fmt.Sprintf("/providers/oauth2/%d/", p.PK)
		if err := u.do(r, http.MethodGet, base, nil, &o); err != nil && !forbidden(err) {
			u.fail(w, r, err)
			return
		}
		if err := u.do(r, http.MethodGet, base+"setup_urls/", nil, &s); err != nil && !forbidden(err) {
			u.fail(w, r, err)
			return
		}
		for _, e := range []endpoint{{"client-id", "Client ID", o.ClientID}, {"issuer", "Issuer", s.Issuer},
			{"discovery", "OpenID configuration", s.ProviderInfo}, {"authorize", "Authorize URL", s.Authorize},
			{"token", "Token URL", s.Token}, {"userinfo", "Userinfo URL", s.UserInfo}, {"jwks", "JWKS URL", s.JWKS},
			{"logout", "Logout URL", s.Logout}} {
			if e.Value != "" {
				d.Endpoints = append(d.Endpoints, e)
			}
		}
	}
	if name := query(r, "check"); name != "" {
		d.Check.Username = name
		var found struct {
			Results []user `json:"results"`
		}
		if err := u.do(r, http.MethodGet, "/core/users/?"+url.Values{"username": {name}}.Encode(), nil, &found); err != nil {
			u.fail(w, r, err)
			return
		}
		if len(found.Results) != 1 {
			d.Check.Error = "No user has this username."
		} else {
			var res struct {
				Passing  bool     `json:"passing"`
				Messages []string `json:"messages"`
			}
			err := u.do(r, http.MethodGet, fmt.Sprintf("/core/applications/%s/check_access/?for_user=%d",
				url.PathEscape(app.Slug), found.Results[0].PK), nil, &res)
			if err != nil {
				u.fail(w, r, err)
				return
			}
			d.Check.Done, d.Check.Passing, d.Check.Messages = true, res.Passing, res.Messages
		}
	}
	u.render(w, r, "application", page{Title: app.Name, Section: "applications", Notice: noticeOf(r), Data: d})
}
