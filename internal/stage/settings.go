// Package stage holds what stage implementations share: reading typed
// settings from a stage's stored attributes. Each stage type is its own
// package below this one; stage/all lists them.
package stage

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Decode fills the settings struct v (json tags = authentik's field names)
// from stored attributes; unknown fields are ignored, wrong types fail.
func Decode(attrs store.Attributes, v any) error {
	raw, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("stage settings: %w", err)
	}
	return nil
}
