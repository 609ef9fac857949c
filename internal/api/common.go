package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// MaxPageSize is authentik's default pagination_max_page_size.
const MaxPageSize = 100

// ListParams are the query parameters every list takes.
type ListParams struct {
	Page     int    `query:"page" minimum:"1" default:"1" doc:"A page number within the paginated result set."`
	PageSize int    `query:"page_size" minimum:"1" maximum:"100" default:"20" doc:"Number of results to return per page."`
	Ordering string `query:"ordering" maxLength:"200" doc:"Which field to use when ordering the results."`
	Search   string `query:"search" maxLength:"200" doc:"A search term."`
}

func (p ListParams) options(only []string) store.ListOptions {
	return store.ListOptions{Search: p.Search, Ordering: p.Ordering, Only: only, Page: p.page()}
}

// window is the [from, to) slice of n in-memory results this page shows.
func (p ListParams) window(n int) (from, to int) {
	from = min((p.Page-1)*p.PageSize, n)
	return from, min(from+p.PageSize, n)
}

func (p ListParams) page() store.Page {
	return store.Page{Offset: (p.Page - 1) * p.PageSize, Limit: p.PageSize}
}

// Pagination is authentik's pagination object. next and previous are page
// numbers, 0 when there is none.
type Pagination struct {
	Next       int `json:"next"`
	Previous   int `json:"previous"`
	Count      int `json:"count"`
	Current    int `json:"current"`
	TotalPages int `json:"total_pages"`
	StartIndex int `json:"start_index"`
	EndIndex   int `json:"end_index"`
}

// Autocomplete is authentik's search-suggestion object (always empty here).
type Autocomplete map[string]any

func paginate(p ListParams, total, got int) Pagination {
	pages := (total + p.PageSize - 1) / p.PageSize
	pg := Pagination{Count: total, Current: p.Page, TotalPages: pages}
	if p.Page < pages {
		pg.Next = p.Page + 1
	}
	if p.Page > 1 {
		pg.Previous = p.Page - 1
	}
	if got > 0 {
		pg.StartIndex = (p.Page-1)*p.PageSize + 1
		pg.EndIndex = pg.StartIndex + got - 1
	}
	return pg
}

// listError turns the one error a list can cause from its input (an ordering
// field that is not allowed) into a 400 on "ordering".
func (a *API) listError(err error) error {
	if errors.Is(err, store.ErrInvalid) {
		return fieldError("ordering", err.Error())
	}
	return a.storeError(err)
}

// noContent is the output of operations answering 204.
type noContent struct{}

// Event actions (authentik's names).
const (
	actionModelCreated = "model_created"
	actionModelUpdated = "model_updated"
	actionModelDeleted = "model_deleted"
	actionPasswordSet  = "password_set"
	actionSecretView   = "secret_view"
)

// modelRef names the object an event is about, as authentik's context.model.
type modelRef struct {
	App   string // authentik_core
	Model string // user
	PK    any
	Name  string
}

// audit records an event for a write through the API. diff holds only
// public fields (the *Out types never carry secrets).
func (a *API) audit(ctx context.Context, action string, m modelRef, extra map[string]any) {
	evctx := map[string]any{"model": map[string]any{"app": m.App, "model_name": m.Model, "pk": m.PK, "name": m.Name}}
	for k, v := range extra {
		evctx[k] = v
	}
	var user *store.User
	if p, _ := ctx.Value(ctxPrincipal).(*principal); p != nil {
		user = p.User
		if p.Token != nil {
			evctx["token"] = map[string]any{"identifier": p.Token.Identifier}
		}
	}
	a.events.Write(ctx, event.Event{Action: action, App: "gatehouse.api", User: user, Context: evctx})
}

// EventRetention is the event_retention system setting (365 days when unset).
func (a *API) EventRetention(ctx context.Context) time.Duration {
	s, err := a.loadSettings(ctx)
	if err != nil {
		return 365 * 24 * time.Hour
	}
	return s.retention()
}

// diff compares two API representations field by field, authentik's
// {"field": {"previous_value": ..., "new_value": ...}}.
func diff(before, after any) map[string]any {
	var b, c map[string]any
	bj, _ := json.Marshal(before)
	cj, _ := json.Marshal(after)
	_ = json.Unmarshal(bj, &b)
	_ = json.Unmarshal(cj, &c)
	out := map[string]any{}
	for k, nv := range c {
		if k == "last_updated" {
			continue
		}
		if ov, ok := b[k]; !ok || !reflect.DeepEqual(ov, nv) {
			out[k] = map[string]any{"previous_value": b[k], "new_value": nv}
		}
	}
	return out
}

var _ = http.StatusOK
