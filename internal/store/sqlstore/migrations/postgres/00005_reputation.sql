-- +goose Up
-- Login reputation per (identifier, client IP): lowered by failed logins,
-- raised by successful ones, clamped, expiring (authentik's Reputation).
CREATE TABLE reputation (
    identifier TEXT NOT NULL,
    ip         TEXT NOT NULL,
    score      INTEGER NOT NULL DEFAULT 0,
    updated    TIMESTAMPTZ NOT NULL,
    expires    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (identifier, ip)
);
CREATE INDEX reputation_ip_idx ON reputation (ip);
CREATE INDEX reputation_expires_idx ON reputation (expires);

-- +goose Down
DROP TABLE reputation;
