package authenticatorsms

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
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

// gateway is a webhook receiver that records what it gets.
type gateway struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status int
	delay  time.Duration
}

type received struct {
	Auth string
	Body map[string]any
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{status: http.StatusOK}
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		g.mu.Lock()
		g.got = append(g.got, received{Auth: r.Header.Get("Authorization"), Body: body})
		status, delay := g.status, g.delay
		g.mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			status = http.StatusBadRequest
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"sid":"x"}`))
	}))
	t.Cleanup(g.Close)
	return g
}

func (g *gateway) messages() []received {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]received(nil), g.got...)
}

var codeRE = regexp.MustCompile(`^\d{6}$`)

// last returns the code of the last message (its "Body", the default).
func (g *gateway) last(t *testing.T) received {
	t.Helper()
	m := g.messages()
	if len(m) == 0 {
		t.Fatal("no message at the gateway")
	}
	return m[len(m)-1]
}

type fixture struct {
	t      *testing.T
	st     *sqlstore.Store
	gw     *gateway
	exec   *flow.Executor
	now    time.Time
	events *events
	logs   *bytes.Buffer
	stage  *store.Stage
}

func newFixture(t *testing.T, extra store.Attributes) *fixture {
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
	f := &fixture{t: t, st: st, gw: newGateway(t), now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
		events: &events{}, logs: &bytes.Buffer{}}
	f.exec = &flow.Executor{Store: st, Events: f.events, Now: func() time.Time { return f.now }}
	attrs := store.Attributes{"provider": "generic", "from_number": "+15550000000",
		"account_sid": f.gw.URL + "/send?key=url-secret-3", "auth": "gateway-user", "auth_password": "gateway-secret-1"}
	for k, v := range extra {
		attrs[k] = v
	}
	f.stage = &store.Stage{Name: "sms-setup", Type: Type, Settings: attrs}
	if err := st.CreateStage(ctx, f.stage); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) user(name string) *store.User {
	f.t.Helper()
	u := &store.User{Username: name, Name: name, IsActive: true, Type: store.UserInternal, Path: "users",
		Attributes: store.Attributes{"department": "ops"}}
	if err := f.st.CreateUser(context.Background(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fixture) run(u *store.User, plan *flow.Plan) *flow.Run {
	if plan.Context.PendingUserPK == nil && u != nil {
		pk := u.PK
		plan.Context.PendingUserPK = &pk
	}
	return &flow.Run{Executor: f.exec, Request: httptest.NewRequest(http.MethodPost, "/api/v3/flows/executor/x/", nil),
		Plan: plan, Stage: f.stage, Log: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

func (f *fixture) stageOf() *Stage {
	f.t.Helper()
	s, err := Parse(f.stage.Settings)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) ch(step flow.Step, err error) *Challenge {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
	c, ok := step.Challenge.(*Challenge)
	if !ok {
		f.t.Fatalf("step = %+v, want an sms challenge", step)
	}
	return c
}

func (f *fixture) devices(u *store.User) []*store.AuthenticatorDevice {
	f.t.Helper()
	ds, _, err := f.st.ListDevices(context.Background(), store.DeviceFilter{UserPK: u.PK, Type: store.DeviceSMS})
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

func resp(kv ...any) flow.Response {
	r := flow.Response{"component": json.RawMessage(`"` + Component + `"`)}
	for i := 0; i < len(kv); i += 2 {
		b, _ := json.Marshal(kv[i+1])
		r[kv[i].(string)] = b
	}
	return r
}

func errorsOn(c *Challenge, field string) string {
	var out []string
	for _, e := range c.ResponseErrors[field] {
		out = append(out, e.String+" ["+e.Code+"]")
	}
	return strings.Join(out, "; ")
}

// Enrolling: the number is checked (E.164), the code goes to the webhook in
// authentik's default body with basic auth, a wrong code fails, the right
// one saves the device; then the stage is skipped for that user.
func TestEnrollDefaultBody(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	alice := f.user("alice")
	st := f.stageOf()
	plan := &flow.Plan{}
	c := f.ch(st.Enter(ctx, f.run(alice, plan)))
	if !c.PhoneNumberRequired || c.PendingUser != "alice" {
		t.Fatalf("challenge = %+v", c)
	}
	for _, bad := range []string{"0044 20", "+0441234", "12345678", "+44 20 7946 0958 ext 2", "+4420794609581234567", "+44abc", `+44"`, strings.Repeat("1", 100)} {
		c = f.ch(st.Submit(ctx, f.run(alice, plan), resp("phone_number", bad)))
		if errorsOn(c, "phone_number") == "" {
			t.Errorf("number %q accepted", bad)
		}
	}
	c = f.ch(st.Submit(ctx, f.run(alice, plan), flow.Response{"phone_number": json.RawMessage(`4420`)}))
	if errorsOn(c, "phone_number") == "" {
		t.Errorf("a number as a JSON number accepted")
	}
	if n := len(f.gw.messages()); n != 0 {
		t.Fatalf("%d messages for bad numbers", n)
	}
	c = f.ch(st.Submit(ctx, f.run(alice, plan), resp("phone_number", "+44 (20) 7946-0958")))
	if len(c.ResponseErrors) != 0 || c.PhoneNumberRequired || c.PhoneNumber != "+********0958" {
		t.Fatalf("after the number: %+v", c)
	}
	m := f.gw.last(t)
	code, _ := m.Body["Body"].(string)
	if !codeRE.MatchString(code) {
		t.Fatalf("body %v", m.Body)
	}
	want := map[string]any{"From": "+15550000000", "To": "+442079460958", "Body": code, "Message": Message(code)}
	if diff := cmp.Diff(want, m.Body); diff != "" {
		t.Errorf("webhook body (-want +got):\n%s", diff)
	}
	if m.Auth != "Basic Z2F0ZXdheS11c2VyOmdhdGV3YXktc2VjcmV0LTE=" {
		t.Errorf("Authorization %q", m.Auth)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	c = f.ch(st.Submit(ctx, f.run(alice, plan), resp("code", wrong)))
	if errorsOn(c, "code") == "" {
		t.Fatal("a wrong code passed")
	}
	c = f.ch(st.Submit(ctx, f.run(alice, plan), resp("code", "12ab56")))
	if !strings.Contains(errorsOn(c, "code"), "6 digits") {
		t.Fatalf("letters: %+v", c.ResponseErrors)
	}
	step, err := st.Submit(ctx, f.run(alice, plan), resp("code", code))
	if err != nil || !step.Done {
		t.Fatalf("the right code: %+v %v", step, err)
	}
	ds := f.devices(alice)
	if len(ds) != 1 || !ds[0].Confirmed || PhoneNumber(ds[0]) != "+442079460958" || ds[0].Name != DeviceName {
		t.Fatalf("devices: %+v", ds)
	}
	step, err = st.Enter(ctx, f.run(alice, &flow.Plan{}))
	if err != nil || !step.Done {
		t.Fatalf("a user with a device: %+v %v", step, err)
	}
	for _, secret := range []string{"gateway-secret-1", "url-secret-3", code} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("%q is in the logs:\n%s", secret, f.logs.String())
		}
	}
}

// A mapping expression builds the body (bearer auth); a mapping stored as a
// property mapping is found by its UUID; a failing mapping is a clear error.
func TestMappingAndBearer(t *testing.T) {
	const mapping = `return {"to": device.phone_number, "text": "Code " + token + " for " + user.username,
	"sender": stage.from_number, "dept": request.user.attributes.get("department")}`
	f := newFixture(t, store.Attributes{"auth_type": "bearer", "auth": "bearer-secret-2", "mapping": mapping})
	ctx := context.Background()
	bob := f.user("bob")
	st := f.stageOf()
	plan := &flow.Plan{Context: flow.Context{PromptData: map[string]any{"phone": "+1 202 555 0143"}}}
	c := f.ch(st.Enter(ctx, f.run(bob, plan)))
	if c.PhoneNumberRequired || len(c.ResponseErrors) != 0 {
		t.Fatalf("with prompt_data.phone: %+v", c)
	}
	m := f.gw.last(t)
	text, _ := m.Body["text"].(string)
	code := strings.TrimSuffix(strings.TrimPrefix(text, "Code "), " for bob")
	want := map[string]any{"to": "+12025550143", "text": "Code " + code + " for bob", "sender": "+15550000000", "dept": "ops"}
	if diff := cmp.Diff(want, m.Body); diff != "" || !codeRE.MatchString(code) {
		t.Errorf("mapped body (-want +got):\n%s", diff)
	}
	if m.Auth != "Bearer bearer-secret-2" {
		t.Errorf("Authorization %q", m.Auth)
	}
	if step, err := st.Submit(ctx, f.run(bob, plan), resp("code", code)); err != nil || !step.Done {
		t.Fatalf("the right code: %+v %v", step, err)
	}

	// A property mapping by UUID.
	pm := &store.PropertyMapping{UUID: uuid.New(), Name: "sms body", Type: "notification_webhook",
		Expression: `return {"number": device.phone_number, "code": token}`, Settings: store.Attributes{}}
	if err := f.st.CreatePropertyMapping(ctx, pm); err != nil {
		t.Fatal(err)
	}
	f.stage.Settings["mapping"] = pm.UUID.String()
	carol := f.user("carol")
	plan = &flow.Plan{}
	st = f.stageOf()
	f.ch(st.Enter(ctx, f.run(carol, plan)))
	f.ch(st.Submit(ctx, f.run(carol, plan), resp("phone_number", "+33 1 23 45 67 89")))
	if got := f.gw.last(t).Body; got["number"] != "+33123456789" || !codeRE.MatchString(got["code"].(string)) {
		t.Errorf("body from the stored mapping: %v", got)
	}

	// A mapping that fails at run time, or returns no dict.
	for _, src := range []string{`return {"x": 1 // 0}`, `return "text"`} {
		f.stage.Settings["mapping"] = src
		dave := f.user("dave" + strings.Repeat("x", len(src)%7))
		plan = &flow.Plan{}
		st = f.stageOf()
		f.ch(st.Enter(ctx, f.run(dave, plan)))
		n := len(f.gw.messages())
		c = f.ch(st.Submit(ctx, f.run(dave, plan), resp("phone_number", "+4915112345678")))
		if !strings.Contains(errorsOn(c, "non_field_errors"), "mapping") || len(f.gw.messages()) != n {
			t.Errorf("mapping %q: %+v", src, c.ResponseErrors)
		}
		f.st.DeleteUser(ctx, dave.PK)
	}
	if strings.Contains(f.logs.String(), "bearer-secret-2") {
		t.Error("the bearer token is in the logs")
	}
}

// Gateway errors and time-outs are clear messages; the code is withdrawn
// so that asking again works at once; nothing is confirmed.
func TestGatewayFailures(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	erin := f.user("erin")
	st := f.stageOf()
	plan := &flow.Plan{}
	f.ch(st.Enter(ctx, f.run(erin, plan)))
	f.gw.mu.Lock()
	f.gw.status = http.StatusBadGateway
	f.gw.mu.Unlock()
	c := f.ch(st.Submit(ctx, f.run(erin, plan), resp("phone_number", "+4915112345678")))
	if e := errorsOn(c, "non_field_errors"); !strings.Contains(e, "answered 502") || !strings.Contains(e, "[delivery_failed]") {
		t.Fatalf("a 502: %+v", c.ResponseErrors)
	}
	if ds := f.devices(erin); len(ds) != 1 || ds[0].Data["otp"] != nil {
		t.Fatalf("pending code after a failure: %+v", ds[0].Data)
	}
	f.gw.mu.Lock()
	f.gw.status, f.gw.delay = http.StatusOK, 3*time.Second
	f.gw.mu.Unlock()
	st.Timeout = 200 * time.Millisecond
	c = f.ch(st.Submit(ctx, f.run(erin, plan), resp()))
	if e := errorsOn(c, "non_field_errors"); !strings.Contains(e, "did not answer in time") {
		t.Fatalf("a time-out: %+v", c.ResponseErrors)
	}
	f.gw.mu.Lock()
	f.gw.delay = 0
	f.gw.mu.Unlock()
	c = f.ch(st.Submit(ctx, f.run(erin, plan), resp()))
	if len(c.ResponseErrors) != 0 {
		t.Fatalf("after the gateway recovered: %+v", c.ResponseErrors)
	}
	if ds := f.devices(erin); ds[0].Confirmed {
		t.Fatal("confirmed without a code")
	}
	for _, secret := range []string{"gateway-secret-1", "url-secret-3"} {
		if strings.Contains(f.logs.String(), secret) {
			t.Errorf("%q is in the logs", secret)
		}
	}
}

// verify_only keeps only a hash of the number, and the number cannot be
// used again with the stage, by anyone.
func TestVerifyOnly(t *testing.T) {
	f := newFixture(t, store.Attributes{"verify_only": true})
	ctx := context.Background()
	frank, grace := f.user("frank"), f.user("grace")
	st := f.stageOf()
	plan := &flow.Plan{}
	f.ch(st.Enter(ctx, f.run(frank, plan)))
	f.ch(st.Submit(ctx, f.run(frank, plan), resp("phone_number", "+4915112345678")))
	code := f.gw.last(t).Body["Body"].(string)
	if step, err := st.Submit(ctx, f.run(frank, plan), resp("code", code)); err != nil || !step.Done {
		t.Fatalf("the code: %+v %v", step, err)
	}
	ds := f.devices(frank)
	if len(ds) != 1 || PhoneNumber(ds[0]) != HashPhoneNumber("+4915112345678") || !IsHashed(ds[0]) {
		t.Fatalf("device: %+v", ds)
	}
	b, _ := json.Marshal(ds[0].Data)
	if strings.Contains(string(b), "15112345678") {
		t.Errorf("the number is stored: %s", b)
	}
	plan = &flow.Plan{}
	f.ch(st.Enter(ctx, f.run(grace, plan)))
	n := len(f.gw.messages())
	c := f.ch(st.Submit(ctx, f.run(grace, plan), resp("phone_number", "+49 151 12345678")))
	if errorsOn(c, "phone_number") == "" || len(f.gw.messages()) != n {
		t.Fatalf("a used number: %+v", c)
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+44 20 7946 0958": "+442079460958", "0044 20 7946 0958": "+442079460958", "+1 (202) 555-0143": "+12025550143",
		"+1.202.555.0143": "+12025550143", "+123456789012345": "+123456789012345", "+6834002": "+6834002", "+683400": "",
		"+1234567890123456": "", "2025550143": "", "+0123": "", "+": "", "": "", "+1 202 555 0143 x": "", "++12025550143": "",
		"+1 202\n555": "", "+١٢٣": "",
	} {
		got, err := NormalizePhone(in)
		if (want == "") != (err != nil) || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+44 20 7946 0958", "0044", "+1 (202) 555-0143", "", "+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizePhone(s)
		if err != nil {
			return
		}
		if len(n) < 8 || len(n) > 16 || n[0] != '+' || n[1] < '1' || n[1] > '9' || strings.Trim(n[1:], "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q) = %q", s, n)
		}
		if again, err := NormalizePhone(n); err != nil || again != n {
			t.Fatalf("not idempotent: %q -> %q, %v", n, again, err)
		}
	})
}

func TestSettings(t *testing.T) {
	base := func(kv ...any) store.Attributes {
		a := store.Attributes{"provider": "generic", "from_number": "+15550000000", "account_sid": "https://sms.example.com/send"}
		for i := 0; i < len(kv); i += 2 {
			a[kv[i].(string)] = kv[i+1]
		}
		return a
	}
	for _, tc := range []struct {
		name  string
		attrs store.Attributes
		err   string
	}{
		{"generic", base(), ""},
		{"bearer with mapping", base("auth_type", "bearer", "mapping", `return {"a": token}`), ""},
		{"mapping by uuid", base("mapping", uuid.NewString()), ""},
		{"twilio", base("provider", "twilio"), "twilio is not supported"},
		{"unknown provider", base("provider", "pigeon"), "provider must be generic"},
		{"no url", base("account_sid", ""), "webhook"},
		{"ftp url", base("account_sid", "ftp://x/"), "webhook"},
		{"bad auth type", base("auth_type", "digest"), "auth_type"},
		{"no from number", base("from_number", ""), "from_number"},
		{"mapping syntax", base("mapping", "return {"), "mapping"},
		{"mapping import", base("mapping", "import os\nreturn {}"), "mapping"},
		{"bad configure_flow", base("configure_flow", "x"), "configure_flow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.attrs)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("New = %v, want %q", err, tc.err)
			}
		})
	}
}
