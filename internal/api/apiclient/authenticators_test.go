package apiclient_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api/apiclient"
	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The device endpoints through the generated client: the answers decode
// into its types (a null device_type included), renames and deletes work.
func TestGeneratedClientDevices(t *testing.T) {
	srv := apitest.New(t)
	ctx := context.Background()
	c := newClient(t, srv, apitest.AdminToken)
	admin, err := srv.Store.UserByUsername(ctx, "akadmin")
	if err != nil {
		t.Fatal(err)
	}
	devices := map[string]*store.AuthenticatorDevice{
		"totp":    {UserPK: admin.PK, Type: store.DeviceTOTP, Name: "phone", Confirmed: true},
		"known":   {UserPK: admin.PK, Type: store.DeviceWebAuthn, Name: "key", Confirmed: true, CredentialID: "c1", Data: store.Attributes{"aaguid": "ee882879-721c-4913-9775-3dfcce97072a"}},
		"unknown": {UserPK: admin.PK, Type: store.DeviceWebAuthn, Name: "other key", Confirmed: true, CredentialID: "c2"},
	}
	for _, d := range devices {
		if err := srv.Store.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}

	totp := do(c.AuthenticatorsTotpListWithResponse(ctx, &apiclient.AuthenticatorsTotpListParams{Name: ptr("phone")})).want(t, "totp list", http.StatusOK)
	if r := *totp.JSON200.Results; len(r) != 1 || r[0].Pk != devices["totp"].PK || r[0].User.Username != "akadmin" {
		t.Fatalf("totp list: %+v", totp.JSON200)
	}
	wa := do(c.AuthenticatorsWebauthnListWithResponse(ctx, &apiclient.AuthenticatorsWebauthnListParams{Ordering: ptr("name")})).want(t, "webauthn list", http.StatusOK)
	if r := *wa.JSON200.Results; len(r) != 2 || r[0].Name != "key" || r[0].DeviceType == nil || r[0].DeviceType.Description != "YubiKey 5 Series" ||
		r[1].DeviceType != nil || r[1].Aaguid != "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("webauthn list: %+v", wa.JSON200.Results)
	}
	all := do(c.AuthenticatorsAllListWithResponse(ctx)).want(t, "all", http.StatusOK)
	if len(*all.JSON200) != 3 || (*all.JSON200)[0].Type != "authentik_stages_authenticator_totp.TOTPDevice" {
		t.Fatalf("all: %+v", *all.JSON200)
	}
	adminAll := do(c.AuthenticatorsAdminAllListWithResponse(ctx, &apiclient.AuthenticatorsAdminAllListParams{User: ptr(admin.PK)})).want(t, "admin all", http.StatusOK)
	if len(*adminAll.JSON200) != 3 {
		t.Fatalf("admin all: %+v", *adminAll.JSON200)
	}

	renamed := do(c.AuthenticatorsTotpPartialUpdateWithResponse(ctx, devices["totp"].PK, apiclient.PatchedDeviceRequest{Name: ptr("work phone")})).want(t, "rename", http.StatusOK)
	if renamed.JSON200.Name != "work phone" {
		t.Errorf("rename: %+v", renamed.JSON200)
	}
	replaced := do(c.AuthenticatorsAdminWebauthnUpdateWithResponse(ctx, devices["known"].PK, apiclient.DeviceRequest{Name: "yubikey"})).want(t, "admin rename", http.StatusOK)
	if replaced.JSON200.Name != "yubikey" || replaced.JSON200.DeviceType == nil {
		t.Errorf("admin rename: %+v", replaced.JSON200)
	}
	do(c.AuthenticatorsTotpDestroyWithResponse(ctx, devices["totp"].PK)).want(t, "delete", http.StatusNoContent)
	do(c.AuthenticatorsTotpRetrieveWithResponse(ctx, devices["totp"].PK)).want(t, "deleted", http.StatusNotFound)
}
