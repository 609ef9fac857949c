package sqlstore

import (
	"context"

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
