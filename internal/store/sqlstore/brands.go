package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objBrand = "brand"

// CreateBrand implements store.Brands.
func (s *Store) CreateBrand(ctx context.Context, b *store.Brand) error {
	if b.UUID == uuid.Nil {
		b.UUID = uuid.Must(uuid.NewV7())
	}
	if b.Attributes == nil {
		b.Attributes = store.Attributes{}
	}
	_, err := s.w.NewInsert().Model(b).Exec(ctx)
	return mapErr(objBrand, err)
}

// BrandByUUID implements store.Brands.
func (s *Store) BrandByUUID(ctx context.Context, id uuid.UUID) (*store.Brand, error) {
	b := new(store.Brand)
	if err := s.r.NewSelect().Model(b).Where("uuid = ?", id).Scan(ctx); err != nil {
		return nil, mapErr(objBrand, err)
	}
	return b, nil
}

// UpdateBrand implements store.Brands.
func (s *Store) UpdateBrand(ctx context.Context, b *store.Brand) error {
	if b.Attributes == nil {
		b.Attributes = store.Attributes{}
	}
	res, err := s.w.NewUpdate().Model(b).WherePK().Exec(ctx)
	return affected(objBrand, res, err)
}

// DeleteBrand implements store.Brands.
func (s *Store) DeleteBrand(ctx context.Context, id uuid.UUID) error {
	res, err := s.w.NewDelete().Model((*store.Brand)(nil)).Where("uuid = ?", id).Exec(ctx)
	return affected(objBrand, res, err)
}

// ListBrands implements store.Brands.
func (s *Store) ListBrands(ctx context.Context) ([]*store.Brand, error) {
	var brands []*store.Brand
	err := s.r.NewSelect().Model(&brands).Order("domain").Scan(ctx)
	return brands, mapErr(objBrand, err)
}
