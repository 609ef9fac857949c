package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
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

const userColumns = `pk, uuid, username, name, email, is_active, type, path, attributes, password_hash,
	password_change_date, last_login, date_joined, last_updated`

func (s *Store) userWhere(ctx context.Context, col string, v any) (*store.User, error) {
	// col is one of three constants below, never request input.
	return one[store.User](ctx, s, objUser, "SELECT "+userColumns+" FROM users WHERE "+col+" = ?", v)
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

// SetLastLogin implements store.Users. It writes one column, so the user
// search index (its trigger watches username, name and email) is left alone.
func (s *Store) SetLastLogin(ctx context.Context, pk int64, at time.Time) error {
	res, err := s.execPrepared(ctx, "UPDATE users SET last_login = ? WHERE pk = ?", s.timeArg(at), pk)
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
	q, err := s.searchUsers(ctx, s.r.NewSelect().Model(&users), f.Search)
	if err != nil {
		return nil, 0, err
	}
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

// denseSearch is where a trigram-index search stops paying: past this many
// candidates a scan in username order (which stops at the page) is cheaper.
const denseSearch = 20000

// searchUsers adds the ?search= filter: a case-insensitive substring match on
// username, name or email. On PostgreSQL, ILIKE served by pg_trgm indexes; on
// SQLite, the FTS5 trigram index for selective terms of 3+ characters, else
// LIKE (case-insensitive for ASCII in SQLite).
func (s *Store) searchUsers(ctx context.Context, q *bun.SelectQuery, search string) (*bun.SelectQuery, error) {
	if search == "" {
		return q, nil
	}
	pat := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(search) + "%"
	if s.eng.dialect == dialect.PG {
		return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			// No ESCAPE clause: backslash is PostgreSQL's default escape, and
			// an explicit ESCAPE keeps pg_trgm from using its indexes.
			return q.Where(`username ILIKE ?`, pat).WhereOr(`name ILIKE ?`, pat).WhereOr(`email ILIKE ?`, pat)
		}), nil
	}
	if utf8.RuneCountInString(search) >= 3 {
		phrase := `"` + strings.ReplaceAll(search, `"`, `""`) + `"`
		var n []int
		err := s.queryPrepared(ctx, &n, `SELECT COUNT(*) FROM (SELECT rowid FROM users_search
			WHERE users_search MATCH ? LIMIT `+strconv.Itoa(denseSearch+1)+`)`, phrase)
		if err != nil {
			return nil, mapErr(objUser, err)
		}
		if len(n) == 1 && n[0] <= denseSearch {
			return q.Where("pk IN (SELECT rowid FROM users_search WHERE users_search MATCH ?)", phrase), nil
		}
	}
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where(`username LIKE ? ESCAPE '\'`, pat).WhereOr(`name LIKE ? ESCAPE '\'`, pat).
			WhereOr(`email LIKE ? ESCAPE '\'`, pat)
	}), nil
}
