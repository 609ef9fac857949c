package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// BlueprintStatus is the outcome of a blueprint instance's last application
// (authentik's BlueprintInstanceStatus).
type BlueprintStatus string

// Blueprint instance statuses, as authentik names them.
const (
	BlueprintSuccessful BlueprintStatus = "successful"
	// BlueprintWarning: applied, but some entries were skipped or some
	// fields ignored (models or fields Gatehouse does not have).
	BlueprintWarning BlueprintStatus = "warning"
	BlueprintError   BlueprintStatus = "error"
	// BlueprintOrphaned: the instance's file has gone from the blueprints
	// dir; the objects it made are left in place.
	BlueprintOrphaned BlueprintStatus = "orphaned"
	// BlueprintUnknown: never applied yet.
	BlueprintUnknown BlueprintStatus = "unknown"
)

// Valid reports whether s is one of the known statuses.
func (s BlueprintStatus) Valid() bool {
	switch s {
	case BlueprintSuccessful, BlueprintWarning, BlueprintError, BlueprintOrphaned, BlueprintUnknown:
		return true
	}
	return false
}

// BlueprintInstance is one blueprint the server applies (authentik's
// BlueprintInstance): a file in the blueprints dir (Path, relative to it),
// or a blueprint kept in the database (Content, Path empty). The pair
// (Name, Path) is unique.
type BlueprintInstance struct {
	UUID uuid.UUID `bun:"uuid,pk"`
	Name string
	// Path is the file relative to the blueprints dir; empty for a
	// blueprint stored in Content.
	Path    string
	Content string
	// Context is the instance's context, merged over the blueprint's own.
	Context Attributes
	// LastApplied is when it was last applied successfully; nil before.
	LastApplied *time.Time
	// LastAppliedHash identifies what was last applied (see
	// blueprint.InstanceHash); a different hash means it must be applied again.
	LastAppliedHash string
	Status          BlueprintStatus
	Enabled         bool
	// ManagedModels are the models of the entries the last application
	// applied ("authentik_flows.flow", ...).
	ManagedModels []string
	// Metadata is the blueprint's metadata block: {"name": ..., "labels": {...}}.
	Metadata Attributes
	Created  time.Time
	Updated  time.Time
}

// BlueprintInstanceFilter narrows ListBlueprintInstances.
type BlueprintInstanceFilter struct {
	// Name and Path match exactly when set; NoPath selects the
	// instances stored in the database (Path empty).
	Name   string
	Path   string
	NoPath bool
	// Search matches name or path (case-insensitive substring); Ordering
	// is name, path, status, last_applied or enabled ("-" for descending;
	// default name).
	ListOptions
}

// BlueprintInstances is the blueprint instance aggregate.
type BlueprintInstances interface {
	// CreateBlueprintInstance fills UUID (when zero), Created and Updated;
	// an empty Status is unknown. A taken (name, path) is ErrConflict.
	CreateBlueprintInstance(ctx context.Context, b *BlueprintInstance) error
	BlueprintInstanceByUUID(ctx context.Context, id uuid.UUID) (*BlueprintInstance, error)
	// BlueprintInstanceByPath returns the first instance of the file at path
	// (ordered by name).
	BlueprintInstanceByPath(ctx context.Context, path string) (*BlueprintInstance, error)
	// UpdateBlueprintInstance writes every field but Created and refreshes Updated.
	UpdateBlueprintInstance(ctx context.Context, b *BlueprintInstance) error
	DeleteBlueprintInstance(ctx context.Context, id uuid.UUID) error
	ListBlueprintInstances(ctx context.Context, f BlueprintInstanceFilter) ([]*BlueprintInstance, int, error)
}
