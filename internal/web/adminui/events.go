package adminui

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

type event struct {
	PK       string         `json:"pk"`
	User     map[string]any `json:"user"`
	Action   string         `json:"action"`
	App      string         `json:"app"`
	Context  map[string]any `json:"context"`
	ClientIP *string        `json:"client_ip"`
	Created  time.Time      `json:"created"`
}

// Username is the event's user, "" when none.
func (e event) Username() string {
	s, _ := e.User["username"].(string)
	return s
}

// UserPK is the event user's pk, 0 when none.
func (e event) UserPK() int64 {
	f, _ := e.User["pk"].(float64)
	return int64(f)
}

// IP is the client address, "" when none.
func (e event) IP() string {
	if e.ClientIP == nil {
		return ""
	}
	return *e.ClientIP
}

// Summary is a one-line hint from the context: the model of a model_*
// event, a message, or the failed login's username.
func (e event) Summary() string {
	if m, ok := e.Context["model"].(map[string]any); ok {
		name, _ := m["name"].(string)
		model, _ := m["model_name"].(string)
		return strings.TrimSpace(model + " " + name)
	}
	for _, k := range []string{"message", "username"} {
		if s, ok := e.Context[k].(string); ok {
			return s
		}
	}
	return ""
}

// ContextJSON is the context as indented JSON, not HTML-escaped: the
// template escapes it.
func (e event) ContextJSON() string { return indentJSON(e.Context) }

func indentJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "{}"
	}
	return strings.TrimSuffix(b.String(), "\n")
}

type eventsData struct {
	Action, Username, ClientIP string
	// From and To are the created range, dates as the date inputs send
	// them (the API reads a date as the whole day).
	From, To string
	Actions  []string
	Events   []event
	Pager    pager
	// Errors are the API's refusal of the filters, by its field names.
	Errors map[string][]string
}

// OtherErrors are the refusal's messages about anything but the dates.
func (d eventsData) OtherErrors() []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(d.Errors)) {
		if k != "created__gte" && k != "created__lte" {
			out = append(out, d.Errors[k]...)
		}
	}
	return out
}

func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	d := eventsData{Action: query(r, "action"), Username: query(r, "username"), ClientIP: query(r, "client_ip"),
		From: query(r, "created__gte"), To: query(r, "created__lte")}
	var actions []struct {
		Name string `json:"name"`
	}
	if err := u.do(r, http.MethodGet, "/events/events/actions/", nil, &actions); err != nil {
		u.fail(w, r, err)
		return
	}
	for _, a := range actions {
		d.Actions = append(d.Actions, a.Name)
	}
	q := url.Values{}
	for k, v := range map[string]string{"action": d.Action, "username": d.Username, "client_ip": d.ClientIP,
		"created__gte": d.From, "created__lte": d.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var err error
	d.Events, d.Pager, err = listPage[event](u, r, "/events/events/", q)
	if errs, ok := formErrors(err); ok {
		// A range the API refuses (a bad date, To before From): the
		// form again with its messages, and no list.
		d.Errors = errs
		w.WriteHeader(http.StatusBadRequest)
	} else if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "events", page{Title: "Events", Section: "events", Data: d})
}

func (u *UI) event(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return
	}
	var e event
	if err := u.do(r, http.MethodGet, "/events/events/"+id.String()+"/", nil, &e); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "event", page{Title: "Event " + e.Action, Section: "events", Data: e})
}
