package sqlstore

import "github.com/uptrace/bun"

// DB is the handle writes go through: the write pool, or the transaction
// inside InTx. Packages that keep their own tables in this database (the SQL
// task queue) use it, so their writes join the caller's transaction.
func (s *Store) DB() bun.IDB { return s.w }

// Postgres reports whether the engine is PostgreSQL.
func (s *Store) Postgres() bool { return s.Dialect() == "pg" }
