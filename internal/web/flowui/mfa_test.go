package flowui

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatoremail"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorsms"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorstatic"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatortotp"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorvalidate"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorwebauthn"
	"github.com/gatehouse-idp/gatehouse/internal/stage/identification"
)

func TestFormResponse(t *testing.T) {
	got := formResponse(url.Values{
		"component":            {"ak-stage-authenticator-validate"},
		"code":                 {"123 456"},
		"json:webauthn":        {` {"id":"AAEC","response":{}} `},
		"json:selected_stage":  {"not json"},
		"json:passkey":         {""},
		"json:":                {"{}"},
		"json:selected_device": {`"totp"`},
	})
	want := map[string]string{
		"component":       `"ak-stage-authenticator-validate"`,
		"code":            `"123 456"`,
		"webauthn":        `{"id":"AAEC","response":{}}`,
		"selected_stage":  `"not json"`,
		"selected_device": `"totp"`,
	}
	gotS := map[string]string{}
	for k, v := range got {
		gotS[k] = string(v)
	}
	if d := cmp.Diff(want, gotS); d != "" {
		t.Errorf("formResponse (-want +got):\n%s", d)
	}
	// A JSON field wins over a plain field of the same name.
	got = formResponse(url.Values{"webauthn": {"x"}, "json:webauthn": {`{"a":1}`}})
	if string(got["webauthn"]) != `{"a":1}` {
		t.Errorf("webauthn = %s", got["webauthn"])
	}
}

// renderPage executes a component's template as UI.render does.
func renderPage(t *testing.T, c flow.Challenge, errs flow.Errors) string {
	t.Helper()
	name := c.ChallengeBase().Component
	body := pages.Lookup(name)
	if body == nil {
		t.Fatalf("no template for %s", name)
	}
	tp, err := pages.Clone()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.AddParseTree("body", body.Tree); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	v := view{Action: "/if/flow/x/", Component: name, C: c, Err: map[string][]flow.ErrorDetail(errs), Script: needsScript(c)}
	if err := tp.ExecuteTemplate(&buf, "page", v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return buf.String()
}

func base(component string) flow.Base {
	return flow.Base{Component: component, PendingUser: "alice"}
}

func TestMFATemplates(t *testing.T) {
	email := "a***@example.com"
	now := time.Now()
	webauthnDC := authenticatorvalidate.DeviceChallenge{DeviceClass: "webauthn", DeviceUID: "3",
		Challenge: map[string]any{"challenge": "q0M9", "rpId": "localhost", "allowCredentials": []any{map[string]any{"id": "AAEC", "type": "public-key"}}}}
	for _, c := range []struct {
		name      string
		challenge flow.Challenge
		errs      flow.Errors
		want      []string
		not       []string
		script    bool
	}{
		{name: "totp", challenge: &authenticatortotp.Challenge{Base: base("ak-stage-authenticator-totp"),
			ConfigURL: "otpauth://totp/gatehouse:alice?secret=ABC&issuer=gatehouse", QRCode: "data:image/png;base64,iVBORw0KGgo="},
			errs: flow.Errors{"code": {{String: "Code does not match.", Code: "invalid"}}},
			want: []string{`id="totp-qr"`, `src="data:image/png;base64,iVBORw0KGgo="`, `value="otpauth://totp/gatehouse:alice?secret=ABC&amp;issuer=gatehouse"`,
				`name="code"`, "Code does not match.", "alice"}},
		{name: "totp with a bad image", challenge: &authenticatortotp.Challenge{Base: base("ak-stage-authenticator-totp"),
			ConfigURL: "otpauth://x", QRCode: "javascript:alert(1)"}, not: []string{"javascript:", `id="totp-qr"`}},
		{name: "static", challenge: &authenticatorstatic.Challenge{Base: base("ak-stage-authenticator-static"), Codes: []string{"abcd1234efgh", "<b>x</b>"}},
			want: []string{`id="static-codes"`, "<code>abcd1234efgh</code>", "&lt;b&gt;x&lt;/b&gt;", `id="static-continue"`}},
		{name: "email address", challenge: &authenticatoremail.Challenge{Base: base("ak-stage-authenticator-email"), EmailRequired: true},
			want: []string{`type="email"`, `name="email"`}, not: []string{`name="code"`}},
		{name: "email code", challenge: &authenticatoremail.Challenge{Base: base("ak-stage-authenticator-email"), Email: &email},
			want: []string{email, `name="code"`, `id="email-resend"`}, not: []string{`name="email"`}},
		{name: "sms number", challenge: &authenticatorsms.Challenge{Base: base("ak-stage-authenticator-sms"), PhoneNumberRequired: true},
			want: []string{`name="phone_number"`}, not: []string{`name="code"`}},
		{name: "sms code", challenge: &authenticatorsms.Challenge{Base: base("ak-stage-authenticator-sms"), PhoneNumber: "+*******4567"},
			want: []string{"&#43;*******4567", `name="code"`}},
		{name: "webauthn setup", challenge: &authenticatorwebauthn.Challenge{Base: base("ak-stage-authenticator-webauthn"),
			Registration: json.RawMessage(`{"challenge":"q0M9","rp":{"id":"localhost","name":"<Gatehouse>"}}`)},
			errs: flow.Errors{"response": {{String: "The security key could not be registered.", Code: "invalid"}}},
			want: []string{`data-webauthn="create"`, `name="json:response"`, `data-webauthn-options="{&#34;challenge&#34;:&#34;q0M9&#34;`,
				"&lt;Gatehouse&gt;", "The security key could not be registered.", `<script src="/static/dist/flow/webauthn.js"`}, script: true},
		{name: "validate with every class", challenge: &authenticatorvalidate.Challenge{Base: base("ak-stage-authenticator-validate"),
			DeviceChallenges: []authenticatorvalidate.DeviceChallenge{webauthnDC,
				{DeviceClass: "totp", DeviceUID: "4", Challenge: map[string]any{}, LastUsed: &now},
				{DeviceClass: "email", DeviceUID: "5", Challenge: map[string]any{}},
				{DeviceClass: "static", DeviceUID: "6", Challenge: map[string]any{}}}},
			want: []string{`data-webauthn="get"`, `name="json:webauthn"`, `&#34;rpId&#34;:&#34;localhost&#34;`, `id="code-form"`,
				"authenticator app, or a recovery code", `id="select-email"`, `name="json:selected_challenge"`,
				`value="{&#34;device_class&#34;:&#34;email&#34;,&#34;device_uid&#34;:&#34;5&#34;}"`},
			not: []string{`id="select-totp"`, `id="select-static"`}, script: true},
		{name: "validate, email picked", challenge: &authenticatorvalidate.Challenge{Base: base("ak-stage-authenticator-validate"),
			DeviceChallenges: []authenticatorvalidate.DeviceChallenge{
				{DeviceClass: "totp", DeviceUID: "4", Challenge: map[string]any{}},
				{DeviceClass: "email", DeviceUID: "5", Challenge: map[string]any{}}},
			SelectedChallenge: &authenticatorvalidate.DeviceChallenge{DeviceClass: "email", DeviceUID: "5", Challenge: map[string]any{"email": email}}},
			want: []string{"Code we sent to " + email, `id="select-totp"`}, not: []string{`id="select-email"`, "webauthn.js", `data-webauthn`}},
		{name: "validate, webauthn unusable here", challenge: &authenticatorvalidate.Challenge{Base: base("ak-stage-authenticator-validate"),
			DeviceChallenges: []authenticatorvalidate.DeviceChallenge{{DeviceClass: "webauthn", DeviceUID: "3", Challenge: map[string]any{}}}},
			errs: flow.Errors{"webauthn": {{String: "needs a domain", Code: "invalid"}}},
			not:  []string{"data-webauthn", "webauthn.js"}},
		{name: "validate, configure", challenge: &authenticatorvalidate.Challenge{Base: base("ak-stage-authenticator-validate"),
			DeviceChallenges: []authenticatorvalidate.DeviceChallenge{},
			ConfigurationStages: []authenticatorvalidate.ConfigurationStage{{PK: "5b7e1c3a-0000-4000-8000-000000000001", Name: "totp-setup", VerboseName: "TOTP Authenticator Setup Stage"},
				{PK: "5b7e1c3a-0000-4000-8000-000000000002", Name: "webauthn-setup", VerboseName: "WebAuthn Authenticator Setup Stage"}}},
			want: []string{`id="validate-configure"`, `name="selected_stage" value="5b7e1c3a-0000-4000-8000-000000000001"`, "webauthn-setup"}},
		{name: "identification with passkeys", challenge: &identification.Challenge{Base: flow.Base{Component: "ak-stage-identification"},
			UserFields: []string{"username"}, PrimaryAction: "Log in", PasskeyChallenge: map[string]any{"challenge": "q0M9", "rpId": "localhost"}},
			want: []string{`autocomplete="username webauthn"`, `data-webauthn="passkey"`, `name="json:passkey"`, `id="passkey-login"`, "webauthn.js"}, script: true},
		{name: "identification without passkeys", challenge: &identification.Challenge{Base: flow.Base{Component: "ak-stage-identification"},
			UserFields: []string{"username"}, PrimaryAction: "Log in"},
			want: []string{`autocomplete="username"`}, not: []string{"passkey", "<script"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			page := renderPage(t, c.challenge, c.errs)
			for _, w := range c.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(page, n) {
					t.Errorf("page has %q", n)
				}
			}
			if got := needsScript(c.challenge); got != c.script {
				t.Errorf("needsScript = %v, want %v", got, c.script)
			}
			if strings.Contains(page, "<script>") || strings.Contains(page, " onclick=") {
				t.Error("inline script")
			}
			if t.Failed() {
				t.Log(page)
			}
		})
	}
}
