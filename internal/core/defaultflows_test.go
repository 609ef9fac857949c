package core_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

type wantStage struct {
	Name, Type string
	Order      int
	Policies   []string // bound to the stage binding
}

type wantFlow struct {
	Name, Title, Designation, Authentication string
	Policies                                 []string // bound to the flow
	Stages                                   []wantStage
}

// wantFlows is authentik's default blueprints (and its two-stage enrollment
// example), with "authentik" in titles read "Gatehouse".
var wantFlows = map[string]wantFlow{
	"default-authentication-flow": {Name: "Welcome to Gatehouse!", Title: "Welcome to Gatehouse!", Designation: "authentication",
		Authentication: "none", Stages: []wantStage{
			{"default-authentication-identification", "identification", 10, nil},
			{"default-authentication-password", "password", 20, nil},
			{"default-authentication-mfa-validation", "authenticator_validate", 30, nil},
			{"default-authentication-login", "user_login", 100, nil},
		}},
	"default-authenticator-static-setup": {Name: "default-authenticator-static-setup", Title: "Setup Static OTP Tokens",
		Designation: "stage_configuration", Authentication: "require_authenticated",
		Stages: []wantStage{{"default-authenticator-static-setup", "authenticator_static", 0, nil}}},
	"default-authenticator-totp-setup": {Name: "default-authenticator-totp-setup", Title: "Set up Two-Factor authentication",
		Designation: "stage_configuration", Authentication: "require_authenticated",
		Stages: []wantStage{{"default-authenticator-totp-setup", "authenticator_totp", 0, nil}}},
	"default-authenticator-webauthn-setup": {Name: "default-authenticator-webauthn-setup", Title: "Setup WebAuthn",
		Designation: "stage_configuration", Authentication: "require_authenticated",
		Stages: []wantStage{{"default-authenticator-webauthn-setup", "authenticator_webauthn", 0, nil}}},
	"default-invalidation-flow": {Name: "Logout", Title: "Default Invalidation Flow", Designation: "invalidation",
		Authentication: "none", Stages: []wantStage{{"default-invalidation-logout", "user_logout", 0, nil}}},
	"default-recovery-flow": {Name: "Default recovery flow", Title: "Reset your password", Designation: "recovery",
		Authentication: "require_unauthenticated", Stages: []wantStage{
			{"default-recovery-identification", "identification", 10, nil},
			{"default-recovery-email", "email", 20, nil},
			{"default-recovery-field-password", "prompt", 30, nil},
			{"default-recovery-user-write", "user_write", 40, nil},
			{"default-recovery-user-login", "user_login", 100, nil},
		}},
	"default-provider-authorization-explicit-consent": {Name: "Authorize Application", Title: "Redirecting to %(app)s",
		Designation: "authorization", Authentication: "require_authenticated",
		Stages: []wantStage{{"default-provider-authorization-consent", "consent", 0, nil}}},
	"default-provider-authorization-implicit-consent": {Name: "Authorize Application", Title: "Redirecting to %(app)s",
		Designation: "authorization", Authentication: "require_authenticated"},
	"default-provider-invalidation-flow": {Name: "Logout", Title: "You've logged out of %(app)s.", Designation: "invalidation",
		Authentication: "none"},
	"default-source-authentication": {Name: "Welcome to Gatehouse!", Title: "Welcome to Gatehouse!", Designation: "authentication",
		Authentication: "require_unauthenticated", Policies: []string{"default-source-authentication-if-sso"},
		Stages: []wantStage{{"default-source-authentication-login", "user_login", 0, nil}}},
	"default-source-enrollment": {Name: "Welcome to Gatehouse! Please select a username.",
		Title: "Welcome to Gatehouse! Please select a username.", Designation: "enrollment", Authentication: "none",
		Policies: []string{"default-source-enrollment-if-sso"}, Stages: []wantStage{
			{"default-source-enrollment-prompt", "prompt", 0, []string{"default-source-enrollment-if-username"}},
			{"default-source-enrollment-write", "user_write", 1, nil},
			{"default-source-enrollment-login", "user_login", 2, nil},
		}},
	"default-source-pre-authentication": {Name: "Pre-Authentication", Title: "Pre-authentication",
		Designation: "stage_configuration", Authentication: "none"},
	"default-user-settings-flow": {Name: "User settings", Title: "Update your info", Designation: "stage_configuration",
		Authentication: "require_authenticated", Stages: []wantStage{
			{"default-user-settings", "prompt", 20, nil},
			{"default-user-settings-write", "user_write", 100, nil},
		}},
	"default-password-change": {Name: "Change Password", Title: "Change password", Designation: "stage_configuration",
		Authentication: "require_authenticated", Stages: []wantStage{
			{"default-password-change-prompt", "prompt", 0, nil},
			{"default-password-change-write", "user_write", 1, []string{"default-password-change-password-policy"}},
		}},
	"default-enrollment-flow": {Name: "Default enrollment Flow", Title: "Welcome to Gatehouse!", Designation: "enrollment",
		Authentication: "require_unauthenticated", Stages: []wantStage{
			{"default-enrollment-prompt-first", "prompt", 10, nil},
			{"default-enrollment-prompt-second", "prompt", 11, nil},
			{"default-enrollment-user-write", "user_write", 20, nil},
			{"default-enrollment-user-login", "user_login", 100, nil},
		}},
	"initial-setup": {Name: "default-oobe-setup", Title: "Welcome to Gatehouse!", Designation: "stage_configuration",
		Authentication: "none", Policies: []string{"default-oobe-password-usable"}, Stages: []wantStage{
			{"stage-default-oobe-password", "prompt", 10, nil},
			{"default-password-change-write", "user_write", 20, []string{"default-oobe-prefill-user"}},
			{"default-authentication-login", "user_login", 100, nil},
		}},
}

// wantPromptFields are the prompt stages' fields: key, type, order, and
// the initial value when it is an expression.
var wantPromptFields = map[string][]string{
	"default-source-enrollment-prompt": {"username text 100"},
	"default-user-settings": {
		"username username 200 try:\n    return user.username\nexcept:\n    return ''\n",
		"name text 201 try:\n    return user.name\nexcept:\n    return ''\n",
		"email email 202 try:\n    return user.email\nexcept:\n    return ''\n",
		"attributes.settings.locale ak-locale 203 try:\n    return user.attributes.get(\"settings\", {}).get(\"locale\", \"\")\nexcept:\n    return ''\n",
	},
	"default-password-change-prompt":   {"password password 300", "password_repeat password 301"},
	"default-enrollment-prompt-first":  {"username username 0", "password password 0", "password_repeat password 1"},
	"default-enrollment-prompt-second": {"name text 0", "email email 1"},
}

// wantSettings are settings the blueprints state, by stage or policy name.
var wantSettings = map[string]store.Attributes{
	"default-provider-authorization-consent": {"mode": "expiring"},
	"default-authentication-mfa-validation": {"device_classes": []any{"static", "totp", "webauthn", "email", "sms"},
		"not_configured_action": "skip"},
	"default-authenticator-totp-setup":        {"digits": float64(6)},
	"default-authenticator-static-setup":      {"token_count": float64(6)},
	"default-source-enrollment-write":         {"user_creation_mode": "always_create"},
	"default-enrollment-user-write":           {"user_creation_mode": "always_create"},
	"default-user-settings-write":             {"user_creation_mode": "never_create"},
	"default-password-change-write":           {"user_creation_mode": "never_create"},
	"default-password-change-password-policy": {"check_static_rules": true, "check_zxcvbn": true, "length_min": float64(8), "password_field": "password", "zxcvbn_score_threshold": float64(2)},
}

func newStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	return migrated(t, func() (*sqlstore.Store, error) {
		return sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	})
}

// loadFlow reads a flow back from the store as a wantFlow, checking on the
// way that every stage and policy it uses is valid for its type.
func loadFlow(t *testing.T, s store.Store, f *store.Flow) wantFlow {
	t.Helper()
	stages := stageall.Registry()
	policyNames := func(target uuid.UUID) []string {
		bs, err := s.PolicyBindings(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range bs {
			p, err := s.PolicyByUUID(ctx, *b.PolicyUUID)
			if err != nil {
				t.Fatal(err)
			}
			typ, ok := policyall.Lookup(policyall.Deps{}, p.Type)
			if !ok {
				t.Fatalf("policy %s has unknown type %q", p.Name, p.Type)
			}
			if err := typ.Validate(p.Settings); err != nil {
				t.Errorf("policy %s: %v", p.Name, err)
			}
			checkSettings(t, p.Name, p.Settings)
			names = append(names, p.Name)
		}
		return names
	}
	got := wantFlow{Name: f.Name, Title: f.Title, Designation: f.Designation, Authentication: f.Authentication,
		Policies: policyNames(f.UUID)}
	bindings, err := s.FlowStageBindings(ctx, f.UUID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bindings {
		st, err := s.StageByUUID(ctx, b.StageUUID)
		if err != nil {
			t.Fatal(err)
		}
		if !b.ReEvaluatePolicies || b.EvaluateOnPlan {
			t.Errorf("%s: binding of %s re-evaluates %v, evaluates on plan %v", f.Slug, st.Name, b.ReEvaluatePolicies, b.EvaluateOnPlan)
		}
		if _, err := stages[st.Type](st.Settings); err != nil {
			t.Errorf("stage %s does not build: %v", st.Name, err)
		}
		checkSettings(t, st.Name, st.Settings)
		if want, ok := wantPromptFields[st.Name]; ok {
			if diff := cmp.Diff(want, promptFields(t, st.Settings)); diff != "" {
				t.Errorf("fields of %s (-want +got):\n%s", st.Name, diff)
			}
		}
		got.Stages = append(got.Stages, wantStage{st.Name, st.Type, b.Order, policyNames(b.UUID)})
	}
	return got
}

func checkSettings(t *testing.T, name string, got store.Attributes) {
	t.Helper()
	// Round-trip as the store does, so numbers compare as JSON numbers.
	raw, _ := json.Marshal(got)
	var norm map[string]any
	_ = json.Unmarshal(raw, &norm)
	for k, v := range wantSettings[name] {
		if !cmp.Equal(v, norm[k]) {
			t.Errorf("%s: %s = %v, want %v", name, k, norm[k], v)
		}
	}
}

func promptFields(t *testing.T, settings store.Attributes) []string {
	t.Helper()
	raw, _ := json.Marshal(settings["fields"])
	var fields []struct {
		Key          string `json:"field_key"`
		Type         string `json:"type"`
		Order        int    `json:"order"`
		InitialValue string `json:"initial_value"`
		Expression   bool   `json:"initial_value_expression"`
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fields {
		s := strings.Join([]string{f.Key, f.Type, itoa(f.Order)}, " ")
		if f.Expression {
			s += " " + f.InitialValue
		}
		out = append(out, s)
	}
	return out
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestEnsureDefaultFlows(t *testing.T) {
	s := newStore(t)
	if _, err := core.Bootstrap(ctx, s, core.BootstrapOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	created, err := core.EnsureDefaultFlows(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for slug := range wantFlows {
		slugs = append(slugs, slug)
	}
	slices.Sort(slugs)
	slices.Sort(created)
	if diff := cmp.Diff(slugs, created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	ids := map[string]uuid.UUID{}
	for _, slug := range slugs {
		f, err := s.FlowBySlug(ctx, slug)
		if err != nil {
			t.Fatalf("%s: %v", slug, err)
		}
		ids[slug] = f.UUID
		if diff := cmp.Diff(wantFlows[slug], loadFlow(t, s, f)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", slug, diff)
		}
	}

	brand := defaultBrand(t, s)
	for field, got := range map[string]*uuid.UUID{"default-authentication-flow": brand.FlowAuthentication,
		"default-invalidation-flow": brand.FlowInvalidation, "default-recovery-flow": brand.FlowRecovery,
		"default-user-settings-flow": brand.FlowUserSettings} {
		if got == nil || *got != ids[field] {
			t.Errorf("default brand's %s flow = %v, want %s", field, got, ids[field])
		}
	}

	// A restart creates nothing more.
	count := func() [2]int {
		_, stages, err := s.ListStages(ctx, "", store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, policies, err := s.ListPolicies(ctx, "", store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return [2]int{stages, policies}
	}
	before := count()
	again, err := core.EnsureDefaultFlows(ctx, s)
	if err != nil || len(again) != 0 {
		t.Errorf("second run created %v, %v", again, err)
	}
	if after := count(); after != before {
		t.Errorf("second run: stages, policies = %v, was %v", after, before)
	}
	for _, slug := range slugs {
		f, _ := s.FlowBySlug(ctx, slug)
		if diff := cmp.Diff(wantFlows[slug], loadFlow(t, s, f)); diff != "" {
			t.Errorf("%s after the second run (-want +got):\n%s", slug, diff)
		}
	}
}

func defaultBrand(t *testing.T, s store.Store) *store.Brand {
	t.Helper()
	brands, err := s.ListBrands(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range brands {
		if b.Default {
			return b
		}
	}
	t.Fatal("no default brand")
	return nil
}

// A flow or brand setting an administrator made is left alone.
func TestEnsureDefaultFlowsKeepsExisting(t *testing.T) {
	s := newStore(t)
	if _, err := core.Bootstrap(ctx, s, core.BootstrapOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	mine := &store.Flow{Slug: core.DefaultEnrollmentFlow, Name: "Mine", Title: "My enrollment", Designation: store.DesignationEnrollment}
	settings := &store.Flow{Slug: "my-settings", Name: "My settings", Title: "My settings", Designation: store.DesignationStageConfiguration}
	for _, f := range []*store.Flow{mine, settings} {
		if err := s.CreateFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	b := defaultBrand(t, s)
	b.FlowUserSettings = &settings.UUID
	if err := s.UpdateBrand(ctx, b); err != nil {
		t.Fatal(err)
	}

	created, err := core.EnsureDefaultFlows(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(created, core.DefaultEnrollmentFlow) || !slices.Contains(created, core.DefaultUserSettingsFlow) {
		t.Errorf("created = %v", created)
	}
	f, err := s.FlowBySlug(ctx, core.DefaultEnrollmentFlow)
	if err != nil || f.Title != "My enrollment" {
		t.Errorf("the existing enrollment flow = %+v, %v", f, err)
	}
	if bs, _ := s.FlowStageBindings(ctx, mine.UUID); len(bs) != 0 {
		t.Errorf("the existing enrollment flow got %d stages", len(bs))
	}
	if b := defaultBrand(t, s); b.FlowUserSettings == nil || *b.FlowUserSettings != settings.UUID {
		t.Errorf("brand user settings flow = %v, want the administrator's %s", b.FlowUserSettings, settings.UUID)
	}
}

// challenge is the part of the executor's answers the tests read.
type challenge struct {
	Component string `json:"component"`
	Fields    []struct {
		FieldKey     string `json:"field_key"`
		InitialValue string `json:"initial_value"`
	} `json:"fields"`
	ResponseErrors map[string][]struct {
		String string `json:"string"`
	} `json:"response_errors"`
	ErrorMessage string `json:"error_message"`
	To           string `json:"to"`
}

func (c challenge) fields() map[string]string {
	out := map[string]string{}
	for _, f := range c.Fields {
		out[f.FieldKey] = f.InitialValue
	}
	return out
}

func (c challenge) errors() map[string]string {
	out := map[string]string{}
	for k, errs := range c.ResponseErrors {
		for _, e := range errs {
			out[k] = e.String
		}
	}
	return out
}

// browser drives the flow executor API as the web UI does, with a cookie jar.
type browser struct {
	t    *testing.T
	c    *http.Client
	base string
}

func (b *browser) step(slug string, body map[string]any) challenge {
	b.t.Helper()
	method, rd := http.MethodGet, io.Reader(nil)
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		method, rd = http.MethodPost, strings.NewReader(string(raw))
	}
	req, err := http.NewRequest(method, b.base+"/api/v3/flows/executor/"+slug+"/?query=next%3D%2Fdone%2F", rd)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.c.Do(req) // follows the executor's 302 after a stage is done
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s %s: %d %s", method, slug, resp.StatusCode, raw)
	}
	var c challenge
	if err := json.Unmarshal(raw, &c); err != nil {
		b.t.Fatalf("%s %s: %v: %s", method, slug, err, raw)
	}
	return c
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar}, base: base}
}

// executorServer serves the flow executor over s, in process.
func executorServer(t *testing.T, s *sqlstore.Store) string {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	events := &event.Recorder{Store: s, Log: log}
	e := &flow.Executor{Store: s, Stages: stageall.Registry(), Log: log, Sessions: &session.Manager{Store: s},
		Events: events, Policies: policyall.Engine(s, log, events)}
	r := chi.NewRouter()
	r.Handle("/api/v3/flows/executor/{slug}/", e)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

// The default enrollment flow enrolls a user end to end through the flow
// executor; the new user is signed in and sees their details in the user
// settings flow.
func TestDefaultEnrollmentFlow(t *testing.T) {
	saved := password.DefaultParams
	password.DefaultParams = password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	t.Cleanup(func() { password.DefaultParams = saved })

	s := newStore(t)
	if _, err := core.Bootstrap(ctx, s, core.BootstrapOptions{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := core.EnsureDefaultFlows(ctx, s); err != nil {
		t.Fatal(err)
	}
	base := executorServer(t, s)
	const slug = core.DefaultEnrollmentFlow
	first := map[string]any{"component": "ak-stage-prompt", "username": "carol",
		"password": "correct horse battery staple", "password_repeat": "correct horse battery staple"}

	b := newBrowser(t, base)
	c := b.step(slug, nil)
	if diff := cmp.Diff(map[string]string{"username": "", "password": "", "password_repeat": ""}, c.fields()); c.Component != "ak-stage-prompt" || diff != "" {
		t.Fatalf("first step = %+v (-want +got fields):\n%s", c, diff)
	}
	mismatch := map[string]any{"component": "ak-stage-prompt", "username": "carol", "password": "one", "password_repeat": "two"}
	if c := b.step(slug, mismatch); c.errors()["password_repeat"] != "Passwords don't match." {
		t.Errorf("mismatched passwords: %+v", c)
	}
	c = b.step(slug, first)
	if diff := cmp.Diff(map[string]string{"name": "", "email": ""}, c.fields()); c.Component != "ak-stage-prompt" || diff != "" {
		t.Fatalf("second step = %+v (-want +got fields):\n%s", c, diff)
	}
	c = b.step(slug, map[string]any{"component": "ak-stage-prompt", "name": "Carol Danvers", "email": "carol@example.com"})
	if c.Component != "xak-flow-redirect" || c.To != "/done/" {
		t.Fatalf("last step = %+v, want the redirect to ?next=", c)
	}

	u, err := s.UserByUsername(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "Carol Danvers" || u.Email != "carol@example.com" || !u.IsActive {
		t.Errorf("enrolled user = %+v", u)
	}
	if ok, _, err := password.Verify("correct horse battery staple", u.PasswordHash); !ok || err != nil {
		t.Errorf("the enrolled password does not verify: %v", err)
	}

	// Signed in: the enrollment flow is closed to carol, and the user
	// settings flow shows her details (authentik's guarded expressions).
	if c := b.step(slug, nil); c.Component != "ak-stage-access-denied" {
		t.Errorf("enrollment when signed in = %+v", c)
	}
	c = b.step(core.DefaultUserSettingsFlow, nil)
	want := map[string]string{"username": "carol", "name": "Carol Danvers", "email": "carol@example.com", "attributes.settings.locale": ""}
	if diff := cmp.Diff(want, c.fields()); c.Component != "ak-stage-prompt" || diff != "" {
		t.Errorf("user settings = %+v (-want +got fields):\n%s", c, diff)
	}

	// Someone else cannot take the username.
	other := newBrowser(t, base)
	other.step(slug, nil)
	if c := other.step(slug, first); c.errors()["username"] != "Username is already taken." {
		t.Errorf("a taken username: %+v", c)
	}

	// Without a source, the source flows are not applicable, and their
	// policies run without a configuration error.
	for _, slug := range []string{core.DefaultSourceAuthFlow, core.DefaultSourceEnrollFlow} {
		if c := other.step(slug, nil); c.Component != "ak-stage-access-denied" {
			t.Errorf("%s without a source = %+v", slug, c)
		}
	}
	if evs, n, err := s.ListEvents(ctx, store.EventFilter{Action: "configuration_error"}); err != nil || n != 0 {
		t.Errorf("configuration errors: %d %v", n, err)
		for _, e := range evs {
			t.Log(e.Context)
		}
	}
}
