package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// TaskStatus is the outcome of one run of a system task.
type TaskStatus string

// Task statuses.
const (
	TaskRunning    TaskStatus = "running"
	TaskSuccessful TaskStatus = "successful"
	// TaskWarning: the run finished, but logged warnings.
	TaskWarning TaskStatus = "warning"
	TaskError   TaskStatus = "error"
)

// Valid reports whether s is one of the known statuses.
func (s TaskStatus) Valid() bool {
	switch s {
	case TaskRunning, TaskSuccessful, TaskWarning, TaskError:
		return true
	}
	return false
}

// TaskMessage is one line a task run logged.
type TaskMessage struct {
	Time  time.Time `json:"timestamp"`
	Level string    `json:"log_level"` // info, warning, error
	Text  string    `json:"event"`
}

// SystemTask records one run of a background task (authentik's Task): a
// queued task's attempt or a scheduled one.
type SystemTask struct {
	UUID uuid.UUID `bun:"uuid,pk"`
	// TaskID is the queue's id of the task; attempts of one task share it.
	TaskID string `bun:"task_id"`
	Name   string
	// UID names the object the task ran for, when it ran for one.
	UID      string `bun:"uid"`
	Status   TaskStatus
	Attempt  int
	Worker   string
	Started  time.Time
	Finished *time.Time
	// DurationMS is how long it ran, in milliseconds.
	DurationMS int64 `bun:"duration_ms"`
	Messages   []TaskMessage
	Error      string
}

// SystemTaskFilter narrows ListSystemTasks.
type SystemTaskFilter struct {
	Name   string
	Status TaskStatus
	// Ordering: name, status, started, duration ("-" descending; default -started).
	Ordering string
	Page     Page
}

// TaskSchedule says when the scheduler enqueues a task (authentik's
// Schedule). Identifier is unique: the code's schedules use their task's name.
type TaskSchedule struct {
	UUID       uuid.UUID `bun:"uuid,pk"`
	Identifier string
	// Name is the task enqueued, with Args.
	Name string
	Args string
	// TimeoutMS is the time limit of its runs (0: the queue's default);
	// the code's schedules keep it up to date.
	TimeoutMS   int64 `bun:"timeout_ms"`
	Crontab     string
	Paused      bool
	Description string
	NextRun     time.Time
	LastRun     *time.Time
	Created     time.Time
	Updated     time.Time
}

// WorkerStatus is a live worker's heartbeat (authentik's WorkerStatus).
type WorkerStatus struct {
	ID       string `bun:"id,pk"`
	Hostname string
	Version  string
	Started  time.Time
	LastSeen time.Time
}

// SystemTasks records task runs, holds the schedules, and the workers'
// heartbeats.
type SystemTasks interface {
	CreateSystemTask(ctx context.Context, t *SystemTask) error
	UpdateSystemTask(ctx context.Context, t *SystemTask) error
	SystemTaskByUUID(ctx context.Context, id uuid.UUID) (*SystemTask, error)
	ListSystemTasks(ctx context.Context, f SystemTaskFilter) ([]*SystemTask, int, error)
	// AbandonSystemTasks marks the runs of task taskID still recorded as
	// running as failed with reason, finished at now: their worker died,
	// and another attempt is starting.
	AbandonSystemTasks(ctx context.Context, taskID, reason string, now time.Time) (int64, error)
	// DeleteSystemTasksBefore deletes the runs that started before t.
	DeleteSystemTasksBefore(ctx context.Context, t time.Time) (int64, error)

	// EnsureTaskSchedule creates s unless a schedule with its Identifier
	// exists, whose TimeoutMS it then updates; either way s ends up as
	// stored.
	EnsureTaskSchedule(ctx context.Context, s *TaskSchedule) error
	TaskScheduleByUUID(ctx context.Context, id uuid.UUID) (*TaskSchedule, error)
	ListTaskSchedules(ctx context.Context, o ListOptions) ([]*TaskSchedule, int, error)
	UpdateTaskSchedule(ctx context.Context, s *TaskSchedule) error
	// DueTaskSchedules lists the schedules not paused whose NextRun has come.
	DueTaskSchedules(ctx context.Context, now time.Time) ([]*TaskSchedule, error)
	// ClaimTaskSchedule moves a schedule's NextRun from prev to next and
	// sets LastRun to now, only if NextRun is still prev: of the replicas
	// that saw the same tick, exactly one gets true.
	ClaimTaskSchedule(ctx context.Context, id uuid.UUID, prev, next, now time.Time) (bool, error)

	// HeartbeatWorker creates or refreshes w.
	HeartbeatWorker(ctx context.Context, w *WorkerStatus) error
	// ListWorkers lists the workers seen since t, oldest start first.
	ListWorkers(ctx context.Context, since time.Time) ([]*WorkerStatus, error)
	// DeleteWorkersBefore deletes the workers last seen before t, and
	// DeleteWorker one that stops.
	DeleteWorkersBefore(ctx context.Context, t time.Time) (int64, error)
	DeleteWorker(ctx context.Context, id string) error
}
