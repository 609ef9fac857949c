package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/password"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Names of the objects Bootstrap creates (authentik's, with our name where
// authentik's says "authentik").
const (
	AdminUsername         = "akadmin"
	AdminGroupName        = "Gatehouse Admins"
	AdminDisplayName      = "Gatehouse Default Admin"
	DefaultBrandDomain    = "gatehouse-default"
	BootstrapTokenID      = "gatehouse-bootstrap-token"
	BootstrapTokenManaged = "goauthentik.io/token/bootstrap"
	InitialSetupFlowPath  = "/if/flow/initial-setup/"
	defaultBrandTitle     = "Gatehouse"
)

// BootstrapOptions are the bootstrap_* settings.
type BootstrapOptions struct {
	Password string
	Token    string
	Email    string
	Now      func() time.Time
}

// BootstrapResult says what Bootstrap created this time; on a restart every
// field is false.
type BootstrapResult struct {
	Brand, Group, User, Token bool
	// AdminHasPassword is false when akadmin cannot log in with a password yet.
	AdminHasPassword bool
}

// Bootstrap creates, in one transaction and only when missing, the default
// brand, the superuser group, akadmin in it (with bootstrap_password and
// bootstrap_email), and an API token whose key is bootstrap_token. Like
// authentik's bootstrap blueprint (state: created), it never changes an object
// that exists, so a restart, even with other bootstrap settings, is a no-op.
func Bootstrap(ctx context.Context, st store.Store, opts BootstrapOptions, log *slog.Logger) (BootstrapResult, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	// The password is hashed outside the transaction, and only when akadmin
	// is to be made: it takes tens of milliseconds, which every restart would
	// otherwise pay.
	var (
		hash string
		res  BootstrapResult
		err  error
	)
	// Replicas starting together race to create the same objects: the loser's
	// transaction fails with a conflict, and its next attempt finds them.
	for attempt := 0; attempt < 4; attempt++ {
		res, err = bootstrapOnce(ctx, st, opts, hash, now)
		if errors.Is(err, errNeedHash) {
			if hash, err = password.Hash(opts.Password); err != nil {
				break
			}
			continue
		}
		if !errors.Is(err, store.ErrConflict) {
			break
		}
	}
	if err != nil {
		return res, fmt.Errorf("bootstrap: %w", err)
	}
	if log != nil {
		log.Info("bootstrap checked", "created_brand", res.Brand, "created_group", res.Group,
			"created_user", res.User, "created_token", res.Token)
	}
	return res, nil
}

func bootstrapOnce(ctx context.Context, st store.Store, opts BootstrapOptions, hash string, now func() time.Time) (BootstrapResult, error) {
	var res BootstrapResult
	err := st.InTx(ctx, func(tx store.Store) error {
		res = BootstrapResult{}
		created, err := ensureDefaultBrand(ctx, tx)
		if err != nil {
			return err
		}
		res.Brand = created

		group, err := tx.GroupByName(ctx, AdminGroupName)
		if errors.Is(err, store.ErrNotFound) {
			group = &store.Group{Name: AdminGroupName, IsSuperuser: true}
			if err := tx.CreateGroup(ctx, group); err != nil {
				return fmt.Errorf("create admin group: %w", err)
			}
			res.Group = true
		} else if err != nil {
			return err
		}

		admin, err := tx.UserByUsername(ctx, AdminUsername)
		if errors.Is(err, store.ErrNotFound) {
			if opts.Password != "" && hash == "" {
				return errNeedHash
			}
			admin = &store.User{
				Username: AdminUsername, Name: AdminDisplayName, Email: opts.Email,
				IsActive: true, Type: store.UserInternal, PasswordHash: hash,
			}
			if hash != "" {
				t := now().UTC()
				admin.PasswordChangeDate = &t
			}
			if err := tx.CreateUser(ctx, admin); err != nil {
				return fmt.Errorf("create %s: %w", AdminUsername, err)
			}
			if err := tx.AddGroupMember(ctx, group.UUID, admin.PK); err != nil {
				return fmt.Errorf("add %s to %s: %w", AdminUsername, AdminGroupName, err)
			}
			res.User = true
		} else if err != nil {
			return err
		}
		res.AdminHasPassword = admin.PasswordHash != ""

		if opts.Token == "" {
			return nil
		}
		_, err = tx.TokenByIdentifier(ctx, BootstrapTokenID)
		if errors.Is(err, store.ErrNotFound) {
			tok := &store.Token{
				Identifier: BootstrapTokenID, KeyHash: HashTokenKey(opts.Token), Intent: store.IntentAPI,
				UserPK: admin.PK, Description: "Bootstrap token (bootstrap_token)", Expiring: false,
				Managed: BootstrapTokenManaged,
			}
			if err := tx.CreateToken(ctx, tok); err != nil {
				return fmt.Errorf("create bootstrap token: %w", err)
			}
			res.Token = true
			return nil
		}
		return err
	})
	return res, err
}

func ensureDefaultBrand(ctx context.Context, tx store.Store) (bool, error) {
	brands, err := tx.ListBrands(ctx)
	if err != nil {
		return false, err
	}
	for _, b := range brands {
		// A default brand exists, or an admin has taken the default domain
		// for a brand that is no longer the default: leave both alone.
		if b.Default || b.Domain == DefaultBrandDomain {
			return false, nil
		}
	}
	b := &store.Brand{Domain: DefaultBrandDomain, Default: true, BrandingTitle: defaultBrandTitle}
	if err := tx.CreateBrand(ctx, b); err != nil {
		return false, fmt.Errorf("create default brand: %w", err)
	}
	return true, nil
}

var errNeedHash = errors.New("bootstrap: password hash needed")
