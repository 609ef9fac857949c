package api

import (
	"encoding/json"
	"maps"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// authentik's stage and policy serializers are flat: a stage's fields
// (user_fields, password_stage, ...) sit beside name and pk. Gatehouse
// stores them as the object's settings, and its API takes and gives both
// shapes: {"name": ..., "settings": {...}} and authentik's
// {"name": ..., "user_fields": [...]}. A request's top-level fields other
// than the known ones are settings (Flat); a response repeats its settings
// at the top level.

// typedRequest is the body of a stage or policy create/update.
type typedRequest struct {
	Name     *string        `json:"name,omitempty" minLength:"1" maxLength:"250"`
	Settings map[string]any `json:"settings,omitempty" doc:"The type's fields, as authentik names them; they may also be sent at the top level, as authentik's serializers take them"`
	// Flat are the top-level fields that are not the request's own: the
	// type's fields sent authentik's way.
	Flat map[string]any `json:"-"`
}

// readOnlyFields are response fields a client may send back (a GET body
// PUT again); DRF ignores them, and so does Gatehouse.
var readOnlyFields = map[string]bool{"pk": true, "component": true, "verbose_name": true,
	"meta_model_name": true, "type": true, "flow_set": true, "bound_to": true}

// unmarshalTyped reads a typed request: own are the fields the request
// struct has (decoded by decode), the rest go to flat.
func unmarshalTyped(b []byte, own map[string]bool, decode func([]byte) error) (map[string]any, error) {
	if err := decode(b); err != nil {
		return nil, err
	}
	var all map[string]any
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	var flat map[string]any
	for k, v := range all {
		if own[k] || readOnlyFields[k] {
			continue
		}
		if flat == nil {
			flat = map[string]any{}
		}
		flat[k] = v
	}
	return flat, nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *typedRequest) UnmarshalJSON(b []byte) error {
	type plain typedRequest
	flat, err := unmarshalTyped(b, map[string]bool{"name": true, "settings": true}, func(b []byte) error {
		return json.Unmarshal(b, (*plain)(r))
	})
	r.Flat = flat
	return err
}

// TransformSchema lets the schema say that other fields are allowed.
func (typedRequest) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.AdditionalProperties = true
	return s
}

// merged returns the settings a create stores: Settings, with the flat
// fields over them.
func (r *typedRequest) merged() map[string]any {
	out := map[string]any{}
	maps.Copy(out, r.Settings)
	maps.Copy(out, r.Flat)
	return out
}

// patched returns the settings a partial update stores over old: Settings
// when given replaces them (keeping the secrets the client could not
// read), and flat fields change one field each, as authentik's PATCH.
// It returns nil when the request changes no setting.
func (r *typedRequest) patched(old map[string]any, secrets map[string]bool) map[string]any {
	if r.Settings == nil && r.Flat == nil {
		return nil
	}
	out := map[string]any{}
	if r.Settings != nil {
		maps.Copy(out, r.Settings)
		for k := range secrets {
			if _, given := r.Settings[k]; !given && old[k] != nil {
				out[k] = old[k]
			}
		}
	} else {
		maps.Copy(out, old)
	}
	maps.Copy(out, r.Flat)
	return out
}

// flatten writes v's JSON with settings repeated at the top level, where
// they do not collide with v's own fields.
func flatten(v any, settings map[string]any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(settings) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, s := range settings {
		if _, taken := m[k]; taken {
			continue
		}
		raw, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		m[k] = raw
	}
	return json.Marshal(m)
}

// hasNUL reports whether a string anywhere in v holds a NUL character,
// which no text column of PostgreSQL can store (and which no setting
// needs): such settings are refused with a 400, not a database error.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case map[string]any:
		for k, x := range v {
			if strings.ContainsRune(k, 0) || hasNUL(x) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if hasNUL(x) {
				return true
			}
		}
	}
	return false
}
