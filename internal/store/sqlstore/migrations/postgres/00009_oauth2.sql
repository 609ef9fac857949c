-- +goose Up
-- Property mappings (authentik's PropertyMapping and subclasses): a scope
-- mapping is type 'scope' with settings {scope_name, description}.
CREATE TABLE property_mappings (
    uuid       UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    type       TEXT NOT NULL,
    managed    TEXT UNIQUE,
    expression TEXT NOT NULL DEFAULT '',
    settings   JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX property_mappings_type_idx ON property_mappings (type);

-- The OAuth2/OpenID provider's own fields (authentik's OAuth2Provider, a
-- subclass of Provider).
CREATE TABLE oauth2_providers (
    provider_pk                BIGINT PRIMARY KEY REFERENCES providers (pk) ON DELETE CASCADE,
    client_type                TEXT NOT NULL DEFAULT 'confidential',
    client_id                  TEXT NOT NULL UNIQUE,
    client_secret              TEXT NOT NULL DEFAULT '',
    redirect_uris              JSONB NOT NULL DEFAULT '[]',
    logout_uri                 TEXT NOT NULL DEFAULT '',
    logout_method              TEXT NOT NULL DEFAULT 'backchannel',
    include_claims_in_id_token BOOLEAN NOT NULL DEFAULT TRUE,
    access_code_validity       TEXT NOT NULL DEFAULT 'minutes=1',
    access_token_validity      TEXT NOT NULL DEFAULT 'hours=1',
    refresh_token_validity     TEXT NOT NULL DEFAULT 'days=30',
    refresh_token_threshold    TEXT NOT NULL DEFAULT 'seconds=0',
    sub_mode                   TEXT NOT NULL DEFAULT 'hashed_user_id',
    issuer_mode                TEXT NOT NULL DEFAULT 'per_provider',
    signing_key                UUID REFERENCES certificate_key_pairs (uuid) ON DELETE SET NULL,
    encryption_key             UUID REFERENCES certificate_key_pairs (uuid) ON DELETE SET NULL,
    property_mappings          JSONB NOT NULL DEFAULT '[]'
);

-- A grant: one authorization (a code exchange, a client_credentials
-- request, ...) and the family of tokens issued from it. Revoking the grant
-- revokes every token of the family; deleting the session it was issued
-- in deletes it (logging out of Gatehouse ends the application's tokens).
CREATE TABLE oauth2_grants (
    uuid         UUID PRIMARY KEY,
    provider_pk  BIGINT NOT NULL REFERENCES providers (pk) ON DELETE CASCADE,
    user_pk      BIGINT NOT NULL REFERENCES users (pk) ON DELETE CASCADE,
    session_uuid UUID REFERENCES sessions (uuid) ON DELETE CASCADE,
    scope        TEXT NOT NULL DEFAULT '',
    nonce        TEXT NOT NULL DEFAULT '',
    amr          JSONB NOT NULL DEFAULT '[]',
    auth_time    TIMESTAMPTZ NOT NULL,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE,
    created      TIMESTAMPTZ NOT NULL
);
CREATE INDEX oauth2_grants_provider_idx ON oauth2_grants (provider_pk);
CREATE INDEX oauth2_grants_user_idx ON oauth2_grants (user_pk);
CREATE INDEX oauth2_grants_session_idx ON oauth2_grants (session_uuid);

-- A token of a grant, by the SHA-256 of its value: an authorization code,
-- an access token or a refresh token.
CREATE TABLE oauth2_tokens (
    hash       TEXT PRIMARY KEY,
    grant_uuid UUID NOT NULL REFERENCES oauth2_grants (uuid) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    expires    TIMESTAMPTZ NOT NULL,
    used       TIMESTAMPTZ,
    data       JSONB NOT NULL DEFAULT '{}',
    created    TIMESTAMPTZ NOT NULL
);
CREATE INDEX oauth2_tokens_grant_idx ON oauth2_tokens (grant_uuid);
CREATE INDEX oauth2_tokens_expires_idx ON oauth2_tokens (expires);

-- +goose Down
DROP TABLE oauth2_tokens;
DROP TABLE oauth2_grants;
DROP TABLE oauth2_providers;
DROP TABLE property_mappings;
