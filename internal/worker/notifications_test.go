package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

// notification_cleanup deletes the seen notifications older than the
// grace, and keeps the rest.
func TestNotificationCleanup(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	u := &store.User{Username: "n", IsActive: true}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	ev := &store.Event{Action: "login_failed", App: "test", Expires: time.Now().Add(time.Hour)}
	if err := st.CreateEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	old := now.Add(-worker.NotificationGrace - time.Minute)
	seenOld := &store.Notification{Severity: store.SeverityNotice, Body: "a", UserPK: u.PK, EventUUID: &ev.UUID, Created: old, Seen: true}
	unseenOld := &store.Notification{Severity: store.SeverityNotice, Body: "b", UserPK: u.PK, EventUUID: &ev.UUID, Created: old}
	seenNew := &store.Notification{Severity: store.SeverityNotice, Body: "c", UserPK: u.PK, EventUUID: &ev.UUID, Created: now, Seen: true}
	for _, n := range []*store.Notification{seenOld, unseenOld, seenNew} {
		if err := st.CreateNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	task := worker.NotificationCleanup(st, func() time.Time { return now })
	if got, err := task.Run(ctx); err != nil || got != "deleted 1 notifications" {
		t.Fatalf("Run = %q, %v", got, err)
	}
	if _, err := st.NotificationByUUID(ctx, seenOld.UUID); err == nil {
		t.Error("the old seen notification is kept")
	}
	for _, n := range []*store.Notification{unseenOld, seenNew} {
		if _, err := st.NotificationByUUID(ctx, n.UUID); err != nil {
			t.Errorf("%s: %v", n.Body, err)
		}
	}
}
