-- +goose Up
CREATE TABLE users (
    pk                   BIGSERIAL PRIMARY KEY,
    uuid                 UUID NOT NULL UNIQUE,
    username             TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL DEFAULT '',
    email                TEXT NOT NULL DEFAULT '',
    is_active            BOOLEAN NOT NULL DEFAULT TRUE,
    type                 TEXT NOT NULL DEFAULT 'internal',
    path                 TEXT NOT NULL DEFAULT 'users',
    attributes           JSONB NOT NULL DEFAULT '{}',
    password_hash        TEXT NOT NULL DEFAULT '',
    password_change_date TIMESTAMPTZ,
    last_login           TIMESTAMPTZ,
    date_joined          TIMESTAMPTZ NOT NULL,
    last_updated         TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE groups (
    uuid         UUID PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    parent_uuid  UUID REFERENCES groups (uuid) ON DELETE SET NULL,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    attributes   JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX groups_parent_idx ON groups (parent_uuid);

CREATE TABLE group_members (
    group_uuid UUID NOT NULL REFERENCES groups (uuid) ON DELETE CASCADE,
    user_pk    BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_uuid, user_pk)
);
CREATE INDEX group_members_user_idx ON group_members (user_pk);

CREATE TABLE tokens (
    uuid        UUID PRIMARY KEY,
    identifier  TEXT NOT NULL UNIQUE,
    key_hash    BYTEA NOT NULL UNIQUE,
    intent      TEXT NOT NULL,
    user_pk     BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    expiring    BOOLEAN NOT NULL DEFAULT TRUE,
    expires     TIMESTAMPTZ,
    managed     TEXT NOT NULL DEFAULT '',
    created     TIMESTAMPTZ NOT NULL
);
CREATE INDEX tokens_user_idx ON tokens (user_pk);
CREATE INDEX tokens_expires_idx ON tokens (expires) WHERE expiring;

CREATE TABLE brands (
    uuid                     UUID PRIMARY KEY,
    domain                   TEXT NOT NULL UNIQUE,
    is_default               BOOLEAN NOT NULL DEFAULT FALSE,
    branding_title           TEXT NOT NULL DEFAULT '',
    branding_logo            TEXT NOT NULL DEFAULT '',
    branding_favicon         TEXT NOT NULL DEFAULT '',
    branding_custom_css      TEXT NOT NULL DEFAULT '',
    flow_authentication      UUID,
    flow_invalidation        UUID,
    flow_recovery            UUID,
    flow_unenrollment        UUID,
    flow_user_settings       UUID,
    flow_device_code         UUID,
    web_certificate          UUID,
    default_application      UUID,
    attributes               JSONB NOT NULL DEFAULT '{}'
);
-- At most one default brand.
CREATE UNIQUE INDEX brands_one_default_idx ON brands (is_default) WHERE is_default;

CREATE TABLE sessions (
    key             TEXT PRIMARY KEY,
    uuid            UUID NOT NULL UNIQUE,
    user_pk         BIGINT REFERENCES users (pk) ON DELETE CASCADE,
    data            JSONB NOT NULL DEFAULT '{}',
    last_ip         TEXT NOT NULL DEFAULT '',
    last_user_agent TEXT NOT NULL DEFAULT '',
    last_used       TIMESTAMPTZ NOT NULL,
    expires         TIMESTAMPTZ NOT NULL,
    created         TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_pk);
CREATE INDEX sessions_expires_idx ON sessions (expires);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value JSONB NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE sessions;
DROP TABLE brands;
DROP TABLE tokens;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE users;
