package adminui

import (
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

var funcs = template.FuncMap{
	"ago":  ago,
	"date": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"path": url.PathEscape,
}

// ago says how long ago (or, negative, in how long) t is.
func ago(t time.Time) string {
	d := time.Since(t)
	if d < 0 {
		return "in " + span(-d)
	}
	if d < time.Minute {
		return "just now"
	}
	if d >= 60*24*time.Hour {
		return t.UTC().Format("2 Jan 2006")
	}
	return span(d) + " ago"
}

func span(d time.Duration) string {
	switch {
	case d < time.Hour:
		return plural(max(int(d/time.Minute), 1), "minute")
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// notices are the fixed messages a redirect after a write may name.
var notices = map[string]string{
	"user-created":   "The user was created.",
	"user-saved":     "The user was saved.",
	"password-set":   "The password was set.",
	"recovery-sent":  "The recovery email was queued; it is sent in a moment.",
	"user-deleted":   "The user was deleted.",
	"group-created":  "The group was created.",
	"group-deleted":  "The group was deleted.",
	"member-added":   "The user was added to the group.",
	"member-removed": "The user was removed from the group.",
	"schedule-sent":  "The task was queued; its run appears below once a worker has taken it.",

	// Part B: directory and system pages.
	"role-created":          "The role was created.",
	"role-saved":            "The role was renamed.",
	"role-deleted":          "The role was deleted.",
	"permissions-assigned":  "The permissions were assigned.",
	"permission-removed":    "The permission was removed from the role.",
	"role-given":            "The role was given.",
	"role-taken":            "The role was taken away.",
	"user-activated":        "The user was activated.",
	"user-deactivated":      "The user was deactivated.",
	"session-revoked":       "The session was signed out.",
	"device-deleted":        "The device was deleted.",
	"token-created":         "The token was created.",
	"token-deleted":         "The token was deleted.",
	"invitation-created":    "The invitation was created.",
	"invitation-deleted":    "The invitation was deleted.",
	"brand-created":         "The brand was created.",
	"brand-saved":           "The brand was saved.",
	"brand-deleted":         "The brand was deleted.",
	"settings-saved":        "The settings were saved.",
	"certificate-generated": "The certificate was generated.",
	"certificate-imported":  "The certificate was imported.",
	"certificate-deleted":   "The certificate was deleted.",
	"rule-created":          "The notification rule was created.",
	"rule-saved":            "The notification rule was saved.",
	"rule-deleted":          "The notification rule was deleted.",
	"transport-created":     "The transport was created.",
	"transport-saved":       "The transport was saved.",
	"transport-deleted":     "The transport was deleted.",
}

func noticeOf(r *http.Request) string { return notices[r.URL.Query().Get("done")] }

// back sends the browser to a page after a write (303: GET).
func back(w http.ResponseWriter, r *http.Request, to, done string) {
	http.Redirect(w, r, to+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}
