package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objToken = "token"

// CreateToken implements store.Tokens.
func (s *Store) CreateToken(ctx context.Context, t *store.Token) error {
	if t.UUID == uuid.Nil {
		t.UUID = uuid.Must(uuid.NewV7())
	}
	if !t.Intent.Valid() {
		return fmt.Errorf("token intent %q: %w", t.Intent, store.ErrInvalid)
	}
	if len(t.KeyHash) == 0 {
		return fmt.Errorf("token %q has no key: %w", t.Identifier, store.ErrInvalid)
	}
	if t.Expiring && t.Expires == nil {
		return fmt.Errorf("expiring token %q has no expiry: %w", t.Identifier, store.ErrInvalid)
	}
	t.Created = s.eng.now()
	_, err := s.w.NewInsert().Model(t).Exec(ctx)
	return mapErr(objToken, err)
}

// TokenByIdentifier implements store.Tokens.
func (s *Store) TokenByIdentifier(ctx context.Context, identifier string) (*store.Token, error) {
	return getBy[store.Token](ctx, s.r, objToken, "identifier = ?", identifier)
}

// TokenByKeyHash implements store.Tokens.
func (s *Store) TokenByKeyHash(ctx context.Context, keyHash []byte) (*store.Token, error) {
	return one[store.Token](ctx, s, objToken, `SELECT uuid, identifier, key_hash, key_sealed, intent, user_pk,
		description, expiring, expires, managed, created, flow_plan FROM tokens WHERE key_hash = ?`, keyHash)
}

// UpdateToken implements store.Tokens.
func (s *Store) UpdateToken(ctx context.Context, t *store.Token) error {
	if !t.Intent.Valid() {
		return fmt.Errorf("token intent %q: %w", t.Intent, store.ErrInvalid)
	}
	res, err := s.w.NewUpdate().Model(t).ExcludeColumn("created").WherePK().Exec(ctx)
	return affected(objToken, res, err)
}

// DeleteToken implements store.Tokens.
func (s *Store) DeleteToken(ctx context.Context, id uuid.UUID) error {
	res, err := s.w.NewDelete().Model((*store.Token)(nil)).Where("uuid = ?", id).Exec(ctx)
	return affected(objToken, res, err)
}

// ListTokens implements store.Tokens.
func (s *Store) ListTokens(ctx context.Context, userPK int64) ([]*store.Token, error) {
	var tokens []*store.Token
	err := s.r.NewSelect().Model(&tokens).Where("user_pk = ?", userPK).Order("identifier").Scan(ctx)
	return tokens, mapErr(objToken, err)
}

// DeleteExpiredTokens implements store.Tokens.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.NewDelete().Model((*store.Token)(nil)).
		Where("expiring = ? AND expires IS NOT NULL AND expires <= ?", true, now.UTC()).Exec(ctx)
	return rowsAffected(objToken, res, err)
}

// superuserExpr is true when the user in column userCol is in a superuser
// group or in a descendant of one.
const superuserExpr = `EXISTS (WITH RECURSIVE up(uuid) AS (
		SELECT group_uuid FROM group_members WHERE user_pk = %s
		UNION
		SELECT g.parent_uuid FROM groups g JOIN up ON g.uuid = up.uuid WHERE g.parent_uuid IS NOT NULL
	) SELECT 1 FROM groups WHERE is_superuser AND uuid IN (SELECT uuid FROM up))`

type principalRow struct {
	Token     store.Token `bun:"embed:t_"`
	User      store.User  `bun:"embed:u_"`
	Superuser bool        `bun:"superuser"`
}

var principalUserColumns = `u.pk AS u_pk, u.uuid AS u_uuid, u.username AS u_username, u.name AS u_name,
	u.email AS u_email, u.is_active AS u_is_active, u.type AS u_type, u.path AS u_path,
	u.attributes AS u_attributes, u.password_hash AS u_password_hash,
	u.password_change_date AS u_password_change_date, u.last_login AS u_last_login,
	u.date_joined AS u_date_joined, u.last_updated AS u_last_updated, ` + fmt.Sprintf(superuserExpr, "u.pk") + ` AS superuser`

// TokenPrincipal implements store.Tokens.
func (s *Store) TokenPrincipal(ctx context.Context, keyHash []byte) (*store.Token, *store.Principal, error) {
	r, err := one[principalRow](ctx, s, objToken, `SELECT t.uuid AS t_uuid, t.identifier AS t_identifier,
		t.key_hash AS t_key_hash, t.key_sealed AS t_key_sealed, t.intent AS t_intent, t.user_pk AS t_user_pk,
		t.description AS t_description, t.expiring AS t_expiring, t.expires AS t_expires, t.managed AS t_managed,
		t.created AS t_created, `+principalUserColumns+`
		FROM tokens t JOIN users u ON u.pk = t.user_pk WHERE t.key_hash = ?`, keyHash)
	if err != nil {
		return nil, nil, err
	}
	return &r.Token, &store.Principal{User: &r.User, Superuser: r.Superuser}, nil
}

// UserPrincipal implements store.Tokens.
func (s *Store) UserPrincipal(ctx context.Context, userPK int64) (*store.Principal, error) {
	r, err := one[principalRow](ctx, s, objUser, `SELECT `+principalUserColumns+` FROM users u WHERE u.pk = ?`, userPK)
	if err != nil {
		return nil, err
	}
	return &store.Principal{User: &r.User, Superuser: r.Superuser}, nil
}
