// Package event records audit events (authentik's Event model): the admin
// API's model_* events and the flows' login, login_failed, logout, ...
package event

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// Recorder writes events.
type Recorder struct {
	Store store.Events
	Log   *slog.Logger
	Now   func() time.Time
	// Retention gives the event lifetime (the event_retention setting);
	// nil means 365 days.
	Retention func(ctx context.Context) time.Duration
	// Notify, when set, is told about every event written (the
	// notification rules' dispatch, internal/notify).
	Notify Notifier
}

// Notifier is told about recorded events.
type Notifier interface {
	EventRecorded(ctx context.Context, e *store.Event)
}

// UserSnapshot is how events keep a user (a snapshot, not a reference).
func UserSnapshot(u *store.User) store.Attributes {
	if u == nil {
		return store.Attributes{"pk": 0, "username": "AnonymousUser"}
	}
	return store.Attributes{"pk": u.PK, "username": u.Username, "email": u.Email}
}

// Event is one event to write.
type Event struct {
	Action  string
	App     string // "gatehouse.api", "gatehouse.flows", ...
	User    *store.User
	Context map[string]any
	// Request adds the HTTP facts (path, method, user agent); the client IP
	// and request id come from ctx, as the router set them.
	Request *http.Request
}

// Write records e. Failures are logged, never returned: an audit write must
// not break a login or an API call.
func (rec *Recorder) Write(ctx context.Context, e Event) {
	now := time.Now().UTC()
	if rec.Now != nil {
		now = rec.Now().UTC()
	}
	retention := 365 * 24 * time.Hour
	if rec.Retention != nil {
		retention = rec.Retention(ctx)
	}
	ev := &store.Event{Action: e.Action, App: e.App, User: UserSnapshot(e.User), Context: store.Attributes{},
		Created: now, Expires: now.Add(retention)}
	for k, v := range e.Context {
		ev.Context[k] = v
	}
	if ip := web.ClientIP(ctx); ip.IsValid() {
		s := ip.String()
		ev.ClientIP = &s
	}
	httpReq := map[string]any{}
	if rid := web.RequestID(ctx); rid != "" {
		httpReq["request_id"] = rid
	}
	if r := e.Request; r != nil {
		httpReq["path"], httpReq["method"], httpReq["user_agent"] = r.URL.Path, r.Method, r.UserAgent()
	}
	if len(httpReq) > 0 {
		ev.Context["http_request"] = httpReq
	}
	if err := rec.Store.CreateEvent(ctx, ev); err != nil {
		if rec.Log != nil {
			rec.Log.Error("recording an event", "action", e.Action, "error", err)
		}
		return
	}
	if rec.Notify != nil {
		rec.Notify.EventRecorded(ctx, ev)
	}
}

// Record is Write for the flows (flow.Events).
func (rec *Recorder) Record(ctx context.Context, r *http.Request, action string, user *store.User, evctx map[string]any) {
	rec.Write(ctx, Event{Action: action, App: "gatehouse.flows", User: user, Context: evctx, Request: r})
}
