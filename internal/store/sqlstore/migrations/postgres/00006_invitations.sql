-- +goose Up
CREATE TABLE invitations (
    uuid          UUID PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    expires       TIMESTAMPTZ,
    fixed_data    JSONB NOT NULL DEFAULT '{}',
    created_by_pk BIGINT REFERENCES users (pk) ON DELETE SET NULL,
    single_use    BOOLEAN NOT NULL DEFAULT FALSE,
    flow_uuid     UUID REFERENCES flows (uuid) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE invitations;
