-- +goose Up
CREATE TABLE users (
    pk                   INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                 TEXT NOT NULL UNIQUE,
    username             TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL DEFAULT '',
    email                TEXT NOT NULL DEFAULT '',
    is_active            BOOLEAN NOT NULL DEFAULT TRUE,
    type                 TEXT NOT NULL DEFAULT 'internal',
    path                 TEXT NOT NULL DEFAULT 'users',
    attributes           TEXT NOT NULL DEFAULT '{}',
    password_hash        TEXT NOT NULL DEFAULT '',
    password_change_date TIMESTAMP,
    last_login           TIMESTAMP,
    date_joined          TIMESTAMP NOT NULL,
    last_updated         TIMESTAMP NOT NULL
);
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE groups (
    uuid         TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    parent_uuid  TEXT REFERENCES groups (uuid) ON DELETE SET NULL,
    is_superuser BOOLEAN NOT NULL DEFAULT FALSE,
    attributes   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX groups_parent_idx ON groups (parent_uuid);

CREATE TABLE group_members (
    group_uuid TEXT NOT NULL REFERENCES groups (uuid) ON DELETE CASCADE,
    user_pk    INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    PRIMARY KEY (group_uuid, user_pk)
);
CREATE INDEX group_members_user_idx ON group_members (user_pk);

CREATE TABLE tokens (
    uuid        TEXT PRIMARY KEY,
    identifier  TEXT NOT NULL UNIQUE,
    key_hash    BLOB NOT NULL UNIQUE,
    intent      TEXT NOT NULL,
    user_pk     INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    expiring    BOOLEAN NOT NULL DEFAULT TRUE,
    expires     TIMESTAMP,
    managed     TEXT NOT NULL DEFAULT '',
    created     TIMESTAMP NOT NULL
);
CREATE INDEX tokens_user_idx ON tokens (user_pk);
CREATE INDEX tokens_expires_idx ON tokens (expires) WHERE expiring;

CREATE TABLE brands (
    uuid                     TEXT PRIMARY KEY,
    domain                   TEXT NOT NULL UNIQUE,
    is_default               BOOLEAN NOT NULL DEFAULT FALSE,
    branding_title           TEXT NOT NULL DEFAULT '',
    branding_logo            TEXT NOT NULL DEFAULT '',
    branding_favicon         TEXT NOT NULL DEFAULT '',
    branding_custom_css      TEXT NOT NULL DEFAULT '',
    flow_authentication      TEXT,
    flow_invalidation        TEXT,
    flow_recovery            TEXT,
    flow_unenrollment        TEXT,
    flow_user_settings       TEXT,
    flow_device_code         TEXT,
    web_certificate          TEXT,
    default_application      TEXT,
    attributes               TEXT NOT NULL DEFAULT '{}'
);
-- At most one default brand.
CREATE UNIQUE INDEX brands_one_default_idx ON brands (is_default) WHERE is_default;

CREATE TABLE sessions (
    key             TEXT PRIMARY KEY,
    uuid            TEXT NOT NULL UNIQUE,
    user_pk         INTEGER REFERENCES users (pk) ON DELETE CASCADE,
    data            TEXT NOT NULL DEFAULT '{}',
    last_ip         TEXT NOT NULL DEFAULT '',
    last_user_agent TEXT NOT NULL DEFAULT '',
    last_used       TIMESTAMP NOT NULL,
    expires         TIMESTAMP NOT NULL,
    created         TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_pk);
CREATE INDEX sessions_expires_idx ON sessions (expires);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE sessions;
DROP TABLE brands;
DROP TABLE tokens;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE users;
