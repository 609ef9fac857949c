package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objKeyPair = "certificate-key pair"

// CreateKeyPair implements store.Certificates.
func (s *Store) CreateKeyPair(ctx context.Context, k *store.CertificateKeyPair) error {
	if k.UUID == uuid.Nil {
		k.UUID = uuid.Must(uuid.NewV7())
	}
	_, err := s.w.NewInsert().Model(k).Exec(ctx)
	return mapErr(objKeyPair, err)
}

// KeyPairByUUID implements store.Certificates.
func (s *Store) KeyPairByUUID(ctx context.Context, id uuid.UUID) (*store.CertificateKeyPair, error) {
	return getBy[store.CertificateKeyPair](ctx, s.r, objKeyPair, "uuid = ?", id)
}

// KeyPairByManaged implements store.Certificates.
func (s *Store) KeyPairByManaged(ctx context.Context, managed string) (*store.CertificateKeyPair, error) {
	if managed == "" {
		return nil, store.ErrNotFound
	}
	return getBy[store.CertificateKeyPair](ctx, s.r, objKeyPair, "managed = ?", managed)
}

// UpdateKeyPair implements store.Certificates.
func (s *Store) UpdateKeyPair(ctx context.Context, k *store.CertificateKeyPair) error {
	return updateByPK(ctx, s.w, objKeyPair, k)
}

// DeleteKeyPair implements store.Certificates.
func (s *Store) DeleteKeyPair(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.CertificateKeyPair](ctx, s.w, objKeyPair, "uuid = ?", id)
}

// ListKeyPairs implements store.Certificates.
func (s *Store) ListKeyPairs(ctx context.Context, hasKey *bool, o store.ListOptions) ([]*store.CertificateKeyPair, int, error) {
	order, err := orderClause(objKeyPair, o.Ordering, "name", map[string]string{
		"name": "name", "cert_expiry": "cert_expiry", "cert_subject": "cert_subject"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.CertificateKeyPair
	q := searchAny(s.r.NewSelect().Model(&out), o.Search, "name", "cert_subject")
	if hasKey != nil {
		if *hasKey {
			q = q.Where("key_sealed <> ''")
		} else {
			q = q.Where("key_sealed = ''")
		}
	}
	n, err := listPage(ctx, restrict(q, "uuid", o.Only), objKeyPair, order+", uuid ASC", o.Page)
	return out, n, err
}
