package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// fuzzPaths are the API's routes; "{}" is replaced by fuzzed input.
var fuzzPaths = []string{
	"/core/users/", "/core/users/{}/", "/core/users/{}/set_password/", "/core/users/{}/recovery/", "/core/users/{}/recovery_email/", "/core/users/service_account/",
	"/core/groups/", "/core/groups/{}/", "/core/tokens/", "/core/tokens/{}/", "/core/tokens/{}/view_key/",
	"/core/brands/", "/core/brands/{}/", "/core/applications/", "/core/applications/{}/",
	"/core/applications/{}/check_access/", "/core/applications/{}/set_icon/", "/core/applications/{}/set_icon_url/",
	"/flows/instances/{}/set_background/", "/flows/instances/{}/set_background_url/", "/rbac/roles/", "/rbac/roles/{}/",
	"/rbac/permissions/assigned_by_roles/{}/assign/", "/crypto/certificatekeypairs/",
	"/crypto/certificatekeypairs/generate/", "/crypto/certificatekeypairs/{}/", "/events/events/", "/events/events/volume/",
	"/admin/settings/", "/providers/all/{}/",
	"/flows/instances/", "/flows/instances/{}/", "/flows/instances/{}/diagram/", "/flows/instances/{}/export/", "/flows/instances/import/", "/managed/blueprints/import/", "/flows/bindings/", "/flows/bindings/{}/",
	"/stages/all/", "/stages/all/{}/", "/stages/{}/", "/stages/invitation/invitations/", "/stages/invitation/invitations/{}/",
	"/policies/all/", "/policies/all/{}/", "/policies/all/{}/test/", "/policies/{}/", "/policies/bindings/", "/policies/bindings/{}/",
	"/providers/oauth2/", "/providers/oauth2/{}/", "/providers/oauth2/{}/setup_urls/",
	"/propertymappings/all/", "/propertymappings/all/{}/", "/propertymappings/provider/scope/", "/propertymappings/provider/scope/{}/",
	"/oauth2/authorization_codes/", "/oauth2/authorization_codes/{}/", "/oauth2/access_tokens/", "/oauth2/access_tokens/{}/",
	"/oauth2/refresh_tokens/", "/oauth2/refresh_tokens/{}/",
	"/managed/blueprints/", "/managed/blueprints/{}/", "/managed/blueprints/{}/apply/", "/managed/blueprints/available/",
	"/tasks/tasks/", "/tasks/tasks/{}/", "/tasks/schedules/", "/tasks/schedules/{}/", "/tasks/schedules/{}/send/", "/tasks/workers/",
	"/authenticators/all/", "/authenticators/admin/all/", "/stages/all/user_settings/",
	"/core/authenticated_sessions/", "/core/authenticated_sessions/{}/", "/core/user_consent/", "/core/user_consent/{}/",
	"/authenticators/totp/", "/authenticators/totp/{}/", "/authenticators/static/", "/authenticators/static/{}/",
	"/authenticators/webauthn/", "/authenticators/webauthn/{}/", "/authenticators/email/", "/authenticators/email/{}/",
	"/authenticators/sms/", "/authenticators/sms/{}/",
	"/authenticators/admin/totp/", "/authenticators/admin/totp/{}/", "/authenticators/admin/static/", "/authenticators/admin/static/{}/",
	"/authenticators/admin/webauthn/", "/authenticators/admin/webauthn/{}/", "/authenticators/admin/email/", "/authenticators/admin/email/{}/",
	"/authenticators/admin/sms/", "/authenticators/admin/sms/{}/",
	"/events/rules/", "/events/rules/{}/", "/events/transports/", "/events/transports/{}/", "/events/transports/{}/test/",
	"/events/notifications/", "/events/notifications/{}/", "/events/notifications/mark_all_seen/",
	"/propertymappings/notification/", "/propertymappings/notification/{}/",
}

var fuzzMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE"}

// FuzzAPI sends malformed bodies, query strings (filters, ordering, paging)
// and ids to every route as the admin: nothing may answer 5xx, and a
// refused (4xx) request must not change anything (no event written).
func FuzzAPI(f *testing.F) {
	f.Add(uint8(1), uint8(0), "", `{"username":"x","name":"y"}`, "")
	f.Add(uint8(0), uint8(0), "ordering=-username,name&search=%25&page=2&page_size=3", "", "")
	f.Add(uint8(3), uint8(1), "", `{"groups":["not-a-uuid"],"attributes":[]}`, "1")
	f.Add(uint8(1), uint8(18), "", `{"common_name":"x","validity_days":0}`, "")
	f.Add(uint8(2), uint8(21), "", `{"event_retention":"days=-1"}`, "")
	f.Add(uint8(0), uint8(20), "action=login&username=%00&ordering=user", "", "")
	f.Add(uint8(1), uint8(16), "", `{"permissions":["authentik_core.view_user"],"object_pk":"1"}`, "00000000-0000-0000-0000-000000000000")
	device := uint8(slices.Index(fuzzPaths, "/authenticators/totp/{}/"))
	f.Add(uint8(3), device, "", `{"name":"a\u0000b"}`, "1")
	f.Add(uint8(2), device, "", `{"name":`, "99999999999999999999")
	f.Add(uint8(0), uint8(slices.Index(fuzzPaths, "/authenticators/admin/totp/")), "user=abc&ordering=-nope&name=%00", "", "")
	srv := apitest.New(f)
	addFuzzDevices(f, srv)
	ctx := context.Background()
	events := func() int {
		_, n, err := srv.Store.ListEvents(ctx, store.EventFilter{})
		if err != nil {
			f.Fatal(err)
		}
		return n
	}
	f.Fuzz(func(t *testing.T, m, p uint8, query, body, id string) {
		path := strings.ReplaceAll(fuzzPaths[int(p)%len(fuzzPaths)], "{}", url.PathEscape(id))
		method := fuzzMethods[int(m)%len(fuzzMethods)]
		req, err := http.NewRequest(method, srv.URL+"/api/v3"+path, bytes.NewReader([]byte(body)))
		if err != nil {
			return
		}
		req.URL.RawQuery = query
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apitest.AdminToken)
		before := events()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // a request the client cannot even send (control characters)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s?%s body %q: %d %s", method, path, query, body, resp.StatusCode, raw)
		}
		if resp.StatusCode >= 400 && events() != before {
			t.Fatalf("%s %s?%s body %q: refused with %d but wrote an event", method, path, query, body, resp.StatusCode)
		}
	})
}
