// Package storetest is the conformance suite every store.Store
// implementation must pass. Run calls open once per subtest; each call must
// return a new, empty, migrated store.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Opener returns a fresh, migrated store for one test.
type Opener func(t testing.TB) store.Store

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"UserList", testUserList},
		{"Groups", testGroups},
		{"GroupHierarchy", testGroupHierarchy},
		{"Tokens", testTokens},
		{"Brands", testBrands},
		{"Sessions", testSessions},
		{"Settings", testSettings},
		{"TxCommit", testTxCommit},
		{"TxRollback", testTxRollback},
		{"TxPanic", testTxPanic},
		{"ConcurrentWriters", testConcurrentWriters},
		{"ConcurrentConflicts", testConcurrentConflicts},
		{"Roles", testRoles},
		{"Applications", testApplications},
		{"KeyPairs", testKeyPairs},
		{"Events", testEvents},
		{"EventFilters", testEventFilters},
		{"GroupFilters", testGroupFilters},
		{"UserOrdering", testUserOrdering},
		{"Flows", testFlows},
		{"Reputation", testReputation},
		{"Invitations", testInvitations},
		{"Consents", testConsents},
		{"PropertyMappings", testPropertyMappings},
		{"OAuth2", testOAuth2},
		{"ExpiredSessionsWithGrants", testExpiredSessionsWithGrants},
		{"Authenticators", testAuthenticators},
		{"NULLookups", testNULLookups},
		{"BlueprintInstances", testBlueprintInstances},
		{"SystemTasks", testSystemTasks},
		{"Notifications", testNotifications},
		{"NotificationCleanup", testNotificationCleanup},
		{"NotificationWebhookCA", testNotificationWebhookCA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var ctx = context.Background()

// cmpTime compares timestamps at the precision every engine keeps (microseconds).
var cmpTime = cmp.Comparer(func(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
})

func mustUser(t *testing.T, s store.Store, username string) *store.User {
	t.Helper()
	u := &store.User{Username: username, Name: "Name " + username, Email: username + "@example.com", IsActive: true}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser(%s): %v", username, err)
	}
	return u
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func testUsers(t *testing.T, s store.Store) {
	u := &store.User{
		Username: "alice", Name: "Alice", Email: "alice@example.com", IsActive: true,
		Attributes:   store.Attributes{"locale": "de", "nested": map[string]any{"n": 1.0}},
		PasswordHash: "argon2$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
	}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.PK == 0 || u.UUID == uuid.Nil || u.Type != store.UserInternal || u.Path != "users" || u.DateJoined.IsZero() {
		t.Fatalf("CreateUser did not fill defaults: %+v", u)
	}
	for name, get := range map[string]func() (*store.User, error){
		"ByPK":       func() (*store.User, error) { return s.UserByPK(ctx, u.PK) },
		"ByUUID":     func() (*store.User, error) { return s.UserByUUID(ctx, u.UUID) },
		"ByUsername": func() (*store.User, error) { return s.UserByUsername(ctx, "alice") },
	} {
		got, err := get()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(u, got, cmpTime); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
		}
	}

	_, err := s.UserByUsername(ctx, "nobody")
	wantErr(t, err, store.ErrNotFound, "UserByUsername(nobody)")
	_, err = s.UserByPK(ctx, 999999)
	wantErr(t, err, store.ErrNotFound, "UserByPK(999999)")

	dup := &store.User{Username: "alice"}
	err = s.CreateUser(ctx, dup)
	wantErr(t, err, store.ErrConflict, "duplicate username")
	var ce *store.ConflictError
	if !errors.As(err, &ce) || ce.Field != "username" || ce.Object != "user" {
		t.Errorf("duplicate username: got %#v, want ConflictError on user.username", err)
	}
	wantErr(t, s.CreateUser(ctx, &store.User{Username: "x", Type: "robot"}), store.ErrInvalid, "bad type")

	now := time.Now().UTC().Truncate(time.Second)
	u.Name, u.IsActive, u.LastLogin, u.Type = "Alice B.", false, &now, store.UserExternal
	u.Attributes["locale"] = "fr"
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err := s.UserByPK(ctx, u.PK)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(u, got, cmpTime); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	login := now.Add(time.Minute)
	if err := s.SetLastLogin(ctx, u.PK, login); err != nil {
		t.Fatalf("SetLastLogin: %v", err)
	}
	got, err = s.UserByPK(ctx, u.PK)
	if err != nil {
		t.Fatal(err)
	}
	u.LastLogin = &login // and nothing else changes, LastUpdated included
	if diff := cmp.Diff(u, got, cmpTime); diff != "" {
		t.Errorf("after SetLastLogin (-want +got):\n%s", diff)
	}
	wantErr(t, s.SetLastLogin(ctx, 424242, login), store.ErrNotFound, "last login of a missing user")
	other := mustUser(t, s, "bob")
	other.Username = "alice"
	wantErr(t, s.UpdateUser(ctx, other), store.ErrConflict, "rename onto a taken username")

	wantErr(t, s.UpdateUser(ctx, &store.User{PK: 424242, Username: "ghost", Type: store.UserInternal}), store.ErrNotFound, "update missing")
	if err := s.DeleteUser(ctx, u.PK); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err = s.UserByPK(ctx, u.PK)
	wantErr(t, err, store.ErrNotFound, "deleted user")
	wantErr(t, s.DeleteUser(ctx, u.PK), store.ErrNotFound, "delete twice")
}

func testUserList(t *testing.T, s store.Store) {
	for _, n := range []string{"carol", "alice", "bob", "dave_x", "dave%y"} {
		mustUser(t, s, n)
	}
	svc := &store.User{Username: "svc", Type: store.UserServiceAccount}
	if err := s.CreateUser(ctx, svc); err != nil {
		t.Fatal(err)
	}
	names := func(us []*store.User) []string {
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	// The search index follows renames and deletes.
	carol, err := s.UserByUsername(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	carol.Name = "Caroline Zebra"
	if err := s.UpdateUser(ctx, carol); err != nil {
		t.Fatal(err)
	}
	if us, n, err := s.ListUsers(ctx, store.UserFilter{Search: "zebra"}); err != nil || n != 1 || us[0].Username != "carol" {
		t.Errorf("search after rename = %v %d %v", us, n, err)
	}
	if _, n, _ := s.ListUsers(ctx, store.UserFilter{Search: "name carol"}); n != 0 {
		t.Errorf("old name still found: %d", n)
	}
	gone := mustUser(t, s, "ephemeral")
	if err := s.DeleteUser(ctx, gone.PK); err != nil {
		t.Fatal(err)
	}
	if _, n, _ := s.ListUsers(ctx, store.UserFilter{Search: "ephemeral"}); n != 0 {
		t.Errorf("deleted user still found: %d", n)
	}
	carol.Name = "Name carol"
	if err := s.UpdateUser(ctx, carol); err != nil {
		t.Fatal(err)
	}
	inactive := false
	for _, tc := range []struct {
		name      string
		f         store.UserFilter
		want      []string
		wantTotal int
	}{
		{"all", store.UserFilter{}, []string{"alice", "bob", "carol", "dave%y", "dave_x", "svc"}, 6},
		{"page", store.UserFilter{Page: store.Page{Offset: 1, Limit: 2}}, []string{"bob", "carol"}, 6},
		{"search name case-insensitive", store.UserFilter{Search: "NAME CAR"}, []string{"carol"}, 1},
		{"search email", store.UserFilter{Search: "bob@example"}, []string{"bob"}, 1},
		{"search escapes _", store.UserFilter{Search: "e_x"}, []string{"dave_x"}, 1},
		{"search escapes %", store.UserFilter{Search: "e%y"}, []string{"dave%y"}, 1},
		{"type", store.UserFilter{Type: store.UserServiceAccount}, []string{"svc"}, 1},
		{"inactive", store.UserFilter{IsActive: &inactive}, []string{"svc"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := s.ListUsers(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(got)); diff != "" || total != tc.wantTotal {
				t.Errorf("ListUsers: total %d (want %d), diff:\n%s", total, tc.wantTotal, diff)
			}
		})
	}
}

func testGroups(t *testing.T, s store.Store) {
	g := &store.Group{Name: "admins", IsSuperuser: true, Attributes: store.Attributes{"k": "v"}}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	got, err := s.GroupByName(ctx, "admins")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(g, got); diff != "" {
		t.Errorf("GroupByName (-want +got):\n%s", diff)
	}
	wantErr(t, s.CreateGroup(ctx, &store.Group{Name: "admins"}), store.ErrConflict, "duplicate group name")
	_, err = s.GroupByUUID(ctx, uuid.New())
	wantErr(t, err, store.ErrNotFound, "GroupByUUID(random)")

	u1, u2 := mustUser(t, s, "u1"), mustUser(t, s, "u2")
	for _, pk := range []int64{u1.PK, u2.PK, u1.PK} { // adding twice is a no-op
		if err := s.AddGroupMember(ctx, g.UUID, pk); err != nil {
			t.Fatalf("AddGroupMember: %v", err)
		}
	}
	members, err := s.GroupMembers(ctx, g.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{u1.PK, u2.PK}, members); diff != "" {
		t.Errorf("GroupMembers:\n%s", diff)
	}
	wantErr(t, s.AddGroupMember(ctx, uuid.New(), u1.PK), store.ErrInvalid, "member of a missing group")
	if err := s.RemoveGroupMember(ctx, g.UUID, u2.PK); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.RemoveGroupMember(ctx, g.UUID, u2.PK), store.ErrNotFound, "remove twice")

	// Deleting a user removes its memberships.
	if err := s.DeleteUser(ctx, u1.PK); err != nil {
		t.Fatal(err)
	}
	if members, _ := s.GroupMembers(ctx, g.UUID); len(members) != 0 {
		t.Errorf("members after user delete: %v", members)
	}
	g.Name = "root-admins"
	if err := s.UpdateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	list, total, err := s.ListGroups(ctx, store.GroupFilter{})
	if err != nil || total != 1 || list[0].Name != "root-admins" {
		t.Errorf("ListGroups = %v, %d, %v", list, total, err)
	}
	if err := s.DeleteGroup(ctx, g.UUID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteGroup(ctx, g.UUID), store.ErrNotFound, "delete group twice")
}

func testGroupHierarchy(t *testing.T, s store.Store) {
	root := &store.Group{Name: "root", IsSuperuser: true}
	if err := s.CreateGroup(ctx, root); err != nil {
		t.Fatal(err)
	}
	mid := &store.Group{Name: "mid", Parent: &root.UUID}
	if err := s.CreateGroup(ctx, mid); err != nil {
		t.Fatal(err)
	}
	leaf := &store.Group{Name: "leaf", Parent: &mid.UUID}
	if err := s.CreateGroup(ctx, leaf); err != nil {
		t.Fatal(err)
	}
	other := &store.Group{Name: "other"}
	if err := s.CreateGroup(ctx, other); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "leafuser")
	plain := mustUser(t, s, "plain")
	if err := s.AddGroupMember(ctx, leaf.UUID, u.PK); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(ctx, other.UUID, plain.PK); err != nil {
		t.Fatal(err)
	}
	groupNames := func(inherited bool) []string {
		gs, err := s.UserGroups(ctx, u.PK, inherited)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, g := range gs {
			out = append(out, g.Name)
		}
		return out
	}
	if diff := cmp.Diff([]string{"leaf"}, groupNames(false)); diff != "" {
		t.Errorf("direct groups:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"leaf", "mid", "root"}, groupNames(true)); diff != "" {
		t.Errorf("inherited groups:\n%s", diff)
	}
	for _, tc := range []struct {
		pk   int64
		want bool
	}{{u.PK, true}, {plain.PK, false}} {
		got, err := s.UserIsSuperuser(ctx, tc.pk)
		if err != nil || got != tc.want {
			t.Errorf("UserIsSuperuser(%d) = %v, %v; want %v", tc.pk, got, err, tc.want)
		}
	}
	// root under leaf would close a loop.
	root.Parent = &leaf.UUID
	wantErr(t, s.UpdateGroup(ctx, root), store.ErrInvalid, "cycle")
	root.Parent = &root.UUID
	wantErr(t, s.UpdateGroup(ctx, root), store.ErrInvalid, "self parent")
	missing := uuid.New()
	other.Parent = &missing
	wantErr(t, s.UpdateGroup(ctx, other), store.ErrInvalid, "missing parent")
	// Deleting a parent detaches its children.
	if err := s.DeleteGroup(ctx, mid.UUID); err != nil {
		t.Fatal(err)
	}
	got, err := s.GroupByUUID(ctx, leaf.UUID)
	if err != nil || got.Parent != nil {
		t.Errorf("leaf after parent delete: %+v, %v", got, err)
	}
	if su, _ := s.UserIsSuperuser(ctx, u.PK); su {
		t.Error("user is still superuser after the chain was cut")
	}
}

func hashKey(k string) []byte { h := sha256.Sum256([]byte(k)); return h[:] }

func testTokens(t *testing.T, s store.Store) {
	u := mustUser(t, s, "tokenuser")
	past, future := time.Now().Add(-time.Hour).UTC(), time.Now().Add(time.Hour).UTC()
	tok := &store.Token{Identifier: "api-1", KeyHash: hashKey("secret-1"), Intent: store.IntentAPI, UserPK: u.PK, Description: "d"}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	got, err := s.TokenByKeyHash(ctx, hashKey("secret-1"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tok, got, cmpTime); diff != "" {
		t.Errorf("TokenByKeyHash (-want +got):\n%s", diff)
	}
	gotTok, pr, err := s.TokenPrincipal(ctx, hashKey("secret-1"))
	if err != nil {
		t.Fatalf("TokenPrincipal: %v", err)
	}
	if diff := cmp.Diff(tok, gotTok, cmpTime); diff != "" || pr.User.Username != "tokenuser" || pr.Superuser {
		t.Errorf("TokenPrincipal = %+v %+v, diff:\n%s", gotTok, pr, diff)
	}
	su := &store.Group{Name: "token-admins", IsSuperuser: true}
	if err := s.CreateGroup(ctx, su); err != nil {
		t.Fatal(err)
	}
	sub := &store.Group{Name: "token-admins-child", Parent: &su.UUID}
	if err := s.CreateGroup(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if err := s.AddGroupMember(ctx, sub.UUID, u.PK); err != nil {
		t.Fatal(err)
	}
	if _, pr, err := s.TokenPrincipal(ctx, hashKey("secret-1")); err != nil || !pr.Superuser {
		t.Errorf("TokenPrincipal after joining a superuser group's child: %+v %v", pr, err)
	}
	if pr, err := s.UserPrincipal(ctx, u.PK); err != nil || !pr.Superuser || pr.User.PK != u.PK {
		t.Errorf("UserPrincipal = %+v %v", pr, err)
	}
	_, _, err = s.TokenPrincipal(ctx, hashKey("nope"))
	wantErr(t, err, store.ErrNotFound, "TokenPrincipal of an unknown key")
	_, err = s.UserPrincipal(ctx, 987654)
	wantErr(t, err, store.ErrNotFound, "UserPrincipal of an unknown user")
	if got, err := s.TokenByIdentifier(ctx, "api-1"); err != nil || !bytes.Equal(got.KeyHash, tok.KeyHash) {
		t.Errorf("TokenByIdentifier = %+v, %v", got, err)
	}
	_, err = s.TokenByKeyHash(ctx, hashKey("wrong"))
	wantErr(t, err, store.ErrNotFound, "wrong key")
	link := &store.Token{Identifier: "email-link-1", KeyHash: hashKey("link-1"), Intent: store.IntentVerification, UserPK: u.PK,
		Expiring: true, Expires: &future, FlowPlan: `{"flow":"x","current":2}`}
	if err := s.CreateToken(ctx, link); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenByKeyHash(ctx, hashKey("link-1")); err != nil || got.FlowPlan != link.FlowPlan {
		t.Errorf("a flow token's plan: %+v, %v", got, err)
	}
	if err := s.DeleteToken(ctx, link.UUID); err != nil {
		t.Fatal(err)
	}
	err = s.CreateToken(ctx, &store.Token{Identifier: "api-1", KeyHash: hashKey("other"), Intent: store.IntentAPI, UserPK: u.PK})
	wantErr(t, err, store.ErrConflict, "duplicate identifier")
	err = s.CreateToken(ctx, &store.Token{Identifier: "api-2", KeyHash: hashKey("secret-1"), Intent: store.IntentAPI, UserPK: u.PK})
	wantErr(t, err, store.ErrConflict, "duplicate key")
	err = s.CreateToken(ctx, &store.Token{Identifier: "api-3", KeyHash: hashKey("k3"), Intent: "weird", UserPK: u.PK})
	wantErr(t, err, store.ErrInvalid, "bad intent")
	err = s.CreateToken(ctx, &store.Token{Identifier: "api-4", KeyHash: hashKey("k4"), Intent: store.IntentAPI, UserPK: 987654})
	wantErr(t, err, store.ErrInvalid, "missing user")

	for i, exp := range []time.Time{past, future} {
		e := exp
		tk := &store.Token{Identifier: fmt.Sprintf("exp-%d", i), KeyHash: hashKey(fmt.Sprint("exp", i)),
			Intent: store.IntentRecovery, UserPK: u.PK, Expiring: true, Expires: &e}
		if err := s.CreateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
		if tk.Expired(time.Now()) != (i == 0) {
			t.Errorf("Expired() wrong for token %d", i)
		}
	}
	n, err := s.DeleteExpiredTokens(ctx, time.Now())
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredTokens = %d, %v; want 1", n, err)
	}
	list, err := s.ListTokens(ctx, u.PK)
	if err != nil || len(list) != 2 || list[0].Identifier != "api-1" || list[1].Identifier != "exp-1" {
		t.Errorf("ListTokens = %v, %v", list, err)
	}
	tok.Description = "changed"
	if err := s.UpdateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, u.PK); err != nil {
		t.Fatal(err)
	}
	_, err = s.TokenByIdentifier(ctx, "api-1")
	wantErr(t, err, store.ErrNotFound, "token of a deleted user")
}

func testBrands(t *testing.T, s store.Store) {
	flow := uuid.New()
	def := &store.Brand{Domain: "gatehouse-default", Default: true, BrandingTitle: "Gatehouse", FlowAuthentication: &flow}
	if err := s.CreateBrand(ctx, def); err != nil {
		t.Fatalf("CreateBrand: %v", err)
	}
	got, err := s.BrandByUUID(ctx, def.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(def, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("BrandByUUID (-want +got):\n%s", diff)
	}
	wantErr(t, s.CreateBrand(ctx, &store.Brand{Domain: "gatehouse-default"}), store.ErrConflict, "duplicate domain")
	wantErr(t, s.CreateBrand(ctx, &store.Brand{Domain: "b.example.com", Default: true}), store.ErrConflict, "second default brand")
	other := &store.Brand{Domain: "a.example.com"}
	if err := s.CreateBrand(ctx, other); err != nil {
		t.Fatal(err)
	}
	other.Default = true
	wantErr(t, s.UpdateBrand(ctx, other), store.ErrConflict, "update to a second default")
	list, err := s.ListBrands(ctx)
	if err != nil || len(list) != 2 || list[0].Domain != "a.example.com" {
		t.Errorf("ListBrands = %v, %v", list, err)
	}
	if err := s.DeleteBrand(ctx, other.UUID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteBrand(ctx, other.UUID), store.ErrNotFound, "delete brand twice")
}

func testSessions(t *testing.T, s store.Store) {
	u := mustUser(t, s, "sessuser")
	now := time.Now().UTC()
	sess := &store.Session{Key: "k1", UserPK: &u.PK, Data: json.RawMessage(`{"a":1}`), LastIP: "192.0.2.1",
		LastUserAgent: "test", Expires: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	got, err := s.SessionByKey(ctx, "k1", now)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserPK == nil || *got.UserPK != u.PK || got.LastIP != "192.0.2.1" || !jsonEqual(got.Data, sess.Data) {
		t.Errorf("SessionByKey = %+v", got)
	}
	_, err = s.SessionByKey(ctx, "k1", now.Add(2*time.Hour))
	wantErr(t, err, store.ErrNotFound, "expired session")
	if byID, err := s.SessionByUUID(ctx, got.UUID, now); err != nil || byID.Key != "k1" {
		t.Errorf("SessionByUUID = %+v %v", byID, err)
	}
	_, err = s.SessionByUUID(ctx, got.UUID, now.Add(2*time.Hour))
	wantErr(t, err, store.ErrNotFound, "expired session by uuid")
	_, err = s.SessionByUUID(ctx, uuid.New(), now)
	wantErr(t, err, store.ErrNotFound, "unknown session uuid")
	wantErr(t, s.CreateSession(ctx, &store.Session{Key: "k1", Expires: now.Add(time.Hour)}), store.ErrConflict, "duplicate key")

	anon := &store.Session{Key: "anon", Expires: now.Add(time.Minute)}
	if err := s.CreateSession(ctx, anon); err != nil {
		t.Fatal(err)
	}
	old := &store.Session{Key: "old", UserPK: &u.PK, Expires: now.Add(-time.Minute)}
	if err := s.CreateSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	sess.Data, sess.LastUsed = json.RawMessage(`{"a":2}`), now.Add(time.Second)
	if err := s.UpdateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	list, err := s.UserSessions(ctx, u.PK, now)
	if err != nil || len(list) != 1 || !jsonEqual(list[0].Data, json.RawMessage(`{"a":2}`)) {
		t.Errorf("UserSessions = %v, %v", list, err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, now); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteUserSessions(ctx, u.PK); err != nil || n != 1 {
		t.Errorf("DeleteUserSessions = %d, %v; want 1", n, err)
	}
	if err := s.DeleteSession(ctx, "anon"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteSession(ctx, "anon"), store.ErrNotFound, "delete session twice")
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && cmp.Equal(x, y)
}

func testSettings(t *testing.T, s store.Store) {
	_, err := s.Setting(ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "missing setting")
	for _, v := range []string{`{"a":1}`, `{"a":2,"b":[true]}`} {
		if err := s.PutSetting(ctx, "k", json.RawMessage(v)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Setting(ctx, "k")
		if err != nil || !jsonEqual(got, json.RawMessage(v)) {
			t.Errorf("Setting = %s, %v; want %s", got, err, v)
		}
	}
	wantErr(t, s.PutSetting(ctx, "bad", json.RawMessage(`{`)), store.ErrInvalid, "invalid JSON")
}

func testTxCommit(t *testing.T, s store.Store) {
	var pk int64
	err := s.InTx(ctx, func(tx store.Store) error {
		u := &store.User{Username: "txuser"}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		pk = u.PK
		// Reads inside the transaction see its own writes.
		if _, err := tx.UserByUsername(ctx, "txuser"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		g := &store.Group{Name: "txgroup"}
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		return tx.AddGroupMember(ctx, g.UUID, u.PK)
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	if _, err := s.UserByPK(ctx, pk); err != nil {
		t.Errorf("committed user missing: %v", err)
	}
}

func testTxRollback(t *testing.T, s store.Store) {
	mustUser(t, s, "existing")
	sentinel := errors.New("boom")
	err := s.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, &store.User{Username: "ghost"}); err != nil {
			return err
		}
		if err := tx.CreateGroup(ctx, &store.Group{Name: "ghosts"}); err != nil {
			return err
		}
		return sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("InTx returned %v, want the callback's error", err)
	}
	_, err = s.UserByUsername(ctx, "ghost")
	wantErr(t, err, store.ErrNotFound, "user of a rolled-back tx")
	_, err = s.GroupByName(ctx, "ghosts")
	wantErr(t, err, store.ErrNotFound, "group of a rolled-back tx")

	// A conflict inside the transaction rolls back what came before it.
	err = s.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateGroup(ctx, &store.Group{Name: "before-conflict"}); err != nil {
			return err
		}
		return tx.CreateUser(ctx, &store.User{Username: "existing"})
	})
	wantErr(t, err, store.ErrConflict, "conflict in tx")
	_, err = s.GroupByName(ctx, "before-conflict")
	wantErr(t, err, store.ErrNotFound, "group before the conflict")
}

func testTxPanic(t *testing.T, s store.Store) {
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic did not propagate")
			}
		}()
		_ = s.InTx(ctx, func(tx store.Store) error {
			if err := tx.CreateUser(ctx, &store.User{Username: "panicker"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	_, err := s.UserByUsername(ctx, "panicker")
	wantErr(t, err, store.ErrNotFound, "user of a panicked tx")
	// The store still works: the connection went back to the pool.
	mustUser(t, s, "after-panic")
}

// testConcurrentWriters: many goroutines write at once, each in its own
// transaction that reads and writes; none fails and nothing is lost.
func testConcurrentWriters(t *testing.T, s store.Store) {
	const workers, each = 8, 10
	g := &store.Group{Name: "crowd"}
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSetting(ctx, "counter", json.RawMessage(`0`)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				err := s.InTx(ctx, func(tx store.Store) error {
					u := &store.User{Username: fmt.Sprintf("w%d-%d", w, i)}
					if err := tx.CreateUser(ctx, u); err != nil {
						return err
					}
					return tx.AddGroupMember(ctx, g.UUID, u.PK)
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent write: %v", err)
	}
	members, err := s.GroupMembers(ctx, g.UUID)
	if err != nil || len(members) != workers*each {
		t.Errorf("members = %d, %v; want %d", len(members), err, workers*each)
	}
	_, total, err := s.ListUsers(ctx, store.UserFilter{})
	if err != nil || total != workers*each {
		t.Errorf("users = %d, %v; want %d", total, err, workers*each)
	}
}

// testConcurrentConflicts: racing creators of one username; exactly one wins,
// the others get ErrConflict.
func testConcurrentConflicts(t *testing.T, s store.Store) {
	const racers = 8
	var wg sync.WaitGroup
	results := make(chan error, racers)
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- s.CreateUser(ctx, &store.User{Username: "contested"})
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrConflict):
		default:
			t.Errorf("racer got %v, want nil or ErrConflict", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d racers won, want exactly 1", ok)
	}
}
