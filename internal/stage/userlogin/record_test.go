package userlogin_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// notified collects the events the notification rules are told about.
type notified struct{ actions []string }

func (n *notified) EventRecorded(_ context.Context, e *store.Event) {
	n.actions = append(n.actions, e.Action)
}

// A login writes last_login, +1 reputation and the login event, and the
// event reaches the notification rules.
func TestLoginRecords(t *testing.T) {
	s := stagetest.New(t)
	ctx := context.Background()
	u := s.User("alice", "alice-password")
	n := &notified{}
	s.Executor.Events = &event.Recorder{Store: s.Store, Log: slog.New(slog.DiscardHandler), Notify: n}
	if ch := s.Client().Password("alice", "alice-password"); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("login ended with %v", ch)
	}
	got, err := s.Store.UserByPK(ctx, u.PK)
	if err != nil || got.LastLogin == nil || got.LastLogin.Sub(s.Now).Abs() > time.Millisecond {
		t.Errorf("last_login = %v %v, want %v", got.LastLogin, err, s.Now)
	}
	if score, err := s.Store.ReputationScore(ctx, "alice", "", s.Now); err != nil || score != 1 {
		t.Errorf("reputation = %d %v, want 1", score, err)
	}
	evs, _, err := s.Store.ListEvents(ctx, store.EventFilter{Action: "login"})
	if err != nil || len(evs) != 1 || evs[0].User["username"] != "alice" || evs[0].Context["auth_method"] != "password" {
		t.Errorf("login events = %+v %v", evs, err)
	}
	if len(n.actions) != 1 || n.actions[0] != "login" {
		t.Errorf("notified of %v, want [login]", n.actions)
	}
}
