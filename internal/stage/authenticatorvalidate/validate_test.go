package authenticatorvalidate_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorvalidate"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const slug = core.DefaultAuthenticationFlow

func TestSettings(t *testing.T) {
	id := uuid.NewString()
	for _, tc := range []struct {
		attrs store.Attributes
		ok    bool
	}{
		{store.Attributes{}, true},
		{store.Attributes{"device_classes": []any{"totp", "duo"}, "not_configured_action": "deny"}, true},
		{store.Attributes{"not_configured_action": "configure", "configuration_stages": []any{id}}, true},
		{store.Attributes{"last_auth_threshold": "hours=1;minutes=30"}, true},
		{store.Attributes{"device_classes": []any{"carrier-pigeon"}}, false},
		{store.Attributes{"not_configured_action": "configure"}, false},
		{store.Attributes{"not_configured_action": "configure", "configuration_stages": []any{"not-a-uuid"}}, false},
		{store.Attributes{"not_configured_action": "maybe"}, false},
		{store.Attributes{"last_auth_threshold": "fortnights=2"}, false},
		{store.Attributes{"webauthn_user_verification": "sometimes"}, false},
	} {
		if _, err := authenticatorvalidate.New(tc.attrs); (err == nil) != tc.ok {
			t.Errorf("New(%v) = %v, want ok %v", tc.attrs, err, tc.ok)
		}
	}
}

// totpDevice gives u a TOTP device whose last accepted step is long past.
func totpDevice(t *testing.T, s *stagetest.Server, u *store.User) (mfa.TOTP, *store.AuthenticatorDevice) {
	t.Helper()
	k := mfa.TOTP{Secret: mfa.NewTOTPSecret(), Digits: 6}
	d, err := mfa.NewTOTPDevice(s.Sealer, u.PK, "phone", k, mfa.Step(s.Now)-100)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.CreateDevice(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return k, d
}

func code(t *testing.T, k mfa.TOTP, at time.Time) string {
	t.Helper()
	c, err := k.Code(mfa.Step(at))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func answer(c *stagetest.Client, body map[string]any) stagetest.Challenge {
	body["component"] = "ak-stage-authenticator-validate"
	return c.Post(slug, body)
}

// A user with a TOTP device is asked for a code after the password; wrong,
// malformed and replayed codes are errors on the code field; a right code
// logs in with auth_method auth_mfa.
func TestTOTPLogin(t *testing.T) {
	s := stagetest.New(t)
	ctx := context.Background()
	alice := s.User("alice", "alice-password")
	k, d := totpDevice(t, s, alice)

	c := s.Client()
	ch := c.Password("alice", "alice-password")
	if ch.Component() != "ak-stage-authenticator-validate" || ch["pending_user"] != "alice" {
		t.Fatalf("after the password: %v", ch)
	}
	raw, _ := json.Marshal(ch["device_challenges"])
	want := `[{"challenge":{},"device_class":"totp","device_uid":"` + itoa(d.PK) + `","last_used":null}]`
	if string(raw) != want {
		t.Errorf("device_challenges = %s, want %s", raw, want)
	}
	if cs, _ := ch["configuration_stages"].([]any); cs == nil || len(cs) != 0 {
		t.Errorf("configuration_stages = %v, want []", ch["configuration_stages"])
	}

	right := code(t, k, s.Now)
	wrong := "000000"
	if wrong == right || wrong == code(t, k, s.Now.Add(-30*time.Second)) || wrong == code(t, k, s.Now.Add(30*time.Second)) {
		wrong = "999999" // the odds of both are negligible
	}
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"code": wrong}, "Invalid code."},
		{map[string]any{"code": "12e456"}, "The code must contain only digits."},
		{map[string]any{"code": strings.Repeat("7", 100)}, "The code must be 6 digits long."},
		{map[string]any{"code": []any{"123456"}}, "Please enter a code."},
	} {
		ch := answer(c, tc.body)
		if ch.Component() != "ak-stage-authenticator-validate" || ch.Error("code") != tc.want {
			t.Errorf("%v: %v", tc.body, ch)
		}
	}
	if ch := answer(c, map[string]any{}); ch.Error("non_field_errors") == "" {
		t.Errorf("no answer: %v", ch)
	}
	// Not JSON at all: an error on the challenge, not a 500.
	if ch := c.PostRaw(slug, `{"component":"ak-stage-authenticator-validate","code":`); ch.Error("non_field_errors") == "" {
		t.Errorf("truncated JSON: %v", ch)
	}

	// A code sent as a JSON number counts as typed.
	n, _ := json.Number(right).Int64()
	if strings.HasPrefix(right, "0") {
		n = -1 // a number cannot carry the leading zero: send the string
	}
	var body map[string]any
	if n >= 0 {
		body = map[string]any{"code": n}
	} else {
		body = map[string]any{"code": right}
	}
	if ch := answer(c, body); ch.Component() != "xak-flow-redirect" || ch["to"] != "/done/" {
		t.Fatalf("right code: %v", ch)
	}
	evs, _, _ := s.Store.ListEvents(ctx, store.EventFilter{Action: "login"})
	if len(evs) == 0 {
		t.Fatal("no login event")
	}
	evctx, _ := json.Marshal(map[string]any{"auth_method": evs[0].Context["auth_method"], "auth_method_args": evs[0].Context["auth_method_args"]})
	wantCtx := `{"auth_method":"auth_mfa","auth_method_args":{"mfa_devices":[{"app":"otp_totp","model_name":"totpdevice","pk":` + itoa(d.PK) + `}]}}`
	if string(evctx) != wantCtx {
		t.Errorf("login event context = %s, want %s", evctx, wantCtx)
	}
	stored, _ := s.Store.Device(ctx, d.PK)
	if stored.Counter != mfa.Step(s.Now) || stored.LastUsed == nil {
		t.Errorf("device after use: %+v", stored)
	}
	sess, _ := s.Store.UserSessions(ctx, alice.PK, s.Now)
	var method string
	if len(sess) != 1 || !session.Get(sess[0], flow.SessionAuthMethod, &method) || method != "auth_mfa" {
		t.Errorf("session auth method %q (%d sessions)", method, len(sess))
	}

	// The same code in another login, still in its window: replayed.
	other := s.Client()
	other.Password("alice", "alice-password")
	if ch := answer(other, map[string]any{"code": right}); ch.Error("code") != "This code was used already; wait for the next one." {
		t.Errorf("replayed code: %v", ch)
	}
	// last_used is shown once the device was used.
	ch = other.Get(slug)
	if dc := ch["device_challenges"].([]any)[0].(map[string]any); dc["last_used"] == nil {
		t.Errorf("last_used after a use: %v", dc)
	}
}

// Five wrong codes restart the flow and lower the reputation.
func TestBruteForce(t *testing.T) {
	s := stagetest.New(t)
	ctx := context.Background()
	bob := s.User("bob", "bob-password")
	k, _ := totpDevice(t, s, bob)
	valid := map[string]bool{}
	for d := -1; d <= 1; d++ {
		valid[code(t, k, s.Now.Add(time.Duration(d)*30*time.Second))] = true
	}
	c := s.Client()
	c.Password("bob", "bob-password")
	before, _ := s.Store.ReputationScore(ctx, "bob", "", s.Now)
	var ch stagetest.Challenge
	tried := 0
	for i := 0; tried < authenticatorvalidate.MaxFailedAttempts; i++ {
		guess := strings.Repeat(string(rune('0'+i%10)), 6)
		if valid[guess] {
			continue
		}
		tried++
		ch = answer(c, map[string]any{"code": guess})
		if tried < authenticatorvalidate.MaxFailedAttempts && ch.Error("code") != "Invalid code." {
			t.Fatalf("wrong code %d: %v", tried, ch)
		}
	}
	if ch.Component() != "ak-stage-identification" {
		t.Errorf("after %d wrong codes: %v", authenticatorvalidate.MaxFailedAttempts, ch)
	}
	after, _ := s.Store.ReputationScore(ctx, "bob", "", s.Now)
	if after >= before {
		t.Errorf("reputation %d -> %d, want lower", before, after)
	}
	failed, _, _ := s.Store.ListEvents(ctx, store.EventFilter{Action: "login_failed"})
	if len(failed) < authenticatorvalidate.MaxFailedAttempts {
		t.Errorf("login_failed events: %d", len(failed))
	}
}

// mfaStage replaces the default flow's validate stage settings.
func mfaStage(t *testing.T, s *stagetest.Server, settings store.Attributes) {
	t.Helper()
	ctx := context.Background()
	st, err := s.Store.StageByName(ctx, "default-authentication-mfa-validation")
	if err != nil {
		t.Fatal(err)
	}
	st.Settings = settings
	if err := s.Store.UpdateStage(ctx, st); err != nil {
		t.Fatal(err)
	}
}

func stageUUID(t *testing.T, s *stagetest.Server, name string) string {
	t.Helper()
	st, err := s.Store.StageByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return st.UUID.String()
}

func TestNotConfigured(t *testing.T) {
	s := stagetest.New(t)
	s.User("carol", "carol-password")
	totpSetup := stageUUID(t, s, core.DefaultAuthenticatorTOTPSetupFlow)
	staticSetup := stageUUID(t, s, core.DefaultAuthenticatorStaticSetupFlow)

	mfaStage(t, s, store.Attributes{"not_configured_action": "deny"})
	if ch := s.Client().Password("carol", "carol-password"); ch.Component() != "ak-stage-access-denied" ||
		ch["error_message"] != "No (allowed) MFA authenticator configured." {
		t.Errorf("deny: %v", ch)
	}

	// One configuration stage: it runs next, then the login finishes.
	mfaStage(t, s, store.Attributes{"not_configured_action": "configure", "configuration_stages": []any{staticSetup}})
	c := s.Client()
	ch := c.Password("carol", "carol-password")
	if ch.Component() != "ak-stage-authenticator-static" || ch["pending_user"] != "carol" {
		t.Fatalf("configure with one stage: %v", ch)
	}
	if ch := c.Post(slug, map[string]any{"component": "ak-stage-authenticator-static"}); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("after the setup: %v", ch)
	}

	// Several: the user picks one. Dave has no device yet.
	s.User("dave", "dave-password")
	mfaStage(t, s, store.Attributes{"not_configured_action": "configure", "configuration_stages": []any{totpSetup, staticSetup}})
	c = s.Client()
	ch = c.Password("dave", "dave-password")
	raw, _ := json.Marshal(ch["configuration_stages"])
	want := `[{"meta_model_name":"authentik_stages_authenticator_totp.authenticatortotpstage","name":"default-authenticator-totp-setup","pk":"` + totpSetup + `","verbose_name":"TOTP Authenticator Setup Stage"},` +
		`{"meta_model_name":"authentik_stages_authenticator_static.authenticatorstaticstage","name":"default-authenticator-static-setup","pk":"` + staticSetup + `","verbose_name":"Static Authenticator Setup Stage"}]`
	if ch.Component() != "ak-stage-authenticator-validate" || string(raw) != want {
		t.Fatalf("configure with two stages: %v\n%s", ch, raw)
	}
	if ch := answer(c, map[string]any{"selected_stage": uuid.NewString()}); ch.Error("selected_stage") == "" {
		t.Errorf("a stage not offered: %v", ch)
	}
	if ch := answer(c, map[string]any{"selected_stage": 42}); ch.Error("selected_stage") == "" {
		t.Errorf("a number: %v", ch)
	}
	if ch := answer(c, map[string]any{"selected_stage": totpSetup}); ch.Component() != "ak-stage-authenticator-totp" {
		t.Errorf("picked TOTP: %v", ch)
	}

	// device_classes leaves classes out: carol's static device does not
	// count for a TOTP-only stage, which then skips.
	mfaStage(t, s, store.Attributes{"device_classes": []any{"totp"}})
	if ch := s.Client().Password("carol", "carol-password"); ch.Component() != "xak-flow-redirect" {
		t.Errorf("a class not allowed: %v", ch)
	}
}

// Picking a class echoes it as selected_challenge; an unknown or foreign
// class is an error.
func TestSelectedChallenge(t *testing.T) {
	s := stagetest.New(t)
	erin := s.User("erin", "erin-password")
	k, _ := totpDevice(t, s, erin)
	c := s.Client()
	ch := c.Password("erin", "erin-password")
	dc := ch["device_challenges"].([]any)[0]
	for _, bad := range []any{"webauthn", 17, map[string]any{"device_class": "sms"}, "{"} {
		if ch := answer(c, map[string]any{"selected_challenge": bad}); ch.Error("selected_challenge") == "" {
			t.Errorf("selected_challenge %v: %v", bad, ch)
		}
	}
	ch = answer(c, map[string]any{"selected_challenge": dc})
	if sel, _ := ch["selected_challenge"].(map[string]any); ch.Component() != "ak-stage-authenticator-validate" || sel["device_class"] != "totp" {
		t.Fatalf("picked TOTP: %v", ch)
	}
	// A form's empty code beside the pick is no answer (and no failure);
	// an empty code alone is an error on the code.
	if ch := answer(c, map[string]any{"selected_challenge": "totp", "code": ""}); ch.Component() != "ak-stage-authenticator-validate" || ch["response_errors"] != nil {
		t.Errorf("a pick with an empty code: %v", ch)
	}
	if ch := answer(c, map[string]any{"code": ""}); ch.Error("code") != "Please enter a code." {
		t.Errorf("an empty code: %v", ch)
	}
	// The class name alone, as a form sends it, and the code together.
	if ch := answer(c, map[string]any{"selected_challenge": "totp", "code": code(t, k, s.Now)}); ch.Component() != "xak-flow-redirect" {
		t.Errorf("code after picking: %v", ch)
	}
}

// last_auth_threshold skips the stage in the browser that passed it within
// the threshold, for the same user; another browser is asked.
func TestLastAuthThreshold(t *testing.T) {
	s := stagetest.New(t)
	frank := s.User("frank", "frank-password")
	k, _ := totpDevice(t, s, frank)
	s.User("gina", "gina-password")
	mfaStage(t, s, store.Attributes{"last_auth_threshold": "minutes=10"})

	c := s.Client()
	c.Password("frank", "frank-password")
	if ch := answer(c, map[string]any{"code": code(t, k, s.Now)}); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("first login: %v", ch)
	}
	c.Get(core.DefaultInvalidationFlow)
	s.Now = s.Now.Add(5 * time.Minute)
	if ch := c.Password("frank", "frank-password"); ch.Component() != "xak-flow-redirect" {
		t.Errorf("within the threshold: %v", ch)
	}
	if ch := s.Client().Password("frank", "frank-password"); ch.Component() != "ak-stage-authenticator-validate" {
		t.Errorf("another browser: %v", ch)
	}
	c.Get(core.DefaultInvalidationFlow)
	s.Now = s.Now.Add(6 * time.Minute)
	if ch := c.Password("frank", "frank-password"); ch.Component() != "ak-stage-authenticator-validate" {
		t.Errorf("after the threshold: %v", ch)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// Odd answers of every shape are errors on the challenge, never a flow
// error (stagetest fails on ak-stage-flow-error) and never a pass.
func TestOddAnswers(t *testing.T) {
	s := stagetest.New(t)
	hank := s.User("hank", "hank-password")
	totpDevice(t, s, hank)
	for _, body := range []map[string]any{
		{"code": nil},
		{"code": true},
		{"code": map[string]any{"code": "123456"}},
		{"code": 1e300},
		{"code": -123456},
		{"code": "１２３４５６"},
		{"code": strings.Repeat("1", 100000)},
		{"webauthn": "not an assertion"},
		{"webauthn": map[string]any{"id": "x"}},
		{"selected_challenge": []any{"totp"}},
		{"selected_challenge": map[string]any{"device_class": 5}},
		{"selected_stage": "x", "code": "abc"},
		{"duo": 1},
	} {
		c := s.Client() // a fresh login each: five failures would restart it
		c.Password("hank", "hank-password")
		ch := answer(c, body)
		if ch.Component() != "ak-stage-authenticator-validate" || ch["response_errors"] == nil {
			t.Errorf("%.60v: %v", body, ch)
		}
	}
}

// One code field for TOTP and recovery codes: the code goes to each class
// in turn, and the error shown is the class's that could read it.
func TestCodeForSeveralClasses(t *testing.T) {
	s := stagetest.New(t)
	ivy := s.User("ivy", "ivy-password")
	totpDevice(t, s, ivy)
	codes := mfa.NewStaticCodes(2, 12)
	if err := s.Store.CreateDevice(context.Background(), mfa.NewStaticDevice(ivy.PK, "codes", codes)); err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	ch := c.Password("ivy", "ivy-password")
	if n := len(ch["device_challenges"].([]any)); n != 2 {
		t.Fatalf("device challenges: %v", ch)
	}
	if ch := answer(c, map[string]any{"code": "abcdefghjkmn"}); ch.Error("code") != "Invalid code." {
		t.Errorf("a wrong recovery code: %v", ch)
	}
	if ch := answer(c, map[string]any{"code": "12345"}); ch.Error("code") != "The code must be 6 digits long." {
		t.Errorf("a code nothing could read: %v", ch)
	}
	if ch := answer(c, map[string]any{"code": codes[1]}); ch.Component() != "xak-flow-redirect" {
		t.Errorf("a recovery code: %v", ch)
	}
}
