package sqlstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objUser = "user"

// CreateUser implements store.Users.
func (s *Store) CreateUser(ctx context.Context, u *store.User) error {
	if u.UUID == uuid.Nil {
		u.UUID = uuid.Must(uuid.NewV7())
	}
	if u.Type == "" {
		u.Type = store.UserInternal
	}
	if !u.Type.Valid() {
		return fmt.Errorf("user type %q: %w", u.Type, store.ErrInvalid)
	}
	if u.Path == "" {
		u.Path = "users"
	}
	if u.Attributes == nil {
		u.Attributes = store.Attributes{}
	}
	now := s.eng.now()
	if u.DateJoined.IsZero() {
		u.DateJoined = now
	}
	u.LastUpdated = now
	_, err := s.w.NewInsert().Model(u).ExcludeColumn("pk").Returning("pk").Exec(ctx)
	return mapErr(objUser, err)
}

func (s *Store) userWhere(ctx context.Context, col string, v any) (*store.User, error) {
	return getBy[store.User](ctx, s.r, objUser, "? = ?", bun.Ident(col), v)
}

// UserByPK implements store.Users.
func (s *Store) UserByPK(ctx context.Context, pk int64) (*store.User, error) {
	return s.userWhere(ctx, "pk", pk)
}

// UserByUUID implements store.Users.
func (s *Store) UserByUUID(ctx context.Context, id uuid.UUID) (*store.User, error) {
	return s.userWhere(ctx, "uuid", id)
}

// UserByUsername implements store.Users.
func (s *Store) UserByUsername(ctx context.Context, username string) (*store.User, error) {
	return s.userWhere(ctx, "username", username)
}

// UpdateUser implements store.Users.
func (s *Store) UpdateUser(ctx context.Context, u *store.User) error {
	if !u.Type.Valid() {
		return fmt.Errorf("user type %q: %w", u.Type, store.ErrInvalid)
	}
	if u.Attributes == nil {
		u.Attributes = store.Attributes{}
	}
	u.LastUpdated = s.eng.now()
	res, err := s.w.NewUpdate().Model(u).ExcludeColumn("pk", "uuid", "date_joined").WherePK().Exec(ctx)
	return affected(objUser, res, err)
}

// DeleteUser implements store.Users.
func (s *Store) DeleteUser(ctx context.Context, pk int64) error {
	res, err := s.w.NewDelete().Model((*store.User)(nil)).Where("pk = ?", pk).Exec(ctx)
	return affected(objUser, res, err)
}

var userOrdering = map[string]string{
	"pk": "pk", "username": "username", "name": "name", "email": "email",
	"is_active": "is_active", "last_login": "last_login", "date_joined": "date_joined", "type": "type",
}

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error) {
	order, err := orderClause(objUser, f.Ordering, "username", userOrdering)
	if err != nil {
		return nil, 0, err
	}
	var users []*store.User
	q := searchAny(s.r.NewSelect().Model(&users), f.Search, "username", "name", "email")
	if f.Username != "" {
		q = q.Where("username = ?", f.Username)
	}
	if f.Email != "" {
		q = q.Where("email = ?", f.Email)
	}
	if f.Path != "" {
		q = q.Where("path = ?", f.Path)
	}
	if f.IsActive != nil {
		q = q.Where("is_active = ?", *f.IsActive)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	n, err := listPage(ctx, restrict(q, "pk", f.Only), objUser, order+", pk ASC", f.Page)
	return users, n, err
}
