// Package expiry is authentik's password expiry policy: a user whose
// password was last changed at least `days` days ago fails it. With
// deny_only the policy only fails; otherwise it also makes the password
// unusable, so the user has to set a new one (through a recovery flow) before
// a password login works again.
package expiry

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "password_expiry"
	ModelName = "authentik_policies_expiry.passwordexpirypolicy"
)

// Store is what the policy writes when it expires a password.
type Store interface {
	UpdateUser(ctx context.Context, u *store.User) error
}

// Evaluator implements policy.Evaluator. Now may be nil (time.Now).
type Evaluator struct {
	Store Store
	Now   func() time.Time
}

var _ policy.Evaluator = Evaluator{}

type settings struct {
	days     int
	denyOnly bool
}

func parse(s store.Attributes) (settings, error) {
	var out settings
	f, ok := s["days"].(float64)
	if !ok || f != float64(int(f)) || f < 1 || f > 36500 {
		return out, fmt.Errorf("days must be a whole number of days between 1 and 36500")
	}
	out.days = int(f)
	if v, ok := s["deny_only"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return out, fmt.Errorf("deny_only must be true or false")
		}
		out.denyOnly = b
	}
	return out, nil
}

// Validate checks settings at save time.
func Validate(s store.Attributes) error { _, err := parse(s); return err }

// Evaluate checks the request's user. A request without a user, or a user
// without a password, passes: there is nothing to expire. A user whose
// change date is unknown (created before it was recorded) counts from the
// day they joined.
func (e Evaluator) Evaluate(ctx context.Context, p *store.Policy, req policy.Request) (policy.Result, error) {
	st, err := parse(p.Settings)
	if err != nil {
		return policy.Result{}, err
	}
	u := req.User
	if u == nil || u.PasswordHash == "" {
		return policy.Result{Passing: true}, nil
	}
	changed := u.DateJoined
	if u.PasswordChangeDate != nil {
		changed = *u.PasswordChangeDate
	}
	now := time.Now()
	if e.Now != nil {
		now = e.Now()
	}
	age := int(now.Sub(changed) / (24 * time.Hour))
	if age < st.days {
		return policy.Result{Passing: true}, nil
	}
	if st.denyOnly {
		return policy.Result{Messages: []string{"Password has expired."}}, nil
	}
	u.PasswordHash = ""
	if err := e.Store.UpdateUser(ctx, u); err != nil {
		return policy.Result{}, fmt.Errorf("password_expiry: %w", err)
	}
	return policy.Result{Messages: []string{fmt.Sprintf("Password expired %d days ago. Please update your password.", age-st.days)}}, nil
}
