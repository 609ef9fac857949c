-- +goose Up
-- Notification transports, rules and notifications (authentik's
-- NotificationTransport, NotificationRule, Notification). A rule's
-- transports are a JSON list of transport uuids; its policy bindings
-- target its uuid.
CREATE TABLE notification_transports (
    uuid                 TEXT PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    mode                 TEXT NOT NULL,
    webhook_url          TEXT NOT NULL DEFAULT '',
    webhook_mapping_body    TEXT REFERENCES property_mappings (uuid) ON DELETE SET NULL,
    webhook_mapping_headers TEXT REFERENCES property_mappings (uuid) ON DELETE SET NULL,
    webhook_secret       TEXT NOT NULL DEFAULT '',
    send_once            BOOLEAN NOT NULL DEFAULT FALSE,
    email_subject_prefix TEXT NOT NULL DEFAULT '',
    email_template       TEXT NOT NULL DEFAULT ''
);

CREATE TABLE notification_rules (
    uuid                   TEXT PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    transports             TEXT NOT NULL DEFAULT '[]',
    severity               TEXT NOT NULL,
    destination_group      TEXT REFERENCES groups (uuid) ON DELETE SET NULL,
    destination_event_user BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE notifications (
    uuid            TEXT PRIMARY KEY,
    severity        TEXT NOT NULL,
    body            TEXT NOT NULL,
    hyperlink       TEXT NOT NULL DEFAULT '',
    hyperlink_label TEXT NOT NULL DEFAULT '',
    created         TIMESTAMP NOT NULL,
    event_uuid      TEXT REFERENCES events (uuid) ON DELETE SET NULL,
    user_pk         BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    seen            BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX notifications_user_idx ON notifications (user_pk, created);

-- +goose Down
DROP TABLE notifications;
DROP TABLE notification_rules;
DROP TABLE notification_transports;
