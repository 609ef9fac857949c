package adminui

import (
	"net/http"
	"net/url"
)

type flow struct {
	PK          string `json:"pk"`
	Name        string `json:"name"`
	Slug        string `json:"slug"`
	Title       string `json:"title"`
	Designation string `json:"designation"`
}

type flowsData struct {
	Query string
	Flows []flow
	Pager pager
}

func (u *UI) flows(w http.ResponseWriter, r *http.Request) {
	d := flowsData{Query: query(r, "q")}
	q := url.Values{"ordering": {"slug"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	var err error
	if d.Flows, d.Pager, err = listPage[flow](u, r, "/flows/instances/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "flows", page{Title: "Flows", Section: "flows", Notice: noticeOf(r), Data: d})
}
