// Package userwrite is authentik's user_write stage: it writes the plan's
// prompt data onto the pending user, or creates the user.
package userwrite

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "user_write"
	ModelName = "authentik_stages_user_write.userwritestage"
)

// Settings are authentik's user_write fields.
type Settings struct {
	UserCreationMode      string     `json:"user_creation_mode"`
	CreateUsersAsInactive bool       `json:"create_users_as_inactive"`
	CreateUsersGroup      *uuid.UUID `json:"create_users_group"`
	UserType              string     `json:"user_type"`
	UserPathTemplate      string     `json:"user_path_template"`
}

// Stage implements flow.Stage.
type Stage struct{ s Settings }

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{UserCreationMode: "create_when_required", UserType: "external", UserPathTemplate: "users"}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	switch s.UserCreationMode {
	case "never_create", "create_when_required", "always_create":
	default:
		return nil, fmt.Errorf("user_write: user_creation_mode %q is not never_create, create_when_required or always_create", s.UserCreationMode)
	}
	if !store.UserType(s.UserType).Valid() {
		return nil, fmt.Errorf("user_write: user_type %q is not valid", s.UserType)
	}
	return &Stage{s: s}, nil
}

// Enter writes the user, in one transaction.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	data := r.Plan.Context.PromptData
	u, err := r.PendingUser(ctx)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil && r.User != nil && st.s.UserCreationMode != "always_create" {
		// authentik: the pending user defaults to the signed-in user (a
		// settings or password-change flow).
		u = r.User
	}
	create := u == nil || st.s.UserCreationMode == "always_create"
	if create && st.s.UserCreationMode == "never_create" {
		return flow.Step{Deny: "No user to update."}, nil
	}
	if create {
		u = &store.User{IsActive: !st.s.CreateUsersAsInactive, Type: store.UserType(st.s.UserType),
			Path: st.s.UserPathTemplate, Attributes: store.Attributes{}}
	}
	for k, v := range data {
		s, _ := v.(string)
		switch {
		case k == "username" && s != "":
			u.Username = s
		case k == "email":
			u.Email = s
		case k == "name":
			u.Name = s
		case k == "password" && s != "":
			h, err := password.Hash(s)
			if err != nil {
				return flow.Step{}, err
			}
			now := r.Now()
			u.PasswordHash, u.PasswordChangeDate = h, &now
		case strings.HasPrefix(k, "attributes."):
			if u.Attributes == nil {
				u.Attributes = store.Attributes{}
			}
			setPath(u.Attributes, strings.Split(strings.TrimPrefix(k, "attributes."), "."), v)
		}
	}
	if u.Username == "" {
		return flow.Step{Deny: "No username given."}, nil
	}
	err = r.Store().InTx(ctx, func(tx store.Store) error {
		if create {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if st.s.CreateUsersGroup != nil {
				return tx.AddGroupMember(ctx, *st.s.CreateUsersGroup, u.PK)
			}
			return nil
		}
		return tx.UpdateUser(ctx, u)
	})
	if errors.Is(err, store.ErrConflict) {
		return flow.Step{Deny: "A user with this username already exists."}, nil
	} else if err != nil {
		return flow.Step{}, err
	}
	pk := u.PK
	r.Plan.Context.PendingUserPK = &pk
	r.Executor.Events.Record(ctx, r.Request, "user_write", u, map[string]any{"created": create})
	return flow.Step{Done: true}, nil
}

// Submit is never called: the stage has no challenge.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	return st.Enter(ctx, r)
}

// setPath sets attrs[a][b]... = v for "attributes.a.b" (authentik writes
// dotted prompt keys into nested attributes), replacing a non-object on
// the way.
func setPath(attrs map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := attrs[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			attrs[k] = next
		}
		attrs = next
	}
	attrs[path[len(path)-1]] = v
}
