package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func testAuthenticators(t *testing.T, s store.Store) {
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	totp := &store.AuthenticatorDevice{UserPK: alice.PK, Type: store.DeviceTOTP, Name: "phone",
		Data: store.Attributes{"digits": float64(6)}}
	if err := s.CreateDevice(ctx, totp); err != nil {
		t.Fatal(err)
	}
	if totp.PK == 0 || totp.Created.IsZero() || totp.Confirmed {
		t.Fatalf("created = %+v", totp)
	}
	// Two non-WebAuthn devices have no credential ID: no conflict.
	static := &store.AuthenticatorDevice{UserPK: alice.PK, Type: store.DeviceStatic, Name: "codes", Confirmed: true}
	wa := &store.AuthenticatorDevice{UserPK: bob.PK, Type: store.DeviceWebAuthn, Name: "key", Confirmed: true, CredentialID: "cred-1"}
	for _, d := range []*store.AuthenticatorDevice{static, wa} {
		if err := s.CreateDevice(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.CreateDevice(ctx, &store.AuthenticatorDevice{UserPK: alice.PK, Type: store.DeviceWebAuthn, CredentialID: "cred-1"}),
		store.ErrConflict, "duplicate credential")
	got, err := s.DeviceByCredentialID(ctx, "cred-1")
	if err != nil || got.PK != wa.PK || got.UserPK != bob.PK {
		t.Fatalf("DeviceByCredentialID = %+v %v", got, err)
	}
	_, err = s.DeviceByCredentialID(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, "unknown credential")

	list, n, err := s.ListDevices(ctx, store.DeviceFilter{UserPK: alice.PK})
	if err != nil || n != 2 || len(list) != 2 {
		t.Fatalf("alice's devices = %d %v", n, err)
	}
	list, n, _ = s.ListDevices(ctx, store.DeviceFilter{UserPK: alice.PK, ConfirmedOnly: true})
	if n != 1 || list[0].PK != static.PK {
		t.Errorf("confirmed = %d", n)
	}
	if mine, err := s.UserDevices(ctx, alice.PK); err != nil || len(mine) != 1 || mine[0].PK != static.PK ||
		mine[0].Type != store.DeviceStatic || mine[0].Name != "codes" || !mine[0].Confirmed {
		t.Errorf("UserDevices(alice) = %+v %v", mine, err)
	}
	list, _, _ = s.ListDevices(ctx, store.DeviceFilter{Type: store.DeviceWebAuthn})
	if len(list) != 1 || list[0].PK != wa.PK {
		t.Errorf("webauthn devices = %v", list)
	}
	_, _, err = s.ListDevices(ctx, store.DeviceFilter{Ordering: "secret"})
	wantErr(t, err, store.ErrInvalid, "bad ordering")

	totp.Confirmed, totp.Name = true, "my phone"
	totp.Counter = 99 // not written by UpdateDevice
	if err := s.UpdateDevice(ctx, totp); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Device(ctx, totp.PK)
	if !got.Confirmed || got.Name != "my phone" || got.Counter != 0 || got.Data["digits"] != float64(6) {
		t.Errorf("after update = %+v", got)
	}

	// Compare-and-swap: of many concurrent swaps from the same counter,
	// exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := *got
			d.Counter = int64(100 + i)
			now := time.Now()
			d.LastUsed = &now
			ok, err := s.SwapDevice(ctx, &d, 0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d swaps won, want 1", wins.Load())
	}
	got, _ = s.Device(ctx, totp.PK)
	if got.Counter < 100 || got.LastUsed == nil {
		t.Errorf("after swap = %+v", got)
	}
	if ok, err := s.SwapDevice(ctx, got, 0); ok || err != nil {
		t.Errorf("stale swap = %v %v", ok, err)
	}
	// UserDevices is ListDevices of the user's confirmed devices by
	// -last_used (where a never used device goes is the dialect's: last on
	// SQLite, first on PostgreSQL, the same in both).
	want, _, _ := s.ListDevices(ctx, store.DeviceFilter{UserPK: alice.PK, ConfirmedOnly: true, Ordering: "-last_used"})
	mine, err := s.UserDevices(ctx, alice.PK)
	if err != nil || len(mine) != 2 {
		t.Errorf("UserDevices(alice) = %+v %v", mine, err)
	} else if diff := cmp.Diff(want, mine); diff != "" {
		t.Errorf("UserDevices differs from ListDevices (-want +got):\n%s", diff)
	}

	// A rename writes the name only: the swapped counter and data stay.
	if err := s.RenameDevice(ctx, totp.PK, "renamed"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Device(ctx, totp.PK); r.Name != "renamed" || r.Counter != got.Counter || r.LastUsed == nil {
		t.Errorf("after rename = %+v", r)
	}
	wantErr(t, s.RenameDevice(ctx, 1<<40, "x"), store.ErrNotFound, "rename of a missing device")

	if err := s.DeleteDevice(ctx, static.PK); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteDevice(ctx, static.PK), store.ErrNotFound, "delete twice")
	// Deleting the user deletes their devices.
	if err := s.DeleteUser(ctx, bob.PK); err != nil {
		t.Fatal(err)
	}
	_, err = s.Device(ctx, wa.PK)
	wantErr(t, err, store.ErrNotFound, "device of a deleted user")
}
