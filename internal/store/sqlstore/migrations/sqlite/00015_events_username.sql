-- +goose Up
-- The admin events list's ?username= filter (json_extract of the user's
-- username, exactly as the store's query spells it), newest first.
CREATE INDEX events_username_idx ON events (json_extract("user", '$.username'), created);

-- +goose Down
DROP INDEX events_username_idx;
