package sqlstore

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
)

// eventCountRefresh is how long a counted total of the events table is
// trusted before a request starts a recount in the background.
const eventCountRefresh = 30 * time.Second

// eventCountTimeout bounds one background recount.
const eventCountTimeout = time.Minute

// eventCount is the number of rows in the events table, for the total of
// the unfiltered events list, whose exact COUNT(*) of a table of a million
// rows is most of the list's time (docs/benchmarks.md, issue 8).
//
// authentik's list answers DRF's pagination count, an exact COUNT(*) on
// every request. This one is exact for this process's own writes and at
// most about eventCountRefresh behind other replicas' (and raw SQL) writes:
//
//   - it is counted exactly once, at the first unfiltered list (which waits
//     for it; concurrent first lists wait for the same count);
//   - CreateEvent adds one after a successful insert and
//     DeleteExpiredEvents subtracts the rows it deleted;
//   - a list that finds the count older than the refresh interval answers
//     with it and starts one recount in the background (stale while
//     revalidate; never two at a time), which folds in every other writer.
//
// Writes inside a transaction count when they are made, before the commit:
// a transaction that rolls back leaves the count off by its writes until
// the next recount repairs it. So does the narrow race of a recount with
// this process's writes (a write committed between the recount reading
// the local tally and its COUNT's snapshot is counted twice).
//
// Lists with any condition (search, action, username, client IP, context
// model or application, a date range, the RBAC restriction to some
// events) and lists inside a
// transaction count exactly, as before.
//
// The count is kept in the engine, so a Store bound to a transaction
// shares it with the Store the transaction was started from.
type eventCount struct {
	// local is this process's inserts minus deletes since it started; the
	// count is base + local.
	local atomic.Int64

	mu      sync.Mutex
	known   bool
	base    int64         // the last recount's total minus local when it started
	at      time.Time     // when the last recount started
	running chan struct{} // non-nil while a recount runs; closed when it ends
	// refresh overrides eventCountRefresh (tests).
	refresh time.Duration
}

// add records n inserted (or, negative, deleted) events.
func (c *eventCount) add(n int64) { c.local.Add(n) }

// total returns the count: on first use it counts (on db, with ctx) and
// waits; later it answers at once and, when the count is older than the
// refresh interval, starts a recount in the background.
func (c *eventCount) total(ctx context.Context, db bun.IDB, now time.Time) (int, error) {
	for {
		c.mu.Lock()
		if c.known {
			if c.running == nil && now.Sub(c.at) >= c.interval() {
				done := c.startLocked()
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), eventCountTimeout)
					defer cancel()
					_ = c.recount(ctx, db, now, done) // on failure the old count stays, retried after the interval
				}()
			}
			n := c.base + c.local.Load()
			c.mu.Unlock()
			return int(max(n, 0)), nil
		}
		if done := c.running; done != nil {
			c.mu.Unlock()
			select {
			case <-done:
				continue
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		done := c.startLocked()
		c.mu.Unlock()
		if err := c.recount(ctx, db, now, done); err != nil {
			return 0, mapErr(objEvent, err)
		}
	}
}

func (c *eventCount) interval() time.Duration {
	if c.refresh > 0 {
		return c.refresh
	}
	return eventCountRefresh
}

// startLocked marks a recount as running; c.mu is held.
func (c *eventCount) startLocked() chan struct{} {
	c.running = make(chan struct{})
	return c.running
}

// recount counts the table exactly and ends the running recount (done).
// The local tally is read before the COUNT, so writes of this process
// after that are added to the counted total.
func (c *eventCount) recount(ctx context.Context, db bun.IDB, started time.Time, done chan struct{}) error {
	local := c.local.Load()
	n, err := db.NewSelect().TableExpr("events").Count(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		c.base, c.known = int64(n)-local, true
	}
	c.at = started // a failed recount is retried after the interval, not by every request
	c.running = nil
	close(done)
	return err
}

// wait blocks until no recount runs (tests).
func (c *eventCount) wait() {
	c.mu.Lock()
	done := c.running
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}
