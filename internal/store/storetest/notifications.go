package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func testNotifications(t *testing.T, s store.Store) {
	g := &store.Group{Name: "notified"}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	pm := &store.PropertyMapping{Name: "hook body", Type: store.NotificationMappingType, Expression: "return {}"}
	if err := s.CreatePropertyMapping(ctx, pm); err != nil {
		t.Fatal(err)
	}
	hook := &store.NotificationTransport{Name: "hook", Mode: store.TransportWebhook, WebhookURL: "https://example.com/hook", WebhookSecret: "s3cret",
		WebhookMappingBody: &pm.UUID, WebhookMappingHeaders: &pm.UUID}
	local := &store.NotificationTransport{Name: "local", Mode: store.TransportLocal, SendOnce: true}
	for _, tr := range []*store.NotificationTransport{hook, local} {
		if err := s.CreateNotificationTransport(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.CreateNotificationTransport(ctx, &store.NotificationTransport{Name: "hook", Mode: store.TransportLocal}), store.ErrConflict, "duplicate transport")
	got, err := s.NotificationTransportByUUID(ctx, hook.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hook, got); diff != "" {
		t.Errorf("transport (-want +got):\n%s", diff)
	}
	// Deleting the mapping clears it from the transport.
	if err := s.DeletePropertyMapping(ctx, pm.UUID); err != nil {
		t.Fatal(err)
	}
	if got, err = s.NotificationTransportByUUID(ctx, hook.UUID); err != nil || got.WebhookMappingBody != nil || got.WebhookMappingHeaders != nil {
		t.Errorf("transport after mapping delete = %+v %v", got, err)
	}
	if list, n, err := s.ListNotificationTransports(ctx, store.ListOptions{Ordering: "-name"}); err != nil || n != 2 || list[0].Name != "local" {
		t.Errorf("ListNotificationTransports = %v %d %v", list, n, err)
	}

	r := &store.NotificationRule{Name: "failures", Transports: []uuid.UUID{hook.UUID, local.UUID}, Severity: store.SeverityAlert,
		DestinationGroup: &g.UUID, DestinationEventUser: true}
	if err := s.CreateNotificationRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.CreateNotificationRule(ctx, &store.NotificationRule{Name: "failures", Severity: store.SeverityNotice}), store.ErrConflict, "duplicate rule")
	gotRule, err := s.NotificationRuleByUUID(ctx, r.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, gotRule); diff != "" {
		t.Errorf("rule (-want +got):\n%s", diff)
	}
	if list, n, err := s.ListNotificationRules(ctx, store.ListOptions{Search: "FAIL"}); err != nil || n != 1 {
		t.Errorf("ListNotificationRules = %v %d %v", list, n, err)
	}
	// Deleting a transport takes it out of the rules.
	if err := s.DeleteNotificationTransport(ctx, hook.UUID); err != nil {
		t.Fatal(err)
	}
	if gotRule, err = s.NotificationRuleByUUID(ctx, r.UUID); err != nil || !cmp.Equal(gotRule.Transports, []uuid.UUID{local.UUID}) {
		t.Errorf("rule after transport delete = %+v %v", gotRule, err)
	}
	// Deleting the group clears the destination.
	if err := s.DeleteGroup(ctx, g.UUID); err != nil {
		t.Fatal(err)
	}
	if gotRule, err = s.NotificationRuleByUUID(ctx, r.UUID); err != nil || gotRule.DestinationGroup != nil {
		t.Errorf("rule after group delete = %+v %v", gotRule, err)
	}
	if err := s.DeleteNotificationRule(ctx, r.UUID); err != nil {
		t.Fatal(err)
	}
	_, err = s.NotificationRuleByUUID(ctx, r.UUID)
	wantErr(t, err, store.ErrNotFound, "deleted rule")

	u := mustUser(t, s, "notified")
	other := mustUser(t, s, "other")
	ev := &store.Event{Action: "login_failed", App: "test"}
	if err := s.CreateEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	n1 := &store.Notification{Severity: store.SeverityAlert, Body: "first", EventUUID: &ev.UUID, UserPK: u.PK}
	n2 := &store.Notification{Severity: store.SeverityNotice, Body: "second", UserPK: u.PK, Hyperlink: "https://example.com", HyperlinkLabel: "Open"}
	n3 := &store.Notification{Severity: store.SeverityNotice, Body: "not yours", UserPK: other.PK}
	for _, n := range []*store.Notification{n1, n2, n3} {
		if err := s.CreateNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	gotN, err := s.NotificationByUUID(ctx, n1.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(n1, gotN, cmpTime); diff != "" {
		t.Errorf("notification (-want +got):\n%s", diff)
	}
	list, total, err := s.ListNotifications(ctx, store.NotificationFilter{UserPK: u.PK, Ordering: "severity"})
	if err != nil || total != 2 || list[0].Body != "first" {
		t.Errorf("ListNotifications = %v %d %v", list, total, err)
	}
	gotN.Seen = true
	if err := s.UpdateNotification(ctx, gotN); err != nil {
		t.Fatal(err)
	}
	unseen := false
	if _, total, err = s.ListNotifications(ctx, store.NotificationFilter{UserPK: u.PK, Seen: &unseen}); err != nil || total != 1 {
		t.Errorf("unseen = %d %v", total, err)
	}
	if n, err := s.MarkNotificationsSeen(ctx, u.PK); err != nil || n != 1 {
		t.Errorf("MarkNotificationsSeen = %d %v", n, err)
	}
	if _, total, err = s.ListNotifications(ctx, store.NotificationFilter{UserPK: u.PK, Seen: &unseen}); err != nil || total != 0 {
		t.Errorf("unseen after mark = %d %v", total, err)
	}
	if _, total, err = s.ListNotifications(ctx, store.NotificationFilter{UserPK: other.PK, Seen: &unseen}); err != nil || total != 1 {
		t.Errorf("other's unseen = %d %v", total, err)
	}
	if err := s.DeleteNotification(ctx, n2.UUID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteNotification(ctx, n2.UUID), store.ErrNotFound, "deleted notification")
	if err := s.DeleteUser(ctx, other.PK); err != nil {
		t.Fatal(err)
	}
	_, err = s.NotificationByUUID(ctx, n3.UUID)
	wantErr(t, err, store.ErrNotFound, "notification of a deleted user")
}
