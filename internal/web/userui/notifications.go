package userui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The visitor's in-app notifications (the "local" transport of
// notification rules), their unread count in the header, and marking them
// seen; and the end of an impersonation.

type notification struct {
	PK             string    `json:"pk"`
	Severity       string    `json:"severity"`
	Body           string    `json:"body"`
	Created        time.Time `json:"created"`
	Seen           bool      `json:"seen"`
	Hyperlink      *string   `json:"hyperlink"`
	HyperlinkLabel *string   `json:"hyperlink_label"`
	Event          *struct {
		Action string `json:"action"`
	} `json:"event"`
}

// Link is the notification's link if it is a web URL or a path here.
func (n notification) Link() string {
	if n.Hyperlink == nil {
		return ""
	}
	u, err := url.Parse(*n.Hyperlink)
	if err != nil || (u.Scheme != "" && u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return *n.Hyperlink
}

// LinkLabel names the link.
func (n notification) LinkLabel() string {
	if n.HyperlinkLabel != nil && *n.HyperlinkLabel != "" {
		return *n.HyperlinkLabel
	}
	return "Open"
}

// unread counts the visitor's unseen notifications.
func (u *UI) unread(r *http.Request) (int, error) {
	var out struct {
		Pagination struct {
			Count int `json:"count"`
		} `json:"pagination"`
	}
	err := u.do(r, http.MethodGet, "/events/notifications/?seen=false&page_size=1", nil, &out)
	return out.Pagination.Count, err
}

// notificationsPageSize is the notifications shown a page.
const notificationsPageSize = 25

type notificationsData struct {
	Notifications []notification
	Unseen        bool // only the unseen ones
	Page, Pages   int
	Prev, Next    string
}

func (u *UI) notifications(w http.ResponseWriter, r *http.Request) {
	d := notificationsData{Page: 1, Unseen: r.URL.Query().Get("unseen") == "1"}
	if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 1 {
		d.Page = min(n, 100_000)
	}
	q := url.Values{"ordering": {"-created"}, "page": {strconv.Itoa(d.Page)}, "page_size": {strconv.Itoa(notificationsPageSize)}}
	if d.Unseen {
		q.Set("seen", "false")
	}
	var out struct {
		Pagination struct {
			TotalPages int `json:"total_pages"`
		} `json:"pagination"`
		Results []notification `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/events/notifications/?"+q.Encode(), nil, &out); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Notifications, d.Pages = out.Results, max(out.Pagination.TotalPages, 1)
	link := func(n int) string {
		q := url.Values{"page": {strconv.Itoa(n)}}
		if d.Unseen {
			q.Set("unseen", "1")
		}
		return Prefix + "notifications/?" + q.Encode()
	}
	if d.Page > 1 {
		d.Prev = link(min(d.Page-1, d.Pages))
	}
	if d.Page < d.Pages {
		d.Next = link(d.Page + 1)
	}
	u.render(w, r, "notifications", page{Title: "Notifications", Section: "notifications", Notice: noticeOf(r), Data: d})
}

func (u *UI) markSeen(w http.ResponseWriter, r *http.Request) {
	path := uuidPath(r, "uuid", "/events/notifications/")
	if path == "" {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return
	}
	if err := u.do(r, http.MethodPatch, path, map[string]any{"seen": true}, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"notifications/", "notification-seen")
}

func (u *UI) markAllSeen(w http.ResponseWriter, r *http.Request) {
	if err := u.do(r, http.MethodPost, "/events/notifications/mark_all_seen/", nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"notifications/", "notifications-seen")
}

// endImpersonation gives the session back to the impersonator and opens
// the impersonated user's admin page.
func (u *UI) endImpersonation(w http.ResponseWriter, r *http.Request) {
	v := visitorOf(r.Context())
	if err := u.do(r, http.MethodGet, "/core/users/impersonate_end/", nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	to := Prefix
	if v.Impersonator != "" {
		to = fmt.Sprintf("/if/admin/users/%d/", v.Me.PK)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
