package authenticatoremail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

type events struct {
	mu      sync.Mutex
	actions []string
}

func (e *events) Record(_ context.Context, _ *http.Request, action string, _ *store.User, _ map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.actions = append(e.actions, action)
}

type fixture struct {
	t      *testing.T
	st     *sqlstore.Store
	smtp   *mailtest.Server
	exec   *flow.Executor
	now    time.Time
	events *events
	logs   *bytes.Buffer
	stage  *store.Stage
}

func newFixture(t *testing.T, settings store.Attributes) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	smtpd := mailtest.Start(t)
	port, _ := strconv.Atoi(smtpd.Port())
	f := &fixture{t: t, st: st, smtp: smtpd, now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), events: &events{},
		logs: &bytes.Buffer{}}
	f.exec = &flow.Executor{Store: st, Events: f.events, Now: func() time.Time { return f.now },
		Mail: &mail.Sender{Config: config.Email{Host: "127.0.0.1", Port: port, From: "Gatehouse <id@example.com>", Timeout: 10}}}
	if settings == nil {
		settings = store.Attributes{"use_global_settings": true, "subject": "Your code"}
	}
	f.stage = &store.Stage{Name: "email-setup", Type: Type, Settings: settings}
	if err := st.CreateStage(ctx, f.stage); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) user(name, email string) *store.User {
	f.t.Helper()
	u := &store.User{Username: name, Name: strings.ToUpper(name[:1]) + name[1:], Email: email, IsActive: true,
		Type: store.UserInternal, Path: "users", Attributes: store.Attributes{}}
	if err := f.st.CreateUser(context.Background(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// run is one request of a plan whose pending user is u; plan carries the
// state between requests.
func (f *fixture) run(u *store.User, plan *flow.Plan) *flow.Run {
	if plan.Context.PendingUserPK == nil && u != nil {
		pk := u.PK
		plan.Context.PendingUserPK = &pk
	}
	return &flow.Run{Executor: f.exec, Request: httptest.NewRequest(http.MethodPost, "/api/v3/flows/executor/x/", nil),
		Plan: plan, Stage: f.stage, Log: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

func (f *fixture) newStage(attrs store.Attributes) *Stage {
	f.t.Helper()
	s, err := Parse(attrs)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

var codeRE = regexp.MustCompile(`\b\d{6}\b`)

// code waits for the n-th message and returns its code.
func (f *fixture) code(n int, to string) string {
	f.t.Helper()
	m := f.smtp.Wait(f.t, n, 10*time.Second)
	if len(m.To) != 1 || m.To[0] != to {
		f.t.Fatalf("message %d to %v, want %s", n, m.To, to)
	}
	c := codeRE.FindString(m.Body)
	if c == "" {
		f.t.Fatalf("no code in %q", m.Body)
	}
	return c
}

func resp(kv ...any) flow.Response {
	r := flow.Response{"component": json.RawMessage(`"` + Component + `"`)}
	for i := 0; i < len(kv); i += 2 {
		b, _ := json.Marshal(kv[i+1])
		r[kv[i].(string)] = b
	}
	return r
}

func rawResp(key, raw string) flow.Response {
	return flow.Response{"component": json.RawMessage(`"` + Component + `"`), key: json.RawMessage(raw)}
}

func (f *fixture) ch(step flow.Step, err error) *Challenge {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
	c, ok := step.Challenge.(*Challenge)
	if !ok {
		f.t.Fatalf("step = %+v, want an email challenge", step)
	}
	return c
}

func errorsOn(c *Challenge, field string) string {
	var out []string
	for _, e := range c.ResponseErrors[field] {
		out = append(out, e.String+" ["+e.Code+"]")
	}
	return strings.Join(out, "; ")
}

func (f *fixture) devices(u *store.User) []*store.AuthenticatorDevice {
	f.t.Helper()
	ds, _, err := f.st.ListDevices(context.Background(), store.DeviceFilter{UserPK: u.PK, Type: store.DeviceEmail})
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

// The user's own address: the code is sent on Enter, a wrong code is
// refused, the right one confirms the device once.
func TestEnrollUserAddress(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice := f.user("alice", "alice@example.com")
	st := f.newStage(f.stage.Settings)
	plan := &flow.Plan{}
	c := f.ch(st.Enter(ctx, f.run(alice, plan)))
	if c.EmailRequired || c.Email == nil || *c.Email != "a****@example.com" || c.PendingUser != "alice" {
		t.Fatalf("challenge = %+v", c)
	}
	code := f.code(0, "alice@example.com")
	m := f.smtp.Wait(t, 0, time.Second)
	if m.Msg.Header.Get("Subject") != "Your code" || !strings.Contains(m.Body, "Hello Alice") {
		t.Errorf("message: %q %q", m.Msg.Header.Get("Subject"), m.Body)
	}
	// Enter again (a reload) sends nothing more.
	f.ch(st.Enter(ctx, f.run(alice, plan)))
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	c = f.ch(st.Submit(ctx, f.run(alice, plan), resp("code", wrong)))
	if errorsOn(c, "code") == "" {
		t.Fatalf("a wrong code: %+v", c)
	}
	if ds := f.devices(alice); len(ds) != 1 || ds[0].Confirmed {
		t.Fatalf("devices after a wrong code: %+v", ds)
	}
	step, err := st.Submit(ctx, f.run(alice, plan), resp("code", code))
	if err != nil || !step.Done {
		t.Fatalf("the right code: %+v, %v", step, err)
	}
	ds := f.devices(alice)
	if len(ds) != 1 || !ds[0].Confirmed || Address(ds[0]) != "alice@example.com" || ds[0].Name != DeviceName {
		t.Fatalf("devices: %+v", ds)
	}
	if f.smtp.Count() != 1 {
		t.Errorf("%d messages, want 1", f.smtp.Count())
	}
	if strings.Contains(f.logs.String(), code) {
		t.Errorf("the code is in the logs: %s", f.logs.String())
	}

	// A second run: the address is a device already, so another is asked for.
	plan2 := &flow.Plan{}
	c = f.ch(st.Enter(ctx, f.run(alice, plan2)))
	if !c.EmailRequired || c.Email != nil {
		t.Fatalf("second enrollment: %+v", c)
	}
	c = f.ch(st.Submit(ctx, f.run(alice, plan2), resp("email", "ALICE@example.com")))
	if errorsOn(c, "email") == "" {
		t.Fatalf("the same address again: %+v", c)
	}
	if f.smtp.Count() != 1 {
		t.Errorf("mail sent for a taken address")
	}
}

// No address: it is asked for and checked; sending again is limited to
// once a minute; a new code replaces the old one; five wrong codes void it.
func TestEnrollTypedAddressThrottleAttempts(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	bob := f.user("bob", "")
	st := f.newStage(f.stage.Settings)
	plan := &flow.Plan{}
	c := f.ch(st.Enter(ctx, f.run(bob, plan)))
	if !c.EmailRequired || c.Email != nil {
		t.Fatalf("challenge = %+v", c)
	}
	for _, bad := range []string{`"not-an-address"`, `"Bob <bob@example.com>"`, `"bob@example.com\r\nBcc: x@y"`, `12`, `["bob@example.com"]`,
		`"` + strings.Repeat("b", 250) + `@example.com"`} {
		c = f.ch(st.Submit(ctx, f.run(bob, plan), rawResp("email", bad)))
		if errorsOn(c, "email") == "" {
			t.Errorf("address %s accepted: %+v", bad, c)
		}
	}
	c = f.ch(st.Submit(ctx, f.run(bob, plan), rawResp("code", `"123456"`)))
	if errorsOn(c, "email") == "" {
		t.Errorf("a code before any address: %+v", c)
	}
	if f.smtp.Count() != 0 {
		t.Fatalf("%d messages for bad input", f.smtp.Count())
	}
	c = f.ch(st.Submit(ctx, f.run(bob, plan), resp("email", "bob@example.com")))
	if len(c.ResponseErrors) != 0 || c.EmailRequired || *c.Email != "b***@example.com" {
		t.Fatalf("after the address: %+v", c)
	}
	first := f.code(0, "bob@example.com")

	f.now = f.now.Add(30 * time.Second)
	c = f.ch(st.Submit(ctx, f.run(bob, plan), resp()))
	if !strings.Contains(errorsOn(c, "non_field_errors"), "[throttled]") {
		t.Fatalf("sending again after 30 s: %+v", c)
	}
	// Changing the address does not get around the limit.
	c = f.ch(st.Submit(ctx, f.run(bob, plan), resp("email", "bob@example.org")))
	if !strings.Contains(errorsOn(c, "non_field_errors"), "[throttled]") || *c.Email != "b***@example.org" {
		t.Fatalf("a new address after 30 s: %+v", c)
	}
	if f.smtp.Count() != 1 {
		t.Fatalf("%d messages within a minute", f.smtp.Count())
	}
	f.now = f.now.Add(31 * time.Second)
	c = f.ch(st.Submit(ctx, f.run(bob, plan), resp("code", "")))
	if len(c.ResponseErrors) != 0 {
		t.Fatalf("sending again after a minute: %+v", c)
	}
	second := f.code(1, "bob@example.org")
	if first != second {
		c = f.ch(st.Submit(ctx, f.run(bob, plan), resp("code", first)))
		if errorsOn(c, "code") == "" {
			t.Fatalf("the replaced code was accepted: %+v", c)
		}
	}
	wrong := "999999"
	if second == wrong {
		wrong = "999998"
	}
	for range 5 {
		f.ch(st.Submit(ctx, f.run(bob, plan), resp("code", wrong)))
	}
	c = f.ch(st.Submit(ctx, f.run(bob, plan), resp("code", second)))
	if !strings.Contains(errorsOn(c, "code"), "[too_many_attempts]") {
		t.Fatalf("the right code after five wrong ones: %+v", c)
	}
	f.now = f.now.Add(time.Minute)
	f.ch(st.Submit(ctx, f.run(bob, plan), resp()))
	third := f.code(2, "bob@example.org")
	step, err := st.Submit(ctx, f.run(bob, plan), resp("code", third))
	if err != nil || !step.Done {
		t.Fatalf("a fresh code: %+v %v", step, err)
	}
	if ds := f.devices(bob); len(ds) != 1 || !ds[0].Confirmed || Address(ds[0]) != "bob@example.org" {
		t.Fatalf("devices: %+v", ds)
	}
}

// Codes that are not codes get a clear error and confirm nothing; an
// expired code is refused.
func TestBadCodesAndExpiry(t *testing.T) {
	f := newFixture(t, store.Attributes{"use_global_settings": true, "token_expiry": "minutes=5"})
	ctx := context.Background()
	carol := f.user("carol", "carol@example.com")
	st := f.newStage(f.stage.Settings)
	plan := &flow.Plan{}
	f.ch(st.Enter(ctx, f.run(carol, plan)))
	code := f.code(0, "carol@example.com")
	for _, bad := range []string{`"12a456"`, `"` + strings.Repeat("9", 100) + `"`, strings.Repeat("9", 100), `true`, `{"a":1}`, `"١٢٣٤٥٦"`, `-1`, `1.5`} {
		c := f.ch(st.Submit(ctx, f.run(carol, plan), rawResp("code", bad)))
		if !strings.Contains(errorsOn(c, "code"), "6 digits") {
			t.Errorf("code %s: %+v", bad, c.ResponseErrors)
		}
	}
	f.now = f.now.Add(5 * time.Minute)
	c := f.ch(st.Submit(ctx, f.run(carol, plan), resp("code", code)))
	if !strings.Contains(errorsOn(c, "code"), "[expired]") {
		t.Fatalf("an expired code: %+v", c)
	}
	if ds := f.devices(carol); len(ds) != 1 || ds[0].Confirmed {
		t.Fatalf("devices: %+v", ds)
	}
}

// The stage's own SMTP settings (use_global_settings false) reach the
// server; an unreachable server is a clear error and the code is withdrawn.
func TestOwnSMTPAndFailure(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	dave := f.user("dave", "dave@example.com")
	port, _ := strconv.Atoi(f.smtp.Port())
	f.exec.Mail = nil // the global settings must not be used
	st := f.newStage(store.Attributes{"host": "127.0.0.1", "port": port, "from_address": "otp@example.com",
		"password": "smtp-secret-1", "subject": "Code"})
	plan := &flow.Plan{}
	f.ch(st.Enter(ctx, f.run(dave, plan)))
	f.code(0, "dave@example.com")
	if from := f.smtp.Wait(t, 0, time.Second).From; from != "otp@example.com" {
		t.Errorf("MAIL FROM %q", from)
	}

	// A closed port.
	l := httptest.NewServer(http.NotFoundHandler())
	closed, _ := strconv.Atoi(l.URL[strings.LastIndexByte(l.URL, ':')+1:])
	l.Close()
	eve := f.user("eve", "eve@example.com")
	bad := f.newStage(store.Attributes{"host": "127.0.0.1", "port": closed, "from_address": "otp@example.com",
		"password": "smtp-secret-2", "timeout": 2})
	plan = &flow.Plan{}
	c := f.ch(bad.Enter(ctx, f.run(eve, plan)))
	if !strings.Contains(errorsOn(c, "non_field_errors"), "[delivery_failed]") {
		t.Fatalf("unreachable server: %+v", c)
	}
	ds := f.devices(eve)
	if len(ds) != 1 || ds[0].Data["otp"] != nil {
		t.Fatalf("a code stayed pending after a failed send: %+v", ds)
	}
	// Asking again is not throttled (nothing was sent).
	c = f.ch(bad.Submit(ctx, f.run(eve, plan), resp()))
	if strings.Contains(errorsOn(c, "non_field_errors"), "throttled") {
		t.Fatalf("retry after a failure: %+v", c)
	}
	if strings.Contains(f.logs.String(), "smtp-secret") {
		t.Errorf("the SMTP password is in the logs")
	}
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	if !strings.Contains(strings.Join(f.events.actions, ","), "configuration_error") {
		t.Errorf("events: %v", f.events.actions)
	}
}

// The prompt's email is used when the user has none; abandoned unconfirmed
// devices of the stage are cleaned up; no user is denied.
func TestPromptAddressAndStale(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	frank := f.user("frank", "")
	st := f.newStage(f.stage.Settings)
	plan := &flow.Plan{Context: flow.Context{PromptData: map[string]any{"email": "frank@example.net"}}}
	c := f.ch(st.Enter(ctx, f.run(frank, plan)))
	if c.EmailRequired || *c.Email != "f****@example.net" {
		t.Fatalf("challenge = %+v", c)
	}
	f.code(0, "frank@example.net")
	f.ch(st.Enter(ctx, f.run(frank, &flow.Plan{}))) // another run, abandoning the first
	if ds := f.devices(frank); len(ds) != 1 {
		t.Fatalf("%d unconfirmed devices, want 1", len(ds))
	}
	step, err := st.Enter(ctx, f.run(nil, &flow.Plan{}))
	if err != nil || step.Deny == "" {
		t.Fatalf("no user: %+v %v", step, err)
	}
}

// Starting the stage over does not get around the throttle.
func TestRestartKeepsThrottle(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	gina := f.user("gina", "gina@example.com")
	st := f.newStage(f.stage.Settings)
	f.ch(st.Enter(ctx, f.run(gina, &flow.Plan{})))
	f.code(0, "gina@example.com")
	f.now = f.now.Add(10 * time.Second)
	c := f.ch(st.Enter(ctx, f.run(gina, &flow.Plan{})))
	if !strings.Contains(errorsOn(c, "non_field_errors"), "[throttled]") || f.smtp.Count() != 1 {
		t.Fatalf("a new run 10 s later: %+v, %d messages", c, f.smtp.Count())
	}
	f.now = f.now.Add(time.Minute)
	plan := &flow.Plan{}
	c = f.ch(st.Enter(ctx, f.run(gina, plan)))
	if len(c.ResponseErrors) != 0 {
		t.Fatalf("a new run a minute later: %+v", c)
	}
	code := f.code(1, "gina@example.com")
	if step, err := st.Submit(ctx, f.run(gina, plan), resp("code", code)); err != nil || !step.Done {
		t.Fatalf("the code: %+v %v", step, err)
	}
}

// A template under the template directory replaces the built-in one, with
// both parts; a template that is missing or does not parse is a delivery
// error for the user and a configuration_error event, and no code stays
// pending.
func TestTemplates(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "custom"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("custom/otp.html", `<p>Code for {{.user.username}}: <b>{{.code}}</b></p>`)
	write("custom/broken.html", `<p>{{.code</p>`)
	f.exec.MailTemplates = mail.NewTemplates(dir)

	hana := f.user("hana", "hana@example.com")
	st := f.newStage(store.Attributes{"use_global_settings": true, "template": "custom/otp.html"})
	f.ch(st.Enter(ctx, f.run(hana, &flow.Plan{})))
	code := f.code(0, "hana@example.com")
	m := f.smtp.Wait(t, 0, time.Second)
	if want := "<p>Code for hana: <b>" + code + "</b></p>"; m.HTML != want {
		t.Errorf("HTML part %q, want %q", m.HTML, want)
	}
	if !strings.Contains(m.Body, "Your code: "+code) {
		t.Errorf("text part %q", m.Body)
	}

	for i, name := range []string{"custom/broken.html", "custom/missing.html"} {
		u := f.user(fmt.Sprintf("user%d", i), fmt.Sprintf("user%d@example.com", i))
		bad := f.newStage(store.Attributes{"use_global_settings": true, "template": name})
		c := f.ch(bad.Enter(ctx, f.run(u, &flow.Plan{})))
		if !strings.Contains(errorsOn(c, "non_field_errors"), "[delivery_failed]") {
			t.Fatalf("%s: %+v", name, c)
		}
		if ds := f.devices(u); len(ds) != 1 || ds[0].Data["otp"] != nil {
			t.Fatalf("%s: a code stayed pending: %+v", name, ds)
		}
		if !strings.Contains(f.logs.String(), name) {
			t.Errorf("%s: not in the log %s", name, f.logs.String())
		}
	}
	if f.smtp.Count() != 1 {
		t.Errorf("%d messages, want 1", f.smtp.Count())
	}
	f.events.mu.Lock()
	defer f.events.mu.Unlock()
	if n := strings.Count(strings.Join(f.events.actions, ","), "configuration_error"); n != 2 {
		t.Errorf("events: %v", f.events.actions)
	}
}

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		attrs store.Attributes
		ok    bool
	}{
		{"defaults", store.Attributes{}, true},
		{"global", store.Attributes{"use_global_settings": true}, true},
		{"minutes as a number", store.Attributes{"use_global_settings": true, "token_expiry": 15}, true},
		{"expiry too long", store.Attributes{"use_global_settings": true, "token_expiry": "days=2"}, false},
		{"expiry nonsense", store.Attributes{"use_global_settings": true, "token_expiry": "soon"}, false},
		{"custom template (checked when sending)", store.Attributes{"use_global_settings": true, "template": "email/other.html"}, true},
		{"template outside the dir", store.Attributes{"use_global_settings": true, "template": "../email/email_otp.html"}, false},
		{"absolute template", store.Attributes{"use_global_settings": true, "template": "/templates/email/email_otp.html"}, false},
		{"template not html", store.Attributes{"use_global_settings": true, "template": "email/email_otp.txt"}, false},
		{"two-line subject", store.Attributes{"use_global_settings": true, "subject": "a\r\nBcc: x"}, false},
		{"tls and ssl", store.Attributes{"use_tls": true, "use_ssl": true}, false},
		{"bad port", store.Attributes{"port": 70000}, false},
		{"bad from", store.Attributes{"from_address": "nobody"}, false},
		{"bad configure_flow", store.Attributes{"configure_flow": "x"}, false},
		{"configure_flow", store.Attributes{"configure_flow": uuid.NewString(), "friendly_name": "Email"}, true},
		{"wrong type", store.Attributes{"port": "25"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.attrs)
			if (err == nil) != tc.ok {
				t.Errorf("New(%v) = %v, want ok=%v", tc.attrs, err, tc.ok)
			}
		})
	}
}
