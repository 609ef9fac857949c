// Package event records audit events (authentik's Event model) for things
// that happen outside the admin API: logins, failed logins, logouts.
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
	// Retention gives the event lifetime (the event_retention setting).
	Retention func(ctx context.Context) time.Duration
}

// UserSnapshot is how events keep a user (a snapshot, not a reference).
func UserSnapshot(u *store.User) store.Attributes {
	if u == nil {
		return store.Attributes{"pk": 0, "username": "AnonymousUser"}
	}
	return store.Attributes{"pk": u.PK, "username": u.Username, "email": u.Email}
}

// Record writes one event about the request r (may be nil). Failures are
// logged, never returned: an audit write must not break a login.
func (rec *Recorder) Record(ctx context.Context, r *http.Request, action string, user *store.User, evctx map[string]any) {
	now := time.Now().UTC()
	if rec.Now != nil {
		now = rec.Now().UTC()
	}
	retention := 365 * 24 * time.Hour
	if rec.Retention != nil {
		retention = rec.Retention(ctx)
	}
	e := &store.Event{Action: action, App: "gatehouse.flows", User: UserSnapshot(user), Context: store.Attributes{},
		Created: now, Expires: now.Add(retention)}
	for k, v := range evctx {
		e.Context[k] = v
	}
	if r != nil {
		if ip := web.ClientIP(r.Context()); ip.IsValid() {
			s := ip.String()
			e.ClientIP = &s
		}
		e.Context["http_request"] = map[string]any{"path": r.URL.Path, "method": r.Method,
			"user_agent": r.UserAgent(), "request_id": web.RequestID(r.Context())}
	}
	if err := rec.Store.CreateEvent(ctx, e); err != nil && rec.Log != nil {
		rec.Log.Error("recording an event", "action", action, "error", err)
	}
}
