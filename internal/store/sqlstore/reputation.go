package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun/dialect"
)

const objReputation = "reputation"

// AdjustReputation implements store.Reputation.
func (s *Store) AdjustReputation(ctx context.Context, identifier, ip string, delta, lower, upper int, now, expires time.Time) error {
	start := max(lower, min(upper, delta))
	greatest, least := "MAX", "MIN" // SQLite's scalar forms
	if s.eng.dialect == dialect.PG {
		greatest, least = "GREATEST", "LEAST"
	}
	_, err := s.execPrepared(ctx, `INSERT INTO reputation (identifier, ip, score, updated, expires) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (identifier, ip) DO UPDATE SET
			score = CASE WHEN reputation.expires <= ? THEN ? ELSE `+greatest+`(`+least+`(reputation.score + ?, ?), ?) END,
			updated = excluded.updated, expires = excluded.expires`,
		identifier, ip, start, s.timeArg(now), s.timeArg(expires), s.timeArg(now), start, delta, upper, lower)
	return mapErr(objReputation, err)
}

// ReputationScore implements store.Reputation.
func (s *Store) ReputationScore(ctx context.Context, identifier, ip string, now time.Time) (int, error) {
	var n []int
	err := s.queryPrepared(ctx, &n, `SELECT COALESCE(SUM(score), 0) FROM reputation
		WHERE expires > ? AND ((? <> '' AND identifier = ?) OR (? <> '' AND ip = ?))`,
		s.timeArg(now), identifier, identifier, ip, ip)
	if err != nil || len(n) == 0 {
		return 0, mapErr(objReputation, err)
	}
	return n[0], nil
}

// DeleteExpiredReputation implements store.Reputation.
func (s *Store) DeleteExpiredReputation(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.NewRaw("DELETE FROM reputation WHERE expires <= ?", now.UTC()).Exec(ctx)
	return rowsAffected(objReputation, res, err)
}
