package adminui

import (
	"net/http"
	"strconv"
)

// settings are the API's system settings (/admin/settings/) the form
// edits; footer links and flags stay as they are.
type settings struct {
	Avatars                    string `json:"avatars"`
	DefaultUserChangeName      bool   `json:"default_user_change_name"`
	DefaultUserChangeEmail     bool   `json:"default_user_change_email"`
	DefaultUserChangeUsername  bool   `json:"default_user_change_username"`
	EventRetention             string `json:"event_retention"`
	GDPRCompliance             bool   `json:"gdpr_compliance"`
	Impersonation              bool   `json:"impersonation"`
	ImpersonationRequireReason bool   `json:"impersonation_require_reason"`
	DefaultTokenDuration       string `json:"default_token_duration"`
	DefaultTokenLength         int    `json:"default_token_length"`
}

func settingsForm(s settings) *form {
	return &form{ID: "settings-form", Action: Prefix + "system/settings/", Submit: "Save settings", Cancel: Prefix,
		Fields: []field{
			{Name: "avatars", Label: "Avatars", Value: s.Avatars, Required: true, Max: 500,
				Help: "Sources tried in order, comma-separated: none, initials, gravatar, attributes.<path> or a URL template."},
			{Name: "default_user_change_name", Label: "Users may change their name", Kind: "checkbox", Value: onIf(s.DefaultUserChangeName)},
			{Name: "default_user_change_email", Label: "Users may change their email address", Kind: "checkbox", Value: onIf(s.DefaultUserChangeEmail)},
			{Name: "default_user_change_username", Label: "Users may change their username", Kind: "checkbox", Value: onIf(s.DefaultUserChangeUsername)},
			{Name: "event_retention", Label: "Event retention", Value: s.EventRetention, Required: true, Max: 100,
				Help: "How long events are kept, e.g. days=365 or weeks=4;days=2."},
			{Name: "gdpr_compliance", Label: "Delete a user's events with the user (GDPR)", Kind: "checkbox", Value: onIf(s.GDPRCompliance)},
			{Name: "impersonation", Label: "Allow impersonation", Kind: "checkbox", Value: onIf(s.Impersonation)},
			{Name: "impersonation_require_reason", Label: "Require a reason to impersonate", Kind: "checkbox", Value: onIf(s.ImpersonationRequireReason)},
			{Name: "default_token_duration", Label: "Default token duration", Value: s.DefaultTokenDuration, Required: true, Max: 100,
				Help: "The lifetime of tokens made without one, e.g. minutes=30."},
			{Name: "default_token_length", Label: "Default token length", Kind: "number", Value: strconv.Itoa(s.DefaultTokenLength), Required: true,
				Help: "Characters of generated token keys (32 to 512)."},
		}}
}

func (u *UI) settingsPage(w http.ResponseWriter, r *http.Request) {
	var s settings
	if err := u.do(r, http.MethodGet, "/admin/settings/", nil, &s); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "form", page{Title: "System settings", Section: "settings", Notice: noticeOf(r), Data: settingsForm(s)})
}

func (u *UI) saveSettings(w http.ResponseWriter, r *http.Request) {
	f := settingsForm(settings{})
	f.read(r)
	body := map[string]any{"avatars": f.get("avatars"), "event_retention": f.get("event_retention"),
		"default_token_duration": f.get("default_token_duration")}
	for _, name := range []string{"default_user_change_name", "default_user_change_email", "default_user_change_username",
		"gdpr_compliance", "impersonation", "impersonation_require_reason"} {
		body[name] = f.on(name)
	}
	n, err := strconv.Atoi(f.get("default_token_length"))
	if err != nil {
		err = f.invalid("default_token_length", "Enter a whole number.")
	} else {
		body["default_token_length"] = n
		err = u.do(r, http.MethodPatch, "/admin/settings/", body, nil)
	}
	if u.written(w, r, page{Title: "System settings", Section: "settings"}, f, err, nil) {
		back(w, r, Prefix+"system/settings/", "settings-saved")
	}
}

func (u *UI) workers(w http.ResponseWriter, r *http.Request) {
	var ws []workerStatus
	if err := u.do(r, http.MethodGet, "/tasks/workers/", nil, &ws); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "workers", page{Title: "Workers", Section: "workers", Data: struct {
		Workers []workerStatus
		Version string
	}{ws, u.Version}})
}
