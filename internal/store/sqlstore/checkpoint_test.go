package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The write connection no longer checkpoints at 1,000 pages: the
// background connection copies the WAL into the database file, and the
// WAL then starts over instead of growing.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := OpenSQLite(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var auto int
	if err := s.w.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != walSafetyPages {
		t.Fatalf("write connection wal_autocheckpoint = %d, %v; want %d", auto, err, walSafetyPages)
	}
	if _, err := s.w.ExecContext(ctx, "CREATE TABLE ckpt (v TEXT)"); err != nil {
		t.Fatal(err)
	}
	size := func(name string) int64 {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size(path)
	// About 2,000 pages of 4 KiB, in 20 commits: twice SQLite's default
	// threshold, a fifth of the write connection's.
	row := strings.Repeat("x", 4000)
	for i := 0; i < 20; i++ {
		if _, err := s.w.ExecContext(ctx, "INSERT INTO ckpt SELECT ? FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100) SELECT i FROM n)", row); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for size(path) < before+7<<20 { // 2,000 rows of 4,000 bytes: about 8 MB
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes (was %d): the WAL was not checkpointed in the background", size(path), before)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The file reaches its size with the checkpoint's last page, before the
	// checkpoint is recorded as complete: give it two more passes. Then the
	// next write starts the WAL over (its frames are all copied), so its
	// size stops growing.
	time.Sleep(2 * checkpointEvery)
	wal := size(path + "-wal")
	for i := 0; i < 20; i++ {
		if _, err := s.w.ExecContext(ctx, "INSERT INTO ckpt VALUES (?)", row); err != nil {
			t.Fatal(err)
		}
	}
	if got := size(path + "-wal"); got > wal {
		t.Errorf("WAL grew from %d to %d bytes after a checkpoint", wal, got)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.eng.ckpt.db.Ping(); err == nil {
		t.Error("the checkpoint connection is still open after Close")
	}
}
