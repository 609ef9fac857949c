-- +goose Up
CREATE TABLE invitations (
    uuid          TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    expires       TIMESTAMP,
    fixed_data    TEXT NOT NULL DEFAULT '{}',
    created_by_pk INTEGER REFERENCES users (pk) ON DELETE SET NULL,
    single_use    BOOLEAN NOT NULL DEFAULT FALSE,
    flow_uuid     TEXT REFERENCES flows (uuid) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE invitations;
