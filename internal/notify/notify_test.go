package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

var ctx = context.Background()

// fakeQueue keeps what is enqueued; drain runs it through the handlers as
// the consumer would: a task whose handler fails runs again, up to its
// MaxAttempts.
type fakeQueue struct {
	mu    sync.Mutex
	tasks []queue.Task
}

func (q *fakeQueue) Enqueue(_ context.Context, t queue.Task) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, t)
	return strconv.Itoa(len(q.tasks)), nil
}

func (q *fakeQueue) take() []queue.Task {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.tasks
	q.tasks = nil
	return out
}

// drain runs every task (and the tasks they enqueue) and returns the runs
// per task name.
func (q *fakeQueue) drain(t *testing.T, hs queue.Handlers) map[string]int {
	t.Helper()
	runs := map[string]int{}
	for {
		tasks := q.take()
		if len(tasks) == 0 {
			return runs
		}
		for i, task := range tasks {
			max := task.MaxAttempts
			if max == 0 {
				max = queue.DefaultMaxAttempts
			}
			for attempt := 1; attempt <= max; attempt++ {
				runs[task.Name]++
				err := hs[task.Name](ctx, &queue.Job{ID: strconv.Itoa(i), Name: task.Name, Args: task.Args, Attempt: attempt, MaxAttempts: max})
				if err == nil || queue.IsFinal(err) {
					break
				}
			}
		}
	}
}

type fixture struct {
	st    *sqlstore.Store
	q     *fakeQueue
	svc   *Service
	rec   *event.Recorder
	admin *store.User // in the group "admins"
	alice *store.User // the user of the events
	group *store.Group
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "g.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, q: &fakeQueue{}}
	f.svc = &Service{Store: st, Queue: f.q, Templates: mail.NewTemplates(""), Version: "test"}
	f.rec = &event.Recorder{Store: st, Notify: f.svc}
	f.admin = &store.User{Username: "admin", Email: "admin@example.com", Name: "Admin", IsActive: true}
	f.alice = &store.User{Username: "alice", Email: "alice@example.com", Name: "Alice", IsActive: true}
	for _, u := range []*store.User{f.admin, f.alice} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	f.group = &store.Group{Name: "admins"}
	if err := st.CreateGroup(ctx, f.group); err != nil {
		t.Fatal(err)
	}
	if err := st.AddGroupMember(ctx, f.group.UUID, f.admin.PK); err != nil {
		t.Fatal(err)
	}
	return f
}

// rule creates a transport and a rule on action, bound to an event
// matcher (when action is not empty).
func (f *fixture) rule(t *testing.T, action string, tr *store.NotificationTransport, group bool, eventUser bool) *store.NotificationRule {
	t.Helper()
	if tr.Name == "" {
		tr.Name = "transport " + uuid.NewString()
	}
	if err := f.st.CreateNotificationTransport(ctx, tr); err != nil {
		t.Fatal(err)
	}
	r := &store.NotificationRule{Name: "rule " + uuid.NewString(), Transports: []uuid.UUID{tr.UUID}, Severity: store.SeverityAlert,
		DestinationEventUser: eventUser}
	if group {
		r.DestinationGroup = &f.group.UUID
	}
	if err := f.st.CreateNotificationRule(ctx, r); err != nil {
		t.Fatal(err)
	}
	if action != "" {
		p := &store.Policy{Name: "match " + r.Name, Type: "event_matcher", Settings: store.Attributes{"action": action}}
		if err := f.st.CreatePolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := f.st.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: r.UUID, PolicyUUID: &p.UUID, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	f.svc.Invalidate()
	return r
}

func (f *fixture) record(action string) {
	f.rec.Write(ctx, event.Event{Action: action, App: "test", User: f.alice, Context: map[string]any{"username": "alice"}})
}

func (f *fixture) notifications(t *testing.T, u *store.User) []*store.Notification {
	t.Helper()
	list, _, err := f.st.ListNotifications(ctx, store.NotificationFilter{UserPK: u.PK})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestNoRulesNoTask(t *testing.T) {
	f := newFixture(t)
	f.record("login_failed")
	if n := len(f.q.take()); n != 0 {
		t.Fatalf("%d tasks enqueued without rules", n)
	}
}

func TestLocalByActionToGroupAndEventUser(t *testing.T) {
	tests := []struct {
		name             string
		group, eventUser bool
		action           string
		wantAdmin        int
		wantAlice        int
	}{
		{"group", true, false, "login_failed", 1, 0},
		{"event user", false, true, "login_failed", 0, 1},
		{"both", true, true, "login_failed", 1, 1},
		{"other action", true, true, "login", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.rule(t, "login_failed", &store.NotificationTransport{Mode: store.TransportLocal}, tc.group, tc.eventUser)
			f.record(tc.action)
			f.q.drain(t, f.svc.Handlers())
			admin, alice := f.notifications(t, f.admin), f.notifications(t, f.alice)
			if len(admin) != tc.wantAdmin || len(alice) != tc.wantAlice {
				t.Fatalf("notifications: admin %d alice %d, want %d %d", len(admin), len(alice), tc.wantAdmin, tc.wantAlice)
			}
			for _, n := range append(admin, alice...) {
				if n.Severity != store.SeverityAlert || !strings.HasPrefix(n.Body, "login_failed: ") || n.EventUUID == nil || n.Seen {
					t.Errorf("notification = %+v", n)
				}
			}
		})
	}
}

func TestRuleWithoutBindingsMatchesNothing(t *testing.T) {
	f := newFixture(t)
	f.rule(t, "", &store.NotificationTransport{Mode: store.TransportLocal}, true, true)
	f.record("login_failed")
	f.q.drain(t, f.svc.Handlers())
	if n := len(f.notifications(t, f.admin)) + len(f.notifications(t, f.alice)); n != 0 {
		t.Fatalf("%d notifications from a rule without bindings", n)
	}
}

func TestSendOnce(t *testing.T) {
	f := newFixture(t)
	f.rule(t, "login_failed", &store.NotificationTransport{Mode: store.TransportLocal, SendOnce: true}, true, true)
	f.record("login_failed")
	f.q.drain(t, f.svc.Handlers())
	if n := len(f.notifications(t, f.admin)) + len(f.notifications(t, f.alice)); n != 1 {
		t.Fatalf("send_once: %d notifications, want 1", n)
	}
}

// hook is a webhook receiver answering statuses in turn (then 200).
type hook struct {
	srv      *httptest.Server
	mu       sync.Mutex
	statuses []int
	bodies   [][]byte
	sigs     []string
	headers  []http.Header
	calls    atomic.Int32
}

func newHook(t *testing.T, statuses ...int) *hook {
	h := &hook{statuses: statuses}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, b)
		h.sigs = append(h.sigs, r.Header.Get(SignatureHeader))
		h.headers = append(h.headers, r.Header.Clone())
		code := http.StatusOK
		if len(h.statuses) > 0 {
			code, h.statuses = h.statuses[0], h.statuses[1:]
		}
		h.mu.Unlock()
		h.calls.Add(1)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func TestWebhookDefaultBody(t *testing.T) {
	f := newFixture(t)
	h := newHook(t)
	f.rule(t, "login_failed", &store.NotificationTransport{Mode: store.TransportWebhook, WebhookURL: h.srv.URL, WebhookSecret: "k"}, true, false)
	f.record("login_failed")
	f.q.drain(t, f.svc.Handlers())
	if len(h.bodies) != 1 {
		t.Fatalf("webhook calls = %d", len(h.bodies))
	}
	var got map[string]any
	if err := json.Unmarshal(h.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"body": `login_failed: {"username":"alice"}`, "severity": "alert", "user_email": "admin@example.com",
		"user_username": "admin", "event_user_email": "alice@example.com", "event_user_username": "alice"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if h.sigs[0] != Sign("k", h.bodies[0]) || !strings.HasPrefix(h.sigs[0], "sha256=") {
		t.Errorf("signature %q", h.sigs[0])
	}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		sendOnce  bool
		wantCalls int32
	}{
		{"500 then 200", []int{500}, false, 2},
		{"network-like 503 twice", []int{503, 503}, false, 3},
		{"400 final", []int{400}, false, 1},
		{"429 retried", []int{429}, false, 2},
		{"send_once not retried", []int{500}, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			h := newHook(t, tc.statuses...)
			f.rule(t, "login_failed", &store.NotificationTransport{Mode: store.TransportWebhook, WebhookURL: h.srv.URL, SendOnce: tc.sendOnce}, true, false)
			f.record("login_failed")
			f.q.drain(t, f.svc.Handlers())
			if got := h.calls.Load(); got != tc.wantCalls {
				t.Errorf("webhook calls = %d, want %d", got, tc.wantCalls)
			}
		})
	}
}

func TestWebhookMapping(t *testing.T) {
	f := newFixture(t)
	h := newHook(t)
	m := &store.PropertyMapping{Name: "hook body", Type: store.NotificationMappingType,
		Expression: `return {"text": notification.body[:12], "who": notification.user.username, "action": notification.event.action, "ctx": request.context["notification"].event.context["username"]}`}
	hm := &store.PropertyMapping{Name: "hook headers", Type: store.NotificationMappingType,
		Expression: `return {"Authorization": "Bearer t0k", "X-Severity": notification.severity}`}
	for _, pm := range []*store.PropertyMapping{m, hm} {
		if err := f.st.CreatePropertyMapping(ctx, pm); err != nil {
			t.Fatal(err)
		}
	}
	f.rule(t, "login_failed", &store.NotificationTransport{Mode: store.TransportWebhook, WebhookURL: h.srv.URL,
		WebhookMappingBody: &m.UUID, WebhookMappingHeaders: &hm.UUID}, true, false)
	f.record("login_failed")
	f.q.drain(t, f.svc.Handlers())
	if len(h.bodies) != 1 {
		t.Fatalf("webhook calls = %d", len(h.bodies))
	}
	var got map[string]any
	_ = json.Unmarshal(h.bodies[0], &got)
	want := map[string]any{"text": "login_failed", "who": "admin", "action": "login_failed", "ctx": "alice"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mapped body (-want +got):\n%s", diff)
	}
	if a, sev := h.headers[0].Get("Authorization"), h.headers[0].Get("X-Severity"); a != "Bearer t0k" || sev != "alert" {
		t.Errorf("mapped headers: Authorization %q, X-Severity %q", a, sev)
	}
}

// A mapping that fails is final: one run, no POST.
func TestWebhookBrokenMapping(t *testing.T) {
	f := newFixture(t)
	h := newHook(t)
	m := &store.PropertyMapping{Name: "broken", Type: store.NotificationMappingType, Expression: `return 1 // 0`}
	if err := f.st.CreatePropertyMapping(ctx, m); err != nil {
		t.Fatal(err)
	}
	f.rule(t, "login_failed", &store.NotificationTransport{Mode: store.TransportWebhook, WebhookURL: h.srv.URL, WebhookMappingBody: &m.UUID}, true, false)
	f.record("login_failed")
	runs := f.q.drain(t, f.svc.Handlers())
	if runs[TransportTask] != 1 || h.calls.Load() != 0 {
		t.Errorf("transport runs %d, webhook calls %d; want 1, 0", runs[TransportTask], h.calls.Load())
	}
}

func TestSlack(t *testing.T) {
	f := newFixture(t)
	h := newHook(t)
	f.rule(t, "login_failed", &store.NotificationTransport{Mode: store.TransportWebhookSlack, WebhookURL: h.srv.URL}, false, true)
	f.record("login_failed")
	f.q.drain(t, f.svc.Handlers())
	if len(h.bodies) != 1 {
		t.Fatalf("webhook calls = %d", len(h.bodies))
	}
	var got struct {
		Attachments []struct {
			Title  string
			Fields []struct{ Title, Value string }
		}
	}
	_ = json.Unmarshal(h.bodies[0], &got)
	if len(got.Attachments) != 1 || !strings.HasPrefix(got.Attachments[0].Title, "login_failed") {
		t.Fatalf("slack body %s", h.bodies[0])
	}
	fields := map[string]string{}
	for _, fl := range got.Attachments[0].Fields {
		fields[fl.Title] = fl.Value
	}
	want := map[string]string{"Severity": "alert", "Dispatched for user": "alice", "Event user": "alice", "username": "alice"}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestEmail(t *testing.T) {
	f := newFixture(t)
	srv := mailtest.Start(t)
	port, _ := strconv.Atoi(srv.Port())
	f.svc.Mail = &mail.Sender{Config: config.Email{Host: "127.0.0.1", Port: port, Timeout: 5, From: "gatehouse@example.com"}}
	f.rule(t, "login_failed", &store.NotificationTransport{Mode: store.TransportEmail, EmailSubjectPrefix: "[gh] "}, true, false)
	f.record("login_failed")
	f.q.drain(t, f.svc.Handlers())
	m := srv.Wait(t, 0, 5*time.Second)
	if len(m.To) != 1 || m.To[0] != "admin@example.com" {
		t.Errorf("to = %v", m.To)
	}
	if subj := m.Msg.Header.Get("Subject"); subj != "[gh] login_failed" {
		t.Errorf("subject = %q", subj)
	}
	if !strings.Contains(m.HTML, "alice@example.com") || !strings.Contains(m.Body, "login_failed") {
		t.Errorf("body: %s\n%s", m.Body, m.HTML)
	}
}

// A policy bound to a rule that fails records a configuration_error; that
// event is not dispatched (no recursion).
func TestNoRecursion(t *testing.T) {
	f := newFixture(t)
	tr := &store.NotificationTransport{Mode: store.TransportLocal}
	r := f.rule(t, "", tr, true, false)
	p := &store.Policy{Name: "broken", Type: "expression", Settings: store.Attributes{"expression": "return 1 / 0"}}
	if err := f.st.CreatePolicy(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: r.UUID, PolicyUUID: &p.UUID, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// A rule on configuration_error too, which would loop if the error were dispatched.
	f.rule(t, "configuration_error", &store.NotificationTransport{Mode: store.TransportLocal}, true, false)
	f.record("login_failed")
	runs := f.q.drain(t, f.svc.Handlers())
	if runs[DispatchTask] != 1 {
		t.Errorf("dispatch runs = %d, want 1", runs[DispatchTask])
	}
	evs, _, _ := f.st.ListEvents(ctx, store.EventFilter{Action: "configuration_error"})
	if len(evs) != 1 {
		t.Errorf("configuration_error events = %d, want 1", len(evs))
	}
	if n := len(f.notifications(t, f.admin)); n != 0 {
		t.Errorf("notifications = %d, want 0", n)
	}
}

// Recording an event while there are no rules costs a cache lookup.
func BenchmarkEventRecordedNoRules(b *testing.B) {
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "g.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, nil); err != nil {
		b.Fatal(err)
	}
	q := &fakeQueue{}
	svc := &Service{Store: st, Queue: q}
	ev := &store.Event{Action: "login_failed"}
	for b.Loop() {
		svc.EventRecorded(ctx, ev)
	}
	if len(q.tasks) != 0 {
		b.Fatal("enqueued without rules")
	}
}
