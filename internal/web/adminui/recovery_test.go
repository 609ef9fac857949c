package adminui_test

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// recoveryEnv is the page test environment with the default flows and a
// flow executor for the API's recovery links; mail is queued in e.q.
func recoveryEnv(t *testing.T) (*env, *store.Brand) {
	t.Helper()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := core.EnsureDefaultFlows(ctx, e.st); err != nil {
		t.Fatal(err)
	}
	sealer, err := crypto.NewSealer("adminui-recovery-secret-key-0123456789", "email-task")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	events := &event.Recorder{Store: e.st, Log: log}
	e.api.Flows = &flow.Executor{Store: e.st, Stages: stageall.Registry(), Log: log, Events: events,
		Policies: policyall.Engine(e.st, log, events),
		Mail:     &mail.Outbox{Queue: e.q, Sealer: sealer, Config: config.Email{From: "id@example.com"}}}
	brands, err := e.st.ListBrands(ctx)
	if err != nil || len(brands) != 1 || brands[0].FlowRecovery == nil {
		t.Fatalf("the default brand: %+v %v", brands, err)
	}
	return e, brands[0]
}

var recoveryLink = regexp.MustCompile(`id="recovery-link" readonly value="([^"]+)"`)

// The user page's Recovery section: "Create recovery link" shows a working
// link once, with a copy button; the API's refusal (no recovery flow) is
// shown in the section; both actions need the CSRF field.
func TestRecoveryLinkPage(t *testing.T) {
	e, brand := recoveryEnv(t)
	ctx := context.Background()
	v := strconv.FormatInt(e.victim.PK, 10)
	userPage := "/if/admin/users/" + v + "/"
	body := e.page(userPage)
	for _, want := range []string{`id="recovery-title"`, `action="/if/admin/users/` + v + `/recovery/"`, `id="create-recovery-link"`,
		`id="recovery-email-form"`, ">default-recovery-email</option>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the user page lacks %q", want)
		}
	}
	if strings.Contains(body, `id="recovery-link"`) {
		t.Error("a link before one was made")
	}

	for _, token := range []string{"", "wrong-token"} {
		for _, path := range []string{userPage + "recovery/", userPage + "recovery/email/?email_stage=" + uuid.NewString()} {
			if w := e.post(e.adminC, path, token, nil); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "CSRF check failed") {
				t.Errorf("POST %s with csrf %q: %d", path, token, w.Code)
			}
		}
	}
	if toks, err := e.st.ListTokens(ctx, e.victim.PK); err != nil || len(toks) != 0 {
		t.Errorf("tokens made without CSRF: %v %v", toks, err)
	}
	if w := e.post(e.carolC, userPage+"recovery/", csrf, nil); w.Code != http.StatusForbidden {
		t.Errorf("carol: %d, want 403", w.Code)
	}

	w := e.post(e.adminC, userPage+"recovery/", csrf, nil)
	if w.Code != http.StatusOK {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	m := recoveryLink.FindStringSubmatch(w.Body.String())
	if m == nil || !strings.Contains(w.Body.String(), `data-copy="recovery-link"`) {
		t.Fatalf("no link with a copy button in %s", w.Body)
	}
	link, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || link.Path != "/if/flow/"+core.DefaultRecoveryFlow+"/" {
		t.Fatalf("link %q: %v", m[1], err)
	}
	tok, err := e.st.TokenByKeyHash(ctx, core.HashTokenKey(link.Query().Get("flow_token")))
	if err != nil || tok.UserPK != e.victim.PK || tok.Intent != store.IntentVerification || tok.FlowPlan == "" {
		t.Fatalf("the link's token: %+v %v", tok, err)
	}
	if w.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q on the page with the link", w.Header().Get("Cache-Control"))
	}
	if body := e.page(userPage); strings.Contains(body, `id="recovery-link"`) {
		t.Error("the link is shown again")
	}

	brand.FlowRecovery = nil
	if err := e.st.UpdateBrand(ctx, brand); err != nil {
		t.Fatal(err)
	}
	w = e.post(e.adminC, userPage+"recovery/", csrf, nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="recovery-link-err"><p class="field-error">No recovery flow set.</p>`) {
		t.Errorf("without a recovery flow: %d %s", w.Code, w.Body)
	}
}

// "Send recovery email": the email stage is picked on the user page, the
// confirmation names the address and the stage, and the message is queued
// with a notice; the API's refusals are shown on the user page.
func TestRecoveryEmailPage(t *testing.T) {
	e, brand := recoveryEnv(t)
	ctx := context.Background()
	v := strconv.FormatInt(e.victim.PK, 10)
	userPage := "/if/admin/users/" + v + "/"
	es, err := e.st.StageByName(ctx, "default-recovery-email")
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.st.StageByName(ctx, "default-recovery-identification")
	if err != nil {
		t.Fatal(err)
	}
	confirm := userPage + "recovery/email/?email_stage=" + es.UUID.String()
	body := e.page(confirm)
	action := `action="` + userPage + `recovery/email/?email_stage=` + es.UUID.String() + `"`
	for _, want := range []string{"victim1@example.com", "default-recovery-email", action, `id="confirm"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the confirmation lacks %q", want)
		}
	}
	for q, want := range map[string]string{"": "Choose an email stage.", "?email_stage=nope": "Choose an email stage.",
		"?email_stage=" + other.UUID.String(): "Email stage not found.", "?email_stage=" + uuid.NewString(): "Email stage not found."} {
		w := e.get(e.adminC, userPage+"recovery/email/"+q)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="recovery-email-err"><p class="field-error">`+want) {
			t.Errorf("confirmation %q: %d, want 400 with %q", q, w.Code, want)
		}
	}

	// The test request's host is no brand's domain: the API refuses to
	// mail a link to it.
	w := e.post(e.adminC, confirm, csrf, nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "not a brand&#39;s domain") ||
		!strings.Contains(w.Body.String(), `id="recovery-email-err"`) {
		t.Errorf("a host that is no brand's: %d %s", w.Code, w.Body)
	}
	if n := pending(t, e.q); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
	brand.Domain = "example.com"
	if err := e.st.UpdateBrand(ctx, brand); err != nil {
		t.Fatal(err)
	}
	w = e.post(e.adminC, confirm, csrf, nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != userPage+"?done=recovery-sent" {
		t.Fatalf("send: %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if body := e.page(userPage + "?done=recovery-sent"); !strings.Contains(body, "The recovery email was queued") {
		t.Error("no notice")
	}
	if n := pending(t, e.q); n != 1 {
		t.Errorf("%d messages queued, want 1", n)
	}
	toks, err := e.st.ListTokens(ctx, e.victim.PK)
	if err != nil || len(toks) != 1 || toks[0].Intent != store.IntentVerification {
		t.Errorf("the victim's tokens: %+v %v", toks, err)
	}

	e.victim.Email = ""
	if err := e.st.UpdateUser(ctx, e.victim); err != nil {
		t.Fatal(err)
	}
	w = e.post(e.adminC, confirm, csrf, nil)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "User does not have an email address set.") {
		t.Errorf("no address: %d", w.Code)
	}
}

// The transport form offers the webhook mappings for the body and the
// headers; choosing one sets it, None clears it, an unknown one is
// refused on the field.
func TestTransportWebhookMappings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	mapping := e.apiCall(http.MethodPost, "/propertymappings/notification/",
		fmt.Sprintf(`{"name":%q,"expression":"return {\"text\": notification.body}"}`, "Body "+xss), 201)["pk"].(string)
	body := e.page("/if/admin/events/transports/new/")
	for _, want := range []string{`<select id="webhook_mapping_body" name="webhook_mapping_body"`, `<select id="webhook_mapping_headers" name="webhook_mapping_headers"`,
		`<option value="" selected>None</option>`, `<option value="` + mapping + `">Body &lt;script&gt;`} {
		if !strings.Contains(body, want) {
			t.Errorf("the form lacks %q", want)
		}
	}
	form := url.Values{"name": {"Hook"}, "mode": {"webhook"}, "webhook_url": {"https://hooks.example.com/x"},
		"webhook_mapping_body": {mapping}, "webhook_mapping_headers": {""}}
	if w := e.post(e.adminC, "/if/admin/events/transports/new/", csrf, form); w.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	ts, _, err := e.st.ListNotificationTransports(ctx, store.ListOptions{Search: "Hook"})
	if err != nil || len(ts) != 1 {
		t.Fatalf("transports: %v %v", ts, err)
	}
	tr := ts[0]
	if tr.WebhookMappingBody == nil || tr.WebhookMappingBody.String() != mapping || tr.WebhookMappingHeaders != nil {
		t.Fatalf("mappings %v %v", tr.WebhookMappingBody, tr.WebhookMappingHeaders)
	}
	edit := "/if/admin/events/transports/" + tr.UUID.String() + "/edit/"
	if body := e.page(edit); !strings.Contains(body, `<option value="`+mapping+`" selected>`) {
		t.Error("the edit form does not show the body mapping")
	}
	form.Set("webhook_mapping_body", uuid.NewString())
	if w := e.post(e.adminC, edit, csrf, form); w.Code != http.StatusBadRequest ||
		!strings.Contains(w.Body.String(), `id="webhook_mapping_body-err"><p class="field-error">`) {
		t.Errorf("an unknown mapping: %d", w.Code)
	}
	form.Set("webhook_mapping_body", "")
	form.Set("webhook_mapping_headers", mapping)
	if w := e.post(e.adminC, edit, csrf, form); w.Code != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", w.Code, w.Body)
	}
	tr, err = e.st.NotificationTransportByUUID(ctx, tr.UUID)
	if err != nil || tr.WebhookMappingBody != nil || tr.WebhookMappingHeaders == nil || tr.WebhookMappingHeaders.String() != mapping {
		t.Errorf("after the edit: %+v %v", tr, err)
	}
}
