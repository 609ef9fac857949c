package core_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

var ctx = context.Background()

func migrated(t *testing.T, open func() (*sqlstore.Store, error)) *sqlstore.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBootstrap(t *testing.T) {
	s := migrated(t, func() (*sqlstore.Store, error) {
		return sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	})
	opts := core.BootstrapOptions{Password: "s3cret-pass", Token: "bootstrap-token-0123456789", Email: "admin@example.com"}
	res, err := core.Bootstrap(ctx, s, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Brand || !res.Group || !res.User || !res.Token || !res.AdminHasPassword {
		t.Fatalf("first bootstrap created %+v, want everything", res)
	}
	admin, err := s.UserByUsername(ctx, core.AdminUsername)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := password.Verify("s3cret-pass", admin.PasswordHash); !ok || err != nil {
		t.Errorf("akadmin password does not verify: %v", err)
	}
	if admin.Email != "admin@example.com" || admin.PasswordChangeDate == nil {
		t.Errorf("akadmin = %+v", admin)
	}
	if su, err := s.UserIsSuperuser(ctx, admin.PK); !su || err != nil {
		t.Errorf("akadmin superuser = %v, %v", su, err)
	}
	tok, err := s.TokenByKeyHash(ctx, core.HashTokenKey("bootstrap-token-0123456789"))
	if err != nil || tok.UserPK != admin.PK || tok.Intent != store.IntentAPI || tok.Expiring {
		t.Errorf("bootstrap token = %+v, %v", tok, err)
	}

	// A restart, even with different settings, changes nothing.
	res, err = core.Bootstrap(ctx, s, core.BootstrapOptions{Password: "other", Token: "another-token-0123456789", Email: "x@y"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Brand || res.Group || res.User || res.Token {
		t.Errorf("second bootstrap created %+v", res)
	}
	again, _ := s.UserByUsername(ctx, core.AdminUsername)
	if again.PasswordHash != admin.PasswordHash || again.Email != admin.Email || !again.LastUpdated.Equal(admin.LastUpdated) {
		t.Error("second bootstrap changed akadmin")
	}
	if _, err := s.TokenByKeyHash(ctx, core.HashTokenKey("another-token-0123456789")); err == nil {
		t.Error("second bootstrap created a token with the new key")
	}
}

func TestBootstrapWithoutPassword(t *testing.T) {
	s := migrated(t, func() (*sqlstore.Store, error) {
		return sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	})
	res, err := core.Bootstrap(ctx, s, core.BootstrapOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.AdminHasPassword || res.Token {
		t.Errorf("res = %+v", res)
	}
	if _, err := s.TokenByIdentifier(ctx, core.BootstrapTokenID); err == nil {
		t.Error("token created without bootstrap_token")
	}
}

// Replicas bootstrapping one PostgreSQL database at once: all succeed, and
// exactly one of each object exists.
func TestBootstrapConcurrentPostgres(t *testing.T) {
	s := migrated(t, func() (*sqlstore.Store, error) {
		return sqlstore.OpenPostgres(ctx, testenv.PostgresDB(t), sqlstore.Options{})
	})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := core.Bootstrap(ctx, s, core.BootstrapOptions{Token: "bootstrap-token-0123456789"}, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent bootstrap: %v", err)
		}
	}
	users, n, err := s.ListUsers(ctx, store.UserFilter{})
	if err != nil || n != 1 || users[0].Username != core.AdminUsername {
		t.Errorf("users = %v (%d), %v", users, n, err)
	}
	brands, _ := s.ListBrands(ctx)
	if len(brands) != 1 {
		t.Errorf("brands = %d, want 1", len(brands))
	}
}
