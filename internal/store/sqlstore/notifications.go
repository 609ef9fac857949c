package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	objNotificationRule      = "notification_rule"
	objNotificationTransport = "notification_transport"
	objNotification          = "notification"
)

// CreateNotificationRule implements store.Notifications.
func (s *Store) CreateNotificationRule(ctx context.Context, r *store.NotificationRule) error {
	newID(&r.UUID)
	if r.Transports == nil {
		r.Transports = []uuid.UUID{}
	}
	_, err := s.w.NewInsert().Model(r).Exec(ctx)
	return mapErr(objNotificationRule, err)
}

// NotificationRuleByUUID implements store.Notifications.
func (s *Store) NotificationRuleByUUID(ctx context.Context, id uuid.UUID) (*store.NotificationRule, error) {
	return getBy[store.NotificationRule](ctx, s.r, objNotificationRule, "uuid = ?", id)
}

// UpdateNotificationRule implements store.Notifications.
func (s *Store) UpdateNotificationRule(ctx context.Context, r *store.NotificationRule) error {
	if r.Transports == nil {
		r.Transports = []uuid.UUID{}
	}
	return updateByPK(ctx, s.w, objNotificationRule, r)
}

// DeleteNotificationRule implements store.Notifications.
func (s *Store) DeleteNotificationRule(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.NotificationRule](ctx, s.w, objNotificationRule, "uuid = ?", id)
}

// ListNotificationRules implements store.Notifications.
func (s *Store) ListNotificationRules(ctx context.Context, o store.ListOptions) ([]*store.NotificationRule, int, error) {
	order, err := orderClause(objNotificationRule, o.Ordering, "name", map[string]string{"name": "name", "severity": "severity"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.NotificationRule
	q := restrict(searchAny(s.r.NewSelect().Model(&out), o.Search, "name"), "uuid", o.Only)
	n, err := listPage(ctx, q, objNotificationRule, order+", uuid ASC", o.Page)
	return out, n, err
}

// CreateNotificationTransport implements store.Notifications.
func (s *Store) CreateNotificationTransport(ctx context.Context, t *store.NotificationTransport) error {
	newID(&t.UUID)
	_, err := s.w.NewInsert().Model(t).Exec(ctx)
	return mapErr(objNotificationTransport, err)
}

// NotificationTransportByUUID implements store.Notifications.
func (s *Store) NotificationTransportByUUID(ctx context.Context, id uuid.UUID) (*store.NotificationTransport, error) {
	return getBy[store.NotificationTransport](ctx, s.r, objNotificationTransport, "uuid = ?", id)
}

// UpdateNotificationTransport implements store.Notifications.
func (s *Store) UpdateNotificationTransport(ctx context.Context, t *store.NotificationTransport) error {
	return updateByPK(ctx, s.w, objNotificationTransport, t)
}

// DeleteNotificationTransport implements store.Notifications: the rules
// that list it lose it in the same transaction (a many-to-many's cascade).
func (s *Store) DeleteNotificationTransport(ctx context.Context, id uuid.UUID) error {
	return s.InTx(ctx, func(tx store.Store) error {
		txs := tx.(*Store)
		var rules []*store.NotificationRule
		if err := txs.w.NewSelect().Model(&rules).Scan(ctx); err != nil {
			return mapErr(objNotificationRule, err)
		}
		for _, r := range rules {
			if !slices.Contains(r.Transports, id) {
				continue
			}
			r.Transports = slices.DeleteFunc(r.Transports, func(u uuid.UUID) bool { return u == id })
			if err := txs.UpdateNotificationRule(ctx, r); err != nil {
				return err
			}
		}
		return deleteBy[store.NotificationTransport](ctx, txs.w, objNotificationTransport, "uuid = ?", id)
	})
}

// ListNotificationTransports implements store.Notifications.
func (s *Store) ListNotificationTransports(ctx context.Context, o store.ListOptions) ([]*store.NotificationTransport, int, error) {
	order, err := orderClause(objNotificationTransport, o.Ordering, "name", map[string]string{"name": "name", "mode": "mode"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.NotificationTransport
	q := restrict(searchAny(s.r.NewSelect().Model(&out), o.Search, "name"), "uuid", o.Only)
	n, err := listPage(ctx, q, objNotificationTransport, order+", uuid ASC", o.Page)
	return out, n, err
}

// CreateNotification implements store.Notifications.
func (s *Store) CreateNotification(ctx context.Context, n *store.Notification) error {
	newID(&n.UUID)
	if n.Created.IsZero() {
		n.Created = s.eng.now()
	}
	n.Created = n.Created.UTC()
	_, err := s.w.NewInsert().Model(n).Exec(ctx)
	return mapErr(objNotification, err)
}

// NotificationByUUID implements store.Notifications.
func (s *Store) NotificationByUUID(ctx context.Context, id uuid.UUID) (*store.Notification, error) {
	return getBy[store.Notification](ctx, s.r, objNotification, "uuid = ?", id)
}

// UpdateNotification implements store.Notifications.
func (s *Store) UpdateNotification(ctx context.Context, n *store.Notification) error {
	return updateByPK(ctx, s.w, objNotification, n, "created", "user_pk")
}

// DeleteNotification implements store.Notifications.
func (s *Store) DeleteNotification(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.Notification](ctx, s.w, objNotification, "uuid = ?", id)
}

// ListNotifications implements store.Notifications.
func (s *Store) ListNotifications(ctx context.Context, f store.NotificationFilter) ([]*store.Notification, int, error) {
	order, err := orderClause(objNotification, f.Ordering, "-created", map[string]string{
		"created": "created", "severity": "severity", "seen": "seen"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.Notification
	q := s.r.NewSelect().Model(&out).Where("user_pk = ?", f.UserPK)
	if f.Seen != nil {
		q = q.Where("seen = ?", *f.Seen)
	}
	if f.Severity != "" {
		q = q.Where("severity = ?", f.Severity)
	}
	n, err := listPage(ctx, q, objNotification, order+", uuid DESC", f.Page)
	return out, n, err
}

// MarkNotificationsSeen implements store.Notifications.
func (s *Store) MarkNotificationsSeen(ctx context.Context, userPK int64) (int, error) {
	res, err := s.w.NewUpdate().Model((*store.Notification)(nil)).Set("seen = ?", true).
		Where("user_pk = ? AND seen = ?", userPK, false).Exec(ctx)
	return rowsAffected(objNotification, res, err)
}

// DeleteStaleNotifications implements store.Notifications.
func (s *Store) DeleteStaleNotifications(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.NewDelete().Model((*store.Notification)(nil)).
		Where("created < ? AND (seen = ? OR event_uuid IS NULL)", before.UTC(), true).Exec(ctx)
	return rowsAffected(objNotification, res, err)
}
