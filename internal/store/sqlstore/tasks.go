package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	objSystemTask   = "system task"
	objTaskSchedule = "schedule"
	objWorker       = "worker"
)

var _ store.SystemTasks = (*Store)(nil)

func normalizeSystemTask(t *store.SystemTask) error {
	if !t.Status.Valid() {
		return fmt.Errorf("%s status %q: %w", objSystemTask, t.Status, store.ErrInvalid)
	}
	if t.Messages == nil {
		t.Messages = []store.TaskMessage{}
	}
	t.Started = t.Started.UTC()
	if t.Finished != nil {
		f := t.Finished.UTC()
		t.Finished = &f
	}
	return nil
}

// CreateSystemTask implements store.SystemTasks.
func (s *Store) CreateSystemTask(ctx context.Context, t *store.SystemTask) error {
	if err := normalizeSystemTask(t); err != nil {
		return err
	}
	newID(&t.UUID)
	_, err := s.w.NewInsert().Model(t).Exec(ctx)
	return mapErr(objSystemTask, err)
}

// UpdateSystemTask implements store.SystemTasks.
func (s *Store) UpdateSystemTask(ctx context.Context, t *store.SystemTask) error {
	if err := normalizeSystemTask(t); err != nil {
		return err
	}
	return updateByPK(ctx, s.w, objSystemTask, t)
}

// SystemTaskByUUID implements store.SystemTasks.
func (s *Store) SystemTaskByUUID(ctx context.Context, id uuid.UUID) (*store.SystemTask, error) {
	return getBy[store.SystemTask](ctx, s.r, objSystemTask, "uuid = ?", id)
}

// ListSystemTasks implements store.SystemTasks.
func (s *Store) ListSystemTasks(ctx context.Context, f store.SystemTaskFilter) ([]*store.SystemTask, int, error) {
	order, err := orderClause(objSystemTask, f.Ordering, "-started", map[string]string{
		"name": "name", "status": "status", "started": "started", "duration": "duration_ms", "uid": "uid"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.SystemTask
	q := s.r.NewSelect().Model(&out)
	if f.Name != "" {
		q = q.Where("name = ?", f.Name)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if hasNUL([]any{f.Name, string(f.Status)}) {
		return []*store.SystemTask{}, 0, nil
	}
	n, err := listPage(ctx, q, objSystemTask, order+", uuid ASC", f.Page)
	return out, n, err
}

// AbandonSystemTasks implements store.SystemTasks.
func (s *Store) AbandonSystemTasks(ctx context.Context, taskID, reason string, now time.Time) (int64, error) {
	if taskID == "" || hasNUL([]any{taskID}) {
		return 0, nil
	}
	res, err := s.w.NewUpdate().Model((*store.SystemTask)(nil)).
		Set("status = ?", string(store.TaskError)).Set("error = ?", reason).Set("finished = ?", now.UTC()).
		Where("task_id = ? AND status = ?", taskID, string(store.TaskRunning)).Exec(ctx)
	if err != nil {
		return 0, mapErr(objSystemTask, err)
	}
	return res.RowsAffected()
}

// DeleteSystemTasksBefore implements store.SystemTasks.
func (s *Store) DeleteSystemTasksBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.w.NewDelete().Model((*store.SystemTask)(nil)).
		Where("started < ?", t.UTC()).Exec(ctx)
	if err != nil {
		return 0, mapErr(objSystemTask, err)
	}
	return res.RowsAffected()
}

// EnsureTaskSchedule implements store.SystemTasks.
func (s *Store) EnsureTaskSchedule(ctx context.Context, sc *store.TaskSchedule) error {
	newID(&sc.UUID)
	now := s.eng.now()
	sc.Created, sc.Updated, sc.NextRun = now, now, sc.NextRun.UTC()
	if sc.Args == "" {
		sc.Args = "{}"
	}
	if _, err := s.w.NewInsert().Model(sc).On("CONFLICT (identifier) DO UPDATE").Set("timeout_ms = EXCLUDED.timeout_ms").Exec(ctx); err != nil {
		return mapErr(objTaskSchedule, err)
	}
	got, err := getBy[store.TaskSchedule](ctx, s.w, objTaskSchedule, "identifier = ?", sc.Identifier)
	if err != nil {
		return err
	}
	*sc = *got
	return nil
}

// TaskScheduleByUUID implements store.SystemTasks.
func (s *Store) TaskScheduleByUUID(ctx context.Context, id uuid.UUID) (*store.TaskSchedule, error) {
	return getBy[store.TaskSchedule](ctx, s.r, objTaskSchedule, "uuid = ?", id)
}

// ListTaskSchedules implements store.SystemTasks.
func (s *Store) ListTaskSchedules(ctx context.Context, o store.ListOptions) ([]*store.TaskSchedule, int, error) {
	order, err := orderClause(objTaskSchedule, o.Ordering, "identifier", map[string]string{
		"identifier": "identifier", "name": "name", "next_run": "next_run", "actor_name": "name", "paused": "paused"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.TaskSchedule
	q := restrict(searchAny(s.r.NewSelect().Model(&out), o.Search, "identifier", "name", "description"), "uuid", o.Only)
	n, err := listPage(ctx, q, objTaskSchedule, order+", uuid ASC", o.Page)
	return out, n, err
}

// UpdateTaskSchedule implements store.SystemTasks.
func (s *Store) UpdateTaskSchedule(ctx context.Context, sc *store.TaskSchedule) error {
	sc.Updated, sc.NextRun = s.eng.now(), sc.NextRun.UTC()
	return updateByPK(ctx, s.w, objTaskSchedule, sc, "created")
}

// DueTaskSchedules implements store.SystemTasks.
func (s *Store) DueTaskSchedules(ctx context.Context, now time.Time) ([]*store.TaskSchedule, error) {
	var out []*store.TaskSchedule
	err := s.r.NewSelect().Model(&out).Where("NOT paused AND next_run <= ?", now.UTC()).OrderExpr("next_run, uuid").Scan(ctx)
	return out, mapErr(objTaskSchedule, err)
}

// ClaimTaskSchedule implements store.SystemTasks.
func (s *Store) ClaimTaskSchedule(ctx context.Context, id uuid.UUID, prev, next, now time.Time) (bool, error) {
	res, err := s.w.NewUpdate().Model((*store.TaskSchedule)(nil)).
		Set("next_run = ?", next.UTC()).Set("last_run = ?", now.UTC()).
		Where("uuid = ? AND next_run = ? AND NOT paused", id, prev.UTC()).Exec(ctx)
	if err != nil {
		return false, mapErr(objTaskSchedule, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// HeartbeatWorker implements store.SystemTasks.
func (s *Store) HeartbeatWorker(ctx context.Context, w *store.WorkerStatus) error {
	w.Started, w.LastSeen = w.Started.UTC(), w.LastSeen.UTC()
	_, err := s.w.NewInsert().Model(w).
		On("CONFLICT (id) DO UPDATE").Set("last_seen = EXCLUDED.last_seen, hostname = EXCLUDED.hostname, version = EXCLUDED.version").
		Exec(ctx)
	return mapErr(objWorker, err)
}

// ListWorkers implements store.SystemTasks.
func (s *Store) ListWorkers(ctx context.Context, since time.Time) ([]*store.WorkerStatus, error) {
	out := []*store.WorkerStatus{}
	err := s.r.NewSelect().Model(&out).Where("last_seen >= ?", since.UTC()).OrderExpr("started, id").Scan(ctx)
	return out, mapErr(objWorker, err)
}

// DeleteWorkersBefore implements store.SystemTasks.
func (s *Store) DeleteWorkersBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.w.NewDelete().Model((*store.WorkerStatus)(nil)).Where("last_seen < ?", t.UTC()).Exec(ctx)
	if err != nil {
		return 0, mapErr(objWorker, err)
	}
	return res.RowsAffected()
}

// DeleteWorker implements store.SystemTasks.
func (s *Store) DeleteWorker(ctx context.Context, id string) error {
	return deleteBy[store.WorkerStatus](ctx, s.w, objWorker, "id = ?", id)
}
