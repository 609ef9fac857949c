// Package sqlqueue is the queue backend over the SQL store's database (the
// queue_tasks table of migration 00012).
//
// Claiming is one UPDATE of the due rows, oldest run_at first, that sets
// them running and moves run_at to the end of their lease (Timeout + grace):
// a task whose worker died becomes due again when its lease is over, with
// no separate reaper. On PostgreSQL the rows are picked with FOR UPDATE SKIP
// LOCKED, so concurrent consumers never wait for nor take the same row, and
// an enqueue NOTIFYs the channel gatehouse_queue, delivered when its
// transaction commits; each Queue LISTENs on one dedicated connection. On
// SQLite every write goes through the store's one write connection, which
// makes the claim atomic; an enqueue wakes consumers in the same process.
//
// Times are Unix milliseconds from the Queue's clock: the replicas' clocks
// must agree to well within the lease grace.
package sqlqueue

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// Channel is the PostgreSQL NOTIFY channel of enqueues.
const Channel = "gatehouse_queue"

// Queue is the SQL backend.
type Queue struct {
	st  *sqlstore.Store
	pg  bool
	now func() time.Time
	log *slog.Logger

	wake chan struct{}
	// notify asks the notifier to NOTIFY (PostgreSQL, enqueues outside a
	// transaction).
	notify           chan struct{}
	ctx              context.Context // ends with Close
	stop             context.CancelFunc
	bg               sync.WaitGroup
	listen, notifier sync.Once
	closeMu          sync.Mutex
	closed           bool
}

var (
	_ queue.Backend    = (*Queue)(nil)
	_ queue.DeadLister = (*Queue)(nil)
)

// Options tune a Queue.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// New makes a queue over st's database. Close stops its listener.
func New(st *sqlstore.Store, opts Options) *Queue {
	q := &Queue{st: st, pg: st.Postgres(), now: opts.Now, log: opts.Log,
		wake: make(chan struct{}, 1), notify: make(chan struct{}, 1)}
	q.ctx, q.stop = context.WithCancel(context.Background())
	if q.now == nil {
		q.now = time.Now
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	return q
}

// Close stops the LISTEN connection and the notifier, if started.
func (q *Queue) Close() error {
	q.closeMu.Lock()
	q.closed = true
	q.closeMu.Unlock()
	q.stop()
	q.bg.Wait()
	return nil
}

// goBackground runs fn until Close, unless closed already.
func (q *Queue) goBackground(fn func()) {
	q.closeMu.Lock()
	defer q.closeMu.Unlock()
	if q.closed {
		return
	}
	q.bg.Add(1)
	go func() {
		defer q.bg.Done()
		fn()
	}()
}

// notifyLater has the notifier NOTIFY soon. Enqueues outside a transaction
// are committed already, and under load NOTIFY's commit-time lock would
// serialize them: the notifier sends at most one NOTIFY per notifyEvery for
// any number of enqueues.
func (q *Queue) notifyLater() {
	q.notifier.Do(func() { q.goBackground(q.notifyLoop) })
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

const notifyEvery = 5 * time.Millisecond

func (q *Queue) notifyLoop() {
	for {
		select {
		case <-q.ctx.Done():
			return
		case <-q.notify:
		}
		if _, err := q.st.DB().ExecContext(q.ctx, "SELECT pg_notify('"+Channel+"', '')"); err != nil && q.ctx.Err() == nil {
			q.log.Warn("queue notify", "error", err)
		}
		select {
		case <-q.ctx.Done():
			return
		case <-time.After(notifyEvery):
		}
	}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Enqueue implements queue.Queue, outside any transaction.
func (q *Queue) Enqueue(ctx context.Context, t queue.Task) (string, error) {
	return q.EnqueueTx(ctx, q.st, t)
}

// EnqueueTx enqueues t in the transaction of tx (a store.Store passed to
// InTx by the SQL store): the task exists exactly if that transaction
// commits. Outside InTx it behaves as Enqueue.
func (q *Queue) EnqueueTx(ctx context.Context, tx store.Store, t queue.Task) (string, error) {
	s, ok := tx.(*sqlstore.Store)
	if !ok {
		return "", fmt.Errorf("sqlqueue: EnqueueTx needs the SQL store, not %T", tx)
	}
	return q.enqueue(ctx, s.DB(), t)
}

func (q *Queue) enqueue(ctx context.Context, db bun.IDB, t queue.Task) (string, error) {
	now := q.now()
	if err := t.Normalize(now); err != nil {
		return "", err
	}
	id := uuid.NewString()
	var unique any
	if t.UniqueKey != "" {
		unique = t.UniqueKey
	}
	insert := `INSERT INTO queue_tasks (id, name, args, state, run_at, attempt, max_attempts, timeout_ms, unique_key, created_at, updated_at)
VALUES (?, ?, ?, 'queued', ?, 0, ?, ?, ?, ?, ?)`
	args := []any{id, t.Name, string(t.Args), ms(t.RunAt), t.MaxAttempts, t.Timeout.Milliseconds(), unique, ms(now), ms(now)}
	if unique != nil {
		insert += ` ON CONFLICT (unique_key) WHERE unique_key IS NOT NULL AND state <> 'dead' DO NOTHING`
	}
	insert += ` RETURNING id`
	_, inTx := db.(bun.Tx)
	notifyInline := q.pg && inTx
	query := insert
	if notifyInline {
		// One round trip; the notification is delivered on commit only.
		query = `WITH ins AS (` + insert + `) SELECT id, pg_notify('` + Channel + `', '') FROM ins`
	}
	rows, err := db.QueryContext(ctx, db.NewRaw(query, args...).String())
	if err != nil {
		return "", fmt.Errorf("enqueue %s: %w", t.Name, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", fmt.Errorf("enqueue %s: %w", t.Name, err)
		}
		return "", queue.ErrDuplicate
	}
	var got string
	if notifyInline {
		var notified any // pg_notify returns void
		err = rows.Scan(&got, &notified)
	} else {
		err = rows.Scan(&got)
	}
	if err != nil {
		return "", fmt.Errorf("enqueue %s: %w", t.Name, err)
	}
	if err := rows.Close(); err != nil {
		return "", fmt.Errorf("enqueue %s: %w", t.Name, err)
	}
	switch {
	case !q.pg:
		q.signal()
	case !notifyInline:
		q.signal() // consumers of this process
		q.notifyLater()
	}
	return got, nil
}

// Claim implements queue.Backend.
func (q *Queue) Claim(ctx context.Context, worker string, n int, grace time.Duration) ([]*queue.Job, error) {
	if n <= 0 {
		return nil, nil
	}
	now := ms(q.now())
	lock := ""
	if q.pg {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	// A claimed task gives up its unique key (see queue.Task.UniqueKey).
	query := q.st.DB().NewRaw(`UPDATE queue_tasks SET state = 'running', attempt = attempt + 1, locked_by = ?,
    run_at = ? + timeout_ms + ?, updated_at = ?, unique_key = NULL
WHERE id IN (SELECT id FROM queue_tasks WHERE state <> 'dead' AND run_at <= ? ORDER BY run_at, id LIMIT ?`+lock+`)
RETURNING id, name, args, attempt, max_attempts, timeout_ms`,
		worker, now, grace.Milliseconds(), now, now, n).String()
	rows, err := q.st.DB().QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("claim tasks: %w", err)
	}
	defer rows.Close()
	var jobs []*queue.Job
	for rows.Next() {
		var (
			j       queue.Job
			args    string
			timeout int64
		)
		if err := rows.Scan(&j.ID, &j.Name, &args, &j.Attempt, &j.MaxAttempts, &timeout); err != nil {
			return nil, fmt.Errorf("claim tasks: %w", err)
		}
		j.Args = json.RawMessage(args)
		j.Timeout = time.Duration(timeout) * time.Millisecond
		j.Token = worker + "/" + strconv.Itoa(j.Attempt)
		jobs = append(jobs, &j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim tasks: %w", err)
	}
	return jobs, nil
}

// owner is the WHERE clause that matches only the claim j holds.
func owner(j *queue.Job) (string, []any) {
	worker := j.Token[:strings.LastIndexByte(j.Token, '/')]
	return "id = ? AND state = 'running' AND locked_by = ? AND attempt = ?", []any{j.ID, worker, j.Attempt}
}

// Complete implements queue.Backend. A claim that lost its lease to another
// worker completes nothing: the other run settles the task.
func (q *Queue) Complete(ctx context.Context, j *queue.Job) error {
	where, args := owner(j)
	_, err := q.st.DB().NewRaw("DELETE FROM queue_tasks WHERE "+where, args...).Exec(ctx)
	if err != nil {
		return fmt.Errorf("complete task %s: %w", j.ID, err)
	}
	return nil
}

// CompleteBatch implements queue.BatchCompleter.
func (q *Queue) CompleteBatch(ctx context.Context, js []*queue.Job) error {
	if len(js) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, 3*len(js))
	b.WriteString("DELETE FROM queue_tasks WHERE state = 'running' AND (id, locked_by, attempt) IN (")
	for i, j := range js {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?)")
		args = append(args, j.ID, j.Token[:strings.LastIndexByte(j.Token, '/')], j.Attempt)
	}
	b.WriteString(")")
	if _, err := q.st.DB().NewRaw(b.String(), args...).Exec(ctx); err != nil {
		return fmt.Errorf("complete %d tasks: %w", len(js), err)
	}
	return nil
}

// Retry implements queue.Backend.
func (q *Queue) Retry(ctx context.Context, j *queue.Job, runAt time.Time, lastErr string) error {
	where, args := owner(j)
	_, err := q.st.DB().NewRaw("UPDATE queue_tasks SET state = 'queued', run_at = ?, last_error = ?, locked_by = '', updated_at = ? WHERE "+where,
		append([]any{ms(runAt), clean(lastErr), ms(q.now())}, args...)...).Exec(ctx)
	if err != nil {
		return fmt.Errorf("retry task %s: %w", j.ID, err)
	}
	return nil
}

// Bury implements queue.Backend.
func (q *Queue) Bury(ctx context.Context, j *queue.Job, lastErr string) error {
	where, args := owner(j)
	_, err := q.st.DB().NewRaw("UPDATE queue_tasks SET state = 'dead', last_error = ?, locked_by = '', updated_at = ? WHERE "+where,
		append([]any{clean(lastErr), ms(q.now())}, args...)...).Exec(ctx)
	if err != nil {
		return fmt.Errorf("bury task %s: %w", j.ID, err)
	}
	return nil
}

// clean makes an error message storable: PostgreSQL text refuses NUL, and
// a message is bounded.
func clean(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "?")
	if len(s) > 4000 {
		s = strings.ToValidUTF8(s[:4000], "")
	}
	return s
}

// DeadTasks implements queue.DeadLister, newest first.
func (q *Queue) DeadTasks(ctx context.Context, limit int) ([]queue.Dead, error) {
	rows, err := q.st.DB().QueryContext(ctx, q.st.DB().NewRaw(
		`SELECT id, name, args, attempt, last_error FROM queue_tasks WHERE state = 'dead' ORDER BY updated_at DESC, id LIMIT ?`, limit).String())
	if err != nil {
		return nil, fmt.Errorf("dead tasks: %w", err)
	}
	defer rows.Close()
	var out []queue.Dead
	for rows.Next() {
		var (
			d    queue.Dead
			args string
		)
		if err := rows.Scan(&d.ID, &d.Name, &args, &d.Attempts, &d.LastError); err != nil {
			return nil, err
		}
		d.Args = json.RawMessage(args)
		out = append(out, d)
	}
	return out, rows.Err()
}

// PurgeDead deletes the dead tasks last touched before t, returning how many.
func (q *Queue) PurgeDead(ctx context.Context, before time.Time) (int64, error) {
	res, err := q.st.DB().NewRaw(`DELETE FROM queue_tasks WHERE state = 'dead' AND updated_at < ?`, ms(before)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("purge dead tasks: %w", err)
	}
	return res.RowsAffected()
}

// Wake implements queue.Backend. On PostgreSQL the first call starts the
// listener.
func (q *Queue) Wake() <-chan struct{} {
	if q.pg {
		q.listen.Do(func() { q.goBackground(func() { q.listenLoop(q.ctx) }) })
	}
	return q.wake
}

// listenLoop LISTENs on one connection of the store's pool (taken out of
// it for good) and signals each notification; after a broken connection it
// connects again and signals once, for what it may have missed.
func (q *Queue) listenLoop(ctx context.Context) {
	var db *sql.DB
	for _, d := range q.st.DBs() {
		db = d
	}
	backoff := 500 * time.Millisecond
	for ctx.Err() == nil {
		err := q.listenOnce(ctx, db)
		if ctx.Err() != nil {
			return
		}
		q.log.Warn("queue listener lost its connection; reconnecting", "error", err, "retry_in", backoff)
		q.signal()
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 15*time.Second)
	}
}

func (q *Queue) listenOnce(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqlqueue: LISTEN needs the pgx driver, not %T", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+Channel); err != nil {
			return err
		}
		q.signal() // tasks enqueued before the LISTEN
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				if ctx.Err() != nil {
					// The connection still listens: never give it back.
					return driver.ErrBadConn
				}
				return errors.Join(err, driver.ErrBadConn)
			}
			q.signal()
		}
	})
}
