package sqlstore

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objBlueprint = "blueprint instance"

// normalizeBlueprint gives the JSON columns their empty values and checks
// the status.
func normalizeBlueprint(b *store.BlueprintInstance) error {
	if b.Status == "" {
		b.Status = store.BlueprintUnknown
	}
	if !b.Status.Valid() {
		return fmt.Errorf("%s status %q: %w", objBlueprint, b.Status, store.ErrInvalid)
	}
	if b.Context == nil {
		b.Context = store.Attributes{}
	}
	if b.Metadata == nil {
		b.Metadata = store.Attributes{}
	}
	if b.ManagedModels == nil {
		b.ManagedModels = []string{}
	}
	if b.LastApplied != nil {
		t := b.LastApplied.UTC()
		b.LastApplied = &t
	}
	return nil
}

// CreateBlueprintInstance implements store.BlueprintInstances.
func (s *Store) CreateBlueprintInstance(ctx context.Context, b *store.BlueprintInstance) error {
	if err := normalizeBlueprint(b); err != nil {
		return err
	}
	newID(&b.UUID)
	now := s.eng.now()
	b.Created, b.Updated = now, now
	_, err := s.w.NewInsert().Model(b).Exec(ctx)
	return mapErr(objBlueprint, err)
}

// BlueprintInstanceByUUID implements store.BlueprintInstances.
func (s *Store) BlueprintInstanceByUUID(ctx context.Context, id uuid.UUID) (*store.BlueprintInstance, error) {
	return getBy[store.BlueprintInstance](ctx, s.r, objBlueprint, "uuid = ?", id)
}

// BlueprintInstanceByPath implements store.BlueprintInstances.
func (s *Store) BlueprintInstanceByPath(ctx context.Context, path string) (*store.BlueprintInstance, error) {
	if path == "" || hasNUL([]any{path}) {
		return nil, fmt.Errorf("%s: %w", objBlueprint, store.ErrNotFound)
	}
	b := new(store.BlueprintInstance)
	if err := s.r.NewSelect().Model(b).Where("path = ?", path).OrderExpr("name ASC, uuid ASC").Limit(1).Scan(ctx); err != nil {
		return nil, mapErr(objBlueprint, err)
	}
	return b, nil
}

// UpdateBlueprintInstance implements store.BlueprintInstances.
func (s *Store) UpdateBlueprintInstance(ctx context.Context, b *store.BlueprintInstance) error {
	if err := normalizeBlueprint(b); err != nil {
		return err
	}
	b.Updated = s.eng.now()
	return updateByPK(ctx, s.w, objBlueprint, b, "created")
}

// DeleteBlueprintInstance implements store.BlueprintInstances.
func (s *Store) DeleteBlueprintInstance(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.BlueprintInstance](ctx, s.w, objBlueprint, "uuid = ?", id)
}

// ListBlueprintInstances implements store.BlueprintInstances.
func (s *Store) ListBlueprintInstances(ctx context.Context, f store.BlueprintInstanceFilter) ([]*store.BlueprintInstance, int, error) {
	order, err := orderClause(objBlueprint, f.Ordering, "name", map[string]string{
		"name": "name", "path": "path", "status": "status", "last_applied": "last_applied", "enabled": "enabled",
	})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.BlueprintInstance
	if hasNUL([]any{f.Name, f.Path}) {
		return []*store.BlueprintInstance{}, 0, nil
	}
	q := restrict(searchAny(s.r.NewSelect().Model(&out), f.Search, "name", "path"), "uuid", f.Only)
	if f.Name != "" {
		q = q.Where("name = ?", f.Name)
	}
	if f.Path != "" {
		q = q.Where("path = ?", f.Path)
	}
	if f.NoPath {
		q = q.Where("path = ''")
	}
	n, err := listPage(ctx, q, objBlueprint, order+", path ASC, uuid ASC", f.Page)
	return out, n, err
}
