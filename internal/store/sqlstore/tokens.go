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
	t := new(store.Token)
	if err := s.r.NewSelect().Model(t).Where("identifier = ?", identifier).Scan(ctx); err != nil {
		return nil, mapErr(objToken, err)
	}
	return t, nil
}

// TokenByKeyHash implements store.Tokens.
func (s *Store) TokenByKeyHash(ctx context.Context, keyHash []byte) (*store.Token, error) {
	return one[store.Token](ctx, s, objToken, `SELECT uuid, identifier, key_hash, key_sealed, intent, user_pk,
		description, expiring, expires, managed, created FROM tokens WHERE key_hash = ?`, keyHash)
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
