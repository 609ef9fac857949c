-- +goose Up
-- Blueprint instances (authentik's BlueprintInstance): a file of the
-- blueprints dir (path, relative to it) or a blueprint kept here (content,
-- path empty), with the outcome of its last application.
CREATE TABLE blueprint_instances (
    uuid              UUID PRIMARY KEY,
    name              TEXT NOT NULL,
    path              TEXT NOT NULL DEFAULT '',
    content           TEXT NOT NULL DEFAULT '',
    context           JSONB NOT NULL DEFAULT '{}',
    last_applied      TIMESTAMPTZ,
    last_applied_hash TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'unknown',
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    managed_models    JSONB NOT NULL DEFAULT '[]',
    metadata          JSONB NOT NULL DEFAULT '{}',
    created           TIMESTAMPTZ NOT NULL,
    updated           TIMESTAMPTZ NOT NULL,
    UNIQUE (name, path)
);
CREATE INDEX blueprint_instances_path_idx ON blueprint_instances (path);

-- +goose Down
DROP TABLE blueprint_instances;
