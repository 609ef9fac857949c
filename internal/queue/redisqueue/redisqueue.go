// Package redisqueue is the queue backend over Redis Streams
// (worker.queue=redis).
//
// Keys, all below a prefix:
//
//	stream           the stream of due tasks; one consumer group, "workers"
//	task:<id>        a hash: name, args, attempt, max_attempts, timeout_ms,
//	                 unique_key, the stream entry, the owner of the current
//	                 claim, last_error
//	delayed          a sorted set of tasks not yet due (score: run at, ms)
//	leases           a sorted set of claimed tasks (score: lease end, ms)
//	dead             a sorted set of dead tasks (score: when they died)
//	unique:<key>     the id of the waiting task holding a unique key
//	wake             the pub/sub channel an enqueue publishes on
//
// Every operation is one Lua script, so it is atomic. A claim moves the due
// delayed tasks into the stream, takes over (XCLAIM) the entries whose lease
// has ended, as a dead consumer leaves them pending, then reads new entries
// with XREADGROUP. Completing, retrying or burying checks that the caller
// still owns the claim, so a worker that lost its lease settles nothing.
//
// Leases are kept in the leases set rather than read from the pending
// entries' idle time, so each task's lease is its own time limit plus the
// grace. Delivery is at least once, and only as durable as the Redis
// server's persistence (appendonly) makes it; after Redis lost its data (a
// restart without persistence), the first claim makes the consumer group
// again and the queue carries on with the tasks enqueued since. The
// scripts build key names from the prefix, so a Redis Cluster is not
// supported.
package redisqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
)

// Group is the stream's consumer group.
const Group = "workers"

// Queue is the Redis backend.
type Queue struct {
	rdb    redis.UniversalClient
	prefix string
	now    func() time.Time
	log    *slog.Logger

	wake   chan struct{}
	listen sync.Once
	ctx    context.Context
	stop   context.CancelFunc
	bg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

var (
	_ queue.Backend        = (*Queue)(nil)
	_ queue.BatchCompleter = (*Queue)(nil)
	_ queue.DeadLister     = (*Queue)(nil)
)

// Options tune a Queue.
type Options struct {
	// Prefix starts every key; default "gatehouse:queue:".
	Prefix string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// New makes a queue on rdb and creates its consumer group if needed.
func New(ctx context.Context, rdb redis.UniversalClient, opts Options) (*Queue, error) {
	q := &Queue{rdb: rdb, prefix: opts.Prefix, now: opts.Now, log: opts.Log, wake: make(chan struct{}, 1)}
	if q.prefix == "" {
		q.prefix = "gatehouse:queue:"
	}
	if q.now == nil {
		q.now = time.Now
	}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	q.ctx, q.stop = context.WithCancel(context.Background())
	if err := q.createGroup(ctx); err != nil {
		return nil, err
	}
	return q, nil
}

// createGroup creates the stream's consumer group unless it exists. It
// starts at the stream's first entry, so that tasks added to a stream that
// had lost its group are read too.
func (q *Queue) createGroup(ctx context.Context) error {
	err := q.rdb.XGroupCreateMkStream(ctx, q.prefix+"stream", Group, "0").Err()
	if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("redis queue: create the consumer group: %w", err)
	}
	return nil
}

// Close stops the wake-up subscription.
func (q *Queue) Close() error {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.stop()
	q.bg.Wait()
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

var enqueueScript = redis.NewScript(`
local p, id, uk = ARGV[1], ARGV[2], ARGV[8]
if uk ~= '' then
  if not redis.call('SET', p .. 'unique:' .. uk, id, 'NX') then return 0 end
end
local key = p .. 'task:' .. id
redis.call('HSET', key, 'name', ARGV[3], 'args', ARGV[4], 'attempt', 0, 'max_attempts', ARGV[6],
  'timeout_ms', ARGV[7], 'unique_key', uk, 'owner', '', 'last_error', '', 'state', 'queued')
if tonumber(ARGV[5]) <= tonumber(ARGV[9]) then
  local entry = redis.call('XADD', p .. 'stream', '*', 'id', id)
  redis.call('HSET', key, 'entry', entry)
else
  redis.call('ZADD', p .. 'delayed', ARGV[5], id)
end
redis.call('PUBLISH', p .. 'wake', '')
return 1`)

// Enqueue implements queue.Queue.
func (q *Queue) Enqueue(ctx context.Context, t queue.Task) (string, error) {
	now := q.now()
	if err := t.Normalize(now); err != nil {
		return "", err
	}
	id := uuid.NewString()
	n, err := enqueueScript.Run(ctx, q.rdb, nil, q.prefix, id, t.Name, string(t.Args), ms(t.RunAt), t.MaxAttempts,
		t.Timeout.Milliseconds(), t.UniqueKey, ms(now)).Int()
	if err != nil {
		return "", fmt.Errorf("enqueue %s: %w", t.Name, err)
	}
	if n == 0 {
		return "", queue.ErrDuplicate
	}
	q.signal()
	return id, nil
}

// claimScript: ARGV prefix, group, worker, now, n, grace. Returns a flat
// list of id, name, args, attempt, max_attempts, timeout_ms per task.
var claimScript = redis.NewScript(`
local p, group, worker, now, n, grace = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local stream = p .. 'stream'
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'delayed', '-inf', now, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', p .. 'delayed', id)
  local entry = redis.call('XADD', stream, '*', 'id', id)
  redis.call('HSET', p .. 'task:' .. id, 'entry', entry, 'state', 'queued')
end
local out = {}
local got = 0
local function own(id, entry)
  local key = p .. 'task:' .. id
  if redis.call('EXISTS', key) == 0 then
    redis.call('XACK', stream, group, entry)
    redis.call('XDEL', stream, entry)
    redis.call('ZREM', p .. 'leases', id)
    return
  end
  local attempt = redis.call('HINCRBY', key, 'attempt', 1)
  redis.call('HSET', key, 'owner', worker .. '/' .. attempt, 'state', 'running')
  local uk = redis.call('HGET', key, 'unique_key')
  if uk and uk ~= '' then
    if redis.call('GET', p .. 'unique:' .. uk) == id then redis.call('DEL', p .. 'unique:' .. uk) end
    redis.call('HSET', key, 'unique_key', '')
  end
  local f = redis.call('HMGET', key, 'name', 'args', 'max_attempts', 'timeout_ms')
  redis.call('ZADD', p .. 'leases', now + tonumber(f[4]) + grace, id)
  table.insert(out, id); table.insert(out, f[1]); table.insert(out, f[2])
  table.insert(out, tostring(attempt)); table.insert(out, f[3]); table.insert(out, f[4])
  got = got + 1
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', now, 'LIMIT', 0, n)) do
  local entry = redis.call('HGET', p .. 'task:' .. id, 'entry')
  if entry then
    redis.call('XCLAIM', stream, group, worker, 0, entry, 'JUSTID')
    own(id, entry)
  else
    redis.call('ZREM', p .. 'leases', id)
  end
end
if got < n then
  local res = redis.call('XREADGROUP', 'GROUP', group, worker, 'COUNT', n - got, 'STREAMS', stream, '>')
  if res then
    for _, e in ipairs(res[1][2]) do
      own(e[2][2], e[1])
    end
  end
end
return out`)

// Claim implements queue.Backend.
func (q *Queue) Claim(ctx context.Context, worker string, n int, grace time.Duration) ([]*queue.Job, error) {
	if n <= 0 {
		return nil, nil
	}
	claim := func() ([]string, error) {
		return claimScript.Run(ctx, q.rdb, nil, q.prefix, Group, worker, ms(q.now()), n, grace.Milliseconds()).StringSlice()
	}
	res, err := claim()
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		// Redis lost its data (a restart without persistence, a flush):
		// the group is made again, and the tasks enqueued since are read.
		// A claim that failed on NOGROUP took nothing: no group, no leases.
		q.log.Warn("redis queue: the consumer group was missing; created it again")
		if err := q.createGroup(ctx); err != nil {
			return nil, err
		}
		res, err = claim()
	}
	if err != nil {
		return nil, fmt.Errorf("claim tasks: %w", err)
	}
	var jobs []*queue.Job
	for i := 0; i+5 < len(res); i += 6 {
		attempt, _ := strconv.Atoi(res[i+3])
		maxAttempts, _ := strconv.Atoi(res[i+4])
		timeout, _ := strconv.ParseInt(res[i+5], 10, 64)
		jobs = append(jobs, &queue.Job{ID: res[i], Name: res[i+1], Args: json.RawMessage(res[i+2]), Attempt: attempt,
			MaxAttempts: maxAttempts, Timeout: time.Duration(timeout) * time.Millisecond,
			Token: worker + "/" + strconv.Itoa(attempt)})
	}
	return jobs, nil
}

// settleScript: ARGV prefix, group, mode (done|retry|dead), now, at, error,
// then id, token pairs. A pair whose token is not the task's owner is
// skipped.
var settleScript = redis.NewScript(`
local p, group, mode, now, at, err = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local stream = p .. 'stream'
for i = 7, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local key = p .. 'task:' .. id
  local f = redis.call('HMGET', key, 'owner', 'entry', 'unique_key')
  if f[1] == token then
    redis.call('XACK', stream, group, f[2])
    redis.call('XDEL', stream, f[2])
    redis.call('ZREM', p .. 'leases', id)
    local uk = f[3]
    if mode ~= 'retry' and uk and uk ~= '' and redis.call('GET', p .. 'unique:' .. uk) == id then
      redis.call('DEL', p .. 'unique:' .. uk)
    end
    if mode == 'done' then
      redis.call('DEL', key)
    elseif mode == 'retry' then
      redis.call('HSET', key, 'owner', '', 'last_error', err, 'state', 'queued', 'entry', '')
      redis.call('ZADD', p .. 'delayed', at, id)
    else
      redis.call('HSET', key, 'owner', '', 'last_error', err, 'state', 'dead', 'entry', '')
      redis.call('ZADD', p .. 'dead', now, id)
    end
  end
end
return 0`)

func (q *Queue) settle(ctx context.Context, mode string, at time.Time, lastErr string, js ...*queue.Job) error {
	args := []any{q.prefix, Group, mode, ms(q.now()), ms(at), lastErr}
	for _, j := range js {
		args = append(args, j.ID, j.Token)
	}
	if err := settleScript.Run(ctx, q.rdb, nil, args...).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("%s %d tasks: %w", mode, len(js), err)
	}
	return nil
}

// Complete implements queue.Backend.
func (q *Queue) Complete(ctx context.Context, j *queue.Job) error {
	return q.settle(ctx, "done", time.Time{}, "", j)
}

// CompleteBatch implements queue.BatchCompleter.
func (q *Queue) CompleteBatch(ctx context.Context, js []*queue.Job) error {
	if len(js) == 0 {
		return nil
	}
	return q.settle(ctx, "done", time.Time{}, "", js...)
}

// Retry implements queue.Backend.
func (q *Queue) Retry(ctx context.Context, j *queue.Job, runAt time.Time, lastErr string) error {
	return q.settle(ctx, "retry", runAt, lastErr, j)
}

// Bury implements queue.Backend.
func (q *Queue) Bury(ctx context.Context, j *queue.Job, lastErr string) error {
	return q.settle(ctx, "dead", time.Time{}, lastErr, j)
}

// DeadTasks implements queue.DeadLister, newest first.
func (q *Queue) DeadTasks(ctx context.Context, limit int) ([]queue.Dead, error) {
	ids, err := q.rdb.ZRevRange(ctx, q.prefix+"dead", 0, int64(limit)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("dead tasks: %w", err)
	}
	out := []queue.Dead{}
	for _, id := range ids {
		f, err := q.rdb.HMGet(ctx, q.prefix+"task:"+id, "name", "args", "attempt", "last_error").Result()
		if err != nil {
			return nil, fmt.Errorf("dead tasks: %w", err)
		}
		str := func(v any) string { s, _ := v.(string); return s }
		attempts, _ := strconv.Atoi(str(f[2]))
		out = append(out, queue.Dead{ID: id, Name: str(f[0]), Args: json.RawMessage(str(f[1])), Attempts: attempts, LastError: str(f[3])})
	}
	return out, nil
}

var purgeScript = redis.NewScript(`
local p = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', p .. 'dead', '-inf', '(' .. ARGV[2], 'LIMIT', 0, 10000)
for _, id in ipairs(ids) do
  redis.call('DEL', p .. 'task:' .. id)
  redis.call('ZREM', p .. 'dead', id)
end
return #ids`)

// PurgeDead deletes the tasks that died before t.
func (q *Queue) PurgeDead(ctx context.Context, before time.Time) (int64, error) {
	n, err := purgeScript.Run(ctx, q.rdb, nil, q.prefix, ms(before)).Int64()
	if err != nil {
		return 0, fmt.Errorf("purge dead tasks: %w", err)
	}
	return n, nil
}

// Wake implements queue.Backend: the first call subscribes to the wake
// channel.
func (q *Queue) Wake() <-chan struct{} {
	q.listen.Do(func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.closed {
			return
		}
		q.bg.Add(1)
		go func() {
			defer q.bg.Done()
			q.subscribe()
		}()
	})
	return q.wake
}

func (q *Queue) subscribe() {
	sub := q.rdb.Subscribe(q.ctx, q.prefix+"wake")
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-q.ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			q.signal()
		}
	}
}
