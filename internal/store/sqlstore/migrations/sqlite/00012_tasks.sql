-- +goose Up
-- The durable task queue (internal/queue/sqlqueue). Times are Unix
-- milliseconds. A queued task may run once run_at has passed; a running one
-- holds a lease until run_at, after which any worker may claim it again (its
-- worker died). Finished tasks are deleted; dead ones are kept with their
-- last error until the retention cleanup. unique_key is held while a task
-- waits and cleared when it is claimed.
CREATE TABLE queue_tasks (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    args         TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    attempt      INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    timeout_ms   BIGINT NOT NULL,
    unique_key   TEXT,
    locked_by    TEXT NOT NULL DEFAULT '',
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX queue_tasks_ready_idx ON queue_tasks (run_at, id) WHERE state <> 'dead';
CREATE UNIQUE INDEX queue_tasks_unique_idx ON queue_tasks (unique_key) WHERE unique_key IS NOT NULL AND state <> 'dead';

-- System tasks (authentik's Task): one row per run of a task, queued or
-- scheduled, with its outcome.
CREATE TABLE system_tasks (
    uuid        TEXT PRIMARY KEY,
    task_id     TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL,
    uid         TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL,
    attempt     INTEGER NOT NULL DEFAULT 1,
    worker      TEXT NOT NULL DEFAULT '',
    started     TIMESTAMP NOT NULL,
    finished    TIMESTAMP,
    duration_ms BIGINT NOT NULL DEFAULT 0,
    messages    TEXT NOT NULL DEFAULT '[]',
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX system_tasks_started_idx ON system_tasks (started);
CREATE INDEX system_tasks_name_idx ON system_tasks (name, started);

-- Schedules (authentik's Schedule): when the scheduler enqueues a task.
-- next_run is claimed with a compare-and-swap so one replica wins a tick.
CREATE TABLE task_schedules (
    uuid        TEXT PRIMARY KEY,
    identifier  TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    args        TEXT NOT NULL DEFAULT '{}',
    timeout_ms  BIGINT NOT NULL DEFAULT 0,
    crontab     TEXT NOT NULL,
    paused      BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT NOT NULL DEFAULT '',
    next_run    TIMESTAMP NOT NULL,
    last_run    TIMESTAMP,
    created     TIMESTAMP NOT NULL,
    updated     TIMESTAMP NOT NULL
);

-- Live workers (authentik's WorkerStatus): a heartbeat every few seconds.
CREATE TABLE worker_statuses (
    id        TEXT PRIMARY KEY,
    hostname  TEXT NOT NULL,
    version   TEXT NOT NULL DEFAULT '',
    started   TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE worker_statuses;
DROP TABLE task_schedules;
DROP TABLE system_tasks;
DROP TABLE queue_tasks;
