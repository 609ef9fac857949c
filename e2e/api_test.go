package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// apiServer is a running gatehouse with an admin token, on one engine.
type apiServer struct {
	t     *testing.T
	base  string
	token string
	open  func() store.Store // opens the database the server uses
}

// eachEngine runs fn against the binary on SQLite, then on PostgreSQL.
func eachEngine(t *testing.T, fn func(t *testing.T, s *apiServer)) { eachEngineWith(t, nil, fn) }

// eachEngineWith is eachEngine with extra environment for the server.
func eachEngineWith(t *testing.T, extra map[string]string, fn func(t *testing.T, s *apiServer)) {
	t.Run("sqlite", func(t *testing.T) {
		dataDir := t.TempDir()
		env := baseEnv(dataDir)
		env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
		for k, v := range extra {
			env[k] = v
		}
		p := start(t, env, "server")
		p.waitReady(30 * time.Second)
		fn(t, &apiServer{t: t, base: p.url("http") + "/api/v3", token: bootstrapToken, open: func() store.Store {
			st, err := sqlstore.OpenSQLite(context.Background(), dataDir+"/gatehouse.db", sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		}})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.PostgresDB(t)
		env := postgresEnv(t, dsn)
		env["GATEHOUSE_SECRET_KEY"] = secretKey
		env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
		for k, v := range extra {
			env[k] = v
		}
		p := start(t, env, "server")
		p.waitReady(30 * time.Second)
		fn(t, &apiServer{t: t, base: p.url("http") + "/api/v3", token: bootstrapToken, open: func() store.Store {
			st, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		}})
	})
}

// call sends a JSON request; the response body is decoded into a generic value.
func (s *apiServer) call(token, method, path string, body any, hdr ...string) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			s.t.Fatalf("%s %s: %d, body is not JSON: %s", method, path, resp.StatusCode, raw)
		}
		if m, ok := v.(map[string]any); ok {
			out = m
		} else {
			out["_"] = v
		}
	}
	return resp.StatusCode, out
}

// must is call as the admin, failing unless the status is want.
func (s *apiServer) must(want int, method, path string, body any) map[string]any {
	s.t.Helper()
	code, out := s.call(s.token, method, path, body)
	if code != want {
		s.t.Fatalf("%s %s: status %d, want %d: %v", method, path, code, want, out)
	}
	return out
}

func results(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range m["results"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// stageByName is the pk of the stage called name.
func (s *apiServer) stageByName(name string) string {
	s.t.Helper()
	for _, st := range results(s.must(200, "GET", "/stages/all/?search="+name, nil)) {
		if st["name"] == name {
			return st["pk"].(string)
		}
	}
	s.t.Fatalf("no stage %s", name)
	return ""
}

func count(m map[string]any) int { return int(m["pagination"].(map[string]any)["count"].(float64)) }

// events returns the events about one object.
func (s *apiServer) events(action, modelPK string) []map[string]any {
	s.t.Helper()
	q := url.Values{"action": {action}, "context_model_pk": {modelPK}, "page_size": {"100"}}
	return results(s.must(200, "GET", "/events/events/?"+q.Encode(), nil))
}

func (s *apiServer) wantEvent(action, modelPK string) map[string]any {
	s.t.Helper()
	es := s.events(action, modelPK)
	if len(es) == 0 {
		s.t.Fatalf("no %s event for %s", action, modelPK)
	}
	return es[0]
}

func TestAPICRUD(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		// Users: create, read, search, order, paginate, update, set password, delete.
		var pks []string
		for i := range 25 {
			u := s.must(201, "POST", "/core/users/", map[string]any{
				"username": fmt.Sprintf("user%02d", i), "name": fmt.Sprintf("User %02d", 24-i),
				"email": fmt.Sprintf("user%02d@example.com", i), "attributes": map[string]any{"n": i}})
			pks = append(pks, fmt.Sprint(u["pk"]))
		}
		u0 := s.must(200, "GET", "/core/users/"+pks[0]+"/", nil)
		if u0["username"] != "user00" || u0["email"] != "user00@example.com" || u0["type"] != "internal" || u0["is_superuser"] != false {
			t.Errorf("user00 = %v", u0)
		}
		page := s.must(200, "GET", "/core/users/?search=user1&ordering=-username&page_size=4&page=2", nil)
		pg := page["pagination"].(map[string]any)
		if count(page) != 10 || pg["total_pages"] != 3.0 || pg["next"] != 3.0 || pg["previous"] != 1.0 || pg["start_index"] != 5.0 || pg["end_index"] != 8.0 {
			t.Errorf("pagination = %v", pg)
		}
		if rs := results(page); len(rs) != 4 || rs[0]["username"] != "user15" || rs[3]["username"] != "user12" {
			t.Errorf("page 2 of -username = %v", rs)
		}
		if rs := results(s.must(200, "GET", "/core/users/?ordering=name&page_size=1&search=user", nil)); rs[0]["username"] != "user24" {
			t.Errorf("ordering=name first = %v", rs[0]["username"])
		}
		if code, out := s.call(s.token, "GET", "/core/users/?ordering=password_hash", nil); code != 400 || out["ordering"] == nil {
			t.Errorf("ordering by a hidden field: %d %v", code, out)
		}
		if code, out := s.call(s.token, "GET", "/core/users/?page_size=101", nil); code != 400 || out["page_size"] == nil {
			t.Errorf("page_size over the max: %d %v", code, out)
		}
		upd := s.must(200, "PATCH", "/core/users/"+pks[0]+"/", map[string]any{"name": "Renamed", "is_active": false})
		if upd["name"] != "Renamed" || upd["is_active"] != false || upd["email"] != "user00@example.com" {
			t.Errorf("patched = %v", upd)
		}
		if ev := s.wantEvent("model_updated", pks[0]); ev["context"].(map[string]any)["diff"].(map[string]any)["name"] == nil {
			t.Errorf("model_updated without a diff of name: %v", ev)
		}
		put := s.must(200, "PUT", "/core/users/"+pks[1]+"/", map[string]any{"username": "user01b", "name": "Put", "path": "staff"})
		if put["username"] != "user01b" || put["path"] != "staff" {
			t.Errorf("put = %v", put)
		}
		s.must(204, "POST", "/core/users/"+pks[0]+"/set_password/", map[string]any{"password": "n3w-Secret!"})
		s.wantEvent("password_set", pks[0])
		if code, out := s.call(s.token, "POST", "/core/users/", map[string]any{"username": "user02", "name": "dup"}); code != 400 || out["username"] == nil {
			t.Errorf("duplicate username: %d %v", code, out)
		}
		if code, out := s.call(s.token, "POST", "/core/users/", map[string]any{"username": "bad name!", "name": "x"}); code != 400 || out["username"] == nil {
			t.Errorf("invalid username: %d %v", code, out)
		}
		s.must(204, "DELETE", "/core/users/"+pks[2]+"/", nil)
		if code, out := s.call(s.token, "GET", "/core/users/"+pks[2]+"/", nil); code != 404 || out["detail"] != "Not found." {
			t.Errorf("deleted user: %d %v", code, out)
		}
		s.wantEvent("model_created", pks[3])
		s.wantEvent("model_deleted", pks[2])

		// Importing a Django/authentik hash (verified and upgraded at login by
		// core.CheckPassword; the login flow itself comes with the flows issue).
		const django = "pbkdf2_sha256$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds="
		imp := s.must(201, "POST", "/core/users/", map[string]any{"username": "migrated", "name": "M", "password_hash": django})
		if _, leaked := imp["password_hash"]; leaked {
			t.Error("the API returned password_hash")
		}
		if code, out := s.call(s.token, "PATCH", "/core/users/"+fmt.Sprint(imp["pk"])+"/", map[string]any{"password_hash": "md5$x$y"}); code != 400 || out["password_hash"] == nil {
			t.Errorf("unsupported hash: %d %v", code, out)
		}
		if got, err := s.open().UserByUsername(context.Background(), "migrated"); err != nil || got.PasswordHash != django {
			t.Errorf("stored hash = %v, %v", got, err)
		}

		// Groups with a parent, members and roles.
		parent := s.must(201, "POST", "/core/groups/", map[string]any{"name": "staff", "is_superuser": false})
		role := s.must(201, "POST", "/rbac/roles/", map[string]any{"name": "auditor"})
		child := s.must(201, "POST", "/core/groups/", map[string]any{"name": "engineers", "parent": parent["pk"],
			"users": []any{u0["pk"]}, "roles": []any{role["pk"]}, "attributes": map[string]any{"team": "core"}})
		if child["parents"].([]any)[0] != parent["pk"] || len(child["users"].([]any)) != 1 || child["roles_obj"].([]any)[0].(map[string]any)["name"] != "auditor" {
			t.Errorf("child group = %v", child)
		}
		cu := s.must(200, "GET", "/core/users/"+pks[0]+"/", nil)
		if cu["groups_obj"].([]any)[0].(map[string]any)["name"] != "engineers" {
			t.Errorf("user's groups = %v", cu["groups_obj"])
		}
		s.must(200, "PATCH", "/core/groups/"+child["pk"].(string)+"/", map[string]any{"parents": []any{}})
		if code, _ := s.call(s.token, "PATCH", "/core/groups/"+parent["pk"].(string)+"/", map[string]any{"parent": parent["pk"]}); code != 400 {
			t.Errorf("group as its own parent: %d", code)
		}
		s.must(204, "DELETE", "/core/groups/"+child["pk"].(string)+"/", nil)
		s.wantEvent("model_deleted", child["pk"].(string))

		// Roles and permissions.
		s.must(204, "POST", "/rbac/permissions/assigned_by_roles/"+role["pk"].(string)+"/assign/",
			map[string]any{"permissions": []any{"authentik_core.view_user", "authentik_events.view_event"}})
		rp := s.must(200, "GET", "/rbac/permissions/roles/"+role["pk"].(string)+"/", nil)
		if count(rp) != 2 {
			t.Errorf("role permissions = %v", rp)
		}
		if code, _ := s.call(s.token, "POST", "/rbac/permissions/assigned_by_roles/"+role["pk"].(string)+"/assign/",
			map[string]any{"permissions": []any{"authentik_core.fly"}}); code != 400 {
			t.Errorf("unknown permission: %d", code)
		}
		if count(s.must(200, "GET", "/rbac/permissions/?search=view_user", nil)) < 1 {
			t.Error("permission search found nothing")
		}

		// Tokens: the key is only shown by view_key, and works.
		tok := s.must(201, "POST", "/core/tokens/", map[string]any{"identifier": "ci-token", "intent": "api", "expiring": false, "description": "for CI"})
		if _, has := tok["key"]; has {
			t.Error("token create returned the key")
		}
		key := s.must(200, "GET", "/core/tokens/ci-token/view_key/", nil)["key"].(string)
		if len(key) < 40 {
			t.Fatalf("key = %q", key)
		}
		if code, me := s.call(key, "GET", "/core/users/me/", nil); code != 200 || me["user"].(map[string]any)["username"] != "akadmin" {
			t.Errorf("me with the new key: %d %v", code, me)
		}
		s.wantEvent("secret_view", tok["pk"].(string))
		s.must(200, "PATCH", "/core/tokens/ci-token/", map[string]any{"description": "changed"})
		s.must(204, "DELETE", "/core/tokens/ci-token/", nil)
		if code, _ := s.call(key, "GET", "/core/users/me/", nil); code != 403 {
			t.Errorf("deleted token still works: %d", code)
		}

		// Brands: the Host header selects one.
		brand := s.must(201, "POST", "/core/brands/", map[string]any{"domain": "sso.example.com", "branding_title": "Example SSO"})
		code, cur := s.call("", "GET", "/core/brands/current/", nil, "Host", "login.sso.example.com")
		if code != 200 || cur["branding_title"] != "Example SSO" || cur["matched_domain"] != "sso.example.com" {
			t.Errorf("current brand for login.sso.example.com: %d %v", code, cur)
		}
		if _, cur := s.call("", "GET", "/core/brands/current/", nil, "Host", "other.org"); cur["matched_domain"] != "gatehouse-default" {
			t.Errorf("current brand for other.org: %v", cur)
		}
		if code, out := s.call(s.token, "POST", "/core/brands/", map[string]any{"domain": "x.example", "default": true}); code != 400 || out["default"] == nil {
			t.Errorf("second default brand: %d %v", code, out)
		}
		s.must(200, "PATCH", "/core/brands/"+brand["brand_uuid"].(string)+"/", map[string]any{"branding_title": "New"})
		s.must(204, "DELETE", "/core/brands/"+brand["brand_uuid"].(string)+"/", nil)

		// Applications.
		app := s.must(201, "POST", "/core/applications/", map[string]any{"name": "Wiki", "slug": "wiki",
			"meta_launch_url": "https://wiki.example.com", "meta_publisher": "ACME", "group": "Docs"})
		if app["launch_url"] != "https://wiki.example.com" || app["policy_engine_mode"] != "any" {
			t.Errorf("application = %v", app)
		}
		if code, out := s.call(s.token, "POST", "/core/applications/", map[string]any{"name": "T", "slug": "token"}); code != 400 || out["slug"] == nil {
			t.Errorf("reserved slug: %d %v", code, out)
		}
		ca := s.must(200, "GET", "/core/applications/wiki/check_access/?for_user="+pks[3], nil)
		if ca["passing"] != true {
			t.Errorf("check_access = %v", ca)
		}
		if rs := results(s.must(200, "GET", "/core/applications/?search=acme", nil)); len(rs) != 1 {
			t.Errorf("application search = %v", rs)
		}
		s.must(200, "PATCH", "/core/applications/wiki/", map[string]any{"meta_description": "The wiki"})
		s.must(204, "DELETE", "/core/applications/wiki/", nil)
		s.must(200, "GET", "/providers/all/", nil)

		// Certificate-key pairs: generate, view, import, refuse a mismatched key.
		kp := s.must(200, "POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "idp.example.com",
			"subject_alt_name": "idp.example.com, 192.0.2.5", "validity_days": 30})
		if kp["private_key_available"] != true || kp["key_type"] != "ec" || !strings.Contains(kp["cert_subject"].(string), "idp.example.com") {
			t.Errorf("generated = %v", kp)
		}
		kpPath := "/crypto/certificatekeypairs/" + kp["pk"].(string)
		certPEM := s.must(200, "GET", kpPath+"/view_certificate/", nil)["data"].(string)
		keyPEM := s.must(200, "GET", kpPath+"/view_private_key/", nil)["data"].(string)
		if !strings.Contains(certPEM, "BEGIN CERTIFICATE") || !strings.Contains(keyPEM, "PRIVATE KEY") {
			t.Fatalf("PEM data: %q %q", certPEM, keyPEM)
		}
		imported := s.must(201, "POST", "/crypto/certificatekeypairs/", map[string]any{"name": "imported", "certificate_data": certPEM, "key_data": keyPEM})
		if imported["fingerprint_sha256"] != kp["fingerprint_sha256"] {
			t.Errorf("imported fingerprint %v != %v", imported["fingerprint_sha256"], kp["fingerprint_sha256"])
		}
		other := s.must(200, "POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "other", "validity_days": 1, "alg": "rsa"})
		otherKey := s.must(200, "GET", "/crypto/certificatekeypairs/"+other["pk"].(string)+"/view_private_key/", nil)["data"].(string)
		if code, out := s.call(s.token, "POST", "/crypto/certificatekeypairs/", map[string]any{"name": "mismatch", "certificate_data": certPEM, "key_data": otherKey}); code != 400 || out["key_data"] == nil {
			t.Errorf("mismatched key: %d %v", code, out)
		}
		if rs := results(s.must(200, "GET", "/crypto/certificatekeypairs/?has_key=true", nil)); len(rs) != 3 {
			t.Errorf("key pairs with keys = %d", len(rs))
		}
		s.wantEvent("secret_view", kp["pk"].(string))
		s.must(204, "DELETE", kpPath+"/", nil)

		// System settings, version, config.
		st := s.must(200, "PATCH", "/admin/settings/", map[string]any{"event_retention": "days=30", "impersonation": false})
		if st["event_retention"] != "days=30" || st["impersonation"] != false {
			t.Errorf("settings = %v", st)
		}
		if code, out := s.call(s.token, "PATCH", "/admin/settings/", map[string]any{"event_retention": "forever"}); code != 400 || out["event_retention"] == nil {
			t.Errorf("bad retention: %d %v", code, out)
		}
		if v := s.must(200, "GET", "/admin/version/", nil); v["version_current"] == "" {
			t.Errorf("version = %v", v)
		}
		if code, cfg := s.call("", "GET", "/root/config/", nil); code != 200 || cfg["capabilities"] == nil {
			t.Errorf("root config: %d %v", code, cfg)
		}
		// Events written after the retention change expire after 30 days.
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "late", "name": "Late"})
		ev := s.wantEvent("model_created", fmt.Sprint(u["pk"]))
		created, _ := time.Parse(time.RFC3339Nano, ev["created"].(string))
		expires, _ := time.Parse(time.RFC3339Nano, ev["expires"].(string))
		if d := expires.Sub(created); d != 30*24*time.Hour {
			t.Errorf("event lifetime %v, want 30 days", d)
		}

		// No secret ever reaches the audit log.
		all := s.must(200, "GET", "/events/events/?page_size=100", nil)
		blob, _ := json.Marshal(all)
		for _, secret := range []string{key, bootstrapToken, "n3w-Secret!", "PRIVATE KEY", "password_hash", "argon2"} {
			if strings.Contains(string(blob), secret) {
				t.Errorf("an event contains a secret (%q)", secret)
			}
		}
		if count(all) < 30 {
			t.Errorf("only %d events", count(all))
		}
	})
}

// A user without permissions sees nothing and may change nothing; a role
// grants exactly what it holds, globally or on one object.
func TestAPIPermissions(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		alice := s.must(201, "POST", "/core/users/", map[string]any{"username": "alice", "name": "Alice"})
		bob := s.must(201, "POST", "/core/users/", map[string]any{"username": "bob", "name": "Bob"})
		carol := s.must(201, "POST", "/core/users/", map[string]any{"username": "carol", "name": "Carol"})
		s.must(201, "POST", "/core/tokens/", map[string]any{"identifier": "alice-api", "user": alice["pk"], "expiring": false})
		ak := s.must(200, "GET", "/core/tokens/alice-api/view_key/", nil)["key"].(string)
		bobPath := "/core/users/" + fmt.Sprint(bob["pk"]) + "/"
		carolPath := "/core/users/" + fmt.Sprint(carol["pk"]) + "/"

		if code, me := s.call(ak, "GET", "/core/users/me/", nil); code != 200 || me["user"].(map[string]any)["username"] != "alice" || me["user"].(map[string]any)["is_superuser"] != false {
			t.Fatalf("alice's me: %d %v", code, me)
		}
		if code, out := s.call(ak, "GET", "/core/users/", nil); code != 200 || count(out) != 0 {
			t.Errorf("alice lists users without permission: %d %v", code, out)
		}
		if code, out := s.call(ak, "GET", bobPath, nil); code != 404 {
			t.Errorf("alice reads bob without permission: %d %v", code, out)
		}
		if code, out := s.call(ak, "POST", "/core/users/", map[string]any{"username": "mallory", "name": "M"}); code != 403 || out["detail"] == nil {
			t.Errorf("alice creates a user without permission: %d %v", code, out)
		}
		if code, _ := s.call(ak, "GET", "/events/events/", nil); code != 200 {
			t.Errorf("events list: %d", code)
		}
		if code, _ := s.call(ak, "GET", "/admin/settings/", nil); code != 403 {
			t.Errorf("settings without permission: %d", code)
		}
		if code, _ := s.call(ak, "POST", "/core/groups/", map[string]any{"name": "x", "is_superuser": true}); code != 403 {
			t.Errorf("group create without permission: %d", code)
		}

		// A role with the global view permission, reaching alice through a group.
		viewers := s.must(201, "POST", "/rbac/roles/", map[string]any{"name": "user viewers"})
		s.must(204, "POST", "/rbac/permissions/assigned_by_roles/"+viewers["pk"].(string)+"/assign/",
			map[string]any{"permissions": []any{"authentik_core.view_user"}})
		s.must(201, "POST", "/core/groups/", map[string]any{"name": "helpdesk", "users": []any{alice["pk"]}, "roles": []any{viewers["pk"]}})
		if code, out := s.call(ak, "GET", "/core/users/", nil); code != 200 || count(out) != 4 {
			t.Errorf("alice lists users with view_user: %d %v", code, count(out))
		}
		if code, _ := s.call(ak, "GET", bobPath, nil); code != 200 {
			t.Errorf("alice reads bob with view_user: %d", code)
		}
		if code, _ := s.call(ak, "PATCH", bobPath, map[string]any{"name": "B"}); code != 403 {
			t.Errorf("alice changes bob with view only: %d", code)
		}

		// An object permission: change bob, and only bob.
		editors := s.must(201, "POST", "/rbac/roles/", map[string]any{"name": "bob editors"})
		s.must(204, "POST", "/rbac/permissions/assigned_by_roles/"+editors["pk"].(string)+"/assign/",
			map[string]any{"permissions": []any{"authentik_core.change_user"}, "model": "authentik_core.user", "object_pk": fmt.Sprint(bob["pk"])})
		s.must(200, "PATCH", "/core/users/"+fmt.Sprint(alice["pk"])+"/", map[string]any{"roles": []any{editors["pk"]}})
		if code, out := s.call(ak, "PATCH", bobPath, map[string]any{"name": "Robert"}); code != 200 || out["name"] != "Robert" {
			t.Errorf("alice changes bob with the object permission: %d %v", code, out)
		}
		if code, _ := s.call(ak, "PATCH", carolPath, map[string]any{"name": "C"}); code != 403 {
			t.Errorf("alice changes carol: %d", code)
		}
		// Without the superuser bit, alice cannot make a superuser group even with add_group.
		s.must(204, "POST", "/rbac/permissions/assigned_by_roles/"+viewers["pk"].(string)+"/assign/",
			map[string]any{"permissions": []any{"authentik_core.add_group"}})
		if code, out := s.call(ak, "POST", "/core/groups/", map[string]any{"name": "admins2", "is_superuser": true}); code != 400 || out["is_superuser"] == nil {
			t.Errorf("alice creates a superuser group: %d %v", code, out)
		}
		s.must(204, "PATCH", "/rbac/permissions/assigned_by_roles/"+viewers["pk"].(string)+"/unassign/",
			map[string]any{"permissions": []any{"authentik_core.view_user"}})
		if code, out := s.call(ak, "GET", "/core/users/", nil); code != 200 || count(out) != 0 {
			t.Errorf("after unassigning view_user alice sees %d users: %d", count(out), code)
		}
		// An object view permission shows just that object in the list.
		s.must(204, "POST", "/rbac/permissions/assigned_by_roles/"+editors["pk"].(string)+"/assign/",
			map[string]any{"permissions": []any{"authentik_core.view_user"}, "model": "authentik_core.user", "object_pk": fmt.Sprint(carol["pk"])})
		if code, out := s.call(ak, "GET", "/core/users/", nil); code != 200 || count(out) != 1 || results(out)[0]["username"] != "carol" {
			t.Errorf("with view on carol only, alice lists: %d %v", code, out)
		}
	})
}

// Only API tokens call the API: app passwords, expired tokens and inactive
// users are refused.
func TestAPITokenIntents(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		s.must(201, "POST", "/core/tokens/", map[string]any{"identifier": "app-pw", "intent": "app_password", "expiring": false})
		apw := s.must(200, "GET", "/core/tokens/app-pw/view_key/", nil)["key"].(string)
		if code, out := s.call(apw, "GET", "/core/users/me/", nil); code != 403 || out["detail"] == nil {
			t.Errorf("app password calls the API: %d %v", code, out)
		}
		past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
		s.must(201, "POST", "/core/tokens/", map[string]any{"identifier": "expired", "intent": "api", "expiring": true, "expires": past})
		exp := s.must(200, "GET", "/core/tokens/expired/view_key/", nil)["key"].(string)
		if code, _ := s.call(exp, "GET", "/core/users/me/", nil); code != 403 {
			t.Errorf("expired token: %d", code)
		}
		sa := s.must(200, "POST", "/core/users/service_account/", map[string]any{"name": "ci-bot", "create_group": true})
		if sa["token"] == nil || sa["username"] != "ci-bot" || sa["group_pk"] == nil {
			t.Fatalf("service account = %v", sa)
		}
		if code, _ := s.call(sa["token"].(string), "GET", "/core/users/me/", nil); code != 403 {
			t.Errorf("a service account's app password calls the API: %d", code)
		}
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "leaver", "name": "L"})
		s.must(201, "POST", "/core/tokens/", map[string]any{"identifier": "leaver-api", "user": u["pk"], "expiring": false})
		lk := s.must(200, "GET", "/core/tokens/leaver-api/view_key/", nil)["key"].(string)
		s.must(200, "PATCH", "/core/users/"+fmt.Sprint(u["pk"])+"/", map[string]any{"is_active": false})
		if code, _ := s.call(lk, "GET", "/core/users/me/", nil); code != 403 {
			t.Errorf("inactive user's token: %d", code)
		}
		for _, h := range []string{"Bearer", "Basic abc", "Bearer not-a-token"} {
			req, _ := http.NewRequest("GET", s.base+"/core/users/me/", nil)
			req.Header.Set("Authorization", h)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Errorf("Authorization %q: %d", h, resp.StatusCode)
			}
		}
		if code, out := s.call("", "GET", "/core/users/me/", nil); code != 403 || out["detail"] != "Authentication credentials were not provided." {
			t.Errorf("anonymous: %d %v", code, out)
		}
	})
}

// Browser sessions authenticate with the session cookie; unsafe methods also
// need the CSRF header to repeat the CSRF cookie.
func TestAPISessionCookieCSRF(t *testing.T) {
	eachEngine(t, func(t *testing.T, s *apiServer) {
		st := s.open()
		ctx := context.Background()
		admin, err := st.UserByUsername(ctx, "akadmin")
		if err != nil {
			t.Fatal(err)
		}
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		cookie := hex.EncodeToString(raw)
		sum := sha256.Sum256([]byte(cookie))
		if err := st.CreateSession(ctx, &store.Session{Key: hex.EncodeToString(sum[:]), UserPK: &admin.PK, Expires: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		send := func(method, path string, body string, csrfCookie, csrfHeader string) int {
			req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.AddCookie(&http.Cookie{Name: "authentik_session", Value: cookie})
			if csrfCookie != "" {
				req.AddCookie(&http.Cookie{Name: "authentik_csrf", Value: csrfCookie})
			}
			if csrfHeader != "" {
				req.Header.Set("X-authentik-CSRF", csrfHeader)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := send("GET", "/core/users/me/", "", "", ""); code != 200 {
			t.Errorf("GET with the session cookie: %d", code)
		}
		body := `{"username":"via-cookie","name":"C"}`
		if code := send("POST", "/core/users/", body, "", ""); code != 403 {
			t.Errorf("POST without CSRF: %d", code)
		}
		if code := send("POST", "/core/users/", body, "abc", "abd"); code != 403 {
			t.Errorf("POST with a mismatched CSRF header: %d", code)
		}
		if code := send("POST", "/core/users/", body, "tok123", "tok123"); code != 201 {
			t.Errorf("POST with CSRF: %d", code)
		}

		// Impersonation switches the browser session and back.
		bob := s.must(201, "POST", "/core/users/", map[string]any{"username": "bob-imp", "name": "Bob"})
		bobPK := fmt.Sprint(bob["pk"])
		me := func() map[string]any {
			req, _ := http.NewRequest("GET", s.base+"/core/users/me/", nil)
			req.AddCookie(&http.Cookie{Name: "authentik_session", Value: cookie})
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			return m
		}
		if code := send("POST", "/core/users/"+bobPK+"/impersonate/", `{}`, "c1", "c1"); code != 400 {
			t.Errorf("impersonation without the required reason: %d", code)
		}
		if code, _ := s.call(s.token, "POST", "/core/users/"+bobPK+"/impersonate/", map[string]any{"reason": "x"}); code != 403 {
			t.Errorf("impersonation with an API token: %d", code)
		}
		if code := send("POST", "/core/users/"+bobPK+"/impersonate/", `{"reason":"ticket 42"}`, "c1", "c1"); code != 204 {
			t.Fatalf("impersonate: %d", code)
		}
		m := me()
		if m["user"].(map[string]any)["username"] != "bob-imp" || m["original"].(map[string]any)["username"] != "akadmin" {
			t.Errorf("me while impersonating: %v", m)
		}
		if code := send("GET", "/core/users/impersonate_end/", "", "", ""); code != 204 {
			t.Errorf("impersonate_end: %d", code)
		}
		if m := me(); m["user"].(map[string]any)["username"] != "akadmin" || m["original"] != nil {
			t.Errorf("me after impersonation: %v", m)
		}
		started := s.wantEvent("impersonation_started", bobPK)
		if started["user"].(map[string]any)["username"] != "akadmin" || started["context"].(map[string]any)["reason"] != "ticket 42" {
			t.Errorf("impersonation_started = %v", started)
		}
		s.wantEvent("impersonation_ended", bobPK)
	})
}
