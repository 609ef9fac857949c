package userui_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// notify gives u a notification through the store (as the local transport
// does).
func (e *env) notify(u *store.User, body, link string, seen bool) *store.Notification {
	e.t.Helper()
	n := &store.Notification{UUID: uuid.New(), Severity: "warning", Body: body, Hyperlink: link, HyperlinkLabel: "Look " + xss,
		Created: time.Now().Add(-time.Minute), UserPK: u.PK, Seen: seen}
	if err := e.st.CreateNotification(context.Background(), n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestNotifications(t *testing.T) {
	e := newEnv(t)
	n1 := e.notify(e.alice, "Login failed "+xss, "javascript:alert(1)", false)
	e.notify(e.alice, "New device", "/if/user/settings/mfa/", false)
	e.notify(e.alice, "Old news", "", true)
	bobs := e.notify(e.bob, "bob-private-notification", "", false)

	// The header of every page counts the unseen ones.
	for _, p := range append(pagesToRender, "/if/user/notifications/") {
		if body := e.page(e.aliceC, p); !strings.Contains(body, `id="unread-count" aria-label="2 unread">2<`) {
			t.Errorf("%s: no unread count of 2", p)
		}
	}
	body := e.page(e.aliceC, "/if/user/notifications/")
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "javascript:alert") || strings.Contains(body, "bob-private") {
		t.Error("unescaped payload, a javascript: link or bob's notification")
	}
	if n := strings.Count(body, `class="row notification unseen"`); n != 2 {
		t.Errorf("%d unseen rows, want 2", n)
	}
	if !strings.Contains(body, `href="/if/user/settings/mfa/"`) || !strings.Contains(body, "Old news") {
		t.Error("the link or the seen notification is missing")
	}
	if body := e.page(e.aliceC, "/if/user/notifications/?unseen=1"); strings.Contains(body, "Old news") {
		t.Error("the unseen filter shows a seen notification")
	}

	// CSRF, then mark one seen.
	if w := e.post(e.aliceC, "/if/user/notifications/"+n1.UUID.String()+"/seen/", "wrong", nil); w.Code != http.StatusForbidden {
		t.Errorf("without CSRF: %d", w.Code)
	}
	if w := e.post(e.aliceC, "/if/user/notifications/"+n1.UUID.String()+"/seen/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("mark seen: %d %s", w.Code, w.Body)
	}
	if body := e.page(e.aliceC, "/if/user/"); !strings.Contains(body, `aria-label="1 unread">1<`) {
		t.Error("the count did not drop to 1")
	}
	// Bob's notification is not alice's to mark.
	if w := e.post(e.aliceC, "/if/user/notifications/"+bobs.UUID.String()+"/seen/", csrf, nil); w.Code != http.StatusNotFound {
		t.Errorf("alice marks bob's: %d", w.Code)
	}
	if w := e.post(e.aliceC, "/if/user/notifications/not-a-uuid/seen/", csrf, nil); w.Code != http.StatusNotFound {
		t.Errorf("bad id: %d", w.Code)
	}
	if w := e.post(e.aliceC, "/if/user/notifications/mark-all-seen/", csrf, nil); w.Code != http.StatusSeeOther {
		t.Fatalf("mark all: %d", w.Code)
	}
	body = e.page(e.aliceC, "/if/user/notifications/")
	if strings.Contains(body, `id="unread-count"`) || strings.Contains(body, `id="mark-all-seen"`) {
		t.Error("still unread after mark all")
	}
	ns, _, err := e.st.ListNotifications(context.Background(), store.NotificationFilter{UserPK: e.bob.PK})
	if err != nil || len(ns) != 1 || ns[0].Seen {
		t.Errorf("bob's notification after alice's mark all: %+v %v", ns, err)
	}
}

func TestNotificationsPaged(t *testing.T) {
	e := newEnv(t)
	for range 30 {
		e.notify(e.alice, "n", "", true)
	}
	body := e.page(e.aliceC, "/if/user/notifications/")
	if n := strings.Count(body, `class="row notification"`); n != 25 || !strings.Contains(body, `rel="next" href="/if/user/notifications/?page=2"`) {
		t.Errorf("page 1: %d rows", n)
	}
	body = e.page(e.aliceC, "/if/user/notifications/?page=2")
	if n := strings.Count(body, `class="row notification"`); n != 5 {
		t.Errorf("page 2: %d rows", n)
	}
	e.page(e.aliceC, "/if/user/notifications/?page=999999999999")
}
