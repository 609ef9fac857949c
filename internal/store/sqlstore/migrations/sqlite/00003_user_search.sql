-- +goose Up
-- Substring search over users (the admin list's ?search=) through an FTS5
-- trigram index, kept in step with users by triggers.
CREATE VIRTUAL TABLE users_search USING fts5(
    username, name, email, content='users', content_rowid='pk', tokenize='trigram'
);
INSERT INTO users_search(users_search) VALUES ('rebuild');

-- +goose StatementBegin
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_search(rowid, username, name, email) VALUES (new.pk, new.username, new.name, new.email);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search(users_search, rowid, username, name, email) VALUES ('delete', old.pk, old.username, old.name, old.email);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER users_search_update AFTER UPDATE OF username, name, email ON users BEGIN
    INSERT INTO users_search(users_search, rowid, username, name, email) VALUES ('delete', old.pk, old.username, old.name, old.email);
    INSERT INTO users_search(rowid, username, name, email) VALUES (new.pk, new.username, new.name, new.email);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER users_search_update;
DROP TRIGGER users_search_delete;
DROP TRIGGER users_search_insert;
DROP TABLE users_search;
