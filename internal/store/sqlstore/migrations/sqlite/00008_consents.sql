-- +goose Up
-- A user's consent to an application (authentik's UserConsent): permanent
-- when expires is NULL.
CREATE TABLE user_consents (
    uuid             TEXT PRIMARY KEY,
    user_pk          INTEGER NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    application_uuid TEXT NOT NULL REFERENCES applications (uuid) ON DELETE CASCADE,
    expires          TIMESTAMP,
    permissions      TEXT NOT NULL DEFAULT '',
    UNIQUE (user_pk, application_uuid)
);

-- +goose Down
DROP TABLE user_consents;
