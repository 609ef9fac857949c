package sqlstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun/dialect"
)

// startLockID is the PostgreSQL advisory lock key held while a server
// bootstraps (akadmin, default flows, default scope mappings); the
// migration lock uses 0x6761746568 ("gateh").
const startLockID int64 = 0x6761746569

// WithStartLock runs fn while holding a lock that no other Gatehouse
// process on the same database holds at the same time: a PostgreSQL
// session-level advisory lock (pg_advisory_lock waits for the holder), or
// the file lock next to the SQLite file. Replicas starting at once on a
// new database then create the default objects once: the second one
// waits, then finds them there.
func (s *Store) WithStartLock(ctx context.Context, fn func() error) error {
	if s.eng.dialect != dialect.PG {
		if s.eng.lockPath == "" { // in-memory SQLite: one process
			return fn()
		}
		unlock, err := fileLock(ctx, s.eng.lockPath)
		if err != nil {
			return err
		}
		defer unlock()
		return fn()
	}
	// Advisory locks belong to a session: lock and unlock on one connection.
	conn, err := s.eng.write.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("start lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", startLockID); err != nil {
		return fmt.Errorf("start lock: %w", err)
	}
	defer func() {
		// A fresh context: the unlock must happen even when ctx ended.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", startLockID)
	}()
	return fn()
}
