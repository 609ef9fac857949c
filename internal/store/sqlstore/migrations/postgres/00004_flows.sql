-- +goose Up
CREATE TABLE flows (
    uuid               UUID PRIMARY KEY,
    slug               TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    title              TEXT NOT NULL DEFAULT '',
    designation        TEXT NOT NULL,
    policy_engine_mode TEXT NOT NULL DEFAULT 'any',
    compatibility_mode BOOLEAN NOT NULL DEFAULT FALSE,
    denied_action      TEXT NOT NULL DEFAULT 'message_continue',
    layout             TEXT NOT NULL DEFAULT 'stacked',
    background         TEXT NOT NULL DEFAULT '',
    authentication     TEXT NOT NULL DEFAULT 'none'
);

CREATE TABLE stages (
    uuid     UUID PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    type     TEXT NOT NULL,
    settings JSONB NOT NULL DEFAULT '{}'
);

CREATE TABLE flow_stage_bindings (
    uuid                    UUID PRIMARY KEY,
    flow_uuid               UUID NOT NULL REFERENCES flows (uuid) ON DELETE CASCADE,
    stage_uuid              UUID NOT NULL REFERENCES stages (uuid) ON DELETE CASCADE,
    "order"                 INTEGER NOT NULL,
    evaluate_on_plan        BOOLEAN NOT NULL DEFAULT FALSE,
    re_evaluate_policies    BOOLEAN NOT NULL DEFAULT TRUE,
    policy_engine_mode      TEXT NOT NULL DEFAULT 'any',
    invalid_response_action TEXT NOT NULL DEFAULT 'retry',
    UNIQUE (flow_uuid, stage_uuid, "order")
);
CREATE INDEX flow_stage_bindings_flow_idx ON flow_stage_bindings (flow_uuid, "order");

CREATE TABLE policies (
    uuid              UUID PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    type              TEXT NOT NULL,
    execution_logging BOOLEAN NOT NULL DEFAULT FALSE,
    settings          JSONB NOT NULL DEFAULT '{}'
);

-- target_uuid is the flow, flow-stage binding or application the binding gates.
CREATE TABLE policy_bindings (
    uuid           UUID PRIMARY KEY,
    target_uuid    UUID NOT NULL,
    policy_uuid    UUID REFERENCES policies (uuid) ON DELETE CASCADE,
    group_uuid     UUID REFERENCES groups (uuid) ON DELETE CASCADE,
    user_pk        BIGINT REFERENCES users (pk) ON DELETE CASCADE,
    negate         BOOLEAN NOT NULL DEFAULT FALSE,
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    "order"        INTEGER NOT NULL DEFAULT 0,
    timeout        INTEGER NOT NULL DEFAULT 30,
    failure_result BOOLEAN NOT NULL DEFAULT FALSE,
    CHECK ((policy_uuid IS NOT NULL)::int + (group_uuid IS NOT NULL)::int + (user_pk IS NOT NULL)::int = 1)
);
CREATE INDEX policy_bindings_target_idx ON policy_bindings (target_uuid, "order");

-- +goose Down
DROP TABLE policy_bindings;
DROP TABLE policies;
DROP TABLE flow_stage_bindings;
DROP TABLE stages;
DROP TABLE flows;
