package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const permViewEvent = "authentik_events.view_event"

// eventActions is authentik's EventActions list.
var eventActions = []string{"login", "login_failed", "logout", "user_write", "suspicious_request", "password_set",
	"secret_view", "secret_rotate", "invitation_used", "authorize_application", "source_linked",
	"impersonation_started", "impersonation_ended", "flow_execution", "policy_execution", "policy_exception",
	"property_mapping_exception", "system_task_execution", "system_task_exception", "system_exception",
	"configuration_error", "configuration_warning", "model_created", "model_updated", "model_deleted",
	"email_sent", "update_available", "export_ready", "custom_"}

// Event is authentik's Event serializer.
type Event struct {
	PK       uuid.UUID      `json:"pk"`
	User     map[string]any `json:"user"`
	Action   string         `json:"action"`
	App      string         `json:"app"`
	Context  map[string]any `json:"context"`
	ClientIP *string        `json:"client_ip"`
	Created  time.Time      `json:"created"`
	Expires  time.Time      `json:"expires"`
	Brand    map[string]any `json:"brand"`
}

// EventFilterParams are authentik's EventsFilter fields the list and the
// volume share, and the created range (django-filter's lookup names; an
// extension: authentik filters dates only through its QL search).
// Exported because input structs embed it: huma ignores unexported
// embedded fields.
type EventFilterParams struct {
	Action               string `query:"action" maxLength:"100"`
	Username             string `query:"username" maxLength:"150"`
	ClientIP             string `query:"client_ip" maxLength:"64"`
	ContextModelPK       string `query:"context_model_pk" maxLength:"100"`
	ContextModelApp      string `query:"context_model_app" maxLength:"100" doc:"Context Model App"`
	ContextAuthorizedApp string `query:"context_authorized_app" maxLength:"100" doc:"Context Authorized application"`
	CreatedGTE           string `query:"created__gte" maxLength:"64" doc:"Events created at or after this time: RFC 3339 (2026-03-10T08:00:00Z), or a date alone for its start (00:00 UTC)."`
	CreatedLTE           string `query:"created__lte" maxLength:"64" doc:"Events created at or before this time: RFC 3339, or a date alone for its end (the whole day, UTC)."`
}

// filter is the store filter of p, or a 400 naming a bad bound.
func (p EventFilterParams) filter(only []string) (store.EventFilter, error) {
	f := store.EventFilter{Action: p.Action, Username: p.Username, ClientIP: p.ClientIP, ContextModelPK: p.ContextModelPK,
		ContextModelApp: p.ContextModelApp, ContextAuthorizedApp: p.ContextAuthorizedApp, ListOptions: store.ListOptions{Only: only}}
	// Gatehouse writes the application's pk with dashes; authentik's
	// UUID.hex has none. Either form finds it.
	if id, err := uuid.Parse(p.ContextAuthorizedApp); err == nil {
		f.ContextAuthorizedApp = id.String()
	}
	var err error
	if f.Since, err = createdBound("created__gte", p.CreatedGTE, false); err != nil {
		return f, err
	}
	if f.Until, err = createdBound("created__lte", p.CreatedLTE, true); err != nil {
		return f, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return f, fieldError("created__lte", "Must not be before created__gte.")
	}
	return f, nil
}

// createdBound parses a created__gte (end false) or created__lte bound: an
// RFC 3339 time, or a date alone, which stands for the whole day in UTC
// (authentik's TIME_ZONE): its first instant for gte, its last microsecond
// (the precision both engines keep) for lte. django-filter would read a
// date alone as midnight on both sides, which makes lte drop the day it
// names. "" is no bound.
func createdBound(field, v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fieldError(field, "Enter a valid date/time.")
	}
	if end {
		d = d.AddDate(0, 0, 1).Add(-time.Microsecond)
	}
	return d, nil
}

type eventListInput struct {
	ListParams
	EventFilterParams
}

type eventListOutput struct {
	Body struct {
		Pagination   Pagination   `json:"pagination"`
		Results      []*Event     `json:"results"`
		Autocomplete Autocomplete `json:"autocomplete"`
	}
}

// TypeCreate is authentik's action descriptor in events/actions/.
type TypeCreate struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Component   string `json:"component"`
	ModelName   string `json:"model_name"`
}

func (a *API) registerEvents() {
	const tag = "events"
	huma.Register(a.huma, op(http.MethodGet, "/events/events/", "events_events_list", tag, "List events", 200), a.listEvents)
	huma.Register(a.huma, op(http.MethodGet, "/events/events/actions/", "events_events_actions_list", tag, "List event actions", 200), a.eventActions)
	huma.Register(a.huma, op(http.MethodGet, "/events/events/volume/", "events_events_volume_list", tag, "Event volume per hour", 200), a.eventVolume)
	huma.Register(a.huma, op(http.MethodGet, "/events/events/{id}/", "events_events_retrieve", tag, "Get an event", 200, 404), a.getEvent)
}

func eventOut(e *store.Event) *Event {
	m := func(x store.Attributes) map[string]any {
		if x == nil {
			return map[string]any{}
		}
		return x
	}
	return &Event{PK: e.UUID, User: m(e.User), Action: e.Action, App: e.App, Context: m(e.Context), ClientIP: e.ClientIP,
		Created: e.Created, Expires: e.Expires, Brand: m(e.Brand)}
}

func (a *API) listEvents(ctx context.Context, in *eventListInput) (*eventListOutput, error) {
	only, err := a.visible(ctx, permViewEvent)
	if err != nil {
		return nil, err
	}
	f, err := in.filter(only)
	if err != nil {
		return nil, err
	}
	f.ListOptions = in.options(only)
	es, total, err := a.Store.ListEvents(ctx, f)
	if err != nil {
		return nil, a.listError(err)
	}
	out := &eventListOutput{}
	out.Body.Results = []*Event{}
	for _, e := range es {
		out.Body.Results = append(out.Body.Results, eventOut(e))
	}
	out.Body.Pagination = paginate(in.ListParams, total, len(es))
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

func (a *API) getEvent(ctx context.Context, in *struct {
	ID uuid.UUID `path:"id"`
}) (*struct{ Body *Event }, error) {
	if err := a.check(ctx, permViewEvent, permViewEvent, in.ID.String()); err != nil {
		return nil, err
	}
	e, err := a.Store.EventByUUID(ctx, in.ID)
	if err != nil {
		return nil, a.storeError(err)
	}
	return &struct{ Body *Event }{Body: eventOut(e)}, nil
}

func (a *API) eventActions(ctx context.Context, _ *struct{}) (*struct{ Body []TypeCreate }, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	out := &struct{ Body []TypeCreate }{Body: []TypeCreate{}}
	for _, act := range eventActions {
		out.Body = append(out.Body, TypeCreate{Name: act, Description: act, Component: "", ModelName: ""})
	}
	return out, nil
}

// EventVolume is authentik's EventVolumeSerializer: the number of events
// of one action in the hour starting at time.
type EventVolume struct {
	Action string    `json:"action"`
	Time   time.Time `json:"time"`
	Count  int       `json:"count"`
}

type eventVolumeInput struct {
	EventFilterParams
	HistoryDays int `query:"history_days" default:"7" minimum:"1" maximum:"365"`
}

// eventVolume is authentik's events/volume/: the visible events matching
// the filters (the list's, created range included) of the last
// history_days days, counted per action and hour.
func (a *API) eventVolume(ctx context.Context, in *eventVolumeInput) (*struct{ Body []EventVolume }, error) {
	only, err := a.visible(ctx, permViewEvent)
	if err != nil {
		return nil, err
	}
	f, err := in.filter(only)
	if err != nil {
		return nil, err
	}
	since := time.Now().Add(-time.Duration(in.HistoryDays) * 24 * time.Hour)
	vs, err := a.Store.EventVolume(ctx, f, since)
	if err != nil {
		return nil, a.storeError(err)
	}
	out := &struct{ Body []EventVolume }{Body: make([]EventVolume, 0, len(vs))}
	for _, v := range vs {
		out.Body = append(out.Body, EventVolume{Action: v.Action, Time: v.Hour, Count: v.Count})
	}
	return out, nil
}
