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
	u := new(store.User)
	err := s.r.NewSelect().Model(u).Where("? = ?", bun.Ident(col), v).Limit(1).Scan(ctx)
	if err != nil {
		return nil, mapErr(objUser, err)
	}
	return u, nil
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

// ListUsers implements store.Users.
func (s *Store) ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error) {
	var users []*store.User
	q := s.r.NewSelect().Model(&users)
	if f.Search != "" {
		pat := like(f.Search)
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where(`LOWER(username) LIKE ? ESCAPE '\'`, pat).
				WhereOr(`LOWER(name) LIKE ? ESCAPE '\'`, pat).
				WhereOr(`LOWER(email) LIKE ? ESCAPE '\'`, pat)
		})
	}
	if f.IsActive != nil {
		q = q.Where("is_active = ?", *f.IsActive)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	off, lim := pageOf(f.Page)
	n, err := q.Order("username").Offset(off).Limit(lim).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, mapErr(objUser, err)
	}
	return users, int(n), nil
}
