package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objSession = "session"

// CreateSession implements store.Sessions.
func (s *Store) CreateSession(ctx context.Context, sess *store.Session) error {
	if sess.Key == "" {
		return fmt.Errorf("session without key: %w", store.ErrInvalid)
	}
	if sess.UUID == uuid.Nil {
		sess.UUID = uuid.Must(uuid.NewV7())
	}
	if len(sess.Data) == 0 {
		sess.Data = json.RawMessage(`{}`)
	}
	now := s.eng.now()
	sess.Created = now
	if sess.LastUsed.IsZero() {
		sess.LastUsed = now
	}
	sess.LastUsed, sess.Expires = sess.LastUsed.UTC(), sess.Expires.UTC()
	_, err := s.execPrepared(ctx, `INSERT INTO sessions (key, uuid, user_pk, data, last_ip, last_user_agent,
		last_used, expires, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, sess.Key, sess.UUID, nullInt(sess.UserPK),
		string(sess.Data), sess.LastIP, sess.LastUserAgent, s.timeArg(sess.LastUsed), s.timeArg(sess.Expires),
		s.timeArg(sess.Created))
	return mapErr(objSession, err)
}

// nullInt is a nullable integer column's argument.
func nullInt(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

// SessionByKey implements store.Sessions.
func (s *Store) SessionByKey(ctx context.Context, key string, now time.Time) (*store.Session, error) {
	return one[store.Session](ctx, s, objSession, `SELECT key, uuid, user_pk, data, last_ip, last_user_agent,
		last_used, expires, created FROM sessions WHERE key = ? AND expires > ?`, key, s.timeArg(now))
}

// SessionByUUID implements store.Sessions.
func (s *Store) SessionByUUID(ctx context.Context, id uuid.UUID, now time.Time) (*store.Session, error) {
	return getBy[store.Session](ctx, s.r, objSession, "uuid = ? AND expires > ?", id, now.UTC())
}

// UpdateSession implements store.Sessions.
func (s *Store) UpdateSession(ctx context.Context, sess *store.Session) error {
	if len(sess.Data) == 0 {
		sess.Data = json.RawMessage(`{}`)
	}
	sess.LastUsed, sess.Expires = sess.LastUsed.UTC(), sess.Expires.UTC()
	res, err := s.execPrepared(ctx, `UPDATE sessions SET user_pk = ?, data = ?, last_ip = ?, last_user_agent = ?,
		last_used = ?, expires = ? WHERE key = ?`, nullInt(sess.UserPK), string(sess.Data), sess.LastIP,
		sess.LastUserAgent, s.timeArg(sess.LastUsed), s.timeArg(sess.Expires), sess.Key)
	return affected(objSession, res, err)
}

// DeleteSession implements store.Sessions.
func (s *Store) DeleteSession(ctx context.Context, key string) error {
	res, err := s.execPrepared(ctx, "DELETE FROM sessions WHERE key = ?", key)
	return affected(objSession, res, err)
}

// UserSessions implements store.Sessions.
func (s *Store) UserSessions(ctx context.Context, userPK int64, now time.Time) ([]*store.Session, error) {
	var out []*store.Session
	err := s.r.NewSelect().Model(&out).Where("user_pk = ? AND expires > ?", userPK, now.UTC()).
		Order("last_used DESC").Scan(ctx)
	return out, mapErr(objSession, err)
}

// DeleteUserSessions implements store.Sessions.
func (s *Store) DeleteUserSessions(ctx context.Context, userPK int64) (int, error) {
	res, err := s.w.NewDelete().Model((*store.Session)(nil)).Where("user_pk = ?", userPK).Exec(ctx)
	return rowsAffected(objSession, res, err)
}

// ExpiredSessionsWithGrants implements store.Sessions.
func (s *Store) ExpiredSessionsWithGrants(ctx context.Context, now time.Time, limit int) ([]*store.Session, error) {
	var out []*store.Session
	err := s.r.NewSelect().Model(&out).Where("expires <= ?", now.UTC()).
		Where("EXISTS (SELECT 1 FROM oauth2_grants AS g WHERE g.session_uuid = ?TableAlias.uuid)").
		Order("expires").Limit(int64(limit)).Scan(ctx)
	return out, mapErr(objSession, err)
}

// DeleteExpiredSessions implements store.Sessions.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.NewDelete().Model((*store.Session)(nil)).Where("expires <= ?", now.UTC()).Exec(ctx)
	return rowsAffected(objSession, res, err)
}
