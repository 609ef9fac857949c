package sqlstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// TestEventCount checks the kept total of the unfiltered events list
// (eventcount.go) on both engines: counted once, kept by this process's
// inserts and deletes (in transactions too), behind raw writes until a
// recount, while every filtered list counts exactly.
func TestEventCount(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			var clock atomic.Int64
			clock.Store(time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).UnixNano())
			opts := sqlstore.Options{Now: func() time.Time { return time.Unix(0, clock.Load()) }}
			var s *sqlstore.Store
			var err error
			if engine == "sqlite" {
				s, err = sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "gatehouse.db"), opts)
			} else {
				s, err = sqlstore.OpenPostgres(context.Background(), testenv.PostgresDB(t), opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if _, err := s.Migrate(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			testEventCount(t, s, func(d time.Duration) { clock.Add(int64(d)) })
		})
	}
}

func testEventCount(t *testing.T, s *sqlstore.Store, advance func(time.Duration)) {
	ctx := context.Background()
	sqlstore.SetEventCountRefresh(s, time.Minute)
	now := time.Now().UTC()
	event := func(action string, expires time.Time) *store.Event {
		return &store.Event{Action: action, User: store.Attributes{"username": "alice"}, Context: store.Attributes{},
			Brand: store.Attributes{}, Created: now, Expires: expires}
	}
	create := func(e *store.Event) {
		t.Helper()
		if err := s.CreateEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// raw writes rows past the store, as another replica does.
	raw := func(n int, action string) {
		t.Helper()
		for range n {
			e := event(action, now.Add(time.Hour))
			e.UUID = uuid.New()
			if _, err := s.DB().NewInsert().Model(e).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// total lists one event a page, so the total is the kept count (a
	// short page would tell the exact total by itself).
	total := func(f store.EventFilter) int {
		t.Helper()
		f.Page = store.Page{Limit: 1}
		es, n, err := s.ListEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && len(es) != 1 {
			t.Fatalf("%+v: %d events on a page of 1 of %d", f, len(es), n)
		}
		return n
	}
	check := func(step string, f store.EventFilter, want int) {
		t.Helper()
		if got := total(f); got != want {
			t.Errorf("%s: total = %d, want %d", step, got, want)
		}
	}
	all := store.EventFilter{}

	check("empty table", all, 0)
	raw(3, "seeded")
	// The empty table was counted already (0): the raw rows are not in the
	// kept count yet, but the page of one shows there is at least one.
	check("kept count below the page", all, 1)
	advance(2 * time.Minute)
	total(all) // answers the stale count, recounts in the background
	sqlstore.WaitEventCount(s)
	check("recounted", all, 3)

	create(event("login", now.Add(time.Hour)))
	create(event("login", now.Add(time.Hour)))
	check("two inserts", all, 5)

	raw(2, "replica")
	check("another replica's inserts, before a recount", all, 5)
	check("filtered by action", store.EventFilter{Action: "replica"}, 2)
	check("filtered by search", store.EventFilter{ListOptions: store.ListOptions{Search: "replic"}}, 2)
	check("filtered by username", store.EventFilter{Username: "alice"}, 7)
	check("filtered by a date range", store.EventFilter{Since: now.Add(-time.Minute), Until: now.Add(time.Minute)}, 7)
	check("restricted to no events", store.EventFilter{ListOptions: store.ListOptions{Only: []string{}}}, 0)
	one := event("login", now.Add(time.Hour))
	create(one)
	check("restricted to one event", store.EventFilter{ListOptions: store.ListOptions{Only: []string{one.UUID.String()}}}, 1)
	check("one more insert", all, 6)

	err := s.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateEvent(ctx, event("login", now.Add(time.Hour))); err != nil {
			return err
		}
		_, n, err := tx.ListEvents(ctx, store.EventFilter{ListOptions: store.ListOptions{Page: store.Page{Limit: 1}}})
		if err != nil {
			return err
		}
		if n != 9 {
			t.Errorf("inside the transaction: total = %d, want the exact 9", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("insert in a transaction", all, 7)

	errRollback := errors.New("roll back")
	err = s.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateEvent(ctx, event("login", now.Add(time.Hour))); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v", err)
	}
	check("insert rolled back (counted until a recount)", all, 8)

	advance(30 * time.Second)
	check("within the refresh interval", all, 8)
	sqlstore.WaitEventCount(s)
	check("no recount within the interval", all, 8)
	advance(31 * time.Second)
	check("stale while revalidating", all, 8)
	sqlstore.WaitEventCount(s)
	check("recount repairs the drift", all, 9)

	create(event("expired", now.Add(-time.Hour)))
	create(event("expired", now.Add(-time.Minute)))
	check("two expired inserted", all, 11)
	n, err := s.DeleteExpiredEvents(ctx, now)
	if err != nil || n != 2 {
		t.Fatalf("DeleteExpiredEvents = %d, %v", n, err)
	}
	check("expired deleted", all, 9)

	// Pages: a short page is exact by itself; past the end, the kept
	// count stands.
	es, got, err := s.ListEvents(ctx, store.EventFilter{ListOptions: store.ListOptions{Page: store.Page{Limit: 100}}})
	if err != nil || len(es) != 9 || got != 9 {
		t.Errorf("page of 100: %d events, total %d, %v; want 9, 9", len(es), got, err)
	}
	es, got, err = s.ListEvents(ctx, store.EventFilter{ListOptions: store.ListOptions{Page: store.Page{Offset: 100, Limit: 10}}})
	if err != nil || len(es) != 0 || got != 9 {
		t.Errorf("page past the end: %d events, total %d, %v; want 0, 9", len(es), got, err)
	}
}

// TestEventCountFirstUse checks that concurrent first lists share one count
// and all see the rows written before it.
func TestEventCountFirstUse(t *testing.T) {
	t.Parallel()
	s := openSQLite(t)
	ctx := context.Background()
	now := time.Now().UTC()
	for range 5 {
		e := &store.Event{UUID: uuid.New(), Action: "seeded", User: store.Attributes{}, Context: store.Attributes{},
			Brand: store.Attributes{}, Created: now, Expires: now.Add(time.Hour)}
		if _, err := s.DB().NewInsert().Model(e).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, n, err := s.ListEvents(ctx, store.EventFilter{ListOptions: store.ListOptions{Page: store.Page{Limit: 2}}})
			if err != nil || n != 5 {
				t.Errorf("ListEvents total = %d, %v; want 5", n, err)
			}
		})
	}
	wg.Wait()
}
