package expression_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/policy/expression"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// ak_user_has_authenticator reads the store: confirmed devices only, of
// one class when device_type is given, never another user's.
func TestUserHasAuthenticator(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	user := func(name string) *store.User {
		u := &store.User{Username: name, IsActive: true, Type: store.UserInternal, Path: "users"}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	alice, bob, carol := user("alice"), user("bob"), user("carol")
	for _, d := range []*store.AuthenticatorDevice{
		{UserPK: alice.PK, Type: store.DeviceTOTP, Name: "phone", Confirmed: true},
		{UserPK: alice.PK, Type: store.DeviceWebAuthn, Name: "half set up", Confirmed: false, CredentialID: "cred-a"},
		{UserPK: bob.PK, Type: store.DeviceStatic, Name: "codes", Confirmed: true},
		{UserPK: carol.PK, Type: store.DeviceEmail, Name: "unconfirmed", Confirmed: false},
	} {
		if err := st.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	e := &expression.Evaluator{Store: st}
	for _, tc := range []struct {
		name string
		user *store.User
		src  string
		want bool
	}{
		{"any device", alice, "return ak_user_has_authenticator(request.user)", true},
		{"of the type", alice, `return ak_user_has_authenticator(request.user, "totp")`, true},
		{"keyword argument", alice, `return ak_user_has_authenticator(request.user, device_type="totp")`, true},
		{"None is any type", alice, "return ak_user_has_authenticator(request.user, None)", true},
		{"unconfirmed does not count", alice, `return ak_user_has_authenticator(request.user, "webauthn")`, false},
		{"other type", alice, `return ak_user_has_authenticator(request.user, "static")`, false},
		{"unknown type", alice, `return ak_user_has_authenticator(request.user, "duo")`, false},
		{"another user's devices do not count", bob, `return ak_user_has_authenticator(request.user, "totp")`, false},
		{"bob's own", bob, `return ak_user_has_authenticator(request.user, "static")`, true},
		{"only unconfirmed devices", carol, "return ak_user_has_authenticator(request.user)", false},
		{"anonymous", nil, "return ak_user_has_authenticator(request.user)", false},
		{"a user not saved yet", &store.User{Username: "pending"}, "return ak_user_has_authenticator(request.user)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := e.Evaluate(ctx, &store.Policy{Type: expression.Type, Settings: store.Attributes{"expression": tc.src}},
				policy.Request{User: tc.user})
			if err != nil {
				t.Fatal(err)
			}
			if res.Passing != tc.want {
				t.Errorf("%s for %v: %v, want %v", tc.src, tc.user, res.Passing, tc.want)
			}
		})
	}
}
