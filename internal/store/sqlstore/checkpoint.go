package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// SQLite checkpoints off the write path.
//
// In WAL mode a checkpoint copies the WAL back into the database file and,
// with synchronous=NORMAL, fsyncs the database file
// (https://sqlite.org/wal.html#checkpointing). By default the connection
// whose commit takes the WAL past wal_autocheckpoint (1,000 pages) runs it,
// inside that commit: the single writer, and every request queued behind
// it, waits for the copy and the fsync. At a few thousand token requests a
// second that happens several times a second and makes the latency tail.
//
// So the write connection checkpoints automatically only far later
// (walSafetyPages, a safety net should the background checkpoints fall
// behind), and a connection of its own runs PASSIVE checkpoints every
// checkpointEvery. A PASSIVE checkpoint waits for no reader or writer
// (https://sqlite.org/pragma.html#pragma_wal_checkpoint); once it has copied
// the whole WAL and no reader still needs it, the next write transaction
// starts the WAL over from its beginning, so the file stays small.

const (
	// checkpointEvery is the background checkpoint interval: at 3,000 token
	// writes a second the WAL grows by about 3 MB in it.
	checkpointEvery = 250 * time.Millisecond
	// walSafetyPages is the write connection's wal_autocheckpoint.
	walSafetyPages = 10000
	// walSizeLimit truncates a WAL that grew past it once it is restarted
	// (journal_size_limit), in bytes.
	walSizeLimit = 64 << 20
)

// writerPragmas are the SQLite write connection's pragmas beyond
// sqlitePragmas.
var writerPragmas = "&_pragma=wal_autocheckpoint(" + strconv.Itoa(walSafetyPages) +
	")&_pragma=journal_size_limit(" + strconv.Itoa(walSizeLimit) + ")"

type checkpointer struct {
	db       *sql.DB
	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// startCheckpointer opens one more connection to the database at dsn and
// checkpoints from it every interval until stopCheckpointer.
func startCheckpointer(dsn string, interval time.Duration, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, err
	}
	c := &checkpointer{db: db, stop: make(chan struct{})}
	c.wg.Add(1)
	go c.run(interval, log)
	return c, nil
}

func (c *checkpointer) run(interval time.Duration, log *slog.Logger) {
	defer c.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastErr time.Time
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if err := c.checkpoint(context.Background()); err != nil && time.Since(lastErr) > time.Minute {
			lastErr = time.Now()
			log.Warn("background WAL checkpoint", "error", err)
		}
	}
}

// checkpoint runs one PASSIVE checkpoint.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, frames, copied int
	return c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
}

// close stops the loop and closes the connection; nil-safe, idempotent.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	c.stopOnce.Do(func() { close(c.stop) })
	c.wg.Wait()
	return c.db.Close()
}
