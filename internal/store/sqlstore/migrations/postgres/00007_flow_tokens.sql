-- +goose Up
-- A flow token (an email link) carries the flow plan it resumes, so the link
-- works in any browser (authentik's FlowToken._plan).
ALTER TABLE tokens ADD COLUMN flow_plan TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN flow_plan;
