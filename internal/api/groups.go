package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewGroup   = "authentik_core.view_group"
	permAddGroup    = "authentik_core.add_group"
	permChangeGroup = "authentik_core.change_group"
	permDeleteGroup = "authentik_core.delete_group"
)

// Group is authentik's Group serializer. Gatehouse groups have one parent;
// `parent` and authentik 2025.12's `parents` (a list of at most one) are both
// accepted and returned.
type Group struct {
	PK          uuid.UUID      `json:"pk"`
	NumPK       int            `json:"num_pk"`
	Name        string         `json:"name"`
	IsSuperuser bool           `json:"is_superuser"`
	Parent      *uuid.UUID     `json:"parent" nullable:"true"`
	Parents     []uuid.UUID    `json:"parents"`
	Users       []int64        `json:"users"`
	Attributes  map[string]any `json:"attributes"`
	Roles       []uuid.UUID    `json:"roles"`
	RolesObj    []Role         `json:"roles_obj"`
}

// GroupRequest is the body of create and replace.
type GroupRequest struct {
	Name        string         `json:"name" minLength:"1" maxLength:"150"`
	IsSuperuser bool           `json:"is_superuser,omitempty"`
	Parent      *uuid.UUID     `json:"parent,omitempty"`
	Parents     []uuid.UUID    `json:"parents,omitempty" maxItems:"1"`
	Users       []int64        `json:"users,omitempty"`
	Attributes  map[string]any `json:"attributes,omitempty"`
	Roles       []uuid.UUID    `json:"roles,omitempty"`
}

// PatchedGroupRequest is the body of a partial update.
type PatchedGroupRequest struct {
	Name        *string         `json:"name,omitempty" minLength:"1" maxLength:"150"`
	IsSuperuser *bool           `json:"is_superuser,omitempty"`
	Parent      *uuid.UUID      `json:"parent,omitempty"`
	Parents     *[]uuid.UUID    `json:"parents,omitempty" maxItems:"1"`
	Users       *[]int64        `json:"users,omitempty"`
	Attributes  *map[string]any `json:"attributes,omitempty"`
	Roles       *[]uuid.UUID    `json:"roles,omitempty"`
}

// GroupIDInput is the path parameter. Exported because input structs embed it: huma
// ignores unexported embedded fields (no parameter, documented or parsed).
type GroupIDInput struct {
	ID uuid.UUID `path:"id" doc:"A UUID string identifying this Group."`
}

type groupOutput struct{ Body *Group }

type groupListOutput struct {
	Body struct {
		Pagination   Pagination   `json:"pagination"`
		Results      []*Group     `json:"results"`
		Autocomplete Autocomplete `json:"autocomplete"`
	}
}

func (a *API) registerGroups() {
	const tag = "core"
	huma.Register(a.huma, op(http.MethodGet, "/core/groups/", "core_groups_list", tag, "List groups", 200), a.listGroups)
	huma.Register(a.huma, op(http.MethodPost, "/core/groups/", "core_groups_create", tag, "Create a group", 201), a.createGroup)
	huma.Register(a.huma, op(http.MethodGet, "/core/groups/{id}/", "core_groups_retrieve", tag, "Get a group", 200, 404), a.getGroup)
	huma.Register(a.huma, op(http.MethodPut, "/core/groups/{id}/", "core_groups_update", tag, "Replace a group", 200, 404), a.replaceGroup)
	huma.Register(a.huma, op(http.MethodPatch, "/core/groups/{id}/", "core_groups_partial_update", tag, "Update a group", 200, 404), a.patchGroup)
	huma.Register(a.huma, op(http.MethodDelete, "/core/groups/{id}/", "core_groups_destroy", tag, "Delete a group", 204, 404), a.deleteGroup)
}

func (a *API) group(ctx context.Context, g *store.Group) (*Group, error) {
	members, err := a.Store.GroupMembers(ctx, g.UUID)
	if err != nil {
		return nil, a.storeError(err)
	}
	roles, err := a.Store.GroupRoles(ctx, g.UUID)
	if err != nil {
		return nil, a.storeError(err)
	}
	o := &Group{PK: g.UUID, NumPK: numPK(g.UUID), Name: g.Name, IsSuperuser: g.IsSuperuser, Parent: g.Parent,
		Parents: []uuid.UUID{}, Users: members, Attributes: g.Attributes, Roles: []uuid.UUID{}, RolesObj: []Role{}}
	if o.Users == nil {
		o.Users = []int64{}
	}
	if o.Attributes == nil {
		o.Attributes = map[string]any{}
	}
	if g.Parent != nil {
		o.Parents = []uuid.UUID{*g.Parent}
	}
	for _, r := range roles {
		o.Roles = append(o.Roles, r.UUID)
		o.RolesObj = append(o.RolesObj, Role{PK: r.UUID, Name: r.Name})
	}
	return o, nil
}

// groupListInput adds the tree's filters to the list, django-filter style:
// authentik's GroupFilter has none (name, is_superuser, members and
// attributes only), so these are Gatehouse's. The list also orders by
// "tree": depth first, each group before its subgroups.
type groupListInput struct {
	ListParams
	Parent       string `query:"parent" maxLength:"36" doc:"Only the direct subgroups of this group (its UUID)."`
	ParentIsNull string `query:"parent__isnull" enum:"true,false," doc:"Only the top-level groups (true), or only the subgroups (false)."`
}

func (in *groupListInput) filter(only []string) (store.GroupFilter, error) {
	f := store.GroupFilter{ListOptions: in.options(only)}
	if in.Parent != "" {
		id, err := uuid.Parse(in.Parent)
		if err != nil {
			return f, fieldError("parent", "Enter a valid UUID.")
		}
		f.Parent = &id
	}
	if in.ParentIsNull != "" {
		has := in.ParentIsNull == "false"
		f.HasParent = &has
	}
	return f, nil
}

func (a *API) listGroups(ctx context.Context, in *groupListInput) (*groupListOutput, error) {
	only, err := a.visible(ctx, permViewGroup)
	if err != nil {
		return nil, err
	}
	f, err := in.filter(only)
	if err != nil {
		return nil, err
	}
	gs, total, err := a.Store.ListGroups(ctx, f)
	if err != nil {
		return nil, a.listError(err)
	}
	out := &groupListOutput{}
	out.Body.Results = make([]*Group, 0, len(gs))
	for _, g := range gs {
		o, err := a.group(ctx, g)
		if err != nil {
			return nil, err
		}
		out.Body.Results = append(out.Body.Results, o)
	}
	out.Body.Pagination = paginate(in.ListParams, total, len(gs))
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

func (a *API) loadGroup(ctx context.Context, perm string, id uuid.UUID) (*store.Group, error) {
	if err := a.check(ctx, perm, permViewGroup, id.String()); err != nil {
		return nil, err
	}
	g, err := a.Store.GroupByUUID(ctx, id)
	return g, a.storeError(err)
}

// check requires perm on objectPK, answering 404 rather than 403 when the
// caller may not even view the object.
func (a *API) check(ctx context.Context, perm, viewPerm, objectPK string) error {
	_, err := a.require(ctx, perm, objectPK)
	if err == errPermission {
		if ok, _ := a.canSee(ctx, viewPerm, objectPK); !ok {
			return errNotFound
		}
	}
	return err
}

func (a *API) getGroup(ctx context.Context, in *GroupIDInput) (*groupOutput, error) {
	g, err := a.loadGroup(ctx, permViewGroup, in.ID)
	if err != nil {
		return nil, err
	}
	o, err := a.group(ctx, g)
	return &groupOutput{Body: o}, err
}

func parentOf(parent *uuid.UUID, parents *[]uuid.UUID) (*uuid.UUID, bool) {
	if parent != nil {
		return parent, true
	}
	if parents != nil {
		if len(*parents) == 0 {
			return nil, true
		}
		p := (*parents)[0]
		return &p, true
	}
	return nil, false
}

func (a *API) createGroup(ctx context.Context, in *struct{ Body GroupRequest }) (*groupOutput, error) {
	if _, err := a.require(ctx, permAddGroup, ""); err != nil {
		return nil, err
	}
	b := in.Body
	if c, _ := caller(ctx); b.IsSuperuser && (c == nil || !c.Superuser) {
		return nil, fieldError("is_superuser", "User does not have permission to set superuser status.")
	}
	g := &store.Group{Name: b.Name, IsSuperuser: b.IsSuperuser, Attributes: b.Attributes}
	g.Parent, _ = parentOf(b.Parent, &b.Parents)
	err := a.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		return setGroupRelations(ctx, tx, g.UUID, &b.Users, &b.Roles)
	})
	if err != nil {
		return nil, a.storeError(err)
	}
	o, err := a.group(ctx, g)
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_core", "group", g.UUID.String(), g.Name}, nil)
	return &groupOutput{Body: o}, nil
}

func setGroupRelations(ctx context.Context, tx store.Store, id uuid.UUID, users *[]int64, roles *[]uuid.UUID) error {
	if users != nil {
		current, err := tx.GroupMembers(ctx, id)
		if err != nil {
			return err
		}
		want := map[int64]bool{}
		for _, u := range *users {
			want[u] = true
		}
		for _, u := range current {
			if !want[u] {
				if err := tx.RemoveGroupMember(ctx, id, u); err != nil {
					return err
				}
			}
		}
		for u := range want {
			if err := tx.AddGroupMember(ctx, id, u); err != nil {
				return err
			}
		}
	}
	if roles != nil {
		return tx.SetGroupRoles(ctx, id, *roles)
	}
	return nil
}

func (a *API) replaceGroup(ctx context.Context, in *struct {
	GroupIDInput
	Body GroupRequest
}) (*groupOutput, error) {
	b := in.Body
	parents := b.Parents
	if parents == nil {
		parents = []uuid.UUID{}
	}
	return a.updateGroup(ctx, in.ID, PatchedGroupRequest{Name: &b.Name, IsSuperuser: &b.IsSuperuser, Parent: b.Parent,
		Parents: &parents, Users: &b.Users, Attributes: &b.Attributes, Roles: &b.Roles})
}

func (a *API) patchGroup(ctx context.Context, in *struct {
	GroupIDInput
	Body PatchedGroupRequest
}) (*groupOutput, error) {
	return a.updateGroup(ctx, in.ID, in.Body)
}

func (a *API) updateGroup(ctx context.Context, id uuid.UUID, p PatchedGroupRequest) (*groupOutput, error) {
	g, err := a.loadGroup(ctx, permChangeGroup, id)
	if err != nil {
		return nil, err
	}
	before, err := a.group(ctx, g)
	if err != nil {
		return nil, err
	}
	if p.Name != nil {
		g.Name = *p.Name
	}
	if p.IsSuperuser != nil && *p.IsSuperuser != g.IsSuperuser {
		// Making a group superuser is making its members superusers: only a
		// superuser may do that (authentik's rule as well).
		if c, _ := caller(ctx); c == nil || !c.Superuser {
			return nil, fieldError("is_superuser", "User does not have permission to set superuser status.")
		}
		g.IsSuperuser = *p.IsSuperuser
	}
	if parent, ok := parentOf(p.Parent, p.Parents); ok {
		g.Parent = parent
	}
	if p.Attributes != nil {
		g.Attributes = *p.Attributes
	}
	err = a.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.UpdateGroup(ctx, g); err != nil {
			return err
		}
		return setGroupRelations(ctx, tx, g.UUID, p.Users, p.Roles)
	})
	if err != nil {
		return nil, a.storeError(err)
	}
	after, err := a.group(ctx, g)
	if err != nil {
		return nil, err
	}
	if d := diff(before, after); len(d) > 0 {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_core", "group", g.UUID.String(), g.Name}, map[string]any{"diff": d})
	}
	return &groupOutput{Body: after}, nil
}

func (a *API) deleteGroup(ctx context.Context, in *GroupIDInput) (*noContent, error) {
	g, err := a.loadGroup(ctx, permDeleteGroup, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteGroup(ctx, g.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_core", "group", g.UUID.String(), g.Name}, nil)
	return &noContent{}, nil
}
