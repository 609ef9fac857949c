package flowui

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/url"
	"strings"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorvalidate"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorwebauthn"
	"github.com/gatehouse-idp/gatehouse/internal/stage/identification"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// jsonPrefix marks a form field whose value is JSON: "json:webauthn" is
// sent on as the response field "webauthn" holding that JSON value (an
// object from the WebAuthn script, a device choice), where other fields
// become JSON strings. An empty value is left out; a value that is not JSON
// goes on as a string, for the stage to refuse.
const jsonPrefix = "json:"

// formResponse turns a posted form into a challenge response.
func formResponse(form url.Values) flow.Response {
	resp := flow.Response{}
	for k, vs := range form {
		if len(vs) == 0 || strings.HasPrefix(k, jsonPrefix) {
			continue
		}
		b, _ := json.Marshal(vs[0])
		resp[k] = b
	}
	for k, vs := range form {
		name, ok := strings.CutPrefix(k, jsonPrefix)
		if !ok || name == "" || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		if raw := []byte(strings.TrimSpace(vs[0])); json.Valid(raw) {
			resp[name] = raw
		} else {
			b, _ := json.Marshal(vs[0])
			resp[name] = b
		}
	}
	return resp
}

var funcs = template.FuncMap{
	// json encodes a value for a data attribute (html/template escapes it).
	"json": func(v any) string {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "null"
		}
		return strings.TrimSpace(buf.String())
	},
	// dataImage passes a PNG data: URI (a TOTP QR code the server made) to
	// an img src; anything else becomes "".
	"dataImage": func(s string) template.URL {
		if !strings.HasPrefix(s, "data:image/png;base64,") || strings.ContainsAny(s, "\"'<> ") {
			return ""
		}
		return template.URL(s)
	},
	"validateView": newValidateView,
}

// needsScript tells whether a challenge's page runs the WebAuthn script.
func needsScript(c flow.Challenge) bool {
	switch c := c.(type) {
	case *authenticatorwebauthn.Challenge:
		return true
	case *identification.Challenge:
		return c.PasskeyChallenge != nil
	case *authenticatorvalidate.Challenge:
		return newValidateView(c).WebAuthn != nil
	}
	return false
}

// validateView is what the ak-stage-authenticator-validate page shows.
type validateView struct {
	// Configure: the user has no device and picks a setup stage.
	Configure bool
	// WebAuthn is the WebAuthn device challenge, when it can be used.
	WebAuthn *authenticatorvalidate.DeviceChallenge
	// CodeClass is the class a typed code goes to ("" shows no code field).
	CodeClass, CodeLabel string
	// Others are the other classes to switch to.
	Others []choice
}

type choice struct {
	Class, Label string
	Select       map[string]string
}

var codeLabels = map[string]string{
	store.DeviceTOTP:   "Code from your authenticator app",
	store.DeviceStatic: "Recovery code",
}

var choiceLabels = map[string]string{
	store.DeviceTOTP:   "Use my authenticator app",
	store.DeviceStatic: "Use a recovery code",
	store.DeviceEmail:  "Email me a code",
	store.DeviceSMS:    "Text me a code",
}

func newValidateView(c any) validateView {
	vc, ok := c.(*authenticatorvalidate.Challenge)
	if !ok || vc == nil {
		return validateView{}
	}
	var v validateView
	if len(vc.DeviceChallenges) == 0 {
		v.Configure = len(vc.ConfigurationStages) > 0
		return v
	}
	selected := ""
	if vc.SelectedChallenge != nil {
		selected = vc.SelectedChallenge.DeviceClass
	}
	classes := map[string]bool{}
	for i := range vc.DeviceChallenges {
		dc := &vc.DeviceChallenges[i]
		classes[dc.DeviceClass] = true
		if dc.DeviceClass == store.DeviceWebAuthn && len(dc.Challenge) > 0 {
			v.WebAuthn = dc
		}
	}
	switch {
	case selected == store.DeviceEmail || selected == store.DeviceSMS:
		v.CodeClass = selected
		v.CodeLabel = "Code we sent you"
		if to, _ := vc.SelectedChallenge.Challenge["email"].(string); to != "" {
			v.CodeLabel = "Code we sent to " + to
		} else if to, _ := vc.SelectedChallenge.Challenge["phone_number"].(string); to != "" {
			v.CodeLabel = "Code we sent to " + to
		}
	case selected == store.DeviceTOTP || selected == store.DeviceStatic:
		v.CodeClass, v.CodeLabel = selected, codeLabels[selected]
	case classes[store.DeviceTOTP] && classes[store.DeviceStatic]:
		// Without a choice a code is tried against every code class.
		v.CodeClass, v.CodeLabel = store.DeviceTOTP, "Code from your authenticator app, or a recovery code"
	case classes[store.DeviceTOTP]:
		v.CodeClass, v.CodeLabel = store.DeviceTOTP, codeLabels[store.DeviceTOTP]
	case classes[store.DeviceStatic]:
		v.CodeClass, v.CodeLabel = store.DeviceStatic, codeLabels[store.DeviceStatic]
	}
	for _, dc := range vc.DeviceChallenges {
		switch {
		case dc.DeviceClass == store.DeviceWebAuthn, dc.DeviceClass == selected:
			continue
		case selected == "" && v.CodeClass != "" && (dc.DeviceClass == store.DeviceTOTP || dc.DeviceClass == store.DeviceStatic):
			continue // the code field takes these already
		}
		label := choiceLabels[dc.DeviceClass]
		if label == "" {
			label = dc.DeviceClass
		}
		v.Others = append(v.Others, choice{Class: dc.DeviceClass, Label: label,
			Select: map[string]string{"device_class": dc.DeviceClass, "device_uid": dc.DeviceUID}})
	}
	return v
}
