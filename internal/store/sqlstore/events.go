package sqlstore

import (
	"context"
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
	_, err := s.w.NewInsert().Model(e).Exec(ctx)
	return mapErr(objEvent, err)
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

// ListEvents implements store.Events.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]*store.Event, int, error) {
	order, err := orderClause(objEvent, f.Ordering, "-created", map[string]string{
		"created": "created", "action": "action", "client_ip": "client_ip", "app": "app"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.Event
	q := s.r.NewSelect().Model(&out)
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
	n, err := listPage(ctx, restrict(q, "uuid", f.Only), objEvent, order+", uuid DESC", f.Page)
	return out, n, err
}

// DeleteExpiredEvents implements store.Events.
func (s *Store) DeleteExpiredEvents(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.NewDelete().Model((*store.Event)(nil)).Where("expires <= ?", now.UTC()).Exec(ctx)
	return rowsAffected(objEvent, res, err)
}
