package flowui

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The flow pages allow script only where WebAuthn runs, and only the flow
// UI's own file: the identification page gets script-src 'self' once
// passkeys are on, and never 'unsafe-inline'.
func TestScriptPolicy(t *testing.T) {
	s := stagetest.New(t)
	ui := &UI{Executor: s.Executor, Store: func() store.Store { return s.Store },
		Sessions: func() *session.Manager { return s.Executor.Sessions }}
	r := chi.NewRouter()
	ui.Mount(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	base := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	page := func() (string, string) {
		t.Helper()
		resp, err := http.Get(base + "/if/flow/default-authentication-flow/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("Content-Security-Policy"), string(body)
	}
	csp, body := page()
	if strings.Contains(csp, "script-src") || strings.Contains(body, "<script") {
		t.Errorf("without passkeys: CSP %q, script in page %v", csp, strings.Contains(body, "<script"))
	}

	ctx := context.Background()
	stages, _, err := s.Store.ListStages(ctx, "", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ident *store.Stage
	var validate string
	for _, st := range stages {
		switch st.Name {
		case "default-authentication-identification":
			ident = st
		case "default-authentication-mfa-validation":
			validate = st.UUID.String()
		}
	}
	ident.Settings = store.Attributes{"user_fields": []any{"username"}, "webauthn_stage": validate}
	if err := s.Store.UpdateStage(ctx, ident); err != nil {
		t.Fatal(err)
	}
	csp, body = page()
	if !strings.Contains(csp, "script-src 'self'") || strings.Count(csp, "unsafe-inline") != 1 {
		t.Errorf("with passkeys: CSP %q", csp)
	}
	if !strings.Contains(body, `<script src="`+ScriptPath+`" defer></script>`) || !strings.Contains(body, `data-webauthn="passkey"`) {
		t.Errorf("with passkeys, the page lacks the script or the passkey form")
	}

	resp, err := http.Get(base + ScriptPath)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(string(js), "navigator.credentials.get") {
		t.Errorf("script: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
