package authenticatortotp_test

import (
	"context"
	"encoding/base32"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/mfa"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatortotp"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		attrs store.Attributes
		ok    bool
	}{
		{store.Attributes{}, true},
		{store.Attributes{"digits": 8, "friendly_name": "Phone"}, true},
		{store.Attributes{"digits": 7}, false},
		{store.Attributes{"digits": "six"}, false},
		{store.Attributes{"friendly_name": strings.Repeat("x", 201)}, false},
	} {
		if _, err := authenticatortotp.New(tc.attrs); (err == nil) != tc.ok {
			t.Errorf("New(%v) = %v, want ok %v", tc.attrs, err, tc.ok)
		}
	}
}

// Setting a TOTP device up while signed in: the key is shown as an
// otpauth URL and a QR code, nothing is saved until a right code comes
// back, and wrong or malformed codes are errors on the code field.
func TestEnrollWhileSignedIn(t *testing.T) {
	s := stagetest.New(t)
	ctx := context.Background()
	alice := s.User("alice", "alice-password")
	c := s.Client()
	if ch := c.Password("alice", "alice-password"); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("login without devices: %v", ch)
	}

	const slug = core.DefaultAuthenticatorTOTPSetupFlow
	ch := c.Get(slug)
	if ch.Component() != "ak-stage-authenticator-totp" || ch["pending_user"] != "alice" ||
		!strings.HasPrefix(ch["qr_code"].(string), "data:image/png;base64,") {
		t.Fatalf("setup challenge: %v", ch)
	}
	raw := ch["config_url"].(string)
	key, err := otp.NewKeyFromURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	if key.Issuer() != "Gatehouse" { // the default brand's title
		t.Errorf("issuer %q", key.Issuer())
	}
	if key.AccountName() != "alice" || key.Digits() != otp.DigitsSix || key.Period() != 30 {
		t.Errorf("config URL %s", raw)
	}
	// Shown again, the same key; the key is in the plan sealed, not as is.
	if again := c.Get(slug); again["config_url"] != raw {
		t.Error("a second GET showed another key")
	}
	sess, _ := s.Store.UserSessions(ctx, alice.PK, s.Now)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(key.Secret())
	if err != nil || len(sess) == 0 {
		t.Fatalf("secret %v, sessions %d", err, len(sess))
	}
	for _, se := range sess {
		if data := string(se.Data); strings.Contains(data, key.Secret()) || strings.Contains(data, base64.StdEncoding.EncodeToString(secret)) {
			t.Error("the key is in the session in the clear")
		}
	}

	now := s.Now
	code, err := totp.GenerateCodeCustom(key.Secret(), now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for _, tc := range []struct{ code, want string }{
		{wrong, "Code does not match"},
		{"12345a", "only digits"},
		{strings.Repeat("1", 100), "6 digits"},
		{"", "enter a code"},
	} {
		ch := c.Post(slug, map[string]any{"component": "ak-stage-authenticator-totp", "code": tc.code})
		if ch.Component() != "ak-stage-authenticator-totp" || !strings.Contains(strings.ToLower(ch.Error("code")), strings.ToLower(tc.want)) {
			t.Errorf("code %.10q: %v", tc.code, ch)
		}
	}
	if ds, n, _ := s.Store.ListDevices(ctx, store.DeviceFilter{UserPK: alice.PK}); n != 0 {
		t.Fatalf("devices saved before a right code: %v", ds)
	}

	if ch := c.Post(slug, map[string]any{"component": "ak-stage-authenticator-totp", "code": code}); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("right code: %v", ch)
	}
	ds, n, err := s.Store.ListDevices(ctx, store.DeviceFilter{UserPK: alice.PK})
	if err != nil || n != 1 {
		t.Fatalf("devices: %v %v", ds, err)
	}
	d := ds[0]
	if d.Type != store.DeviceTOTP || !d.Confirmed || d.Name != "TOTP Device" || d.Counter != mfa.Step(now) {
		t.Errorf("device: %+v", d)
	}
	if sealed, _ := d.Data[mfa.DataKeySealed].(string); !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, key.Secret()) {
		t.Errorf("stored key %q is not sealed", sealed)
	}
	k, err := mfa.DeviceTOTP(s.Sealer, d)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := k.Code(mfa.Step(now)); got != code {
		t.Error("the stored key is not the one shown")
	}
	evs, _, err := s.Store.ListEvents(ctx, store.EventFilter{Action: "model_created"})
	if err != nil || len(evs) != 1 {
		t.Fatalf("model_created events: %v %v", evs, err)
	}
	model, _ := evs[0].Context["model"].(map[string]any)
	if model["model_name"] != "totpdevice" || model["app"] != "authentik_stages_authenticator_totp" {
		t.Errorf("event context: %v", evs[0].Context)
	}

	// Signed out, the flow is closed (require_authenticated).
	if ch := s.Client().Get(slug); ch.Component() != "ak-stage-access-denied" {
		t.Errorf("signed out: %v", ch)
	}
}

// The stage works for the pending user of a login flow too, and an
// 8-digit stage makes 8-digit devices.
func TestEnrollPendingUserEightDigits(t *testing.T) {
	s := stagetest.New(t)
	ctx := context.Background()
	s.User("bob", "bob-password")
	st := &store.Stage{Name: "totp8", Type: authenticatortotp.Type, Settings: store.Attributes{"digits": 8, "friendly_name": "Bob's phone"}}
	if err := s.Store.CreateStage(ctx, st); err != nil {
		t.Fatal(err)
	}
	f, err := s.Store.FlowBySlug(ctx, core.DefaultAuthenticationFlow)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.CreateFlowStageBinding(ctx, &store.FlowStageBinding{FlowUUID: f.UUID, StageUUID: st.UUID, Order: 25, ReEvaluatePolicies: true}); err != nil {
		t.Fatal(err)
	}
	c := s.Client()
	ch := c.Password("bob", "bob-password")
	if ch.Component() != "ak-stage-authenticator-totp" || ch["pending_user"] != "bob" {
		t.Fatalf("after the password: %v", ch)
	}
	u, _ := url.Parse(ch["config_url"].(string))
	if u.Query().Get("digits") != "8" {
		t.Errorf("config URL %s", u)
	}
	key, _ := otp.NewKeyFromURL(ch["config_url"].(string))
	code, _ := totp.GenerateCodeCustom(key.Secret(), s.Now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
	if ch := c.Post(core.DefaultAuthenticationFlow, map[string]any{"component": "ak-stage-authenticator-totp", "code": code[:6]}); ch.Error("code") == "" {
		t.Errorf("6 digits for an 8-digit device: %v", ch)
	}
	// The device is saved; the validate stage after it then asks for a
	// code of it, which must be a later one (the setup code is used up).
	ch = c.Post(core.DefaultAuthenticationFlow, map[string]any{"component": "ak-stage-authenticator-totp", "code": code})
	if ch.Component() != "ak-stage-authenticator-validate" {
		t.Fatalf("after setup: %v", ch)
	}
	if ch := c.Post(core.DefaultAuthenticationFlow, map[string]any{"component": "ak-stage-authenticator-validate", "code": code}); ch.Error("code") == "" {
		t.Errorf("the setup code was accepted again: %v", ch)
	}
	s.Now = s.Now.Add(30 * time.Second)
	next, _ := totp.GenerateCodeCustom(key.Secret(), s.Now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1})
	if ch := c.Post(core.DefaultAuthenticationFlow, map[string]any{"component": "ak-stage-authenticator-validate", "code": next}); ch.Component() != "xak-flow-redirect" {
		t.Errorf("the next code: %v", ch)
	}
	ds, _, _ := s.Store.ListDevices(ctx, store.DeviceFilter{Type: store.DeviceTOTP})
	if len(ds) != 1 || ds[0].Name != "Bob's phone" || ds[0].Data[mfa.DataDigits] != float64(8) {
		t.Errorf("devices: %+v", ds)
	}
}
