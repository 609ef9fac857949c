package adminui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/web"
)

type invitation struct {
	PK        string         `json:"pk"`
	Name      string         `json:"name"`
	Expires   *time.Time     `json:"expires"`
	FixedData map[string]any `json:"fixed_data"`
	SingleUse bool           `json:"single_use"`
	Flow      *string        `json:"flow"`
	CreatedBy *struct {
		Username string `json:"username"`
	} `json:"created_by"`
}

// Expired is whether the invitation can no longer be used.
func (i invitation) Expired() bool { return i.Expires != nil && i.Expires.Before(time.Now()) }

// FlowPK is the invitation's flow, "" for any.
func (i invitation) FlowPK() string { return deref(i.Flow) }

// FixedJSON is the fixed data as indented JSON ("" when there is none).
func (i invitation) FixedJSON() string {
	if len(i.FixedData) == 0 {
		return ""
	}
	return indentJSON(i.FixedData)
}

// flowRef is a flow as the forms choose it.
type flowRef struct {
	PK   string `json:"pk"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

// flowsOf lists the flows of a designation ("" all), for a select.
func (u *UI) flowsOf(r *http.Request, designation string) ([]flowRef, error) {
	q := url.Values{"ordering": {"slug"}}
	if designation != "" {
		q.Set("designation", designation)
	}
	return listAll[flowRef](u, r, "/flows/instances/", q, 1000)
}

type invitationsData struct {
	Query       string
	Invitations []invitation
	Pager       pager
	Flows       map[string]string // pk -> slug
}

func (u *UI) invitations(w http.ResponseWriter, r *http.Request) {
	d := invitationsData{Query: query(r, "q"), Flows: map[string]string{}}
	q := url.Values{"ordering": {"name"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	var err error
	if d.Invitations, d.Pager, err = listPage[invitation](u, r, "/stages/invitation/invitations/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	flows, err := u.flowsOf(r, "enrollment")
	if err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	for _, f := range flows {
		d.Flows[f.PK] = f.Slug
	}
	u.render(w, r, "invitations", page{Title: "Invitations", Section: "invitations", Notice: noticeOf(r), Data: d})
}

// datetimeLocal is the format of <input type="datetime-local">; the form
// reads it as UTC.
const datetimeLocal = "2006-01-02T15:04"

func (u *UI) invitationForm(r *http.Request) (*form, error) {
	flows, err := u.flowsOf(r, "enrollment")
	if err != nil && !forbidden(err) {
		return nil, err
	}
	opts := []option{{Value: "", Label: "Any flow with an invitation stage"}}
	for _, f := range flows {
		opts = append(opts, option{Value: f.PK, Label: f.Name + " (" + f.Slug + ")"})
	}
	flow := ""
	if len(flows) > 0 {
		flow = flows[0].PK
	}
	return &form{ID: "invitation-form", Crumbs: []crumb{{Prefix + "invitations/", "Invitations"}},
		Action: Prefix + "invitations/new/", Submit: "Create invitation", Cancel: Prefix + "invitations/",
		Fields: []field{
			{Name: "name", Label: "Name", Required: true, Max: 50, Help: "Letters, digits, - and _."},
			{Name: "flow", Label: "Enrollment flow", Kind: "select", Value: flow, Options: opts,
				Help: "The link opens this flow; it needs an invitation stage."},
			{Name: "expires", Label: "Expires (UTC)", Kind: "datetime-local",
				Value: u.now().Add(7 * 24 * time.Hour).UTC().Format(datetimeLocal), Help: "Empty: never expires."},
			{Name: "single_use", Label: "Single use: the invitation is deleted once used", Kind: "checkbox", Value: "on"},
			{Name: "fixed_data", Label: "Fixed data", Kind: "textarea", Max: 65536,
				Help: `A JSON object the enrollment's prompts take as given, e.g. {"email": "new@example.com"}.`},
		}}, nil
}

func (u *UI) newInvitation(w http.ResponseWriter, r *http.Request) {
	f, err := u.invitationForm(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "form", page{Title: "New invitation", Section: "invitations", Data: f})
}

func (u *UI) createInvitation(w http.ResponseWriter, r *http.Request) {
	f, err := u.invitationForm(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	f.read(r)
	body := map[string]any{"name": f.get("name"), "single_use": f.on("single_use")}
	if fl := f.get("flow"); fl != "" {
		body["flow"] = fl
	}
	if e := f.get("expires"); e != "" {
		t, perr := time.ParseInLocation(datetimeLocal, e, time.UTC)
		if perr != nil {
			err = f.invalid("expires", "Enter a date and time.")
		}
		body["expires"] = t.Format(time.RFC3339)
	}
	if fd := strings.TrimSpace(f.get("fixed_data")); fd != "" && err == nil {
		var m map[string]any
		if json.Unmarshal([]byte(fd), &m) != nil {
			err = f.invalid("fixed_data", "Enter a JSON object.")
		}
		body["fixed_data"] = m
	}
	var created invitation
	if err == nil {
		err = u.do(r, http.MethodPost, "/stages/invitation/invitations/", body, &created)
	}
	if u.written(w, r, page{Title: "New invitation", Section: "invitations"}, f, err, nil) {
		back(w, r, Prefix+"invitations/"+url.PathEscape(created.PK)+"/", "invitation-created")
	}
}

type invitationData struct {
	Invitation invitation
	FlowName   string
	Link       string
}

func (u *UI) loadInvitation(w http.ResponseWriter, r *http.Request) (*invitation, bool) {
	return loadByID[invitation](u, w, r, "/stages/invitation/invitations/")
}

func (u *UI) invitation(w http.ResponseWriter, r *http.Request) {
	inv, ok := u.loadInvitation(w, r)
	if !ok {
		return
	}
	d := invitationData{Invitation: *inv}
	if inv.Flow != nil {
		flows, err := u.flowsOf(r, "")
		if err != nil && !forbidden(err) {
			u.fail(w, r, err)
			return
		}
		for _, f := range flows {
			if f.PK == *inv.Flow {
				d.FlowName = f.Name
				// The invitation stage reads ?itoken= (authentik's link).
				d.Link = web.Scheme(r.Context()) + "://" + r.Host + "/if/flow/" + url.PathEscape(f.Slug) + "/?" +
					url.Values{"itoken": {inv.PK}}.Encode()
			}
		}
	}
	u.render(w, r, "invitation", page{Title: inv.Name, Section: "invitations", Notice: noticeOf(r), Data: d})
}

func (u *UI) confirmDeleteInvitation(w http.ResponseWriter, r *http.Request) {
	inv, ok := u.loadInvitation(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete invitation", Section: "invitations", Data: confirmation{
		Heading: "Delete the invitation “" + inv.Name + "”?",
		Text:    "Its link stops working. Accounts already made with it are kept.",
		Action:  r.URL.Path, Button: "Delete invitation", Back: Prefix + "invitations/" + inv.PK + "/"}})
}

func (u *UI) deleteInvitation(w http.ResponseWriter, r *http.Request) {
	u.deleteByID(w, r, "/stages/invitation/invitations/", Prefix+"invitations/", "invitation-deleted")
}
