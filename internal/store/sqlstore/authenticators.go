package sqlstore

import (
	"context"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objDevice = "authenticator device"

// CreateDevice implements store.Authenticators.
func (s *Store) CreateDevice(ctx context.Context, d *store.AuthenticatorDevice) error {
	if d.Data == nil {
		d.Data = store.Attributes{}
	}
	now := s.eng.now()
	d.Created, d.LastUpdated = now, now
	_, err := s.w.NewInsert().Model(d).ExcludeColumn("pk").Returning("pk").Exec(ctx)
	return mapErr(objDevice, err)
}

// Device implements store.Authenticators.
func (s *Store) Device(ctx context.Context, pk int64) (*store.AuthenticatorDevice, error) {
	return getBy[store.AuthenticatorDevice](ctx, s.r, objDevice, "pk = ?", pk)
}

// DeviceByCredentialID implements store.Authenticators.
func (s *Store) DeviceByCredentialID(ctx context.Context, id string) (*store.AuthenticatorDevice, error) {
	return getBy[store.AuthenticatorDevice](ctx, s.r, objDevice, "credential_id = ?", id)
}

// ListDevices implements store.Authenticators.
func (s *Store) ListDevices(ctx context.Context, f store.DeviceFilter) ([]*store.AuthenticatorDevice, int, error) {
	order, err := orderClause(objDevice, f.Ordering, "created", map[string]string{
		"name": "name", "created": "created", "last_used": "last_used", "type": "type", "pk": "pk"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.AuthenticatorDevice
	q := searchAny(s.r.NewSelect().Model(&out), f.Search, "name")
	if f.UserPK != 0 {
		q = q.Where("user_pk = ?", f.UserPK)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.ConfirmedOnly {
		q = q.Where("confirmed = ?", true)
	}
	n, err := listPage(ctx, q, objDevice, order+", pk ASC", f.Page)
	return out, n, err
}

// UserDevices implements store.Authenticators: the order is ListDevices's
// for "-last_used".
func (s *Store) UserDevices(ctx context.Context, userPK int64) ([]*store.AuthenticatorDevice, error) {
	var out []*store.AuthenticatorDevice
	err := s.queryPrepared(ctx, &out, `SELECT pk, user_pk, type, name, confirmed, credential_id, counter, data,
		created, last_updated, last_used FROM authenticator_devices WHERE user_pk = ? AND confirmed = ?
		ORDER BY last_used DESC, pk ASC LIMIT 1000`, userPK, true)
	return out, mapErr(objDevice, err)
}

// UpdateDevice implements store.Authenticators.
func (s *Store) UpdateDevice(ctx context.Context, d *store.AuthenticatorDevice) error {
	if d.Data == nil {
		d.Data = store.Attributes{}
	}
	d.LastUpdated = s.eng.now()
	res, err := s.w.NewUpdate().Model(d).Column("name", "confirmed", "data", "last_used", "last_updated").
		WherePK().Exec(ctx)
	return affected(objDevice, res, err)
}

// RenameDevice implements store.Authenticators.
func (s *Store) RenameDevice(ctx context.Context, pk int64, name string) error {
	res, err := s.w.NewUpdate().Model((*store.AuthenticatorDevice)(nil)).
		Set("name = ?", name).Set("last_updated = ?", s.eng.now()).Where("pk = ?", pk).Exec(ctx)
	return affected(objDevice, res, err)
}

// SwapDevice implements store.Authenticators.
func (s *Store) SwapDevice(ctx context.Context, d *store.AuthenticatorDevice, old int64) (bool, error) {
	if d.Data == nil {
		d.Data = store.Attributes{}
	}
	d.LastUpdated = s.eng.now()
	res, err := s.w.NewUpdate().Model(d).Column("counter", "data", "last_used", "last_updated").
		WherePK().Where("counter = ?", old).Exec(ctx)
	if err != nil {
		return false, mapErr(objDevice, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteDevice implements store.Authenticators.
func (s *Store) DeleteDevice(ctx context.Context, pk int64) error {
	return deleteBy[store.AuthenticatorDevice](ctx, s.w, objDevice, "pk = ?", pk)
}
