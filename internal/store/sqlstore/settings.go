package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objSetting = "setting"

// Setting implements store.Settings.
// It is prepared: the event recorder reads the retention at every event.
func (s *Store) Setting(ctx context.Context, key string) (json.RawMessage, error) {
	var v []string
	if hasNUL([]any{key}) {
		return nil, mapErr(objSetting, sql.ErrNoRows)
	}
	if err := s.queryPrepared(ctx, &v, "SELECT value FROM settings WHERE key = ?", key); err != nil {
		return nil, mapErr(objSetting, err)
	}
	if len(v) == 0 {
		return nil, mapErr(objSetting, sql.ErrNoRows)
	}
	return json.RawMessage(v[0]), nil
}

// PutSetting implements store.Settings.
func (s *Store) PutSetting(ctx context.Context, key string, value json.RawMessage) error {
	if !json.Valid(value) {
		return fmt.Errorf("setting %q is not valid JSON: %w", key, store.ErrInvalid)
	}
	_, err := s.w.NewRaw(`INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, string(value)).Exec(ctx)
	return mapErr(objSetting, err)
}
