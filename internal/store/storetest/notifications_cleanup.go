package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// testNotificationCleanup: DeleteStaleNotifications deletes, among those
// created before the cutoff, the seen ones and those whose event is gone.
func testNotificationCleanup(t *testing.T, s store.Store) {
	u := mustUser(t, s, "cleaned")
	now := time.Now().UTC()
	kept := &store.Event{Action: "login_failed", App: "test", Expires: now.Add(time.Hour)}
	gone := &store.Event{Action: "login_failed", App: "test", Expires: now.Add(-time.Minute)}
	for _, ev := range []*store.Event{kept, gone} {
		if err := s.CreateEvent(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	old, cutoff := now.Add(-2*time.Hour), now.Add(-time.Hour)
	ns := map[string]*store.Notification{
		"old unseen":          {EventUUID: &kept.UUID, Created: old},
		"old seen":            {EventUUID: &kept.UUID, Created: old, Seen: true},
		"old, event expired":  {EventUUID: &gone.UUID, Created: old},
		"old, no event":       {Created: old},
		"new seen":            {EventUUID: &kept.UUID, Created: now, Seen: true},
		"new, no event":       {Created: now},
		"new, event expired":  {EventUUID: &gone.UUID, Created: now},
		"at the cutoff, seen": {Created: cutoff, Seen: true},
	}
	for body, n := range ns {
		n.Severity, n.Body, n.UserPK = store.SeverityNotice, body, u.PK
		if err := s.CreateNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteExpiredEvents(ctx, now); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredEvents = %d %v", n, err)
	}
	n, err := s.DeleteStaleNotifications(ctx, cutoff)
	if err != nil || n != 3 {
		t.Errorf("DeleteStaleNotifications = %d %v, want 3", n, err)
	}
	for body, want := range map[string]bool{"old unseen": true, "old seen": false, "old, event expired": false,
		"old, no event": false, "new seen": true, "new, no event": true, "new, event expired": true, "at the cutoff, seen": true} {
		_, err := s.NotificationByUUID(ctx, ns[body].UUID)
		if got := err == nil; got != want {
			t.Errorf("%s: kept = %v (%v), want %v", body, got, err, want)
		}
	}
	if n, err := s.DeleteStaleNotifications(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("again: %d %v", n, err)
	}
}

// testNotificationWebhookCA: a transport's webhook_ca round-trips and is
// cleared when its keypair is deleted.
func testNotificationWebhookCA(t *testing.T, s store.Store) {
	ca := &store.CertificateKeyPair{Name: "webhook ca", CertificateData: "-----BEGIN CERTIFICATE-----\n"}
	if err := s.CreateKeyPair(ctx, ca); err != nil {
		t.Fatal(err)
	}
	tr := &store.NotificationTransport{Name: "tls hook", Mode: store.TransportWebhook, WebhookURL: "https://hook.internal/", WebhookCA: &ca.UUID}
	if err := s.CreateNotificationTransport(ctx, tr); err != nil {
		t.Fatal(err)
	}
	got, err := s.NotificationTransportByUUID(ctx, tr.UUID)
	if err != nil || got.WebhookCA == nil || *got.WebhookCA != ca.UUID {
		t.Fatalf("transport = %+v %v", got, err)
	}
	if err := s.DeleteKeyPair(ctx, ca.UUID); err != nil {
		t.Fatal(err)
	}
	if got, err = s.NotificationTransportByUUID(ctx, tr.UUID); err != nil || got.WebhookCA != nil {
		t.Errorf("transport after the keypair's delete = %+v %v", got, err)
	}
}
