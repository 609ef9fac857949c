package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objEvent = "event"

// CreateEvent implements store.Events.
func (s *Store) CreateEvent(ctx context.Context, e *store.Event) error {
	if e.UUID == uuid.Nil {
		e.UUID = uuid.Must(uuid.NewV7())
	}
	if e.Created.IsZero() {
		e.Created = s.eng.now()
	}
	e.Created, e.Expires = e.Created.UTC(), e.Expires.UTC()
	for _, m := range []*store.Attributes{&e.User, &e.Context, &e.Brand} {
		if *m == nil {
			*m = store.Attributes{}
		}
	}
	// Every login and API write records one: a prepared INSERT (SQL text
	// parsed once), the JSON columns encoded as bun would.
	var js [3]string
	for i, m := range []store.Attributes{e.User, e.Context, e.Brand} {
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("%s: %w", objEvent, err)
		}
		js[i] = string(b)
	}
	if _, err := s.execPrepared(ctx, `INSERT INTO events (uuid, action, "user", app, context, client_ip, brand, created, expires)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, e.UUID, e.Action, js[0], e.App, js[1], e.ClientIP, js[2],
		s.timeArg(e.Created), s.timeArg(e.Expires)); err != nil {
		return mapErr(objEvent, err)
	}
	s.eng.events.add(1)
	return nil
}

// EventByUUID implements store.Events.
func (s *Store) EventByUUID(ctx context.Context, id uuid.UUID) (*store.Event, error) {
	return getBy[store.Event](ctx, s.r, objEvent, "uuid = ?", id)
}

// jsonText extracts a text field of a JSON column, per dialect.
func (s *Store) jsonText(col, key string) string {
	if s.eng.dialect == dialect.PG {
		return "(" + col + "->>'" + key + "')"
	}
	return "json_extract(" + col + ", '$." + key + "')"
}

// jsonPath extracts a nested text field of a JSON column, per dialect;
// keys are Go constants, never input.
func (s *Store) jsonPath(col string, keys ...string) string {
	if s.eng.dialect == dialect.PG {
		return "(" + col + " #>> '{" + strings.Join(keys, ",") + "}')"
	}
	return "json_extract(" + col + ", '$." + strings.Join(keys, ".") + "')"
}

// ListEvents implements store.Events.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]*store.Event, int, error) {
	order, err := orderClause(objEvent, f.Ordering, "-created", map[string]string{
		"created": "created", "action": "action", "client_ip": "client_ip", "app": "app"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.Event
	q := s.eventWhere(s.r.NewSelect().Model(&out), f)
	if s.inTx || !unfiltered(f) {
		n, err := listPage(ctx, q, objEvent, order+", uuid DESC", f.Page)
		return out, n, err
	}
	// The whole table: its total is the kept count (eventcount.go), not a
	// COUNT(*) of every row.
	n, err := s.eng.events.total(ctx, s.eng.read, s.eng.now())
	if err != nil {
		return nil, 0, err
	}
	off, lim := pageOf(f.Page)
	if err := q.OrderExpr(order + ", uuid DESC").Offset(off).Limit(lim).Scan(ctx); err != nil {
		return nil, 0, mapErr(objEvent, err)
	}
	// What the page itself shows is exact: a short page ends the list, and
	// a full one has at least its own rows before it.
	switch got := off + int64(len(out)); {
	case len(out) > 0 && int64(len(out)) < lim, len(out) == 0 && off == 0:
		n = int(got)
	case len(out) == 0:
		n = min(n, int(off))
	default:
		n = max(n, int(got))
	}
	return out, n, nil
}

// unfiltered reports whether f selects every event (its ordering and page
// aside).
func unfiltered(f store.EventFilter) bool {
	return f.Search == "" && f.Action == "" && f.Username == "" && f.ClientIP == "" &&
		f.ContextModelPK == "" && f.ContextModelApp == "" && f.ContextAuthorizedApp == "" &&
		f.Since.IsZero() && f.Until.IsZero() && f.Only == nil
}

// eventWhere applies f's search and filters (not its page) to q.
func (s *Store) eventWhere(q *bun.SelectQuery, f store.EventFilter) *bun.SelectQuery {
	username := s.jsonText(`"user"`, "username")
	if f.Search != "" {
		pat := like(f.Search)
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where(`LOWER(action) LIKE ? ESCAPE '\'`, pat).
				WhereOr(`LOWER(app) LIKE ? ESCAPE '\'`, pat).
				WhereOr(`LOWER(`+username+`) LIKE ? ESCAPE '\'`, pat)
		})
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Username != "" {
		q = q.Where(username+" = ?", f.Username)
	}
	if f.ClientIP != "" {
		q = q.Where("client_ip = ?", f.ClientIP)
	}
	if f.ContextModelPK != "" {
		if s.eng.dialect == dialect.PG {
			q = q.Where("(context->'model'->>'pk') = ?", f.ContextModelPK)
		} else {
			q = q.Where("CAST(json_extract(context, '$.model.pk') AS TEXT) = ?", f.ContextModelPK)
		}
	}
	if f.ContextModelApp != "" {
		q = q.Where(s.jsonPath("context", "model", "app")+" = ?", f.ContextModelApp)
	}
	if f.ContextAuthorizedApp != "" {
		q = q.Where(s.jsonPath("context", "authorized_application", "pk")+" = ?", f.ContextAuthorizedApp)
	}
	// The range is on the (created) index. SQLite compares the UTC text
	// CreateEvent writes (see EventVolume), so the bounds are UTC too.
	if !f.Since.IsZero() {
		q = q.Where("created >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("created <= ?", f.Until.UTC())
	}
	return restrict(q, "uuid", f.Only)
}

// EventVolume implements store.Events: a GROUP BY on the hour, which the
// (action, created) and (created) indexes serve. The hour is cut cheaply
// and formatted per group, not per row (a day of 12,500 logins: SQLite's
// strftime took 20 ms of it, the prefix 5 ms; PostgreSQL's to_char on
// every row doubled its time). SQLite holds created as UTC text
// ("2006-01-02 15:04:05.999999+00:00", CreateEvent writes UTC), which the
// range condition on created relies on as well, so its first 13
// characters are the hour.
func (s *Store) EventVolume(ctx context.Context, f store.EventFilter, since time.Time) ([]store.EventVolume, error) {
	hour, group, layout := "substr(created, 1, 13)", "action, hour", "2006-01-02 15"
	if s.eng.dialect == dialect.PG {
		trunc := "date_trunc('hour', created AT TIME ZONE 'UTC')"
		hour, group, layout = "to_char("+trunc+`, 'YYYY-MM-DD"T"HH24:00:00"Z"')`, "action, "+trunc, time.RFC3339
	}
	var rows []struct {
		Action string `bun:"action"`
		Hour   string `bun:"hour"`
		Count  int    `bun:"count"`
	}
	q := s.r.NewSelect().TableExpr("events").ColumnExpr("action").ColumnExpr(hour+" AS hour").ColumnExpr("COUNT(*) AS count").
		Where("created >= ?", since.UTC())
	err := s.eventWhere(q, f).GroupExpr(group).OrderExpr("hour, action").Scan(ctx, &rows)
	if err != nil {
		return nil, mapErr(objEvent, err)
	}
	out := make([]store.EventVolume, 0, len(rows))
	for _, r := range rows {
		h, err := time.Parse(layout, r.Hour)
		if err != nil {
			return nil, fmt.Errorf("event volume hour %q: %w", r.Hour, err)
		}
		out = append(out, store.EventVolume{Action: r.Action, Hour: h, Count: r.Count})
	}
	return out, nil
}

// DeleteExpiredEvents implements store.Events.
func (s *Store) DeleteExpiredEvents(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.NewDelete().Model((*store.Event)(nil)).Where("expires <= ?", now.UTC()).Exec(ctx)
	n, err := rowsAffected(objEvent, res, err)
	s.eng.events.add(-int64(n))
	return n, err
}
