package reputation

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// DefaultPrefix prefixes Redis's reputation keys.
const DefaultPrefix = "gatehouse:reputation:"

// Redis keeps the scores in Redis when redis.* is configured, with the
// SQL store's rules (store.Reputation): one score per (identifier, IP),
// clamped to [lower, upper], restarting from the delta once expired; the
// score of a request sums the live records of its identifier or its IP.
//
// Records are hash fields holding "<score> <expires, unix ms>": the hash
// <prefix>u:<identifier> has a field per IP, <prefix>i:<ip> a field per
// identifier, both written by one script. A hash lives as long as its
// newest record; expired fields count for nothing until overwritten.
type Redis struct {
	Client redis.UniversalClient
	Prefix string // "" means DefaultPrefix
}

func (r *Redis) keys(identifier, ip string) (string, string) {
	p := r.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return p + "u:" + identifier, p + "i:" + ip
}

// adjustScript updates one record in both hashes. KEYS: the identifier's
// hash, the IP's hash; ARGV: identifier, ip, delta, lower, upper, now and
// expires (unix ms). An empty identifier or IP skips its hash, which
// nothing would read.
var adjustScript = redis.NewScript(`
local identifier, ip = ARGV[1], ARGV[2]
local delta, lower, upper = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now, expires = tonumber(ARGV[6]), tonumber(ARGV[7])
local function clamp(v) return math.max(lower, math.min(upper, v)) end
local key, field = KEYS[1], ip
if identifier == '' then key, field = KEYS[2], identifier end
local score = clamp(delta)
local cur = redis.call('HGET', key, field)
if cur then
  local s, e = string.match(cur, '^(-?%d+) (%d+)$')
  if s and tonumber(e) > now then score = clamp(tonumber(s) + delta) end
end
local value = score .. ' ' .. expires
local ttl = expires - now
local function put(k, f)
  redis.call('HSET', k, f, value)
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
if identifier ~= '' then put(KEYS[1], ip) end
if ip ~= '' then put(KEYS[2], identifier) end
return score
`)

// AdjustReputation implements store.Reputation's AdjustReputation.
func (r *Redis) AdjustReputation(ctx context.Context, identifier, ip string, delta, lower, upper int, now, expires time.Time) error {
	if identifier == "" && ip == "" {
		return nil
	}
	if !expires.After(now) {
		return fmt.Errorf("reputation: expiry %s is not after %s", expires, now)
	}
	ku, ki := r.keys(identifier, ip)
	err := adjustScript.Run(ctx, r.Client, []string{ku, ki}, identifier, ip, delta, lower, upper,
		now.UnixMilli(), expires.UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("reputation: redis: %w", err)
	}
	return nil
}

// ReputationScore implements store.Reputation's ReputationScore.
func (r *Redis) ReputationScore(ctx context.Context, identifier, ip string, now time.Time) (int, error) {
	ku, ki := r.keys(identifier, ip)
	pipe := r.Client.Pipeline()
	var byUser, byIP *redis.MapStringStringCmd
	if identifier != "" {
		byUser = pipe.HGetAll(ctx, ku)
	}
	if ip != "" {
		byIP = pipe.HGetAll(ctx, ki)
	}
	if byUser == nil && byIP == nil {
		return 0, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("reputation: redis: %w", err)
	}
	sum := 0
	if byUser != nil {
		for _, v := range byUser.Val() {
			sum += live(v, now)
		}
	}
	if byIP != nil {
		for id, v := range byIP.Val() {
			if identifier != "" && id == identifier {
				continue // the same record, counted above
			}
			sum += live(v, now)
		}
	}
	return sum, nil
}

// live is a record's score, 0 once expired or unreadable.
func live(v string, now time.Time) int {
	s, e, ok := strings.Cut(v, " ")
	if !ok {
		return 0
	}
	score, err1 := strconv.Atoi(s)
	expires, err2 := strconv.ParseInt(e, 10, 64)
	if err1 != nil || err2 != nil || expires <= now.UnixMilli() {
		return 0
	}
	return score
}

// InRedis returns st with its reputation scores kept in r: the flow
// executor adjusts them and the policy reads them through it. The SQL
// table stays the store of processes without Redis.
func InRedis(st store.Store, r *Redis) store.Store { return redisScores{st, r} }

type redisScores struct {
	store.Store
	r *Redis
}

func (s redisScores) AdjustReputation(ctx context.Context, identifier, ip string, delta, lower, upper int, now, expires time.Time) error {
	return s.r.AdjustReputation(ctx, identifier, ip, delta, lower, upper, now, expires)
}

func (s redisScores) ReputationScore(ctx context.Context, identifier, ip string, now time.Time) (int, error) {
	return s.r.ReputationScore(ctx, identifier, ip, now)
}
