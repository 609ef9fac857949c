-- +goose Up
-- Token keys, sealed with a key derived from secret_key, for view_key.
ALTER TABLE tokens ADD COLUMN key_sealed TEXT NOT NULL DEFAULT '';

CREATE TABLE roles (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE group_roles (
    group_uuid TEXT NOT NULL REFERENCES groups (uuid) ON DELETE CASCADE,
    role_uuid  TEXT NOT NULL REFERENCES roles (uuid) ON DELETE CASCADE,
    PRIMARY KEY (group_uuid, role_uuid)
);
CREATE INDEX group_roles_role_idx ON group_roles (role_uuid);

CREATE TABLE user_roles (
    user_pk   INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    role_uuid TEXT NOT NULL REFERENCES roles (uuid) ON DELETE CASCADE,
    PRIMARY KEY (user_pk, role_uuid)
);
CREATE INDEX user_roles_role_idx ON user_roles (role_uuid);

-- object_pk '' is a global (model-wide) permission.
CREATE TABLE role_permissions (
    role_uuid  TEXT NOT NULL REFERENCES roles (uuid) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    object_pk  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (role_uuid, permission, object_pk)
);
CREATE INDEX role_permissions_perm_idx ON role_permissions (permission, object_pk);

CREATE TABLE providers (
    pk                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT NOT NULL UNIQUE,
    type                TEXT NOT NULL,
    authentication_flow TEXT,
    authorization_flow  TEXT,
    invalidation_flow   TEXT,
    settings            TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE applications (
    uuid               TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    slug               TEXT NOT NULL UNIQUE,
    provider_pk        INTEGER UNIQUE REFERENCES providers (pk) ON DELETE SET NULL,
    "group"            TEXT NOT NULL DEFAULT '',
    meta_launch_url    TEXT NOT NULL DEFAULT '',
    meta_icon          TEXT NOT NULL DEFAULT '',
    meta_description   TEXT NOT NULL DEFAULT '',
    meta_publisher     TEXT NOT NULL DEFAULT '',
    policy_engine_mode TEXT NOT NULL DEFAULT 'any',
    open_in_new_tab    BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE certificate_key_pairs (
    uuid               TEXT PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    certificate_data   TEXT NOT NULL,
    key_sealed         TEXT NOT NULL DEFAULT '',
    key_type           TEXT NOT NULL DEFAULT '',
    cert_expiry        TIMESTAMP,
    cert_subject       TEXT NOT NULL DEFAULT '',
    fingerprint_sha256 TEXT NOT NULL DEFAULT '',
    fingerprint_sha1   TEXT NOT NULL DEFAULT '',
    kid                TEXT NOT NULL DEFAULT '',
    managed            TEXT NOT NULL DEFAULT ''
);

CREATE TABLE events (
    uuid      TEXT PRIMARY KEY,
    action    TEXT NOT NULL,
    "user"    TEXT NOT NULL DEFAULT '{}',
    app       TEXT NOT NULL DEFAULT '',
    context   TEXT NOT NULL DEFAULT '{}',
    client_ip TEXT,
    brand     TEXT NOT NULL DEFAULT '{}',
    created   TIMESTAMP NOT NULL,
    expires   TIMESTAMP NOT NULL
);
CREATE INDEX events_created_idx ON events (created);
CREATE INDEX events_action_idx ON events (action, created);
CREATE INDEX events_expires_idx ON events (expires);

-- Lookups for the admin lists (search is a substring match; these serve
-- ordering and exact filters).
CREATE INDEX users_name_idx ON users (name);
CREATE INDEX users_date_joined_idx ON users (date_joined);

-- +goose Down
DROP INDEX users_date_joined_idx;
DROP INDEX users_name_idx;
DROP TABLE events;
DROP TABLE certificate_key_pairs;
DROP TABLE applications;
DROP TABLE providers;
DROP TABLE role_permissions;
DROP TABLE user_roles;
DROP TABLE group_roles;
DROP TABLE roles;
ALTER TABLE tokens DROP COLUMN key_sealed;
