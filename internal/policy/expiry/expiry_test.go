package expiry

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

type fakeStore struct{ updated []*store.User }

func (f *fakeStore) UpdateUser(_ context.Context, u *store.User) error {
	c := *u
	f.updated = append(f.updated, &c)
	return nil
}

func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	daysAgo := func(d int) *time.Time { t := now.Add(-time.Duration(d) * 24 * time.Hour); return &t }
	for _, tc := range []struct {
		name     string
		settings store.Attributes
		user     *store.User
		pass     bool
		message  string
		unusable bool // the password was made unusable and saved
	}{
		{"fresh", store.Attributes{"days": 30.0}, &store.User{PasswordHash: "h", PasswordChangeDate: daysAgo(29)}, true, "", false},
		{"expired", store.Attributes{"days": 30.0}, &store.User{PasswordHash: "h", PasswordChangeDate: daysAgo(32)}, false,
			"Password expired 2 days ago. Please update your password.", true},
		{"expired, deny only", store.Attributes{"days": 30.0, "deny_only": true}, &store.User{PasswordHash: "h", PasswordChangeDate: daysAgo(30)}, false,
			"Password has expired.", false},
		{"no change date: counts from joining", store.Attributes{"days": 30.0, "deny_only": true}, &store.User{PasswordHash: "h", DateJoined: *daysAgo(400)}, false,
			"Password has expired.", false},
		{"no password", store.Attributes{"days": 1.0}, &store.User{DateJoined: *daysAgo(400)}, true, "", false},
		{"no user", store.Attributes{"days": 1.0}, nil, true, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeStore{}
			e := Evaluator{Store: fs, Now: func() time.Time { return now }}
			res, err := e.Evaluate(context.Background(), &store.Policy{Settings: tc.settings}, policy.Request{User: tc.user})
			if err != nil {
				t.Fatal(err)
			}
			if res.Passing != tc.pass {
				t.Errorf("passing = %v, want %v", res.Passing, tc.pass)
			}
			if msg := ""; len(res.Messages) > 0 {
				msg = res.Messages[0]
				if msg != tc.message {
					t.Errorf("message = %q, want %q", msg, tc.message)
				}
			} else if tc.message != "" {
				t.Errorf("no message, want %q", tc.message)
			}
			if got := len(fs.updated) == 1 && fs.updated[0].PasswordHash == ""; got != tc.unusable {
				t.Errorf("password made unusable = %v (updates %d), want %v", got, len(fs.updated), tc.unusable)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, bad := range []store.Attributes{{}, {"days": 0.0}, {"days": 1.5}, {"days": "30"}, {"days": 30.0, "deny_only": "yes"}} {
		if Validate(bad) == nil {
			t.Errorf("Validate(%v) accepted", bad)
		}
	}
	if err := Validate(store.Attributes{"days": 90.0, "deny_only": true}); err != nil {
		t.Error(err)
	}
}
