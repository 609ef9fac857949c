package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objConsent = "consent"

// Consent implements store.Consents.
func (s *Store) Consent(ctx context.Context, userPK int64, app uuid.UUID) (*store.UserConsent, error) {
	return getBy[store.UserConsent](ctx, s.r, objConsent, "user_pk = ? AND application_uuid = ?", userPK, app)
}

// SaveConsent implements store.Consents: the (user, application) pair is
// unique, so a new consent replaces the old one.
func (s *Store) SaveConsent(ctx context.Context, c *store.UserConsent) error {
	return s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		if _, err := t.w.NewDelete().Model((*store.UserConsent)(nil)).
			Where("user_pk = ? AND application_uuid = ?", c.UserPK, c.ApplicationUUID).Exec(ctx); err != nil {
			return mapErr(objConsent, err)
		}
		c.UUID = uuid.Nil
		newID(&c.UUID)
		_, err := t.w.NewInsert().Model(c).Exec(ctx)
		return mapErr(objConsent, err)
	})
}

// UserConsents implements store.Consents.
func (s *Store) UserConsents(ctx context.Context, userPK int64, now time.Time) ([]*store.UserConsent, error) {
	var out []*store.UserConsent
	err := s.r.NewSelect().Model(&out).Where("user_pk = ? AND (expires IS NULL OR expires > ?)", userPK, now.UTC()).
		Order("application_uuid").Scan(ctx)
	return out, mapErr(objConsent, err)
}

// ConsentByUUID implements store.Consents.
func (s *Store) ConsentByUUID(ctx context.Context, id uuid.UUID) (*store.UserConsent, error) {
	return getBy[store.UserConsent](ctx, s.r, objConsent, "uuid = ?", id)
}

// DeleteConsent implements store.Consents.
func (s *Store) DeleteConsent(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.UserConsent](ctx, s.w, objConsent, "uuid = ?", id)
}
