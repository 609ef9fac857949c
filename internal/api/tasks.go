package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/cron"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

const (
	permViewTask          = "authentik_tasks.view_task"
	permViewWorkerStatus  = "authentik_tasks.view_workerstatus"
	permViewSchedule      = "authentik_tasks_schedules.view_schedule"
	permChangeSchedule    = "authentik_tasks_schedules.change_schedule"
	scheduleModelApp      = "authentik_tasks_schedules"
	scheduleModel         = "schedule"
	errQueueNotConfigured = "The task queue is not available."
)

// SystemTask is one run of a background task (authentik's Task serializer,
// one row per attempt). status is Gatehouse's (running, successful,
// warning, error); state and aggregated_status are authentik's names for it.
type SystemTask struct {
	MessageID        uuid.UUID           `json:"message_id"`
	TaskID           string              `json:"task_id" doc:"The queued task this run belongs to; retries share it."`
	ActorName        string              `json:"actor_name"`
	UID              string              `json:"uid"`
	Status           string              `json:"status" enum:"running,successful,warning,error"`
	State            string              `json:"state" enum:"consumed,done,rejected"`
	AggregatedStatus string              `json:"aggregated_status" enum:"consumed,done,warning,error"`
	Retries          int                 `json:"retries"`
	Worker           string              `json:"worker"`
	Started          time.Time           `json:"started"`
	Finished         *time.Time          `json:"finished" nullable:"true"`
	Duration         float64             `json:"duration" doc:"Seconds."`
	Messages         []SystemTaskMessage `json:"messages"`
	Error            string              `json:"error"`
}

// SystemTaskMessage is one line a run logged.
type SystemTaskMessage struct {
	Event     string    `json:"event"`
	LogLevel  string    `json:"log_level"`
	Timestamp time.Time `json:"timestamp"`
}

// Schedule is authentik's Schedule serializer.
type Schedule struct {
	ID             uuid.UUID  `json:"id"`
	Identifier     string     `json:"identifier"`
	UID            string     `json:"uid"`
	ActorName      string     `json:"actor_name"`
	Crontab        string     `json:"crontab"`
	Paused         bool       `json:"paused"`
	NextRun        time.Time  `json:"next_run"`
	LastRun        *time.Time `json:"last_run" nullable:"true"`
	Description    string     `json:"description"`
	LastTaskStatus *string    `json:"last_task_status" nullable:"true" enum:"running,successful,warning,error"`
}

// ScheduleRequest patches a schedule.
type ScheduleRequest struct {
	Crontab *string `json:"crontab,omitempty" minLength:"1" maxLength:"200"`
	Paused  *bool   `json:"paused,omitempty"`
}

// WorkerStatus is a live worker (authentik's WorkerStatus serializer).
type WorkerStatus struct {
	WorkerID        string    `json:"worker_id"`
	Hostname        string    `json:"hostname"`
	Version         string    `json:"version"`
	VersionMatching bool      `json:"version_matching"`
	Started         time.Time `json:"started"`
	LastSeen        time.Time `json:"last_seen"`
}

// TaskIDInput is the message_id path parameter.
type TaskIDInput struct {
	ID uuid.UUID `path:"message_id" doc:"A UUID string identifying this task run."`
}

// ScheduleIDInput is the id path parameter of schedules.
type ScheduleIDInput struct {
	ID uuid.UUID `path:"id" doc:"A UUID string identifying this schedule."`
}

type taskListInput struct {
	ListParams
	ActorName        string `query:"actor_name" maxLength:"200"`
	Status           string `query:"status" enum:"running,successful,warning,error"`
	AggregatedStatus string `query:"aggregated_status" enum:"consumed,done,warning,error"`
}

func (a *API) registerTasks() {
	const tag = "tasks"
	tasks, schedules := "/tasks/tasks/", "/tasks/schedules/"
	huma.Register(a.huma, op(http.MethodGet, tasks, "tasks_tasks_list", tag, "List task runs", 200), a.listSystemTasks)
	huma.Register(a.huma, op(http.MethodGet, tasks+"{message_id}/", "tasks_tasks_retrieve", tag, "Get a task run", 200, 404), a.getSystemTask)
	huma.Register(a.huma, op(http.MethodGet, schedules, "tasks_schedules_list", tag, "List schedules", 200), a.listSchedules)
	huma.Register(a.huma, op(http.MethodGet, schedules+"{id}/", "tasks_schedules_retrieve", tag, "Get a schedule", 200, 404), a.getSchedule)
	huma.Register(a.huma, op(http.MethodPatch, schedules+"{id}/", "tasks_schedules_partial_update", tag,
		"Update a schedule (crontab, paused)", 200, 404), a.patchSchedule)
	huma.Register(a.huma, op(http.MethodPost, schedules+"{id}/send/", "tasks_schedules_send_create", tag,
		"Run a schedule's task now (enqueue it once)", 204, 404, 503), a.sendSchedule)
	huma.Register(a.huma, op(http.MethodGet, "/tasks/workers/", "tasks_workers_list", tag, "List live workers", 200), a.listWorkers)
}

func systemTaskOut(t *store.SystemTask) *SystemTask {
	o := &SystemTask{MessageID: t.UUID, TaskID: t.TaskID, ActorName: t.Name, UID: t.UID, Status: string(t.Status),
		Retries: max(t.Attempt-1, 0), Worker: t.Worker, Started: t.Started, Finished: t.Finished,
		Duration: float64(t.DurationMS) / 1000, Messages: []SystemTaskMessage{}, Error: t.Error}
	switch t.Status {
	case store.TaskRunning:
		o.State, o.AggregatedStatus = "consumed", "consumed"
	case store.TaskError:
		o.State, o.AggregatedStatus = "rejected", "error"
	case store.TaskWarning:
		o.State, o.AggregatedStatus = "done", "warning"
	default:
		o.State, o.AggregatedStatus = "done", "done"
	}
	for _, m := range t.Messages {
		o.Messages = append(o.Messages, SystemTaskMessage{Event: m.Text, LogLevel: m.Level, Timestamp: m.Time})
	}
	return o
}

// aggregatedToStatus maps authentik's aggregated_status filter to ours.
var aggregatedToStatus = map[string]store.TaskStatus{
	"consumed": store.TaskRunning, "done": store.TaskSuccessful, "warning": store.TaskWarning, "error": store.TaskError,
}

func (a *API) listSystemTasks(ctx context.Context, in *taskListInput) (*listOf[*SystemTask], error) {
	if _, err := a.require(ctx, permViewTask, ""); err != nil {
		return nil, err
	}
	f := store.SystemTaskFilter{Name: in.ActorName, Status: store.TaskStatus(in.Status), Ordering: in.Ordering, Page: in.page()}
	if in.AggregatedStatus != "" {
		st := aggregatedToStatus[in.AggregatedStatus]
		if f.Status != "" && f.Status != st {
			return emptyList[*SystemTask](in.ListParams), nil
		}
		f.Status = st
	}
	ts, total, err := a.Store.ListSystemTasks(ctx, f)
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[*SystemTask]{}
	out.Body.Results = make([]*SystemTask, 0, len(ts))
	for _, t := range ts {
		out.Body.Results = append(out.Body.Results, systemTaskOut(t))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, total, len(ts)), Autocomplete{}
	return out, nil
}

func emptyList[T any](p ListParams) *listOf[T] {
	out := &listOf[T]{}
	out.Body.Results = []T{}
	out.Body.Pagination, out.Body.Autocomplete = paginate(p, 0, 0), Autocomplete{}
	return out
}

func (a *API) getSystemTask(ctx context.Context, in *TaskIDInput) (*struct{ Body *SystemTask }, error) {
	if _, err := a.require(ctx, permViewTask, ""); err != nil {
		return nil, err
	}
	t, err := a.Store.SystemTaskByUUID(ctx, in.ID)
	if err != nil {
		return nil, a.storeError(err)
	}
	return &struct{ Body *SystemTask }{Body: systemTaskOut(t)}, nil
}

func (a *API) scheduleOut(ctx context.Context, s *store.TaskSchedule) *Schedule {
	o := &Schedule{ID: s.UUID, Identifier: s.Identifier, ActorName: s.Name, Crontab: s.Crontab, Paused: s.Paused,
		NextRun: s.NextRun, LastRun: s.LastRun, Description: s.Description}
	if last, _, err := a.Store.ListSystemTasks(ctx, store.SystemTaskFilter{Name: s.Name, Page: store.Page{Limit: 1}}); err == nil && len(last) == 1 {
		st := string(last[0].Status)
		o.LastTaskStatus = &st
	}
	return o
}

func (a *API) listSchedules(ctx context.Context, in *ListParams) (*listOf[*Schedule], error) {
	only, err := a.visible(ctx, permViewSchedule)
	if err != nil {
		return nil, err
	}
	ss, total, err := a.Store.ListTaskSchedules(ctx, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[*Schedule]{}
	out.Body.Results = make([]*Schedule, 0, len(ss))
	for _, s := range ss {
		out.Body.Results = append(out.Body.Results, a.scheduleOut(ctx, s))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(*in, total, len(ss)), Autocomplete{}
	return out, nil
}

func (a *API) loadSchedule(ctx context.Context, perm string, id uuid.UUID) (*store.TaskSchedule, error) {
	if err := a.check(ctx, perm, permViewSchedule, id.String()); err != nil {
		return nil, err
	}
	s, err := a.Store.TaskScheduleByUUID(ctx, id)
	return s, a.storeError(err)
}

func (a *API) getSchedule(ctx context.Context, in *ScheduleIDInput) (*struct{ Body *Schedule }, error) {
	s, err := a.loadSchedule(ctx, permViewSchedule, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body *Schedule }{Body: a.scheduleOut(ctx, s)}, nil
}

func (a *API) patchSchedule(ctx context.Context, in *struct {
	ScheduleIDInput
	Body ScheduleRequest
}) (*struct{ Body *Schedule }, error) {
	s, err := a.loadSchedule(ctx, permChangeSchedule, in.ID)
	if err != nil {
		return nil, err
	}
	reschedule := false
	if in.Body.Crontab != nil {
		if _, err := cron.Parse(*in.Body.Crontab); err != nil {
			return nil, fieldError("crontab", err.Error())
		}
		reschedule = reschedule || *in.Body.Crontab != s.Crontab
		s.Crontab = *in.Body.Crontab
	}
	if in.Body.Paused != nil {
		reschedule = reschedule || (s.Paused && !*in.Body.Paused)
		s.Paused = *in.Body.Paused
	}
	if reschedule {
		if s.NextRun, err = worker.NextRun(s.Crontab, a.now()); err != nil {
			return nil, fieldError("crontab", err.Error())
		}
	}
	if err := a.Store.UpdateTaskSchedule(ctx, s); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelUpdated, modelRef{scheduleModelApp, scheduleModel, s.UUID.String(), s.Identifier}, nil)
	return &struct{ Body *Schedule }{Body: a.scheduleOut(ctx, s)}, nil
}

// sendSchedule enqueues the schedule's task once, now, whether or not the
// schedule is paused; each call adds a run.
func (a *API) sendSchedule(ctx context.Context, in *ScheduleIDInput) (*noContent, error) {
	s, err := a.loadSchedule(ctx, permChangeSchedule, in.ID)
	if err != nil {
		return nil, err
	}
	if a.Queue == nil {
		return nil, detailError(http.StatusServiceUnavailable, errQueueNotConfigured)
	}
	if _, err := a.Queue.Enqueue(ctx, queue.Task{Name: s.Name, Args: []byte(s.Args),
		Timeout: time.Duration(s.TimeoutMS) * time.Millisecond}); err != nil && !errors.Is(err, queue.ErrDuplicate) {
		return nil, a.storeError(err)
	}
	return &noContent{}, nil
}

func (a *API) listWorkers(ctx context.Context, _ *struct{}) (*struct{ Body []WorkerStatus }, error) {
	if _, err := a.require(ctx, permViewWorkerStatus, ""); err != nil {
		return nil, err
	}
	ws, err := a.Store.ListWorkers(ctx, a.now().Add(-worker.StaleAfter(worker.DefaultHeartbeat)))
	if err != nil {
		return nil, a.storeError(err)
	}
	out := make([]WorkerStatus, 0, len(ws))
	for _, w := range ws {
		out = append(out, WorkerStatus{WorkerID: w.ID, Hostname: w.Hostname, Version: w.Version,
			VersionMatching: w.Version == a.Version, Started: w.Started, LastSeen: w.LastSeen})
	}
	return &struct{ Body []WorkerStatus }{Body: out}, nil
}
