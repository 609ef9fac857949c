package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objSetting = "setting"

// Setting implements store.Settings.
func (s *Store) Setting(ctx context.Context, key string) (json.RawMessage, error) {
	var v string
	err := s.r.NewRaw("SELECT value FROM settings WHERE key = ?", key).Scan(ctx, &v)
	if err != nil {
		return nil, mapErr(objSetting, err)
	}
	return json.RawMessage(v), nil
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
