package api_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// capturedQueue keeps what the outbox enqueues.
type capturedQueue struct {
	mu    sync.Mutex
	tasks []queue.Task
}

func (q *capturedQueue) Enqueue(_ context.Context, t queue.Task) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, t)
	return strconv.Itoa(len(q.tasks)), nil
}

func (q *capturedQueue) taken() []queue.Task {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.tasks
	q.tasks = nil
	return out
}

// recoveryEnv is the API and the flow executor over one store with the
// default flows; mail goes to an outbox whose tasks are kept, and delivered
// to smtpd on demand.
type recoveryEnv struct {
	*oauth2Env
	flows  *stagetest.Server
	queue  *capturedQueue
	outbox *mail.Outbox
	smtpd  *mailtest.Server
	ada    *store.User
	flow   *store.Flow
	brand  *store.Brand
	stage  string // the recovery email stage's uuid
}

func newRecoveryEnv(t *testing.T) *recoveryEnv {
	t.Helper()
	ctx := context.Background()
	flows := stagetest.New(t)
	e := &recoveryEnv{oauth2Env: &oauth2Env{t: t, srv: apitest.NewWithStore(t, flows.Store)}, flows: flows,
		queue: &capturedQueue{}, smtpd: mailtest.Start(t)}
	sealer, err := crypto.NewSealer("recovery-test-secret-key-0123456789", "email-task")
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(e.smtpd.Port())
	e.outbox = &mail.Outbox{Queue: e.queue, Sealer: sealer, Config: config.Email{Host: "127.0.0.1", Port: port, From: "id@example.com"}}
	flows.Executor.Mail = e.outbox
	e.srv.API.Flows = flows.Executor
	e.ada = flows.User("ada", "old-password-1")
	e.ada.Email = "ada@example.com"
	if err := flows.Store.UpdateUser(ctx, e.ada); err != nil {
		t.Fatal(err)
	}
	if e.flow, err = flows.Store.FlowBySlug(ctx, core.DefaultRecoveryFlow); err != nil {
		t.Fatal(err)
	}
	st, err := flows.Store.StageByName(ctx, "default-recovery-email")
	if err != nil {
		t.Fatal(err)
	}
	e.stage = st.UUID.String()
	brands, err := flows.Store.ListBrands(ctx)
	if err != nil || len(brands) != 1 {
		t.Fatalf("brands: %v %v", brands, err)
	}
	e.brand = brands[0]
	return e
}

// setRecoveryFlow sets (or with nil clears) the default brand's recovery
// flow and its domain.
func (e *recoveryEnv) setBrand(flow *store.Flow, domain string) {
	e.t.Helper()
	e.brand.FlowRecovery, e.brand.Domain = nil, domain
	if flow != nil {
		e.brand.FlowRecovery = &flow.UUID
	}
	if err := e.flows.Store.UpdateBrand(context.Background(), e.brand); err != nil {
		e.t.Fatal(err)
	}
}

// open follows a link's flow_token in a fresh browser through the
// executor API and returns the first challenge's component.
func (e *recoveryEnv) open(link string) (string, *http.Client) {
	e.t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		e.t.Fatal(err)
	}
	if !strings.HasPrefix(u.Path, "/if/flow/"+e.flow.Slug+"/") {
		e.t.Fatalf("link %q", link)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	return e.exec(c, "GET", "flow_token="+u.Query().Get("flow_token"), nil), c
}

func (e *recoveryEnv) exec(c *http.Client, method, query string, body map[string]any) string {
	e.t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequest(method, e.flows.URL+"/api/v3/flows/executor/"+e.flow.Slug+"/?query="+url.QueryEscape(query), rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var ch map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil {
		e.t.Fatal(err)
	}
	comp, _ := ch["component"].(string)
	return comp
}

func (e *recoveryEnv) recovery(token string, body any) (int, map[string]any) {
	e.t.Helper()
	code, b := e.call(token, "POST", "/core/users/"+strconv.FormatInt(e.ada.PK, 10)+"/recovery/", body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return code, out
}

// The link a recovery/ answers resumes the brand's recovery flow for the
// user in any browser, once: at the password prompt (the email stage
// passes, as for its own links), then the new password works. The token
// expires after the default_token_duration setting or token_duration; a new
// link replaces the last; without a recovery flow, without the permission
// or for an unknown user the API refuses.
func TestRecoveryLink(t *testing.T) {
	e := newRecoveryEnv(t)
	ctx := context.Background()

	// No recovery flow on the brand: authentik's message.
	e.setBrand(nil, "")
	code, out := e.recovery(apitest.AdminToken, nil)
	if code != http.StatusBadRequest || !strings.Contains(string(mustJSON(out)), "No recovery flow set.") {
		t.Fatalf("without a recovery flow: %d %v", code, out)
	}
	e.setBrand(e.flow, "")

	start := time.Now()
	code, out = e.recovery(apitest.AdminToken, nil)
	if code != http.StatusOK {
		t.Fatalf("recovery: %d %v", code, out)
	}
	link, _ := out["link"].(string)
	if !strings.HasPrefix(link, e.srv.URL+"/if/flow/default-recovery-flow/?flow_token=") {
		t.Fatalf("link %q", link)
	}
	uid := core.UserUID("apitest-secret-key-0123456789abcdef", e.ada.PK)
	tok, err := e.flows.Store.TokenByIdentifier(ctx, uid+"-password-reset")
	if err != nil {
		t.Fatal(err)
	}
	if tok.UserPK != e.ada.PK || tok.Intent != store.IntentVerification || tok.Expires == nil ||
		tok.Expires.Sub(start) < 29*time.Minute || tok.Expires.Sub(start) > 31*time.Minute {
		t.Errorf("the token: %+v (want ada's, verification, expiring in 30 minutes)", tok)
	}
	if evs := e.eventsOf("model_created", tok.UUID.String()); len(evs) != 1 {
		t.Errorf("model_created events of the token: %v", evs)
	}

	comp, c := e.open(link)
	if comp != "ak-stage-prompt" {
		t.Fatalf("the link: %s, want the password prompt", comp)
	}
	if comp, _ := e.open(link); comp != "ak-stage-identification" {
		t.Errorf("the link a second time: %s, want a fresh start (single use)", comp)
	}
	// The browser that opened it finishes the flow: the password is ada's.
	comp = e.exec(c, "POST", "", map[string]any{"component": "ak-stage-prompt", "password": "new-password-2", "password_repeat": "new-password-2"})
	if comp != "xak-flow-redirect" {
		t.Fatalf("after the prompt: %s", comp)
	}
	u, err := e.flows.Store.UserByPK(ctx, e.ada.PK)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := core.CheckPassword(ctx, e.flows.Store, u, "new-password-2", nil); !ok {
		t.Errorf("the new password does not match")
	}

	// token_duration, and a new link replacing the last.
	_, out = e.recovery(apitest.AdminToken, map[string]any{"token_duration": "hours=2"})
	first, _ := out["link"].(string)
	_, out = e.recovery(apitest.AdminToken, map[string]any{"token_duration": "hours=2"})
	second, _ := out["link"].(string)
	if first == "" || first == second {
		t.Fatalf("links %q %q", first, second)
	}
	tok, err = e.flows.Store.TokenByIdentifier(ctx, uid+"-password-reset")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(*tok.Expires); d < 119*time.Minute || d > 121*time.Minute {
		t.Errorf("token_duration hours=2: expires in %v", d)
	}
	if comp, _ := e.open(first); comp != "ak-stage-identification" {
		t.Errorf("the replaced link: %s, want a fresh start", comp)
	}
	// An expired link starts the flow afresh.
	expired := time.Now().Add(-time.Minute)
	tok.Expires = &expired
	if err := e.flows.Store.UpdateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if comp, _ := e.open(second); comp != "ak-stage-identification" {
		t.Errorf("an expired link: %s, want a fresh start", comp)
	}
	if code, out := e.recovery(apitest.AdminToken, map[string]any{"token_duration": "forever"}); code != http.StatusBadRequest || out["token_duration"] == nil {
		t.Errorf("a bad token_duration: %d %v", code, out)
	}

	// Permissions: reset_user_password on the user; without view_user the
	// user does not exist for the caller.
	var bob struct {
		PK int64 `json:"pk"`
	}
	e.admin("POST", "/core/users/", map[string]any{"username": "bob", "name": "Bob"}, &bob)
	bobTk := e.tokenFor(bob.PK, "bob-token")
	if code, out := e.recovery(bobTk, nil); code != http.StatusNotFound {
		t.Errorf("no permission at all: %d %v, want 404", code, out)
	}
	e.grant(bob.PK, "authentik_core.view_user")
	if code, out := e.recovery(bobTk, nil); code != http.StatusForbidden {
		t.Errorf("view_user only: %d %v, want 403", code, out)
	}
	e.grant(bob.PK, "authentik_core.view_user", "authentik_core.reset_user_password")
	if code, out := e.recovery(bobTk, nil); code != http.StatusOK {
		t.Errorf("with reset_user_password: %d %v", code, out)
	}
	if code, _ := e.call(apitest.AdminToken, "POST", "/core/users/999999/recovery/", nil); code != http.StatusNotFound {
		t.Errorf("an unknown user: %d, want 404", code)
	}

	// A recovery flow its policies do not allow for the user.
	e.flow.Authentication = "require_superuser"
	if err := e.flows.Store.UpdateFlow(ctx, e.flow); err != nil {
		t.Fatal(err)
	}
	if code, out := e.recovery(apitest.AdminToken, nil); code != http.StatusBadRequest ||
		!strings.Contains(string(mustJSON(out)), "Recovery flow not applicable to user") {
		t.Errorf("a flow not applicable: %d %v", code, out)
	}
}

// recovery_email/ mails the link with the email stage's subject and
// template through the outbox; the message's link works. It needs an
// address, an email stage the caller can see, a recovery flow and a host
// that is a brand's domain.
func TestRecoveryEmail(t *testing.T) {
	e := newRecoveryEnv(t)
	ctx := context.Background()
	path := "/core/users/" + strconv.FormatInt(e.ada.PK, 10) + "/recovery_email/"
	refused := func(name, p string, body any, field, want string) {
		t.Helper()
		code, b := e.call(apitest.AdminToken, "POST", p, body)
		var out map[string]any
		_ = json.Unmarshal(b, &out)
		if code != http.StatusBadRequest || out[field] == nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %s, want 400 on %s with %q", name, code, b, field, want)
		}
		if n := len(e.queue.taken()); n != 0 {
			t.Errorf("%s: %d messages queued", name, n)
		}
	}
	withStage := map[string]any{"email_stage": e.stage}
	e.setBrand(nil, "127.0.0.1")
	refused("no recovery flow", path, withStage, "non_field_errors", "No recovery flow set.")
	e.setBrand(e.flow, "example.net")
	refused("no email stage", path, map[string]any{}, "email_stage", "required")
	pw, err := e.flows.Store.StageByName(ctx, "default-recovery-field-password")
	if err != nil {
		t.Fatal(err)
	}
	refused("not an email stage", path, map[string]any{"email_stage": pw.UUID.String()}, "non_field_errors", "Email stage not found.")
	refused("a host that is no brand's", path, withStage, "non_field_errors", "not a brand's domain")
	e.setBrand(e.flow, "127.0.0.1")

	// Through the query parameter (authentik before 2025).
	code, b := e.call(apitest.AdminToken, "POST", path+"?email_stage="+e.stage, nil)
	if code != http.StatusNoContent {
		t.Fatalf("recovery_email: %d %s", code, b)
	}
	tasks := e.queue.taken()
	if len(tasks) != 1 || tasks[0].Name != mail.SendTask {
		t.Fatalf("queued: %+v", tasks)
	}
	if strings.Contains(string(tasks[0].Args), "flow_token") {
		t.Errorf("the queued task reveals the link: %s", tasks[0].Args)
	}
	if err := e.outbox.Handle(ctx, &queue.Job{Name: tasks[0].Name, Args: tasks[0].Args, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	m := e.smtpd.To("ada@example.com").Wait(t, 0, 10*time.Second)
	if subj := m.Msg.Header.Get("Subject"); subj != "Password reset" {
		t.Errorf("subject %q (the stage's)", subj)
	}
	i := strings.Index(m.Body, e.srv.URL+"/if/flow/")
	if i < 0 {
		t.Fatalf("no link in %q", m.Body)
	}
	link := strings.Fields(m.Body[i:])[0]
	if comp, _ := e.open(link); comp != "ak-stage-prompt" {
		t.Errorf("the mailed link: %s, want the password prompt", comp)
	}
	if evs := e.eventsOf("email_sent", ""); len(evs) != 1 {
		t.Errorf("email_sent events: %v", evs)
	}

	// In the body (authentik since 2025), with token_duration.
	if code, b := e.call(apitest.AdminToken, "POST", path, map[string]any{"email_stage": e.stage, "token_duration": "minutes=5"}); code != http.StatusNoContent {
		t.Fatalf("recovery_email with a body: %d %s", code, b)
	}
	if n := len(e.queue.taken()); n != 1 {
		t.Errorf("%d messages queued", n)
	}

	// A stage the caller may not see does not exist for it.
	var bob struct {
		PK int64 `json:"pk"`
	}
	e.admin("POST", "/core/users/", map[string]any{"username": "bob", "name": "Bob"}, &bob)
	bobTk := e.tokenFor(bob.PK, "bob-token")
	e.grant(bob.PK, "authentik_core.view_user", "authentik_core.reset_user_password")
	if code, b := e.call(bobTk, "POST", path, withStage); code != http.StatusBadRequest || !strings.Contains(string(b), "Email stage not found.") {
		t.Errorf("an email stage bob cannot see: %d %s", code, b)
	}
	e.grant(bob.PK, "authentik_core.view_user", "authentik_core.reset_user_password", "authentik_flows.view_stage")
	if code, b := e.call(bobTk, "POST", path, withStage); code != http.StatusNoContent {
		t.Errorf("with view_stage: %d %s", code, b)
	}
	e.queue.taken()

	// No address.
	e.ada.Email = ""
	if err := e.flows.Store.UpdateUser(ctx, e.ada); err != nil {
		t.Fatal(err)
	}
	refused("no address", path, withStage, "non_field_errors", "User does not have an email address set.")
}

// The email stage's own links (built with the same helper) still work: the
// recovery flow started by the user mails a link that resumes it at the
// password prompt.
func TestEmailStageLink(t *testing.T) {
	e := newRecoveryEnv(t)
	e.setBrand(e.flow, "127.0.0.1")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if comp := e.exec(c, "GET", "", nil); comp != "ak-stage-identification" {
		t.Fatalf("start: %s", comp)
	}
	if comp := e.exec(c, "POST", "", map[string]any{"component": "ak-stage-identification", "uid_field": "ada"}); comp != "ak-stage-email" {
		t.Fatalf("after identification: %s", comp)
	}
	tasks := e.queue.taken()
	if len(tasks) != 1 {
		t.Fatalf("queued: %+v", tasks)
	}
	if err := e.outbox.Handle(context.Background(), &queue.Job{Name: tasks[0].Name, Args: tasks[0].Args, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	m := e.smtpd.To("ada@example.com").Wait(t, 0, 10*time.Second)
	i := strings.Index(m.Body, "/if/flow/")
	if i < 0 {
		t.Fatalf("no link in %q", m.Body)
	}
	j := strings.LastIndex(m.Body[:i], "http")
	if comp, _ := e.open(strings.Fields(m.Body[j:])[0]); comp != "ak-stage-prompt" {
		t.Errorf("the email stage's link: %s", comp)
	}
}

func (e *recoveryEnv) eventsOf(action, modelPK string) []map[string]any {
	e.t.Helper()
	var out struct {
		Results []map[string]any `json:"results"`
	}
	q := url.Values{"action": {action}}
	if modelPK != "" {
		q.Set("context_model_pk", modelPK)
	}
	e.admin("GET", "/events/events/?"+q.Encode(), nil, &out)
	return out.Results
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// makeRecoveryFixtures gives the conformance server a recovery flow (an
// email stage and a prompt) on a brand for its own address, and a flow
// executor whose mail is queued in a capturing queue.
func (f *fixtures) makeRecoveryFixtures(c *conformance) {
	c.t.Helper()
	ctx := context.Background()
	st := c.srv.Store
	sealer, err := crypto.NewSealer("conformance-secret-key-0123456789", "email-task")
	if err != nil {
		c.t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	events := &event.Recorder{Store: st, Log: log}
	c.srv.API.Flows = &flow.Executor{Store: st, Stages: stageall.Registry(), Log: log, Events: events,
		Policies: policyall.Engine(st, log, events),
		Mail:     &mail.Outbox{Queue: &capturedQueue{}, Sealer: sealer, Config: config.Email{From: "id@example.com"}}}
	var fl, es, ps struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/flows/instances/", map[string]any{"name": "Conformance recovery", "slug": "conformance-recovery",
		"title": "Recovery", "designation": "recovery"}, &fl)
	c.admin("POST", "/stages/email/", map[string]any{"name": "conformance-email", "settings": map[string]any{"subject": "Reset"}}, &es)
	c.admin("POST", "/stages/dummy/", map[string]any{"name": "conformance-recovery-dummy"}, &ps)
	for i, stage := range []string{es.PK, ps.PK} {
		c.admin("POST", "/flows/bindings/", map[string]any{"target": fl.PK, "stage": stage, "order": 10 * (i + 1)}, nil)
	}
	f.emailStage = es.PK
	host, _, err := net.SplitHostPort(strings.TrimPrefix(c.srv.URL, "http://"))
	if err != nil {
		c.t.Fatal(err)
	}
	id := uuid.MustParse(fl.PK)
	if err := st.CreateBrand(ctx, &store.Brand{Domain: host, BrandingTitle: "Conformance recovery", FlowRecovery: &id,
		Attributes: store.Attributes{}}); err != nil {
		c.t.Fatal(err)
	}
}
