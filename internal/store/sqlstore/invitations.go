package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const objInvitation = "invitation"

// CreateInvitation implements store.Invitations.
func (s *Store) CreateInvitation(ctx context.Context, i *store.Invitation) error {
	newID(&i.UUID)
	if i.FixedData == nil {
		i.FixedData = store.Attributes{}
	}
	_, err := s.w.NewInsert().Model(i).Exec(ctx)
	return mapErr(objInvitation, err)
}

// InvitationByUUID implements store.Invitations.
func (s *Store) InvitationByUUID(ctx context.Context, id uuid.UUID) (*store.Invitation, error) {
	return getBy[store.Invitation](ctx, s.r, objInvitation, "uuid = ?", id)
}

// UpdateInvitation implements store.Invitations.
func (s *Store) UpdateInvitation(ctx context.Context, i *store.Invitation) error {
	if i.FixedData == nil {
		i.FixedData = store.Attributes{}
	}
	return updateByPK(ctx, s.w, objInvitation, i, "created_by_pk")
}

// DeleteInvitation implements store.Invitations.
func (s *Store) DeleteInvitation(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.Invitation](ctx, s.w, objInvitation, "uuid = ?", id)
}

// ListInvitations implements store.Invitations.
func (s *Store) ListInvitations(ctx context.Context, o store.ListOptions) ([]*store.Invitation, int, error) {
	order, err := orderClause(objInvitation, o.Ordering, "name", map[string]string{"name": "name", "expires": "expires"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.Invitation
	q := restrict(searchAny(s.r.NewSelect().Model(&out), o.Search, "name"), "uuid", o.Only)
	n, err := listPage(ctx, q, objInvitation, order+", uuid ASC", o.Page)
	return out, n, err
}
