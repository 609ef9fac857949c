package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// testExpiredSessionsWithGrants: only expired sessions with OAuth2 grants
// are listed (their relying parties get back-channel logout tokens before
// the clean-up deletes them), oldest expiry first, up to the limit.
func testExpiredSessionsWithGrants(t *testing.T, s store.Store) {
	p := &store.OAuth2Provider{Provider: &store.Provider{Name: "expiry test"}, ClientID: "expiry-client"}
	if err := s.CreateOAuth2Provider(ctx, p); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "expiry-user")
	now := time.Now().UTC().Truncate(time.Second)
	session := func(key string, expires time.Time, grant bool) *store.Session {
		sess := &store.Session{Key: key, UUID: uuid.New(), UserPK: &u.PK, LastUsed: now, Expires: expires, Created: now.Add(-time.Hour)}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if grant {
			g := &store.OAuth2Grant{ProviderPK: p.ProviderPK, UserPK: u.PK, SessionUUID: &sess.UUID, Scope: "openid", AuthTime: now, Created: now}
			tok := &store.OAuth2Token{Hash: "expiry-" + key, Kind: store.OAuth2Refresh, Expires: now.Add(time.Hour), Created: now}
			if err := s.CreateOAuth2Grant(ctx, g, tok); err != nil {
				t.Fatal(err)
			}
		}
		return sess
	}
	older := session("expired-older", now.Add(-2*time.Minute), true)
	newer := session("expired-newer", now.Add(-time.Minute), true)
	session("expired-no-grant", now.Add(-3*time.Minute), false)
	session("live-with-grant", now.Add(time.Hour), true)

	got, err := s.ExpiredSessionsWithGrants(ctx, now, 10)
	if err != nil || len(got) != 2 || got[0].UUID != older.UUID || got[1].UUID != newer.UUID || got[0].UserPK == nil {
		t.Fatalf("ExpiredSessionsWithGrants = %v, %v; want the two expired sessions with grants, older first", got, err)
	}
	if got, err := s.ExpiredSessionsWithGrants(ctx, now, 1); err != nil || len(got) != 1 || got[0].UUID != older.UUID {
		t.Errorf("limit 1 = %v, %v", got, err)
	}
	if _, err := s.DeleteExpiredSessions(ctx, now); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ExpiredSessionsWithGrants(ctx, now, 10); err != nil || len(got) != 0 {
		t.Errorf("after the clean-up = %v, %v", got, err)
	}
}
