package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func testPropertyMappings(t *testing.T, s store.Store) {
	managed := "goauthentik.io/providers/oauth2/scope-test"
	m := &store.PropertyMapping{Name: "Test scope", Type: "scope", Managed: &managed, Expression: `return {"a": 1}`,
		Settings: store.Attributes{"scope_name": "test", "description": "Test"}}
	if err := s.CreatePropertyMapping(ctx, m); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.CreatePropertyMapping(ctx, &store.PropertyMapping{Name: "Test scope", Type: "scope"}), store.ErrConflict, "duplicate name")
	got, err := s.PropertyMappingByManaged(ctx, managed)
	if err != nil || got.UUID != m.UUID || got.Settings["scope_name"] != "test" {
		t.Fatalf("by managed = %+v %v", got, err)
	}
	other := &store.PropertyMapping{Name: "Other", Type: "saml"}
	if err := s.CreatePropertyMapping(ctx, other); err != nil {
		t.Fatal(err)
	}
	list, n, err := s.ListPropertyMappings(ctx, "scope", store.ListOptions{})
	if err != nil || n != 1 || len(list) != 1 || list[0].Name != "Test scope" {
		t.Errorf("list scope = %v %d %v", list, n, err)
	}
	ms, err := s.PropertyMappingsByUUID(ctx, []uuid.UUID{m.UUID, other.UUID, uuid.New()})
	if err != nil || len(ms) != 2 {
		t.Errorf("by uuids = %v %v", ms, err)
	}
	m.Expression = `return {}`
	if err := s.UpdatePropertyMapping(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PropertyMappingByUUID(ctx, m.UUID); got.Expression != `return {}` {
		t.Errorf("update lost: %+v", got)
	}
	for _, x := range []uuid.UUID{m.UUID, other.UUID} {
		if err := s.DeletePropertyMapping(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.DeletePropertyMapping(ctx, m.UUID), store.ErrNotFound, "deleted twice")
}

func testOAuth2(t *testing.T, s store.Store) {
	p := &store.OAuth2Provider{Provider: &store.Provider{Name: "oidc test"}, ClientID: "client-1", ClientSecret: "s3cret",
		RedirectURIs: []store.RedirectURI{{MatchingMode: "strict", URL: "https://app.example/cb"}}}
	if err := s.CreateOAuth2Provider(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.ProviderPK == 0 || p.Provider.Type != "oauth2" {
		t.Fatalf("created = %+v", p)
	}
	dup := &store.OAuth2Provider{Provider: &store.Provider{Name: "oidc dup"}, ClientID: "client-1"}
	wantErr(t, s.CreateOAuth2Provider(ctx, dup), store.ErrConflict, "duplicate client_id")
	if _, err := s.ProviderByPK(ctx, dup.Provider.PK); dup.Provider.PK != 0 && err == nil {
		t.Error("a failed create left its base provider")
	}
	got, err := s.OAuth2ProviderByClientID(ctx, "client-1")
	if err != nil || got.Provider.Name != "oidc test" || got.AccessTokenValidity != "hours=1" || len(got.RedirectURIs) != 1 ||
		got.RedirectURIs[0].URL != "https://app.example/cb" || got.SubMode != "hashed_user_id" {
		t.Fatalf("by client id = %+v %v", got, err)
	}
	got.Provider.Name = "oidc renamed"
	got.ClientType = "public"
	if err := s.UpdateOAuth2Provider(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got, err := s.OAuth2ProviderByPK(ctx, p.ProviderPK); err != nil || got.ClientType != "public" || got.Provider.Name != "oidc renamed" {
		t.Errorf("after update = %+v %v", got, err)
	}
	list, n, err := s.ListOAuth2Providers(ctx, store.ListOptions{Search: "CLIENT-1"})
	if err != nil || n != 1 || len(list) != 1 || list[0].Provider == nil {
		t.Errorf("list = %v %d %v", list, n, err)
	}

	u := mustUser(t, s, "oauth-user")
	now := time.Now().UTC().Truncate(time.Second)
	sess := &store.Session{Key: "oauth-sess", UUID: uuid.New(), UserPK: &u.PK, LastUsed: now, Expires: now.Add(time.Hour), Created: now}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	g := &store.OAuth2Grant{ProviderPK: p.ProviderPK, UserPK: u.PK, SessionUUID: &sess.UUID, Scope: "openid email",
		AMR: []string{"pwd"}, AuthTime: now, Created: now}
	code := &store.OAuth2Token{Hash: "h-code", Kind: store.OAuth2Code, Expires: now.Add(time.Minute), Created: now,
		Data: store.Attributes{"redirect_uri": "https://app.example/cb"}}
	if err := s.CreateOAuth2Grant(ctx, g, code); err != nil {
		t.Fatal(err)
	}
	tok, gr, err := s.OAuth2TokenByHash(ctx, "h-code")
	if err != nil || gr.UUID != g.UUID || tok.Data["redirect_uri"] != "https://app.example/cb" || gr.AMR[0] != "pwd" || tok.Used != nil {
		t.Fatalf("by hash = %+v %+v %v", tok, gr, err)
	}
	if err := s.UseOAuth2Token(ctx, "h-code", now); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.UseOAuth2Token(ctx, "h-code", now), store.ErrConflict, "second use")
	wantErr(t, s.UseOAuth2Token(ctx, "nope", now), store.ErrNotFound, "unknown token")
	access := &store.OAuth2Token{Hash: "h-access", GrantUUID: g.UUID, Kind: store.OAuth2Access, Expires: now.Add(-time.Second), Created: now}
	refresh := &store.OAuth2Token{Hash: "h-refresh", GrantUUID: g.UUID, Kind: store.OAuth2Refresh, Expires: now.Add(time.Hour), Created: now}
	if err := s.AddOAuth2Tokens(ctx, access, refresh); err != nil {
		t.Fatal(err)
	}
	toks, grants, n, err := s.ListOAuth2Tokens(ctx, store.OAuth2TokenFilter{Kind: store.OAuth2Refresh, UserPK: &u.PK}, store.Page{})
	if err != nil || n != 1 || toks[0].Hash != "h-refresh" || grants[0].UUID != g.UUID {
		t.Errorf("list tokens = %v %v %d %v", toks, grants, n, err)
	}
	if err := s.RevokeOAuth2Grant(ctx, g.UUID); err != nil {
		t.Fatal(err)
	}
	if _, gr, _ := s.OAuth2TokenByHash(ctx, "h-refresh"); !gr.Revoked {
		t.Error("revoking the grant did not revoke its refresh token")
	}
	if n, err := s.DeleteExpiredOAuth2Tokens(ctx, now); err != nil || n != 1 {
		t.Errorf("expired deleted = %d %v", n, err)
	}
	if _, _, err := s.OAuth2TokenByHash(ctx, "h-access"); err == nil {
		t.Error("expired access token survived clean-up")
	}
	// Rotation: mark one token used and add its successors, atomically.
	g2 := &store.OAuth2Grant{ProviderPK: p.ProviderPK, UserPK: u.PK, Scope: "openid", AuthTime: now, Created: now}
	if err := s.CreateOAuth2Grant(ctx, g2, &store.OAuth2Token{Hash: "r1", Kind: store.OAuth2Refresh, Expires: now.Add(time.Hour), Created: now}); err != nil {
		t.Fatal(err)
	}
	next := &store.OAuth2Token{Hash: "r2", GrantUUID: g2.UUID, Kind: store.OAuth2Refresh, Expires: now.Add(time.Hour), Created: now}
	if err := s.RotateOAuth2Token(ctx, "r1", now, next); err != nil {
		t.Fatal(err)
	}
	again := &store.OAuth2Token{Hash: "r3", GrantUUID: g2.UUID, Kind: store.OAuth2Refresh, Expires: now.Add(time.Hour), Created: now}
	wantErr(t, s.RotateOAuth2Token(ctx, "r1", now, again), store.ErrConflict, "rotating a used token")
	if _, _, err := s.OAuth2TokenByHash(ctx, "r3"); err == nil {
		t.Error("a failed rotation added its token")
	}
	// Concurrent writers are grouped; one bad write fails only itself.
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hash := fmt.Sprintf("c-%d", i)
			if i == 7 {
				hash = "r2" // taken
			}
			gi := &store.OAuth2Grant{ProviderPK: p.ProviderPK, UserPK: u.PK, AuthTime: now, Created: now}
			errs[i] = s.CreateOAuth2Grant(ctx, gi, &store.OAuth2Token{Hash: hash, Kind: store.OAuth2Access, Expires: now.Add(time.Hour), Created: now})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			wantErr(t, err, store.ErrConflict, "concurrent write of a taken hash")
		} else if err != nil {
			t.Errorf("concurrent grant %d: %v", i, err)
		}
	}
	if _, _, err := s.OAuth2TokenByHash(ctx, "c-39"); err != nil {
		t.Errorf("a grouped write is missing: %v", err)
	}

	// Concurrent rotations are grouped too: each code is used once; a
	// replay, a double use in the same batch and an unknown code fail alone
	// and add nothing, the others go in.
	for i := range 30 {
		code := &store.OAuth2Token{Hash: fmt.Sprintf("code-%d", i), GrantUUID: g2.UUID, Kind: store.OAuth2Code, Expires: now.Add(time.Hour), Created: now}
		if err := s.AddOAuth2Tokens(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	rot := make([]error, 42)
	for i := range rot {
		wg.Add(1)
		go func() {
			defer wg.Done()
			used := fmt.Sprintf("code-%d", i%30) // 30..39 use 0..9 again
			switch i {
			case 40:
				used = "r1" // used before
			case 41:
				used = "no-such-code"
			}
			tok := &store.OAuth2Token{Hash: fmt.Sprintf("rot-%d", i), GrantUUID: g2.UUID, Kind: store.OAuth2Access, Expires: now.Add(time.Hour), Created: now}
			rot[i] = s.RotateOAuth2Token(ctx, used, now, tok)
		}()
	}
	wg.Wait()
	for c := range 10 { // code-c was used by c and by c+30: exactly one won
		a, b := rot[c], rot[c+30]
		if (a == nil) == (b == nil) {
			t.Errorf("code-%d: rotations %v and %v; want exactly one success", c, a, b)
		}
		for _, i := range []int{c, c + 30} {
			if rot[i] != nil {
				wantErr(t, rot[i], store.ErrConflict, fmt.Sprintf("second use of code-%d", c))
			}
			_, _, err := s.OAuth2TokenByHash(ctx, fmt.Sprintf("rot-%d", i))
			if (rot[i] == nil) != (err == nil) {
				t.Errorf("rotation %d: %v, its token: %v", i, rot[i], err)
			}
		}
	}
	for i := 10; i < 30; i++ {
		if rot[i] != nil {
			t.Errorf("rotation %d: %v", i, rot[i])
		}
	}
	wantErr(t, rot[40], store.ErrConflict, "rotating a used refresh token in a batch")
	wantErr(t, rot[41], store.ErrNotFound, "rotating an unknown token in a batch")
	for _, i := range []int{40, 41} {
		if _, _, err := s.OAuth2TokenByHash(ctx, fmt.Sprintf("rot-%d", i)); err == nil {
			t.Errorf("failed rotation %d added its token", i)
		}
	}

	// Logging out (deleting the session) ends the grant and its tokens.
	if err := s.DeleteSession(ctx, sess.Key); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.OAuth2TokenByHash(ctx, "h-refresh")
	wantErr(t, err, store.ErrNotFound, "token of an ended session")
	if err := s.DeleteProvider(ctx, p.ProviderPK); err != nil {
		t.Fatal(err)
	}
	_, err = s.OAuth2ProviderByClientID(ctx, "client-1")
	wantErr(t, err, store.ErrNotFound, "oauth2 part of a deleted provider")
}
