package session

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// EndUserSessions tells OnEnd about each of the user's sessions before
// deleting them, and leaves other users' sessions alone.
func TestEndUserSessions(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var users []*store.User
	for _, name := range []string{"alice", "bob"} {
		u := &store.User{Username: name, IsActive: true, Type: store.UserInternal}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	for i, u := range []*store.User{users[0], users[0], users[1]} {
		s := &store.Session{Key: Key(string(rune('a' + i))), UserPK: &u.PK, Data: json.RawMessage(`{}`),
			Expires: time.Now().Add(time.Hour)}
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var ended []*store.Session
	m := &Manager{Store: st, OnEnd: func(_ context.Context, s *store.Session) { ended = append(ended, s) }}
	n, err := m.EndUserSessions(ctx, users[0].PK)
	if err != nil || n != 2 {
		t.Fatalf("EndUserSessions = %d %v", n, err)
	}
	if len(ended) != 2 || *ended[0].UserPK != users[0].PK || *ended[1].UserPK != users[0].PK {
		t.Errorf("OnEnd saw %v", ended)
	}
	if left, _ := st.UserSessions(ctx, users[0].PK, time.Now()); len(left) != 0 {
		t.Errorf("alice's sessions left: %d", len(left))
	}
	if left, _ := st.UserSessions(ctx, users[1].PK, time.Now()); len(left) != 1 {
		t.Errorf("bob's sessions: %d", len(left))
	}
}
