package authenticatorstatic_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/mfa"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorstatic"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func TestSettings(t *testing.T) {
	for _, tc := range []struct {
		attrs store.Attributes
		ok    bool
	}{
		{store.Attributes{}, true},
		{store.Attributes{"token_count": 10, "token_length": 16}, true},
		{store.Attributes{"token_count": 0}, false},
		{store.Attributes{"token_count": 101}, false},
		{store.Attributes{"token_length": 4}, false},
		{store.Attributes{"token_length": 65}, false},
		{store.Attributes{"token_count": "six"}, false},
	} {
		if _, err := authenticatorstatic.New(tc.attrs); (err == nil) != tc.ok {
			t.Errorf("New(%v) = %v, want ok %v", tc.attrs, err, tc.ok)
		}
	}
}

// Recovery codes: shown (the same ones until confirmed), saved hashed on
// confirmation, each usable once to log in.
func TestEnrollAndLogIn(t *testing.T) {
	s := stagetest.New(t)
	ctx := context.Background()
	alice := s.User("alice", "alice-password")
	c := s.Client()
	if ch := c.Password("alice", "alice-password"); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("login without devices: %v", ch)
	}
	const slug = core.DefaultAuthenticatorStaticSetupFlow
	ch := c.Get(slug)
	list, _ := ch["codes"].([]any)
	if ch.Component() != "ak-stage-authenticator-static" || len(list) != 6 || ch["pending_user"] != "alice" {
		t.Fatalf("setup challenge: %v", ch)
	}
	var codes []string
	for _, v := range list {
		code := v.(string)
		if len(code) != 12 || strings.Trim(code, mfa.StaticAlphabet) != "" {
			t.Errorf("code %q", code)
		}
		codes = append(codes, code)
	}
	again := c.Get(slug)
	if strings.Join(toStrings(again["codes"]), ",") != strings.Join(codes, ",") {
		t.Error("reloading showed other codes")
	}
	if _, n, _ := s.Store.ListDevices(ctx, store.DeviceFilter{UserPK: alice.PK}); n != 0 {
		t.Fatal("a device was saved before the user confirmed")
	}
	if ch := c.Post(slug, map[string]any{"component": "ak-stage-authenticator-static"}); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("confirm: %v", ch)
	}
	ds, n, err := s.Store.ListDevices(ctx, store.DeviceFilter{UserPK: alice.PK})
	if err != nil || n != 1 || ds[0].Type != store.DeviceStatic || !ds[0].Confirmed || ds[0].Name != "Static tokens" {
		t.Fatalf("devices: %+v %v", ds, err)
	}
	for _, code := range codes {
		for _, h := range ds[0].Data[mfa.DataTokens].([]any) {
			if strings.Contains(h.(string), code) {
				t.Fatal("a code is stored in the clear")
			}
		}
	}
	if evs, _, _ := s.Store.ListEvents(ctx, store.EventFilter{Action: "model_created"}); len(evs) != 1 {
		t.Errorf("model_created events: %d", len(evs))
	}

	login := func(code string) stagetest.Challenge {
		c := s.Client()
		ch := c.Password("alice", "alice-password")
		dcs, _ := ch["device_challenges"].([]any)
		if ch.Component() != "ak-stage-authenticator-validate" || len(dcs) != 1 || dcs[0].(map[string]any)["device_class"] != "static" {
			t.Fatalf("after the password: %v", ch)
		}
		return c.Post(core.DefaultAuthenticationFlow, map[string]any{"component": "ak-stage-authenticator-validate", "code": code})
	}
	if ch := login(codes[3]); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("login with a code: %v", ch)
	}
	if ch := login(codes[3]); ch.Component() != "ak-stage-authenticator-validate" || ch.Error("code") == "" {
		t.Errorf("the same code again: %v", ch)
	}
	if ch := login(strings.ToUpper(codes[0])); ch.Component() != "xak-flow-redirect" {
		t.Errorf("another code in capitals: %v", ch)
	}
	d, _ := s.Store.Device(ctx, ds[0].PK)
	if mfa.StaticRemaining(d) != 4 || d.LastUsed == nil {
		t.Errorf("after two logins: %d codes left, last used %v", mfa.StaticRemaining(d), d.LastUsed)
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, x.(string))
	}
	return out
}
