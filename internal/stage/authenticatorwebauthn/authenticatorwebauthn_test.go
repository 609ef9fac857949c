package authenticatorwebauthn_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/mfa/webauthn"
	"github.com/gatehouse-idp/gatehouse/internal/mfa/webauthn/webauthntest"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorwebauthn"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func TestSettings(t *testing.T) {
	for name, c := range map[string]struct {
		attrs store.Attributes
		ok    bool
	}{
		"defaults":                {store.Attributes{}, true},
		"authentik's fields":      {store.Attributes{"user_verification": "required", "resident_key_requirement": "discouraged", "authenticator_attachment": "cross-platform", "device_type_restrictions": []any{"EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4"}, "hints": []any{"security-key"}, "max_attempts": 3, "prevent_duplicate_devices": true}, true},
		"null attachment":         {store.Attributes{"authenticator_attachment": nil}, true},
		"bad user_verification":   {store.Attributes{"user_verification": "always"}, false},
		"bad resident key":        {store.Attributes{"resident_key_requirement": "yes"}, false},
		"bad attachment":          {store.Attributes{"authenticator_attachment": "usb"}, false},
		"bad aaguid":              {store.Attributes{"device_type_restrictions": []any{"yubikey"}}, false},
		"bad hint":                {store.Attributes{"hints": []any{"telepathy"}}, false},
		"negative max_attempts":   {store.Attributes{"max_attempts": -1}, false},
		"wrong type":              {store.Attributes{"max_attempts": "three"}, false},
		"friendly_name too long":  {store.Attributes{"friendly_name": strings.Repeat("x", 201)}, false},
		"restrictions not a list": {store.Attributes{"device_type_restrictions": "x"}, false},
	} {
		if _, err := authenticatorwebauthn.New(c.attrs); (err == nil) != c.ok {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// localServer is a stagetest server addressed as localhost (an IP address
// cannot be an RP ID).
func localServer(t *testing.T) *stagetest.Server {
	s := stagetest.New(t)
	s.URL = strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
	return s
}

func setSettings(t *testing.T, s *stagetest.Server, name string, attrs store.Attributes) {
	t.Helper()
	ctx := context.Background()
	stages, _, err := s.Store.ListStages(ctx, "", store.ListOptions{Search: name})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stages {
		if st.Name == name {
			st.Settings = attrs
			if err := s.Store.UpdateStage(ctx, st); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no stage %s", name)
}

func stageUUID(t *testing.T, s *stagetest.Server, name string) string {
	t.Helper()
	stages, _, err := s.Store.ListStages(context.Background(), "", store.ListOptions{Search: name})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range stages {
		if st.Name == name {
			return st.UUID.String()
		}
	}
	t.Fatalf("no stage %s", name)
	return ""
}

func raw(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Registration through the default setup flow saves one device with the
// credential's data and records model_created; max_attempts denies after
// that many failures; then a passkey login skips the password and MFA
// stages.
func TestRegisterThenPasskey(t *testing.T) {
	s := localServer(t)
	ctx := context.Background()
	c := s.Client()
	if ch := c.Password("akadmin", stagetest.Password); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("login: %v", ch)
	}
	const setup = core.DefaultAuthenticatorWebAuthnSetupFlow
	setSettings(t, s, setup, store.Attributes{"friendly_name": "My key", "max_attempts": 2,
		"resident_key_requirement": "required", "user_verification": "required"})
	ch := c.Get(setup)
	a := webauthntest.New(strings.Replace(s.URL, "/api/v3", "", 1))
	resp, err := a.Create(raw(t, ch["registration"]))
	if err != nil {
		t.Fatal(err)
	}
	ch = c.Post(setup, map[string]any{"component": "ak-stage-authenticator-webauthn", "response": json.RawMessage(resp)})
	if ch.Component() != "xak-flow-redirect" {
		t.Fatalf("registration: %v", ch)
	}
	admin, err := s.Store.UserByUsername(ctx, "akadmin")
	if err != nil {
		t.Fatal(err)
	}
	devices, _, err := s.Store.ListDevices(ctx, store.DeviceFilter{UserPK: admin.PK, Type: store.DeviceWebAuthn})
	if err != nil || len(devices) != 1 {
		t.Fatalf("devices: %v %v", devices, err)
	}
	d := devices[0]
	if d.Name != "My key" || !d.Confirmed || d.Data[webauthn.KeyAAGUID] != a.AAGUID.String() || d.Data[webauthn.KeyUserVerified] != true ||
		d.Data[webauthn.KeyAttestationFormat] != "none" || d.Data[webauthn.KeyAttestationObject] == "" {
		t.Errorf("device: %+v", d)
	}
	events, _, err := s.Store.ListEvents(ctx, store.EventFilter{Action: "model_created"})
	if err != nil || len(events) == 0 {
		t.Fatalf("model_created events: %v %v", events, err)
	}
	if m, _ := events[0].Context["model"].(map[string]any); m["model_name"] != "webauthndevice" || m["app"] != authenticatorwebauthn.DeviceApp {
		t.Errorf("event: %v", events[0].Context)
	}

	// Registering the same authenticator again: refused (the credential
	// exists); a second failure reaches max_attempts.
	ch = c.Get(setup)
	again, _ := a.Create(raw(t, ch["registration"]))
	ch = c.Post(setup, map[string]any{"component": "ak-stage-authenticator-webauthn", "response": json.RawMessage(again)})
	if ch.Error("response") != "This device is already registered." {
		t.Fatalf("duplicate: %v", ch)
	}
	ch = c.Post(setup, map[string]any{"component": "ak-stage-authenticator-webauthn", "response": "x"})
	if ch.Component() != "ak-stage-access-denied" {
		t.Fatalf("after max_attempts: %v", ch)
	}

	// Passkeys on; a fresh browser logs in with the passkey alone.
	setSettings(t, s, "default-authentication-identification", store.Attributes{"user_fields": []any{"username"},
		"webauthn_stage": stageUUID(t, s, "default-authentication-mfa-validation")})
	p := s.Client()
	ch = p.Get(core.DefaultAuthenticationFlow)
	assertion, _ := a.Get(raw(t, ch["passkey_challenge"]))
	ch = p.Post(core.DefaultAuthenticationFlow, map[string]any{"component": "ak-stage-identification", "passkey": json.RawMessage(assertion)})
	if ch.Component() != "xak-flow-redirect" || ch["to"] != "/done/" {
		t.Fatalf("passkey login: %v", ch)
	}
	used, _ := s.Store.Device(ctx, d.PK)
	if used.Counter != 1 || used.LastUsed == nil {
		t.Errorf("device after the passkey login: %+v", used)
	}
}

// At an IP address there is no RP ID: the setup stage denies with an
// explanation (no flow error), and the identification stage offers no
// passkey.
func TestIPAddress(t *testing.T) {
	s := stagetest.New(t) // 127.0.0.1
	c := s.Client()
	c.Password("akadmin", stagetest.Password)
	ch := c.Get(core.DefaultAuthenticatorWebAuthnSetupFlow)
	if ch.Component() != "ak-stage-access-denied" || !strings.Contains(ch["error_message"].(string), "domain name") {
		t.Fatalf("setup at an IP address: %v", ch)
	}
	setSettings(t, s, "default-authentication-identification", store.Attributes{"user_fields": []any{"username"},
		"webauthn_stage": stageUUID(t, s, "default-authentication-mfa-validation")})
	anon := s.Client()
	ch = anon.Get(core.DefaultAuthenticationFlow)
	if ch.Component() != "ak-stage-identification" || ch["passkey_challenge"] != nil {
		t.Fatalf("identification at an IP address: %v", ch)
	}
	ch = anon.Post(core.DefaultAuthenticationFlow, map[string]any{"component": "ak-stage-identification", "passkey": map[string]any{"id": "AAEC"}})
	if ch.Error("passkey") == "" {
		t.Fatalf("passkey at an IP address: %v", ch)
	}
}
