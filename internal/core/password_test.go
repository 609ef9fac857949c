package core_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// A Django/authentik pbkdf2_sha256 hash (vector from internal/password's
// Python-generated set) verifies once, is upgraded to argon2id, and the new
// hash verifies the same password.
func TestCheckPasswordUpgradesDjangoHash(t *testing.T) {
	ctx := context.Background()
	s, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	const django = "pbkdf2_sha256$1000$saltysalt$7jHHAVi5mJ/av0navvdzuOiUFexKmMYBy14dvfNM/ds="
	u := &store.User{Username: "migrated", PasswordHash: django}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if ok, err := core.CheckPassword(ctx, s, u, "wrong", nil); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	stored, _ := s.UserByPK(ctx, u.PK)
	if stored.PasswordHash != django {
		t.Fatal("a failed login changed the hash")
	}
	if ok, err := core.CheckPassword(ctx, s, stored, "pässwörd ✓", nil); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	upgraded, _ := s.UserByPK(ctx, u.PK)
	if !strings.HasPrefix(upgraded.PasswordHash, "argon2$argon2id$") {
		t.Fatalf("hash not upgraded: %s", upgraded.PasswordHash)
	}
	if ok, _ := core.CheckPassword(ctx, s, upgraded, "pässwörd ✓", nil); !ok {
		t.Error("the upgraded hash does not verify")
	}
	if ok, _ := core.CheckPassword(ctx, s, nil, "x", nil); ok {
		t.Error("unknown user matched")
	}
	if ok, _ := core.CheckPassword(ctx, s, &store.User{PasswordHash: "!unusable"}, "x", nil); ok {
		t.Error("unusable password matched")
	}
}

// BenchmarkCheckPassword compares an unknown user, a wrong password and the
// right one: the first two must cost the same (one argon2id verification),
// so that identification with pretend_user_exists does not reveal by timing
// which usernames exist. Results are in docs/benchmarks.md.
func BenchmarkCheckPassword(b *testing.B) {
	h, err := password.Hash("the-right-password")
	if err != nil {
		b.Fatal(err)
	}
	u := &store.User{PK: 1, PasswordHash: h}
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		user *store.User
		pw   string
		want bool
	}{
		{"unknown_user", nil, "the-right-password", false},
		{"wrong_password", u, "a-wrong-password", false},
		{"right_password", u, "the-right-password", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				ok, err := core.CheckPassword(ctx, nil, bc.user, bc.pw, nil)
				if err != nil || ok != bc.want {
					b.Fatalf("CheckPassword = %v, %v; want %v", ok, err, bc.want)
				}
			}
		})
	}
}
