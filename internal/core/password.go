package core

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/gatehouse-idp/gatehouse/internal/password"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// dummyHash is verified for unknown users so that "no such user" takes as
// long as "wrong password" (no username enumeration by timing). It is made
// on first use: hashing at start-up would cost every process 20 ms and 19 MiB.
var dummyHash = sync.OnceValue(func() string {
	h, _ := password.Hash("gatehouse-dummy-password")
	return h
})

// CheckPassword verifies pw for u. When it matches a hash that is not
// argon2id at the current parameters (a Django pbkdf2/bcrypt/argon2 hash
// imported from authentik, or older parameters), the hash is replaced by a
// fresh argon2id one: the upgrade-on-login of Django's hashers. A user
// without a usable password never matches. u may be nil (unknown user).
func CheckPassword(ctx context.Context, st store.Users, u *store.User, pw string, log *slog.Logger) (bool, error) {
	if u == nil || u.PasswordHash == "" {
		_, _, _ = password.Verify(pw, dummyHash())
		return false, nil
	}
	ok, rehash, err := password.Verify(pw, u.PasswordHash)
	if err != nil {
		return false, fmt.Errorf("user %d has an unreadable password hash: %w", u.PK, err)
	}
	if !ok || !rehash {
		return ok, nil
	}
	h, err := password.Hash(pw)
	if err != nil {
		return true, err
	}
	u.PasswordHash = h
	if err := st.UpdateUser(ctx, u); err != nil {
		// The login itself succeeded; the upgrade is retried next time.
		if log != nil {
			log.Warn("could not upgrade a password hash", "user", u.PK, "error", err)
		}
		return true, nil
	}
	if log != nil {
		log.Info("upgraded a password hash to argon2id", "user", u.PK)
	}
	return true, nil
}
