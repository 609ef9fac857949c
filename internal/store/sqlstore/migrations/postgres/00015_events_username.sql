-- +goose Up
-- The admin events list's ?username= filter (the user's username, exactly
-- as the store's query spells it), newest first.
CREATE INDEX events_username_idx ON events (("user"->>'username'), created);

-- +goose Down
DROP INDEX events_username_idx;
