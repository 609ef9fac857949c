package apiclient_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api/apiclient"
	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/password"
)

// newClient is the generated client as a user of the API would build it:
// base URL and a request editor adding the token, nothing else.
func newClient(t *testing.T, srv *apitest.Server, token string) *apiclient.ClientWithResponses {
	t.Helper()
	c, err := apiclient.NewClientWithResponses(srv.URL+"/api/v3",
		apiclient.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

// response is what every generated response type has.
type response interface {
	StatusCode() int
	Status() string
}

// call holds a generated client call's results; want checks them.
type call[R response] struct {
	r   R
	err error
}

func do[R response](r R, err error) call[R] { return call[R]{r, err} }

// want fails the test unless the call succeeded with the status.
func (c call[R]) want(t *testing.T, what string, status int) R {
	t.Helper()
	if c.err != nil {
		t.Fatalf("%s: %v", what, c.err)
	}
	if c.r.StatusCode() != status {
		t.Fatalf("%s: status %s, want %d: %s", what, c.r.Status(), status, reflect.ValueOf(c.r).Elem().FieldByName("Body").Bytes())
	}
	return c.r
}

// errorBody is a typed error field of a generated response (JSON400,
// JSON403, ...) as JSON: whatever Go type the schema's ApiError generates,
// its wire form must be DRF's.
func errorBody[T any](t *testing.T, body *T) map[string]any {
	t.Helper()
	if body == nil {
		t.Fatal("the typed error field is nil")
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// drfErrors checks a 400 body has DRF's shape ({"field": ["message", ...]})
// and returns the messages of field.
func drfErrors(t *testing.T, body *apiclient.ValidationError, field string) []string {
	t.Helper()
	var msgs []string
	m := errorBody(t, body)
	for k, v := range m {
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			t.Fatalf("400 body field %q is %T %v, want a non-empty list of messages", k, v, v)
		}
		for _, x := range list {
			s, ok := x.(string)
			if !ok {
				t.Fatalf("400 body field %q holds %T, want strings", k, x)
			}
			if k == field {
				msgs = append(msgs, s)
			}
		}
	}
	if len(msgs) == 0 {
		t.Fatalf("400 body %v has no message for %q", m, field)
	}
	return msgs
}

// detail is the message of a DRF {"detail": "..."} error body.
func detail(t *testing.T, body *apiclient.GenericError) string {
	t.Helper()
	m := errorBody(t, body)
	d, ok := m["detail"].(string)
	if !ok || len(m) != 1 {
		t.Fatalf("error body %v, want {\"detail\": \"...\"}", m)
	}
	return d
}

// TestGeneratedClientCRUD drives the API through the client generated from
// openapi.json only: if the schema were wrong (a missing parameter, a wrong
// type, a body the generator cannot express), this would not compile or the
// typed responses would not decode.
func TestGeneratedClientCRUD(t *testing.T) {
	srv := apitest.New(t)
	ctx := context.Background()
	admin := newClient(t, srv, apitest.AdminToken)

	// created lists the objects whose model_created event must exist.
	type object struct{ model, pk string }
	var created []object

	// Users: create, get, patch, list (search, ordering, pagination).
	alice := do(admin.CoreUsersCreateWithResponse(ctx, apiclient.UserRequest{
		Username: "alice", Name: "Alice", Email: ptr("alice@example.com"),
		Attributes: &map[string]any{"team": "blue"},
	})).want(t, "create user", http.StatusCreated).JSON201
	if alice == nil || alice.Pk == 0 || alice.Username != "alice" || alice.Type != "internal" || !alice.IsActive {
		t.Fatalf("created user: %+v", alice)
	}
	created = append(created, object{"user", fmt.Sprint(alice.Pk)})

	got := do(admin.CoreUsersRetrieveWithResponse(ctx, alice.Pk)).want(t, "get user", http.StatusOK).JSON200
	if got.Username != "alice" || got.Email != "alice@example.com" || got.Attributes["team"] != "blue" {
		t.Fatalf("got user %+v", got)
	}

	patched := do(admin.CoreUsersPartialUpdateWithResponse(ctx, alice.Pk,
		apiclient.PatchedUserRequest{Name: ptr("Alice Liddell")})).want(t, "patch user", http.StatusOK).JSON200
	if patched.Name != "Alice Liddell" || patched.Username != "alice" || patched.Email != "alice@example.com" {
		t.Fatalf("patched user %+v", patched)
	}

	for _, name := range []string{"alice.b", "alice.c"} {
		u := do(admin.CoreUsersCreateWithResponse(ctx,
			apiclient.UserRequest{Username: name, Name: name})).want(t, "create user "+name, http.StatusCreated).JSON201
		created = append(created, object{"user", fmt.Sprint(u.Pk)})
	}
	list := func(page int64) *apiclient.UserListOutputBody {
		return do(admin.CoreUsersListWithResponse(ctx, &apiclient.CoreUsersListParams{
			Search: ptr("alice"), Ordering: ptr("-username"), Page: &page, PageSize: ptr[int64](2),
		})).want(t, "list users", http.StatusOK).JSON200
	}
	page1, page2 := list(1), list(2)
	usernames := func(b *apiclient.UserListOutputBody) []string {
		var out []string
		for _, u := range *b.Results {
			out = append(out, u.Username)
		}
		return out
	}
	if u := usernames(page1); !slices.Equal(u, []string{"alice.c", "alice.b"}) {
		t.Errorf("page 1 of users: %v", u)
	}
	if u := usernames(page2); !slices.Equal(u, []string{"alice"}) {
		t.Errorf("page 2 of users: %v", u)
	}
	want1 := apiclient.Pagination{Count: 3, Current: 1, TotalPages: 2, Next: 2, Previous: 0, StartIndex: 1, EndIndex: 2}
	want2 := apiclient.Pagination{Count: 3, Current: 2, TotalPages: 2, Next: 0, Previous: 1, StartIndex: 3, EndIndex: 3}
	if page1.Pagination != want1 || page2.Pagination != want2 {
		t.Errorf("pagination: %+v and %+v, want %+v and %+v", page1.Pagination, page2.Pagination, want1, want2)
	}

	// set_password answers 204, records the change date and stores a hash
	// of the password (checked in the store: the API never shows it).
	do(admin.CoreUsersSetPasswordCreateWithResponse(ctx, alice.Pk,
		apiclient.SetPasswordInputBody{Password: "correct horse battery staple"})).want(t, "set password", http.StatusNoContent)
	if u := do(admin.CoreUsersRetrieveWithResponse(ctx, alice.Pk)).want(t, "get user", http.StatusOK).JSON200; u.PasswordChangeDate == nil {
		t.Error("password_change_date not set after set_password")
	}
	if su, err := srv.Store.UserByPK(ctx, alice.Pk); err != nil {
		t.Fatal(err)
	} else if ok, _, err := password.Verify("correct horse battery staple", su.PasswordHash); !ok || err != nil {
		t.Errorf("the stored hash does not verify the password set (%v)", err)
	}

	// Validation errors come back typed, in DRF's shape: one from the
	// handler, one from schema validation.
	bad := do(admin.CoreUsersCreateWithResponse(ctx,
		apiclient.UserRequest{Username: "not valid!", Name: "x"})).want(t, "create invalid user", http.StatusBadRequest)
	t.Logf("handler validation error: %v", drfErrors(t, bad.JSON400, "username"))
	bad = do(admin.CoreUsersCreateWithResponse(ctx,
		apiclient.UserRequest{Username: "", Name: "x"})).want(t, "create user without username", http.StatusBadRequest)
	t.Logf("schema validation error: %v", drfErrors(t, bad.JSON400, "username"))
	dup := do(admin.CoreUsersCreateWithResponse(ctx,
		apiclient.UserRequest{Username: "alice", Name: "again"})).want(t, "create duplicate user", http.StatusBadRequest)
	drfErrors(t, dup.JSON400, "username")

	// Groups: a group with alice as member, read back from both sides.
	group := do(admin.CoreGroupsCreateWithResponse(ctx, apiclient.GroupRequest{
		Name: "staff", Users: &[]int64{alice.Pk}, Attributes: &map[string]any{"floor": float64(3)},
	})).want(t, "create group", http.StatusCreated).JSON201
	created = append(created, object{"group", group.Pk})
	g := do(admin.CoreGroupsRetrieveWithResponse(ctx, group.Pk)).want(t, "get group", http.StatusOK).JSON200
	if g.Name != "staff" || g.Users == nil || !slices.Equal(*g.Users, []int64{alice.Pk}) || g.Attributes["floor"] != float64(3) {
		t.Errorf("group read back: %+v", g)
	}
	u := do(admin.CoreUsersRetrieveWithResponse(ctx, alice.Pk)).want(t, "get user", http.StatusOK).JSON200
	if u.Groups == nil || !slices.Contains(*u.Groups, group.Pk) {
		t.Errorf("user's groups %v lack %s", u.Groups, group.Pk)
	}

	// RBAC: a role, a global permission assigned to it, its permissions listed.
	role := do(admin.RbacRolesCreateWithResponse(ctx,
		apiclient.RoleBody{Name: "auditors"})).want(t, "create role", http.StatusCreated).JSON201
	if role.Pk == nil || *role.Pk == "" {
		t.Fatalf("created role has no pk: %+v", role)
	}
	created = append(created, object{"role", *role.Pk})
	do(admin.RbacPermissionsAssignedByRolesAssignWithResponse(ctx, *role.Pk,
		apiclient.PermissionAssignRequest{Permissions: &[]string{"authentik_core.view_user", "authentik_events.view_event"}})).want(t, "assign permission", http.StatusNoContent)
	bad2 := do(admin.RbacPermissionsAssignedByRolesAssignWithResponse(ctx, *role.Pk,
		apiclient.PermissionAssignRequest{Permissions: &[]string{"authentik_core.fly"}})).want(t, "assign unknown permission", http.StatusBadRequest)
	drfErrors(t, bad2.JSON400, "permissions")
	perms := do(admin.RbacPermissionsRolesListWithResponse(ctx, *role.Pk,
		&apiclient.RbacPermissionsRolesListParams{})).want(t, "list role permissions", http.StatusOK).JSON200
	var held []string
	for _, p := range *perms.Results {
		if p.ObjectPk != "" {
			t.Errorf("global permission %s has object_pk %q", p.Permission, p.ObjectPk)
		}
		held = append(held, p.Permission)
	}
	slices.Sort(held)
	if !slices.Equal(held, []string{"authentik_core.view_user", "authentik_events.view_event"}) || perms.Pagination.Count != 2 {
		t.Errorf("role permissions %v (count %d)", held, perms.Pagination.Count)
	}

	// Tokens: an API token for alice, its key through view_key, and that key
	// authenticating a second generated client.
	tok := do(admin.CoreTokensCreateWithResponse(ctx, apiclient.TokenRequest{
		Identifier: "alice-api", User: &alice.Pk, Intent: ptr(apiclient.TokenRequestIntent("api")),
		Expiring: ptr(false), Description: ptr("generated-client test"),
	})).want(t, "create token", http.StatusCreated).JSON201
	if tok.User != alice.Pk || tok.UserObj.Username != "alice" || tok.Intent != "api" || tok.Expiring {
		t.Errorf("created token %+v", tok)
	}
	created = append(created, object{"token", tok.Pk})
	key := do(admin.CoreTokensViewKeyRetrieveWithResponse(ctx, tok.Identifier)).want(t, "view token key", http.StatusOK).JSON200.Key
	if key == "" {
		t.Fatal("view_key returned an empty key")
	}
	asAlice := newClient(t, srv, key)
	me := do(asAlice.CoreUsersMeRetrieveWithResponse(ctx)).want(t, "me as alice", http.StatusOK).JSON200
	if me.User.Pk != alice.Pk || me.User.Username != "alice" || me.User.IsSuperuser {
		t.Errorf("me with alice's token: %+v", me.User)
	}
	// alice holds no permission: a list shows her nothing, a write is refused.
	if r := do(asAlice.CoreUsersListWithResponse(ctx, nil)).want(t, "list users as alice", http.StatusOK).JSON200; r.Pagination.Count != 0 {
		t.Errorf("alice without permissions sees %d users", r.Pagination.Count)
	}
	if r := do(asAlice.CoreUsersCreateWithResponse(ctx,
		apiclient.UserRequest{Username: "mallory", Name: "m"})).want(t, "create user as alice", http.StatusForbidden); detail(t, r.JSON403) != "You do not have permission to perform this action." {
		t.Errorf("403 body: %s", r.Body)
	}

	// Brands and applications: create, then find them in their lists.
	brand := do(admin.CoreBrandsCreateWithResponse(ctx, apiclient.BrandRequest{
		Domain: ptr("login.example.com"), BrandingTitle: ptr("Example"),
	})).want(t, "create brand", http.StatusCreated).JSON201
	created = append(created, object{"brand", brand.BrandUuid})
	brands := do(admin.CoreBrandsListWithResponse(ctx,
		&apiclient.CoreBrandsListParams{Search: ptr("example.com")})).want(t, "list brands", http.StatusOK).JSON200
	if brands.Pagination.Count != 1 || len(*brands.Results) != 1 || (*brands.Results)[0].BrandUuid != brand.BrandUuid ||
		(*brands.Results)[0].BrandingTitle != "Example" {
		t.Errorf("brands list: %+v", brands)
	}

	app := do(admin.CoreApplicationsCreateWithResponse(ctx,
		apiclient.ApplicationRequest{Name: ptr("Wiki"), Slug: ptr("wiki"), MetaLaunchUrl: ptr("https://wiki.example.com/")},
	)).want(t, "create application", http.StatusCreated).JSON201
	created = append(created, object{"application", app.Pk})
	apps := do(admin.CoreApplicationsListWithResponse(ctx,
		&apiclient.CoreApplicationsListParams{Ordering: ptr("name")})).want(t, "list applications", http.StatusOK).JSON200
	i := slices.IndexFunc(*apps.Results, func(a apiclient.Application) bool { return a.Slug == "wiki" })
	if i < 0 || (*apps.Results)[i].Pk != app.Pk || (*apps.Results)[i].Name != "Wiki" || (*apps.Results)[i].Provider != nil {
		t.Errorf("applications list: %+v", apps.Results)
	}
	if a := do(admin.CoreApplicationsRetrieveWithResponse(ctx, "wiki")).want(t, "get application", http.StatusOK).JSON200; a.Pk != app.Pk {
		t.Errorf("application by slug: %+v", a)
	}

	// Crypto: generate a certificate-key pair and read its certificate.
	kp := do(admin.CryptoCertificatekeypairsGenerateCreateWithResponse(ctx,
		apiclient.CertificateGenerationRequest{CommonName: "gatehouse-test", ValidityDays: 30})).want(t, "generate key pair", http.StatusOK).JSON200
	if !kp.PrivateKeyAvailable || kp.CertExpiry == nil || kp.FingerprintSha256 == nil {
		t.Errorf("generated key pair %+v", kp)
	}
	created = append(created, object{"certificatekeypair", kp.Pk})
	certPEM := do(admin.CryptoCertificatekeypairsViewCertificateRetrieveWithResponse(ctx, kp.Pk)).want(t, "view certificate", http.StatusOK).JSON200.Data
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("view_certificate data is not a PEM certificate: %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "gatehouse-test" || cert.NotAfter.Unix() != kp.CertExpiry.Unix() {
		t.Errorf("certificate CN %q expiring %v; key pair says %v", cert.Subject.CommonName, cert.NotAfter, kp.CertExpiry)
	}

	// Events: a model_created event for every object created above.
	events := do(admin.EventsEventsListWithResponse(ctx, &apiclient.EventsEventsListParams{
		Action: ptr("model_created"), PageSize: ptr[int64](100),
	})).want(t, "list events", http.StatusOK).JSON200
	type seen struct{ model, pk string }
	found := map[seen]bool{}
	for _, e := range *events.Results {
		if e.Action != "model_created" {
			t.Errorf("action filter let %q through", e.Action)
		}
		m, _ := e.Context["model"].(map[string]any)
		found[seen{fmt.Sprint(m["model_name"]), fmt.Sprint(m["pk"])}] = true
	}
	for _, o := range created {
		if !found[seen(o)] {
			t.Errorf("no model_created event for %s %s", o.model, o.pk)
		}
	}
	byPK := do(admin.EventsEventsListWithResponse(ctx, &apiclient.EventsEventsListParams{
		ContextModelPk: ptr(fmt.Sprint(alice.Pk)), Action: ptr("password_set"),
	})).want(t, "list events by model pk", http.StatusOK).JSON200
	if byPK.Pagination.Count != 1 {
		t.Errorf("password_set events for alice: %d, want 1", byPK.Pagination.Count)
	}

	// Delete: 204, then 404 with DRF's detail, and alice's token is gone with her.
	do(admin.CoreUsersDestroyWithResponse(ctx, alice.Pk)).want(t, "delete user", http.StatusNoContent)
	gone := do(admin.CoreUsersRetrieveWithResponse(ctx, alice.Pk)).want(t, "get deleted user", http.StatusNotFound)
	if detail(t, gone.JSON404) != "Not found." {
		t.Errorf("404 body: %s", gone.Body)
	}
	do(admin.CoreUsersDestroyWithResponse(ctx, alice.Pk)).want(t, "delete deleted user", http.StatusNotFound)
	if r, err := asAlice.CoreUsersMeRetrieveWithResponse(ctx); err != nil || r.StatusCode() != http.StatusForbidden {
		t.Errorf("deleted user's token still works: %v %v", r.Status(), err)
	}
}
