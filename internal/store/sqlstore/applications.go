package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	objApplication = "application"
	objProvider    = "provider"
)

// CreateProvider implements store.Providers.
func (s *Store) CreateProvider(ctx context.Context, p *store.Provider) error {
	if p.Settings == nil {
		p.Settings = store.Attributes{}
	}
	_, err := s.w.NewInsert().Model(p).ExcludeColumn("pk").Returning("pk").Exec(ctx)
	return mapErr(objProvider, err)
}

// ProviderByPK implements store.Providers.
func (s *Store) ProviderByPK(ctx context.Context, pk int64) (*store.Provider, error) {
	return getBy[store.Provider](ctx, s.r, objProvider, "pk = ?", pk)
}

// UpdateProvider implements store.Providers.
func (s *Store) UpdateProvider(ctx context.Context, p *store.Provider) error {
	if p.Settings == nil {
		p.Settings = store.Attributes{}
	}
	return updateByPK(ctx, s.w, objProvider, p, "type")
}

// DeleteProvider implements store.Providers. Its application stays, without provider.
func (s *Store) DeleteProvider(ctx context.Context, pk int64) error {
	return deleteBy[store.Provider](ctx, s.w, objProvider, "pk = ?", pk)
}

// ListProviders implements store.Providers.
func (s *Store) ListProviders(ctx context.Context, typ string, o store.ListOptions) ([]*store.Provider, int, error) {
	order, err := orderClause(objProvider, o.Ordering, "pk", map[string]string{"pk": "pk", "name": "name"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.Provider
	q := searchAny(s.r.NewSelect().Model(&out), o.Search, "name")
	if typ != "" {
		q = q.Where("type = ?", typ)
	}
	n, err := listPage(ctx, restrict(q, "pk", o.Only), objProvider, order, o.Page)
	return out, n, err
}

// CreateApplication implements store.Applications.
func (s *Store) CreateApplication(ctx context.Context, a *store.Application) error {
	if a.UUID == uuid.Nil {
		a.UUID = uuid.Must(uuid.NewV7())
	}
	if a.PolicyEngineMode == "" {
		a.PolicyEngineMode = "any"
	}
	_, err := s.w.NewInsert().Model(a).Exec(ctx)
	return mapErr(objApplication, err)
}

// ApplicationBySlug implements store.Applications.
func (s *Store) ApplicationBySlug(ctx context.Context, slug string) (*store.Application, error) {
	return getBy[store.Application](ctx, s.r, objApplication, "slug = ?", slug)
}

// ApplicationByProvider implements store.Applications.
func (s *Store) ApplicationByProvider(ctx context.Context, providerPK int64) (*store.Application, error) {
	return getBy[store.Application](ctx, s.r, objApplication, "provider_pk = ?", providerPK)
}

// UpdateApplication implements store.Applications.
func (s *Store) UpdateApplication(ctx context.Context, a *store.Application) error {
	return updateByPK(ctx, s.w, objApplication, a)
}

// DeleteApplication implements store.Applications, with its policy bindings.
func (s *Store) DeleteApplication(ctx context.Context, id uuid.UUID) error {
	return s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		if _, err := t.w.NewRaw(`DELETE FROM policy_bindings WHERE target_uuid = ?`, id).Exec(ctx); err != nil {
			return mapErr(objPolicyBinding, err)
		}
		return deleteBy[store.Application](ctx, t.w, objApplication, "uuid = ?", id)
	})
}

// ListApplications implements store.Applications.
func (s *Store) ListApplications(ctx context.Context, o store.ListOptions) ([]*store.Application, int, error) {
	order, err := orderClause(objApplication, o.Ordering, "name", map[string]string{
		"name": "name", "slug": "slug", "group": `"group"`, "meta_publisher": "meta_publisher"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.Application
	q := searchAny(s.r.NewSelect().Model(&out), o.Search, "name", "slug", "group", "meta_publisher")
	n, err := listPage(ctx, restrict(q, "uuid", o.Only), objApplication, order+", slug ASC", o.Page)
	return out, n, err
}
