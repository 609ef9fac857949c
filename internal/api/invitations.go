package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewInvitation   = "authentik_stages_invitation.view_invitation"
	permAddInvitation    = "authentik_stages_invitation.add_invitation"
	permChangeInvitation = "authentik_stages_invitation.change_invitation"
	permDeleteInvitation = "authentik_stages_invitation.delete_invitation"
)

// Invitation is authentik's Invitation serializer.
type Invitation struct {
	PK        uuid.UUID      `json:"pk"`
	Name      string         `json:"name"`
	Expires   *time.Time     `json:"expires" nullable:"true"`
	FixedData map[string]any `json:"fixed_data"`
	CreatedBy *PartialUser   `json:"created_by,omitempty"`
	SingleUse bool           `json:"single_use"`
	Flow      *uuid.UUID     `json:"flow" nullable:"true"`
}

// InvitationRequest creates or (all optional) patches an invitation.
type InvitationRequest struct {
	Name      *string         `json:"name,omitempty" minLength:"1" maxLength:"50"`
	Expires   *time.Time      `json:"expires,omitempty"`
	FixedData *map[string]any `json:"fixed_data,omitempty"`
	SingleUse *bool           `json:"single_use,omitempty"`
	Flow      *uuid.UUID      `json:"flow,omitempty"`
}

// InviteIDInput is the invite_uuid path parameter.
type InviteIDInput struct {
	ID uuid.UUID `path:"invite_uuid"`
}

func (a *API) registerInvitations() {
	const tag = "stages"
	base := "/stages/invitation/invitations/"
	huma.Register(a.huma, op(http.MethodGet, base, "stages_invitation_invitations_list", tag, "List invitations", 200), a.listInvitations)
	huma.Register(a.huma, op(http.MethodPost, base, "stages_invitation_invitations_create", tag, "Create an invitation", 201), a.createInvitation)
	huma.Register(a.huma, op(http.MethodGet, base+"{invite_uuid}/", "stages_invitation_invitations_retrieve", tag, "Get an invitation", 200, 404), a.getInvitation)
	huma.Register(a.huma, op(http.MethodPatch, base+"{invite_uuid}/", "stages_invitation_invitations_partial_update", tag, "Update an invitation", 200, 404), a.patchInvitation)
	huma.Register(a.huma, op(http.MethodDelete, base+"{invite_uuid}/", "stages_invitation_invitations_destroy", tag, "Delete an invitation", 204, 404), a.deleteInvitation)
}

func (a *API) invitation(ctx context.Context, i *store.Invitation) *Invitation {
	o := &Invitation{PK: i.UUID, Name: i.Name, Expires: i.Expires, FixedData: i.FixedData, SingleUse: i.SingleUse, Flow: i.FlowUUID}
	if o.FixedData == nil {
		o.FixedData = map[string]any{}
	}
	if i.CreatedByPK != nil {
		if u, err := a.Store.UserByPK(ctx, *i.CreatedByPK); err == nil {
			pu := a.partialUser(u)
			o.CreatedBy = &pu
		}
	}
	return o
}

func (a *API) listInvitations(ctx context.Context, in *ListParams) (*listOf[*Invitation], error) {
	only, err := a.visible(ctx, permViewInvitation)
	if err != nil {
		return nil, err
	}
	is, total, err := a.Store.ListInvitations(ctx, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[*Invitation]{}
	out.Body.Results = []*Invitation{}
	for _, i := range is {
		out.Body.Results = append(out.Body.Results, a.invitation(ctx, i))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(*in, total, len(is)), Autocomplete{}
	return out, nil
}

func applyInvitation(i *store.Invitation, r InvitationRequest) error {
	if r.Name != nil {
		if !slugPattern.MatchString(*r.Name) {
			return fieldError("name", "Enter a valid slug consisting of letters, numbers, underscores or hyphens.")
		}
		i.Name = *r.Name
	}
	if r.Expires != nil {
		e := r.Expires.UTC()
		i.Expires = &e
	}
	if r.FixedData != nil {
		i.FixedData = *r.FixedData
	}
	if r.SingleUse != nil {
		i.SingleUse = *r.SingleUse
	}
	if r.Flow != nil {
		if *r.Flow == uuid.Nil {
			i.FlowUUID = nil
		} else {
			f := *r.Flow
			i.FlowUUID = &f
		}
	}
	return nil
}

func (a *API) invitationError(err error) error {
	if errors.Is(err, store.ErrInvalid) {
		return fieldError("flow", "Invalid pk - object does not exist.")
	}
	return a.storeError(err)
}

func (a *API) createInvitation(ctx context.Context, in *struct{ Body InvitationRequest }) (*struct{ Body *Invitation }, error) {
	p, err := a.require(ctx, permAddInvitation, "")
	if err != nil {
		return nil, err
	}
	if in.Body.Name == nil {
		return nil, fieldError("name", "This field is required.")
	}
	i := &store.Invitation{CreatedByPK: &p.User.PK}
	if err := applyInvitation(i, in.Body); err != nil {
		return nil, err
	}
	if err := a.Store.CreateInvitation(ctx, i); err != nil {
		return nil, a.invitationError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_stages_invitation", "invitation", i.UUID.String(), i.Name}, nil)
	return &struct{ Body *Invitation }{Body: a.invitation(ctx, i)}, nil
}

func (a *API) loadInvitation(ctx context.Context, perm string, id uuid.UUID) (*store.Invitation, error) {
	if err := a.check(ctx, perm, permViewInvitation, id.String()); err != nil {
		return nil, err
	}
	i, err := a.Store.InvitationByUUID(ctx, id)
	return i, a.storeError(err)
}

func (a *API) getInvitation(ctx context.Context, in *InviteIDInput) (*struct{ Body *Invitation }, error) {
	i, err := a.loadInvitation(ctx, permViewInvitation, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body *Invitation }{Body: a.invitation(ctx, i)}, nil
}

func (a *API) patchInvitation(ctx context.Context, in *struct {
	InviteIDInput
	Body InvitationRequest
}) (*struct{ Body *Invitation }, error) {
	i, err := a.loadInvitation(ctx, permChangeInvitation, in.ID)
	if err != nil {
		return nil, err
	}
	if err := applyInvitation(i, in.Body); err != nil {
		return nil, err
	}
	if err := a.Store.UpdateInvitation(ctx, i); err != nil {
		return nil, a.invitationError(err)
	}
	a.audit(ctx, actionModelUpdated, modelRef{"authentik_stages_invitation", "invitation", i.UUID.String(), i.Name}, nil)
	return &struct{ Body *Invitation }{Body: a.invitation(ctx, i)}, nil
}

func (a *API) deleteInvitation(ctx context.Context, in *InviteIDInput) (*noContent, error) {
	i, err := a.loadInvitation(ctx, permDeleteInvitation, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteInvitation(ctx, i.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_stages_invitation", "invitation", i.UUID.String(), i.Name}, nil)
	return &noContent{}, nil
}
