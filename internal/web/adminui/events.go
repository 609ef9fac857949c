package adminui

import (
	"encoding/json"
	"net/http"
	"net/url"
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
	Actions                    []string
	Events                     []event
	Pager                      pager
}

func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	d := eventsData{Action: query(r, "action"), Username: query(r, "username"), ClientIP: query(r, "client_ip")}
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
	for k, v := range map[string]string{"action": d.Action, "username": d.Username, "client_ip": d.ClientIP} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var err error
	if d.Events, d.Pager, err = listPage[event](u, r, "/events/events/", q); err != nil {
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
