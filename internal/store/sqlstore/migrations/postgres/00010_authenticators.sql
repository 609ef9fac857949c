-- +goose Up
-- MFA devices (authentik's TOTPDevice, StaticDevice, WebAuthnDevice,
-- EmailDevice and SMSDevice in one table, told apart by type). data holds
-- the type's fields; counter is the compare-and-swap state (last TOTP time
-- step, WebAuthn sign count, a version for the others).
CREATE TABLE authenticator_devices (
    pk            BIGSERIAL PRIMARY KEY,
    user_pk       BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    confirmed     BOOLEAN NOT NULL DEFAULT FALSE,
    credential_id TEXT,
    counter       BIGINT NOT NULL DEFAULT 0,
    data          JSONB NOT NULL DEFAULT '{}',
    created       TIMESTAMPTZ NOT NULL,
    last_updated  TIMESTAMPTZ NOT NULL,
    last_used     TIMESTAMPTZ
);
CREATE INDEX authenticator_devices_user_idx ON authenticator_devices (user_pk, type);
CREATE UNIQUE INDEX authenticator_devices_credential_idx ON authenticator_devices (credential_id);

-- +goose Down
DROP TABLE authenticator_devices;
