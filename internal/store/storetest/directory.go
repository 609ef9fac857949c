package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func testRoles(t *testing.T, s store.Store) {
	viewer := &store.Role{Name: "viewer"}
	editor := &store.Role{Name: "editor"}
	for _, r := range []*store.Role{viewer, editor} {
		if err := s.CreateRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.CreateRole(ctx, &store.Role{Name: "viewer"}), store.ErrConflict, "duplicate role")
	roles, n, err := s.ListRoles(ctx, store.ListOptions{Ordering: "-name"})
	if err != nil || n != 2 || roles[0].Name != "viewer" {
		t.Errorf("ListRoles = %v %d %v", roles, n, err)
	}
	_, _, err = s.ListRoles(ctx, store.ListOptions{Ordering: "name; DROP TABLE roles"})
	wantErr(t, err, store.ErrInvalid, "ordering by an unknown field")

	perm := func(r *store.Role, p, obj string) {
		t.Helper()
		if err := s.AssignPermission(ctx, store.RolePermission{RoleUUID: r.UUID, Permission: p, ObjectPK: obj}); err != nil {
			t.Fatal(err)
		}
	}
	perm(viewer, "authentik_core.view_user", "")
	perm(viewer, "authentik_core.view_user", "") // idempotent
	perm(editor, "authentik_core.change_user", "42")
	rp, err := s.RolePermissions(ctx, viewer.UUID)
	if err != nil || len(rp) != 1 {
		t.Errorf("RolePermissions = %v, %v", rp, err)
	}

	// akin to authentik: a role on a parent group reaches members of child groups.
	parent := &store.Group{Name: "parent"}
	if err := s.CreateGroup(ctx, parent); err != nil {
		t.Fatal(err)
	}
	child := &store.Group{Name: "child", Parent: &parent.UUID}
	if err := s.CreateGroup(ctx, child); err != nil {
		t.Fatal(err)
	}
	u := mustUser(t, s, "roleuser")
	if err := s.AddGroupMember(ctx, child.UUID, u.PK); err != nil {
		t.Fatal(err)
	}
	if err := s.SetGroupRoles(ctx, parent.UUID, []uuid.UUID{viewer.UUID}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserRoles(ctx, u.PK, []uuid.UUID{editor.UUID}); err != nil {
		t.Fatal(err)
	}
	perms := func(obj string) []string {
		ps, err := s.UserPermissions(ctx, u.PK, obj)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Permission+"@"+p.ObjectPK)
		}
		return out
	}
	if diff := cmp.Diff([]string{"authentik_core.view_user@"}, perms("")); diff != "" {
		t.Errorf("global perms:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"authentik_core.change_user@42", "authentik_core.view_user@"}, perms("42")); diff != "" {
		t.Errorf("perms on object 42:\n%s", diff)
	}
	if gr, err := s.GroupRoles(ctx, parent.UUID); err != nil || len(gr) != 1 || gr[0].Name != "viewer" {
		t.Errorf("GroupRoles = %v %v", gr, err)
	}
	if ur, err := s.UserRoles(ctx, u.PK); err != nil || len(ur) != 1 || ur[0].Name != "editor" {
		t.Errorf("UserRoles = %v %v", ur, err)
	}
	wantErr(t, s.SetUserRoles(ctx, u.PK, []uuid.UUID{uuid.New()}), store.ErrInvalid, "unknown role")
	if ur, _ := s.UserRoles(ctx, u.PK); len(ur) != 1 {
		t.Errorf("a failed SetUserRoles changed the roles: %v", ur)
	}
	if err := s.SetGroupRoles(ctx, parent.UUID, nil); err != nil {
		t.Fatal(err)
	}
	if got := perms(""); len(got) != 0 {
		t.Errorf("perms after removing the group role: %v", got)
	}
	if err := s.UnassignPermission(ctx, store.RolePermission{RoleUUID: editor.UUID, Permission: "authentik_core.change_user", ObjectPK: "42"}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.UnassignPermission(ctx, store.RolePermission{RoleUUID: editor.UUID, Permission: "authentik_core.change_user", ObjectPK: "42"}), store.ErrNotFound, "unassign twice")
	viewer.Name = "readers"
	if err := s.UpdateRole(ctx, viewer); err != nil {
		t.Fatal(err)
	}
	if r, err := s.RoleByUUID(ctx, viewer.UUID); err != nil || r.Name != "readers" {
		t.Errorf("RoleByUUID = %v %v", r, err)
	}
	if err := s.DeleteRole(ctx, editor.UUID); err != nil {
		t.Fatal(err)
	}
	if ur, _ := s.UserRoles(ctx, u.PK); len(ur) != 0 {
		t.Errorf("deleted role still assigned: %v", ur)
	}
}

func testApplications(t *testing.T, s store.Store) {
	p := &store.Provider{Name: "oidc for wiki", Type: "oauth2", Settings: store.Attributes{"client_id": "abc"}}
	if err := s.CreateProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.PK == 0 {
		t.Fatal("provider pk not set")
	}
	wantErr(t, s.CreateProvider(ctx, &store.Provider{Name: "oidc for wiki", Type: "saml"}), store.ErrConflict, "duplicate provider name")
	a := &store.Application{Name: "Wiki", Slug: "wiki", ProviderPK: &p.PK, Group: "Docs", MetaPublisher: "ACME"}
	if err := s.CreateApplication(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a.PolicyEngineMode != "any" {
		t.Errorf("policy_engine_mode default = %q", a.PolicyEngineMode)
	}
	wantErr(t, s.CreateApplication(ctx, &store.Application{Name: "Other", Slug: "wiki"}), store.ErrConflict, "duplicate slug")
	wantErr(t, s.CreateApplication(ctx, &store.Application{Name: "Other", Slug: "other", ProviderPK: &p.PK}), store.ErrConflict, "provider used twice")
	missing := int64(999999)
	wantErr(t, s.CreateApplication(ctx, &store.Application{Name: "X", Slug: "x", ProviderPK: &missing}), store.ErrInvalid, "missing provider")
	got, err := s.ApplicationByProvider(ctx, p.PK)
	if err != nil || got.Slug != "wiki" {
		t.Errorf("ApplicationByProvider = %v %v", got, err)
	}
	for _, slug := range []string{"zeta", "alpha"} {
		if err := s.CreateApplication(ctx, &store.Application{Name: slug, Slug: slug}); err != nil {
			t.Fatal(err)
		}
	}
	list, n, err := s.ListApplications(ctx, store.ListOptions{Search: "acme"})
	if err != nil || n != 1 || list[0].Slug != "wiki" {
		t.Errorf("search acme = %v %d %v", list, n, err)
	}
	list, n, err = s.ListApplications(ctx, store.ListOptions{Ordering: "-slug", Page: store.Page{Limit: 2}})
	if err != nil || n != 3 || len(list) != 2 || list[0].Slug != "zeta" || list[1].Slug != "wiki" {
		t.Errorf("ordered page = %v %d %v", list, n, err)
	}
	if provs, n, err := s.ListProviders(ctx, "oauth2", store.ListOptions{}); err != nil || n != 1 || provs[0].Settings["client_id"] != "abc" {
		t.Errorf("ListProviders = %v %d %v", provs, n, err)
	}
	if err := s.DeleteProvider(ctx, p.PK); err != nil {
		t.Fatal(err)
	}
	got, err = s.ApplicationBySlug(ctx, "wiki")
	if err != nil || got.ProviderPK != nil {
		t.Errorf("application after its provider was deleted: %+v %v", got, err)
	}
	got.Name = "Wiki 2"
	if err := s.UpdateApplication(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApplication(ctx, got.UUID); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteApplication(ctx, got.UUID), store.ErrNotFound, "delete application twice")
}

func testKeyPairs(t *testing.T, s store.Store) {
	exp := time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)
	k := &store.CertificateKeyPair{Name: "web", CertificateData: "-----BEGIN CERTIFICATE-----\n...", KeySealed: "v1:abc",
		KeyType: "ec", CertExpiry: &exp, CertSubject: "CN=web", FingerprintSHA256: "aa:bb", FingerprintSHA1: "cc", KID: "k1"}
	if err := s.CreateKeyPair(ctx, k); err != nil {
		t.Fatal(err)
	}
	certOnly := &store.CertificateKeyPair{Name: "ca", CertificateData: "x", CertSubject: "CN=ca"}
	if err := s.CreateKeyPair(ctx, certOnly); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.CreateKeyPair(ctx, &store.CertificateKeyPair{Name: "web", CertificateData: "x"}), store.ErrConflict, "duplicate name")
	got, err := s.KeyPairByUUID(ctx, k.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(k, got, cmpTime); diff != "" {
		t.Errorf("KeyPairByUUID:\n%s", diff)
	}
	managed := &store.CertificateKeyPair{Name: "disc", CertificateData: "x", Managed: "goauthentik.io/crypto/discovered/disc"}
	if err := s.CreateKeyPair(ctx, managed); err != nil {
		t.Fatal(err)
	}
	if got, err := s.KeyPairByManaged(ctx, managed.Managed); err != nil || got.UUID != managed.UUID {
		t.Errorf("KeyPairByManaged = %v, %v", got, err)
	}
	_, err = s.KeyPairByManaged(ctx, "goauthentik.io/crypto/discovered/none")
	wantErr(t, err, store.ErrNotFound, "unknown managed key")
	_, err = s.KeyPairByManaged(ctx, "")
	wantErr(t, err, store.ErrNotFound, "empty managed key")
	if err := s.DeleteKeyPair(ctx, managed.UUID); err != nil {
		t.Fatal(err)
	}
	yes := true
	list, n, err := s.ListKeyPairs(ctx, &yes, store.ListOptions{})
	if err != nil || n != 1 || list[0].Name != "web" {
		t.Errorf("with key = %v %d %v", list, n, err)
	}
	list, n, err = s.ListKeyPairs(ctx, nil, store.ListOptions{Search: "cn=ca"})
	if err != nil || n != 1 || list[0].Name != "ca" {
		t.Errorf("search = %v %d %v", list, n, err)
	}
	if err := s.DeleteKeyPair(ctx, k.UUID); err != nil {
		t.Fatal(err)
	}
}

func testEvents(t *testing.T, s store.Store) {
	now := time.Now().UTC()
	ip := "192.0.2.10"
	mk := func(action, username string, created time.Time, modelPK any) *store.Event {
		e := &store.Event{Action: action, User: store.Attributes{"pk": 1.0, "username": username}, App: "gatehouse.api",
			ClientIP: &ip, Context: store.Attributes{"model": map[string]any{"pk": modelPK, "app": "authentik_core"}},
			Created: created, Expires: created.Add(365 * 24 * time.Hour)}
		if err := s.CreateEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	first := mk("model_created", "alice", now.Add(-3*time.Minute), 7.0)
	mk("model_updated", "alice", now.Add(-2*time.Minute), 7.0)
	mk("login", "bob", now.Add(-time.Minute), "abc")
	old := &store.Event{Action: "login_failed", Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
	if err := s.CreateEvent(ctx, old); err != nil {
		t.Fatal(err)
	}
	actions := func(f store.EventFilter) []string {
		es, _, err := s.ListEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Action)
		}
		return out
	}
	for name, tc := range map[string]struct {
		f    store.EventFilter
		want []string
	}{
		"default newest first": {store.EventFilter{}, []string{"login", "model_updated", "model_created", "login_failed"}},
		"by action":            {store.EventFilter{Action: "login"}, []string{"login"}},
		"by username":          {store.EventFilter{Username: "alice"}, []string{"model_updated", "model_created"}},
		"by model pk":          {store.EventFilter{ContextModelPK: "7"}, []string{"model_updated", "model_created"}},
		"by string model pk":   {store.EventFilter{ContextModelPK: "abc"}, []string{"login"}},
		"search username":      {store.EventFilter{ListOptions: store.ListOptions{Search: "BOB"}}, []string{"login"}},
		"oldest first":         {store.EventFilter{ListOptions: store.ListOptions{Ordering: "created"}}, []string{"login_failed", "model_created", "model_updated", "login"}},
	} {
		if diff := cmp.Diff(tc.want, actions(tc.f)); diff != "" {
			t.Errorf("%s:\n%s", name, diff)
		}
	}
	_, _, err := s.ListEvents(ctx, store.EventFilter{ListOptions: store.ListOptions{Ordering: "user"}})
	wantErr(t, err, store.ErrInvalid, "ordering by user")
	got, err := s.EventByUUID(ctx, first.UUID)
	if err != nil || got.User["username"] != "alice" || got.ClientIP == nil || *got.ClientIP != ip {
		t.Errorf("EventByUUID = %+v %v", got, err)
	}
	// EventVolume: carol's events per action and hour since h.
	h := now.Truncate(time.Hour).Add(-5 * time.Hour)
	for _, c := range []struct {
		action string
		at     time.Duration
	}{{"login", 10 * time.Minute}, {"login", 50 * time.Minute}, {"login_failed", 65 * time.Minute}, {"login", -2 * time.Hour}} {
		mk(c.action, "carol", h.Add(c.at), nil)
	}
	for name, tc := range map[string]struct {
		f    store.EventFilter
		want []store.EventVolume
	}{
		"all actions": {store.EventFilter{Username: "carol"},
			[]store.EventVolume{{Action: "login", Hour: h, Count: 2}, {Action: "login_failed", Hour: h.Add(time.Hour), Count: 1}}},
		"by action": {store.EventFilter{Username: "carol", Action: "login"}, []store.EventVolume{{Action: "login", Hour: h, Count: 2}}},
		"nobody":    {store.EventFilter{Username: "dave"}, []store.EventVolume{}},
	} {
		got, err := s.EventVolume(ctx, tc.f, h)
		if err != nil {
			t.Fatalf("EventVolume %s: %v", name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("EventVolume %s:\n%s", name, diff)
		}
	}
	if n, err := s.DeleteExpiredEvents(ctx, now); err != nil || n != 1 {
		t.Errorf("DeleteExpiredEvents = %d %v", n, err)
	}
	_, err = s.EventByUUID(ctx, old.UUID)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired event still there: %v", err)
	}
}

func testUserOrdering(t *testing.T, s store.Store) {
	for _, n := range []string{"b", "a", "c"} {
		u := &store.User{Username: n, Name: map[string]string{"a": "Zed", "b": "Amy", "c": "Max"}[n], Email: n + "@x"}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	names := func(ordering string) []string {
		us, _, err := s.ListUsers(ctx, store.UserFilter{Ordering: ordering})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	if diff := cmp.Diff([]string{"b", "c", "a"}, names("name")); diff != "" {
		t.Errorf("by name:\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c", "b", "a"}, names("-username")); diff != "" {
		t.Errorf("by -username:\n%s", diff)
	}
	_, _, err := s.ListUsers(ctx, store.UserFilter{Ordering: "password_hash"})
	wantErr(t, err, store.ErrInvalid, "ordering by password_hash")
	us, n, err := s.ListUsers(ctx, store.UserFilter{Email: "a@x"})
	if err != nil || n != 1 || us[0].Username != "a" {
		t.Errorf("filter by email = %v %d %v", us, n, err)
	}
}
