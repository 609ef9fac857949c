package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// A plan made for a user (an administrator's recovery link) starts at the
// recovery flow's email stage with the user pending; its link resumes it
// once, in a fresh browser, at the password prompt; an expired link or a
// used one starts the flow afresh.
func TestPlanForAndLink(t *testing.T) {
	ctx := context.Background()
	s := stagetest.New(t)
	ada := s.User("ada", "old-password-1")
	f, err := s.Store.FlowBySlug(ctx, core.DefaultRecoveryFlow)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/if/flow/"+f.Slug+"/", nil)

	full, err := s.Executor.PlanFor(r, f, ada, "")
	if err != nil {
		t.Fatal(err)
	}
	if full.Current != 0 || len(full.Stages) != 5 || full.Context.PendingUserPK == nil || *full.Context.PendingUserPK != ada.PK {
		t.Fatalf("plan without resumeAt: current %d, %d stages, pending %v", full.Current, len(full.Stages), full.Context.PendingUserPK)
	}
	p, err := s.Executor.PlanFor(r, f, ada, "email")
	if err != nil {
		t.Fatal(err)
	}
	emailStage, err := s.Store.StageByName(ctx, "default-recovery-email")
	if err != nil {
		t.Fatal(err)
	}
	if p.Stages[p.Current].StageUUID != emailStage.UUID {
		t.Fatalf("resumes at stage %d (%s), want the email stage", p.Current, p.Stages[p.Current].StageUUID)
	}
	if q, err := s.Executor.PlanFor(r, f, ada, "no-such-type"); err != nil || q.Current != 0 {
		t.Errorf("an absent stage type: current %v, %v", q, err)
	}

	issue := func(expires time.Time) string {
		t.Helper()
		l := flow.NewLink("https://id.example.com", f.Slug)
		want := "https://id.example.com/if/flow/" + f.Slug + "/?flow_token=" + url.QueryEscape(l.Key)
		if l.URL != want || len(l.Key) < 32 {
			t.Fatalf("link %q, want %q", l.URL, want)
		}
		tok, err := l.Token(p, ada.PK, "test-link-"+l.Key[:8], "test", expires)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Intent != store.IntentVerification || string(tok.KeyHash) == l.Key || !tok.Expiring {
			t.Fatalf("token %+v", tok)
		}
		if err := s.Store.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		return l.Key
	}
	open := func(key string) string {
		t.Helper()
		jar, _ := cookiejar.New(nil) // a fresh browser
		resp, err := (&http.Client{Jar: jar}).Get(s.URL + "/api/v3/flows/executor/" + f.Slug + "/?query=" + url.QueryEscape("flow_token="+key))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ch map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil {
			t.Fatal(err)
		}
		c, _ := ch["component"].(string)
		return c
	}
	key := issue(s.Now.Add(30 * time.Minute))
	if c := open(key); c != "ak-stage-prompt" {
		t.Errorf("the link: %s, want the password prompt", c)
	}
	if c := open(key); c != "ak-stage-identification" {
		t.Errorf("the link used twice: %s, want a fresh start", c)
	}
	if c := open(issue(s.Now.Add(-time.Second))); c != "ak-stage-identification" {
		t.Errorf("an expired link: %s, want a fresh start", c)
	}

	// A flow that requires a signed-in user cannot be planned for a link.
	f.Authentication = "require_authenticated"
	if err := s.Store.UpdateFlow(ctx, f); err != nil {
		t.Fatal(err)
	}
	var denied flow.DeniedError
	if _, err := s.Executor.PlanFor(r, f, ada, "email"); !errors.As(err, &denied) {
		t.Errorf("require_authenticated: %v, want a DeniedError", err)
	}
}
