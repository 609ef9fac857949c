package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// deviceEnv is a test server with users and their devices, made in the
// store as the setup stages would.
type deviceEnv struct {
	*oauth2Env
	alice, bob       int64
	aliceTk, bobTk   string
	totp, oldTOTP    int64 // alice's confirmed and unconfirmed TOTP devices
	static, webauthn int64 // alice's
	email, sms       int64 // alice's
	bobTOTP          int64
}

func newDeviceEnv(t *testing.T) *deviceEnv {
	t.Helper()
	e := &deviceEnv{oauth2Env: &oauth2Env{t: t, srv: apitest.New(t)}}
	var u struct {
		PK int64 `json:"pk"`
	}
	e.admin("POST", "/core/users/", map[string]any{"username": "alice", "name": "Alice", "email": "alice@example.com"}, &u)
	e.alice, e.aliceTk = u.PK, e.tokenFor(u.PK, "alice-token")
	e.admin("POST", "/core/users/", map[string]any{"username": "bob", "name": "Bob"}, &u)
	e.bob, e.bobTk = u.PK, e.tokenFor(u.PK, "bob-token")
	e.totp = e.device(e.alice, store.DeviceTOTP, "phone", true, nil)
	e.oldTOTP = e.device(e.alice, store.DeviceTOTP, "abandoned setup", false, nil)
	e.static = e.device(e.alice, store.DeviceStatic, "recovery codes", true, nil)
	e.webauthn = e.device(e.alice, store.DeviceWebAuthn, "yubikey", true, store.Attributes{
		"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "device_type": "YubiKey 5 Series"})
	e.email = e.device(e.alice, store.DeviceEmail, "mail", true, store.Attributes{"email": "alice@example.com"})
	e.sms = e.device(e.alice, store.DeviceSMS, "mobile", true, store.Attributes{"phone_number": "+15555550100"})
	e.bobTOTP = e.device(e.bob, store.DeviceTOTP, "bob's phone", true, nil)
	return e
}

func (e *deviceEnv) device(user int64, typ, name string, confirmed bool, data store.Attributes) int64 {
	e.t.Helper()
	d := &store.AuthenticatorDevice{UserPK: user, Type: typ, Name: name, Confirmed: confirmed, Data: data}
	if typ == store.DeviceWebAuthn {
		d.CredentialID = "cred-" + name
	}
	if err := e.srv.Store.CreateDevice(context.Background(), d); err != nil {
		e.t.Fatal(err)
	}
	return d.PK
}

// stored reads a device from the store (nil if it is gone).
func (e *deviceEnv) stored(pk int64) *store.AuthenticatorDevice {
	e.t.Helper()
	d, err := e.srv.Store.Device(context.Background(), pk)
	if err != nil {
		return nil
	}
	return d
}

// events lists the events of action about the object pk.
func (e *deviceEnv) events(action string, pk int64) []map[string]any {
	e.t.Helper()
	var out struct {
		Results []map[string]any `json:"results"`
	}
	q := url.Values{"action": {action}, "context_model_pk": {strconv.FormatInt(pk, 10)}}
	e.admin("GET", "/events/events/?"+q.Encode(), nil, &out)
	return out.Results
}

func id(pk int64) string { return strconv.FormatInt(pk, 10) + "/" }

type apiDevice struct {
	Name        string                     `json:"name"`
	PK          int64                      `json:"pk"`
	User        struct{ PK int64 }         `json:"user"`
	TokenSet    *[]map[string]any          `json:"token_set,omitempty"`
	Email       string                     `json:"email,omitempty"`
	PhoneNumber string                     `json:"phone_number,omitempty"`
	AAGUID      string                     `json:"aaguid,omitempty"`
	DeviceType  map[string]json.RawMessage `json:"device_type,omitempty"`
	CreatedOn   string                     `json:"created_on,omitempty"`
}

type deviceList struct {
	Pagination struct {
		Count int `json:"count"`
	} `json:"pagination"`
	Results []apiDevice `json:"results"`
}

func names(l deviceList) []string {
	out := []string{}
	for _, d := range l.Results {
		out = append(out, d.Name)
	}
	return out
}

// A user sees, renames and deletes only their own confirmed devices: any
// other device does not exist for them, not even for a superuser.
func TestAuthenticatorsOwnDevices(t *testing.T) {
	e := newDeviceEnv(t)

	for _, tc := range []struct {
		class string
		want  []string
	}{
		{"totp", []string{"phone"}}, // not the unconfirmed one, not bob's
		{"static", []string{"recovery codes"}},
		{"webauthn", []string{"yubikey"}},
		{"email", []string{"mail"}},
		{"sms", []string{"mobile"}},
	} {
		var l deviceList
		e.as(e.aliceTk, "GET", "/authenticators/"+tc.class+"/", nil, http.StatusOK, &l)
		if d := cmp.Diff(tc.want, names(l)); d != "" || l.Pagination.Count != len(tc.want) {
			t.Errorf("alice's %s devices (count %d) (-want +got):\n%s", tc.class, l.Pagination.Count, d)
		}
		for _, d := range l.Results {
			if d.User.PK != e.alice {
				t.Errorf("%s device %d has user %d", tc.class, d.PK, d.User.PK)
			}
		}
	}
	var l deviceList
	e.as(e.bobTk, "GET", "/authenticators/totp/", nil, http.StatusOK, &l)
	if d := cmp.Diff([]string{"bob's phone"}, names(l)); d != "" {
		t.Errorf("bob's devices (-want +got):\n%s", d)
	}

	// Each class's serializer.
	var d apiDevice
	e.as(e.aliceTk, "GET", "/authenticators/static/"+id(e.static), nil, http.StatusOK, &d)
	if d.TokenSet == nil || len(*d.TokenSet) != 0 {
		t.Errorf("static device token_set = %v, want [] (codes are hashed)", d.TokenSet)
	}
	var raw map[string]any
	e.as(e.aliceTk, "GET", "/authenticators/webauthn/"+id(e.webauthn), nil, http.StatusOK, &raw)
	if raw["aaguid"] != "cb69481e-8ff7-4039-93ec-0a2729a154a8" || raw["created_on"] == nil || raw["name"] != "yubikey" {
		t.Errorf("webauthn device = %v", raw)
	}
	wantType := map[string]any{"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "description": "YubiKey 5 Series",
		"icon": nil}
	if diff := cmp.Diff(wantType, raw["device_type"]); diff != "" {
		t.Errorf("webauthn device_type (-want +got):\n%s", diff)
	}
	// No recorded name: a known AAGUID is named now; an unknown one or none
	// has no device type (and none is authentik's all-zero AAGUID).
	for _, tc := range []struct {
		aaguid, wantAAGUID string
		wantType           any
	}{
		{"ee882879-721c-4913-9775-3dfcce97072a", "ee882879-721c-4913-9775-3dfcce97072a",
			map[string]any{"aaguid": "ee882879-721c-4913-9775-3dfcce97072a", "description": "YubiKey 5 Series", "icon": nil}},
		{"0bb5b8bd-76a8-4d01-9b3a-a5ab0b4b0b4b", "0bb5b8bd-76a8-4d01-9b3a-a5ab0b4b0b4b", nil},
		{"", "00000000-0000-0000-0000-000000000000", nil},
	} {
		pk := e.device(e.alice, store.DeviceWebAuthn, "key "+tc.aaguid, true, store.Attributes{"aaguid": tc.aaguid})
		raw = nil
		e.as(e.aliceTk, "GET", "/authenticators/webauthn/"+id(pk), nil, http.StatusOK, &raw)
		if raw["aaguid"] != tc.wantAAGUID || !cmp.Equal(raw["device_type"], tc.wantType) {
			t.Errorf("webauthn device with aaguid %q: aaguid %v, device_type %v", tc.aaguid, raw["aaguid"], raw["device_type"])
		}
		e.as(e.aliceTk, "DELETE", "/authenticators/webauthn/"+id(pk), nil, http.StatusNoContent, nil)
	}
	e.as(e.aliceTk, "GET", "/authenticators/email/"+id(e.email), nil, http.StatusOK, &d)
	if d.Email != "alice@example.com" {
		t.Errorf("email device email = %q", d.Email)
	}
	e.as(e.aliceTk, "GET", "/authenticators/sms/"+id(e.sms), nil, http.StatusOK, &d)
	if d.PhoneNumber != "+15555550100" {
		t.Errorf("sms device phone_number = %q", d.PhoneNumber)
	}
	raw = nil
	e.as(e.aliceTk, "GET", "/authenticators/totp/"+id(e.totp), nil, http.StatusOK, &raw)
	if diff := cmp.Diff([]string{"name", "pk", "user"}, keys(raw)); diff != "" {
		t.Errorf("totp device fields (-want +got):\n%s", diff) // no key, no secret
	}

	// Not hers: another user's, unconfirmed, of another class, or none.
	for _, tc := range []struct {
		name, token, path string
	}{
		{"bob's device", e.aliceTk, "/authenticators/totp/" + id(e.bobTOTP)},
		{"alice's device for bob", e.bobTk, "/authenticators/totp/" + id(e.totp)},
		{"alice's device for the superuser", apitest.AdminToken, "/authenticators/totp/" + id(e.totp)},
		{"unconfirmed", e.aliceTk, "/authenticators/totp/" + id(e.oldTOTP)},
		{"another class", e.aliceTk, "/authenticators/static/" + id(e.totp)},
		{"no such device", e.aliceTk, "/authenticators/totp/" + id(999999)},
		{"negative id", e.aliceTk, "/authenticators/totp/-1/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []struct {
				method string
				body   any
			}{{"GET", nil}, {"PATCH", map[string]any{"name": "taken over"}}, {"PUT", map[string]any{"name": "taken over"}}, {"DELETE", nil}} {
				if got, b := e.call(tc.token, m.method, tc.path, m.body); got != http.StatusNotFound {
					t.Errorf("%s %s: %d, want 404: %s", m.method, tc.path, got, b)
				}
			}
		})
	}
	if got := e.stored(e.bobTOTP); got == nil || got.Name != "bob's phone" {
		t.Errorf("bob's device after alice's attempts: %+v", got)
	}
	if got := e.stored(e.oldTOTP); got == nil {
		t.Error("the unconfirmed device was deleted")
	}

	// Malformed ids are refused, never a 500.
	for _, bad := range []string{"abc", "1.5", "99999999999999999999999999", "%00", "1e3", strings.Repeat("9", 100)} {
		got, b := e.call(e.aliceTk, "GET", "/authenticators/totp/"+bad+"/", nil)
		if got != http.StatusBadRequest && got != http.StatusNotFound {
			t.Errorf("GET /authenticators/totp/%s/: %d, want 400 or 404: %s", bad, got, b)
		}
	}

	// Every class in one list: confirmed devices only, authentik's order.
	var all []map[string]any
	e.as(e.aliceTk, "GET", "/authenticators/all/", nil, http.StatusOK, &all)
	var types []string
	for _, d := range all {
		types = append(types, d["type"].(string))
	}
	wantTypes := []string{"authentik_stages_authenticator_static.StaticDevice", "authentik_stages_authenticator_totp.TOTPDevice",
		"authentik_stages_authenticator_webauthn.WebAuthnDevice", "authentik_stages_authenticator_sms.SMSDevice",
		"authentik_stages_authenticator_email.EmailDevice"}
	if diff := cmp.Diff(wantTypes, types); diff != "" {
		t.Fatalf("/authenticators/all/ types (-want +got):\n%s", diff)
	}
	wantTOTP := map[string]any{"pk": strconv.FormatInt(e.totp, 10), "name": "phone", "confirmed": true,
		"verbose_name": "TOTP Device", "verbose_name_plural": "TOTP Devices",
		"meta_model_name": "authentik_stages_authenticator_totp.totpdevice", "type": wantTypes[1],
		"last_used": nil, "extra_description": nil, "external_id": nil}
	got := all[1]
	for _, k := range []string{"created", "last_updated"} {
		if s, _ := got[k].(string); s == "" {
			t.Errorf("all[1].%s = %v", k, got[k])
		}
		delete(got, k)
	}
	if diff := cmp.Diff(wantTOTP, got); diff != "" {
		t.Errorf("/authenticators/all/ TOTP entry (-want +got):\n%s", diff)
	}
	if all[2]["extra_description"] != "YubiKey 5 Series" || all[2]["external_id"] != "cb69481e-8ff7-4039-93ec-0a2729a154a8" {
		t.Errorf("webauthn entry = %v", all[2])
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// grantOn gives a user the permissions on one object through a new role.
func (e *deviceEnv) grantOn(userPK int64, objectPK string, perms ...string) {
	e.t.Helper()
	ctx := context.Background()
	r := &store.Role{Name: "role-" + uuid.NewString()}
	if err := e.srv.Store.CreateRole(ctx, r); err != nil {
		e.t.Fatal(err)
	}
	for _, p := range perms {
		if err := e.srv.Store.AssignPermission(ctx, store.RolePermission{RoleUUID: r.UUID, Permission: p, ObjectPK: objectPK}); err != nil {
			e.t.Fatal(err)
		}
	}
	if err := e.srv.Store.SetUserRoles(ctx, userPK, []uuid.UUID{r.UUID}); err != nil {
		e.t.Fatal(err)
	}
}

// Renaming changes the name only and records model_updated; bad names are
// refused with the field named and nothing changed; deleting records
// model_deleted with the model.
func TestAuthenticatorsRenameDelete(t *testing.T) {
	e := newDeviceEnv(t)
	path := "/authenticators/totp/" + id(e.totp)
	before := e.stored(e.totp)
	var d apiDevice
	e.as(e.aliceTk, "PATCH", path, map[string]any{"name": "  work phone "}, http.StatusOK, &d)
	if d.Name != "work phone" || d.PK != e.totp {
		t.Errorf("after PATCH: %+v", d)
	}
	after := e.stored(e.totp)
	if after.Name != "work phone" || after.Counter != before.Counter || !after.Confirmed || after.UserPK != e.alice ||
		!cmp.Equal(after.Data, before.Data) {
		t.Errorf("stored after rename: %+v (before %+v)", after, before)
	}
	evs := e.events("model_updated", e.totp)
	if len(evs) != 1 {
		t.Fatalf("model_updated events: %v", evs)
	}
	ctx := evs[0]["context"].(map[string]any)
	wantModel := map[string]any{"app": "authentik_stages_authenticator_totp", "model_name": "totpdevice",
		"pk": float64(e.totp), "name": "work phone"}
	if diff := cmp.Diff(wantModel, ctx["model"]); diff != "" {
		t.Errorf("event model (-want +got):\n%s", diff)
	}
	wantDiff := map[string]any{"name": map[string]any{"previous_value": "phone", "new_value": "work phone"}}
	if diff := cmp.Diff(wantDiff, ctx["diff"]); diff != "" {
		t.Errorf("event diff (-want +got):\n%s", diff)
	}
	if u := evs[0]["user"].(map[string]any); u["username"] != "alice" {
		t.Errorf("event user = %v", u)
	}
	e.as(e.aliceTk, "PUT", path, map[string]any{"name": "phone 2"}, http.StatusOK, &d)
	if d.Name != "phone 2" {
		t.Errorf("after PUT: %+v", d)
	}
	// An empty PATCH changes nothing and records nothing.
	e.as(e.aliceTk, "PATCH", path, map[string]any{}, http.StatusOK, &d)
	if n := len(e.events("model_updated", e.totp)); n != 2 {
		t.Errorf("%d model_updated events after two renames and an empty PATCH", n)
	}

	for _, tc := range []struct {
		name, method string
		body         any
	}{
		{"empty", "PATCH", map[string]any{"name": ""}},
		{"blank", "PATCH", map[string]any{"name": "   "}},
		{"too long", "PATCH", map[string]any{"name": strings.Repeat("x", 65)}},
		{"NUL", "PATCH", map[string]any{"name": "a\x00b"}},
		{"not a string", "PATCH", map[string]any{"name": 5}},
		{"PUT without name", "PUT", map[string]any{}},
		{"malformed JSON", "PATCH", json.RawMessage(`{"name":`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got int
			var b []byte
			if raw, ok := tc.body.(json.RawMessage); ok {
				got, b = e.callRaw(e.aliceTk, tc.method, path, raw)
			} else {
				got, b = e.call(e.aliceTk, tc.method, path, tc.body)
			}
			if got != http.StatusBadRequest {
				t.Fatalf("%d, want 400: %s", got, b)
			}
			if tc.name != "malformed JSON" && !strings.Contains(string(b), `"name"`) {
				t.Errorf("the error does not name the field: %s", b)
			}
		})
	}
	if got := e.stored(e.totp); got.Name != "phone 2" {
		t.Errorf("name after refused renames: %q", got.Name)
	}
	if n := len(e.events("model_updated", e.totp)); n != 2 {
		t.Errorf("refused renames recorded events: %d", n)
	}

	// Delete: gone, with an event; the other devices stay.
	e.as(e.aliceTk, "DELETE", path, nil, http.StatusNoContent, nil)
	if e.stored(e.totp) != nil {
		t.Error("device still stored after DELETE")
	}
	e.as(e.aliceTk, "GET", path, nil, http.StatusNotFound, nil)
	e.as(e.aliceTk, "DELETE", path, nil, http.StatusNotFound, nil)
	evs = e.events("model_deleted", e.totp)
	if len(evs) != 1 {
		t.Fatalf("model_deleted events: %v", evs)
	}
	wantModel["name"] = "phone 2"
	if diff := cmp.Diff(wantModel, evs[0]["context"].(map[string]any)["model"]); diff != "" {
		t.Errorf("deleted event model (-want +got):\n%s", diff)
	}
	if e.stored(e.static) == nil || e.stored(e.bobTOTP) == nil {
		t.Error("deleting one device removed others")
	}
}

// The admin paths need the model's permissions: none is 403, a global view
// permission shows every device, object permissions show those objects.
func TestAuthenticatorsAdmin(t *testing.T) {
	e := newDeviceEnv(t)
	base := "/authenticators/admin/totp/"

	// alice holds no permission.
	for _, c := range []struct{ method, path string }{
		{"GET", base}, {"GET", base + id(e.bobTOTP)}, {"PATCH", base + id(e.bobTOTP)}, {"DELETE", base + id(e.bobTOTP)},
		{"GET", base + id(999999)}, {"GET", "/authenticators/admin/all/"}, {"GET", "/authenticators/admin/webauthn/"},
	} {
		var body any
		if c.method == "PATCH" {
			body = map[string]any{"name": "mine now"}
		}
		if got, b := e.call(e.aliceTk, c.method, c.path, body); got != http.StatusForbidden {
			t.Errorf("alice %s %s: %d, want 403: %s", c.method, c.path, got, b)
		}
	}
	if e.stored(e.bobTOTP).Name != "bob's phone" {
		t.Error("a refused admin call changed the device")
	}

	// The superuser sees every device, unconfirmed ones too, with filters.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"abandoned setup", "bob's phone", "phone"}},
		{"user=" + strconv.FormatInt(e.alice, 10), []string{"abandoned setup", "phone"}},
		{"name=phone", []string{"phone"}},
		{"search=PHONE&ordering=-name", []string{"phone", "bob's phone"}},
		{"ordering=-pk&page_size=1&page=2", []string{"abandoned setup"}},
		{"name=nothing", []string{}},
	} {
		var l deviceList
		e.as(apitest.AdminToken, "GET", base+"?"+tc.query, nil, http.StatusOK, &l)
		if diff := cmp.Diff(tc.want, names(l)); diff != "" {
			t.Errorf("admin list ?%s (-want +got):\n%s", tc.query, diff)
		}
	}
	var l deviceList
	e.as(apitest.AdminToken, "GET", base+"?page_size=2", nil, http.StatusOK, &l)
	if l.Pagination.Count != 3 || len(l.Results) != 2 {
		t.Errorf("paged list: count %d, %d results", l.Pagination.Count, len(l.Results))
	}
	e.badRequest("GET", base+"?ordering=secret", nil, "ordering")
	e.badRequest("GET", base+"?user=999999", nil, "user")
	e.badRequest("GET", "/authenticators/admin/all/?user=999999", nil, "user")
	if got, b := e.call(apitest.AdminToken, "GET", base+"?user=abc", nil); got != http.StatusBadRequest {
		t.Errorf("?user=abc: %d: %s", got, b)
	}
	var all []map[string]any
	e.as(apitest.AdminToken, "GET", "/authenticators/admin/all/?user="+strconv.FormatInt(e.alice, 10), nil, http.StatusOK, &all)
	if len(all) != 6 { // five confirmed and the abandoned TOTP setup
		t.Errorf("admin/all for alice: %d devices: %v", len(all), all)
	}
	e.as(apitest.AdminToken, "GET", "/authenticators/admin/all/", nil, http.StatusOK, &all)
	if len(all) != 7 {
		t.Errorf("admin/all: %d devices", len(all))
	}
	// Class and id must agree on the admin paths too.
	e.as(apitest.AdminToken, "GET", "/authenticators/admin/static/"+id(e.totp), nil, http.StatusNotFound, nil)

	// carol may view TOTP devices: she lists and reads them, cannot delete
	// them (403: she can see it), and sees no other class.
	var u struct {
		PK int64 `json:"pk"`
	}
	e.admin("POST", "/core/users/", map[string]any{"username": "carol", "name": "Carol"}, &u)
	carolTk := e.tokenFor(u.PK, "carol-token")
	e.grant(u.PK, "authentik_stages_authenticator_totp.view_totpdevice")
	e.as(carolTk, "GET", base, nil, http.StatusOK, &l)
	if l.Pagination.Count != 3 {
		t.Errorf("carol's admin list: %v", names(l))
	}
	e.as(carolTk, "GET", base+id(e.bobTOTP), nil, http.StatusOK, nil)
	e.as(carolTk, "DELETE", base+id(e.bobTOTP), nil, http.StatusForbidden, nil)
	e.as(carolTk, "GET", "/authenticators/admin/static/", nil, http.StatusForbidden, nil)
	e.as(carolTk, "GET", "/authenticators/admin/all/", nil, http.StatusOK, &all)
	if len(all) != 3 {
		t.Errorf("carol's admin/all: %v", all)
	}

	// dave holds permissions on bob's device only.
	e.admin("POST", "/core/users/", map[string]any{"username": "dave", "name": "Dave"}, &u)
	daveTk := e.tokenFor(u.PK, "dave-token")
	e.grantOn(u.PK, strconv.FormatInt(e.bobTOTP, 10), "authentik_stages_authenticator_totp.view_totpdevice",
		"authentik_stages_authenticator_totp.change_totpdevice", "authentik_stages_authenticator_totp.delete_totpdevice")
	e.as(daveTk, "GET", base, nil, http.StatusOK, &l)
	if diff := cmp.Diff([]string{"bob's phone"}, names(l)); diff != "" || l.Pagination.Count != 1 {
		t.Errorf("dave's admin list (-want +got):\n%s", diff)
	}
	e.as(daveTk, "GET", base+id(e.totp), nil, http.StatusNotFound, nil)
	e.as(daveTk, "DELETE", base+id(e.totp), nil, http.StatusNotFound, nil)
	var d apiDevice
	e.as(daveTk, "PATCH", base+id(e.bobTOTP), map[string]any{"name": "renamed by dave"}, http.StatusOK, &d)
	if d.Name != "renamed by dave" || d.User.PK != e.bob {
		t.Errorf("dave's rename: %+v", d)
	}
	e.as(daveTk, "DELETE", base+id(e.bobTOTP), nil, http.StatusNoContent, nil)
	if e.stored(e.bobTOTP) != nil || e.stored(e.totp) == nil {
		t.Error("dave's delete removed the wrong device")
	}
	if evs := e.events("model_deleted", e.bobTOTP); len(evs) != 1 ||
		evs[0]["user"].(map[string]any)["username"] != "dave" {
		t.Errorf("model_deleted events: %v", evs)
	}
}

// The stages a user can set up: configurable stages with a configure_flow.
func TestUserSettingsStages(t *testing.T) {
	e := newDeviceEnv(t)
	var flow struct {
		PK string `json:"pk"`
	}
	e.admin("POST", "/flows/instances/", map[string]any{"name": "Change password", "slug": "change-password",
		"title": "Change your password", "designation": "stage_configuration"}, &flow)
	var stage struct {
		PK string `json:"pk"`
	}
	e.admin("POST", "/stages/password/", map[string]any{"name": "a-password", "settings": map[string]any{
		"configure_flow": flow.PK}}, &stage)
	e.admin("POST", "/stages/password/", map[string]any{"name": "b-password-without-flow"}, nil)
	e.admin("POST", "/stages/password/", map[string]any{"name": "c-password-missing-flow", "settings": map[string]any{
		"configure_flow": "6f9c1f55-8f0e-4f57-9a0e-5d3c1b1e0f00"}}, nil)
	e.admin("POST", "/stages/dummy/", map[string]any{"name": "d-dummy", "settings": map[string]any{
		"configure_flow": flow.PK}}, nil)

	var totp, static struct {
		PK string `json:"pk"`
	}
	e.admin("POST", "/flows/instances/", map[string]any{"name": "Set up MFA", "slug": "setup-mfa",
		"title": "Set up MFA", "designation": "stage_configuration"}, &flow)
	e.admin("POST", "/stages/authenticator_totp/", map[string]any{"name": "e-totp", "settings": map[string]any{
		"configure_flow": flow.PK, "friendly_name": "Authenticator app", "digits": 6}}, &totp)
	e.admin("POST", "/stages/authenticator_static/", map[string]any{"name": "f-static", "settings": map[string]any{
		"configure_flow": flow.PK}}, &static)
	e.admin("POST", "/stages/authenticator_static/", map[string]any{"name": "g-static-without-flow"}, nil)

	var got []map[string]any
	e.as(e.aliceTk, "GET", "/stages/all/user_settings/", nil, http.StatusOK, &got)
	want := []map[string]any{
		{"object_uid": stage.PK, "component": "ak-user-settings-password", "title": "Password Stage",
			"configure_url": "/if/flow/change-password/"},
		{"object_uid": totp.PK, "component": "ak-user-settings-authenticator-totp", "title": "Authenticator app",
			"configure_url": "/if/flow/setup-mfa/"},
		{"object_uid": static.PK, "component": "ak-user-settings-authenticator-static", "title": "Static Authenticator Stage",
			"configure_url": "/if/flow/setup-mfa/"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("user_settings (-want +got):\n%s", diff)
	}
}

// makeDeviceFixtures adds one device of each class for akadmin (the user
// paths) and one for the conformance user (the admin paths: the two sets
// are deleted separately), and a stage a user can set up.
func (f *fixtures) makeDeviceFixtures(c *conformance) {
	c.t.Helper()
	ctx := context.Background()
	admin, err := c.srv.Store.UserByUsername(ctx, "akadmin")
	if err != nil {
		c.t.Fatal(err)
	}
	f.devices = map[string]string{}
	for _, typ := range store.DeviceTypes {
		for _, owner := range []struct {
			user   int64
			prefix string
			name   string
		}{
			{admin.PK, "/authenticators/" + typ + "/", "conformance " + typ},
			{f.user, "/authenticators/admin/" + typ + "/", "admin " + typ},
		} {
			d := &store.AuthenticatorDevice{UserPK: owner.user, Type: typ, Name: owner.name, Confirmed: true,
				Data: store.Attributes{"email": "conformance@example.com", "phone_number": "+15555550100",
					"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8"}}
			if typ == store.DeviceWebAuthn {
				d.CredentialID = "conformance-" + owner.name
				d.Data["device_type"] = "Conformance key"
			}
			if err := c.srv.Store.CreateDevice(ctx, d); err != nil {
				c.t.Fatal(err)
			}
			f.devices[owner.prefix] = strconv.FormatInt(d.PK, 10)
		}
	}
	var flow struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/flows/instances/", map[string]any{"name": "Conformance setup", "slug": "conformance-setup",
		"title": "Set up", "designation": "stage_configuration"}, &flow)
	c.admin("POST", "/stages/password/", map[string]any{"name": "conformance-password",
		"settings": map[string]any{"configure_flow": flow.PK}}, nil)
}

// addFuzzDevices gives akadmin a confirmed device of every class, so that
// fuzzed ids reach the rename and delete code.
func addFuzzDevices(f *testing.F, srv *apitest.Server) {
	f.Helper()
	ctx := context.Background()
	admin, err := srv.Store.UserByUsername(ctx, "akadmin")
	if err != nil {
		f.Fatal(err)
	}
	for _, typ := range store.DeviceTypes {
		d := &store.AuthenticatorDevice{UserPK: admin.PK, Type: typ, Name: "fuzz " + typ, Confirmed: true}
		if typ == store.DeviceWebAuthn {
			d.CredentialID = "fuzz"
		}
		if err := srv.Store.CreateDevice(ctx, d); err != nil {
			f.Fatal(err)
		}
	}
}

// racingStore runs use, once, right after the first device a transaction
// reads: a login consuming a code between the rename's read and its write.
type racingStore struct {
	store.Store
	once sync.Once
	use  func(ctx context.Context, tx store.Store)
}

// RenameDevice lets the use happen between the handler's read of the
// device and the rename's write.
func (r *racingStore) RenameDevice(ctx context.Context, pk int64, name string) error {
	r.once.Do(func() { r.use(ctx, r.Store) })
	return r.Store.RenameDevice(ctx, pk, name)
}

// A rename racing a use of the device keeps what the use wrote: a consumed
// recovery code stays consumed (the rename's whole-device write must not
// bring back the data it read before).
func TestAuthenticatorsRenameKeepsConcurrentUse(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	rs := &racingStore{Store: st}
	e := &oauth2Env{t: t, srv: apitest.NewWithStore(t, rs)}
	admin, err := st.UserByUsername(ctx, "akadmin")
	if err != nil {
		t.Fatal(err)
	}
	d := &store.AuthenticatorDevice{UserPK: admin.PK, Type: store.DeviceStatic, Name: "codes", Confirmed: true,
		Data: store.Attributes{"tokens": []any{"hash-1", "hash-2"}}}
	if err := st.CreateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	used := 0
	rs.use = func(ctx context.Context, tx store.Store) {
		cur, err := tx.Device(ctx, d.PK)
		if err != nil {
			t.Error(err)
			return
		}
		old := cur.Counter
		cur.Counter, cur.Data = old+1, store.Attributes{"tokens": []any{"hash-2"}}
		if ok, err := tx.SwapDevice(ctx, cur, old); !ok || err != nil {
			t.Errorf("the racing use did not write: %v %v", ok, err)
		}
		used++
	}
	var out apiDevice
	e.as(apitest.AdminToken, "PATCH", "/authenticators/static/"+id(d.PK), map[string]any{"name": "renamed"}, http.StatusOK, &out)
	got, err := st.Device(ctx, d.PK)
	if err != nil {
		t.Fatal(err)
	}
	if used != 1 || got.Name != "renamed" || got.Counter != 1 || !cmp.Equal(got.Data, store.Attributes{"tokens": []any{"hash-2"}}) {
		t.Errorf("after a rename racing a use (%d): name %q, counter %d, data %v", used, got.Name, got.Counter, got.Data)
	}
}
