package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewRole          = "authentik_rbac.view_role"
	permAddRole           = "authentik_rbac.add_role"
	permChangeRole        = "authentik_rbac.change_role"
	permDeleteRole        = "authentik_rbac.delete_role"
	permAssignPermissions = "authentik_rbac.assign_role_permissions"
)

// permModel is one model of the permission registry.
type permModel struct {
	app, model, verbose string
	extra               []string // special permissions besides view/add/change/delete
}

// permissionModels is every model whose permissions roles can hold, with
// authentik's app labels and codenames.
var permissionModels = []permModel{
	{"authentik_core", "user", "User", []string{"reset_user_password", "impersonate", "preview_user", "view_user_applications"}},
	{"authentik_core", "group", "Group", []string{"add_user_to_group", "remove_user_from_group"}},
	{"authentik_core", "token", "Token", []string{"view_token_key", "set_token_key"}},
	{"authentik_core", "application", "Application", nil},
	{"authentik_core", "provider", "Provider", nil},
	{"authentik_brands", "brand", "Brand", nil},
	{"authentik_crypto", "certificatekeypair", "Certificate-Key Pair", []string{"view_certificatekeypair_certificate", "view_certificatekeypair_key"}},
	{"authentik_events", "event", "Event", nil},
	{"authentik_events", "notificationrule", "Notification Rule", nil},
	{"authentik_events", "notificationtransport", "Notification Transport", nil},
	{"authentik_rbac", "role", "Role", []string{"assign_role_permissions", "unassign_role_permissions"}},
	{"authentik_tenants", "tenant", "Tenant", []string{"view_system_settings", "edit_system_settings", "view_system_info"}},
	{"authentik_flows", "flow", "Flow", []string{"inspect_flow", "export_flow", "clear_flow_cache"}},
	{"authentik_flows", "flowstagebinding", "Flow Stage Binding", nil},
	{"authentik_flows", "stage", "Stage", nil},
	{"authentik_policies", "policy", "Policy", nil},
	{"authentik_policies", "policybinding", "Policy Binding", nil},
	{"authentik_stages_invitation", "invitation", "Invitation", nil},
	{"authentik_blueprints", "blueprintinstance", "Blueprint Instance", nil},
	{"authentik_stages_authenticator_static", "staticdevice", "Static Device", nil},
	{"authentik_stages_authenticator_totp", "totpdevice", "TOTP Device", nil},
	{"authentik_stages_authenticator_webauthn", "webauthndevice", "WebAuthn Device", nil},
	{"authentik_stages_authenticator_sms", "smsdevice", "SMS Device", nil},
	{"authentik_stages_authenticator_email", "emaildevice", "Email Device", nil},
	{"authentik_tasks", "task", "Task", nil},
	{"authentik_tasks", "workerstatus", "Worker Status", nil},
	{"authentik_tasks_schedules", "schedule", "Schedule", nil},
	{"authentik_core", "authenticatedsession", "Authenticated Session", nil},
	{"authentik_core", "userconsent", "User Consent", nil},
}

// Permission is authentik's Permission serializer.
type Permission struct {
	ID              int    `json:"id"`
	Name            string `json:"name"`
	Codename        string `json:"codename"`
	Model           string `json:"model"`
	AppLabel        string `json:"app_label"`
	AppLabelVerbose string `json:"app_label_verbose"`
	ModelVerbose    string `json:"model_verbose"`
}

// allPermissions lists the registry, with stable ids.
func allPermissions() []Permission {
	var out []Permission
	for _, m := range permissionModels {
		codes := []string{"add_" + m.model, "change_" + m.model, "delete_" + m.model, "view_" + m.model}
		codes = append(codes, m.extra...)
		for _, c := range codes {
			verb, _, _ := strings.Cut(c, "_")
			name := "Can " + verb + " " + strings.ToLower(m.verbose)
			if !slices.Contains([]string{"add", "change", "delete", "view"}, verb) || strings.Count(c, "_") > 1 {
				name = "Can " + strings.ReplaceAll(c, "_", " ")
			}
			out = append(out, Permission{ID: len(out) + 1, Name: name, Codename: c, Model: m.model, AppLabel: m.app,
				AppLabelVerbose: strings.TrimPrefix(m.app, "authentik_"), ModelVerbose: m.verbose})
		}
	}
	return out
}

func knownPermission(full string) bool {
	app, code, ok := strings.Cut(full, ".")
	if !ok {
		return false
	}
	for _, p := range allPermissions() {
		if p.AppLabel == app && p.Codename == code {
			return true
		}
	}
	return false
}

// RoleIDInput is the path parameter. Exported because input structs embed it: huma
// ignores unexported embedded fields (no parameter, documented or parsed).
type RoleIDInput struct {
	ID uuid.UUID `path:"id" doc:"A UUID string identifying this Role."`
}

type roleBody struct {
	Name string `json:"name" minLength:"1" maxLength:"150"`
}

type roleOutput struct{ Body Role }

type roleListOutput struct {
	Body struct {
		Pagination   Pagination   `json:"pagination"`
		Results      []Role       `json:"results"`
		Autocomplete Autocomplete `json:"autocomplete"`
	}
}

// RolePermission is one permission a role holds (object_pk empty: global).
type RolePermission struct {
	Permission string `json:"permission"`
	ObjectPK   string `json:"object_pk"`
}

type permissionListOutput struct {
	Body struct {
		Pagination   Pagination   `json:"pagination"`
		Results      []Permission `json:"results"`
		Autocomplete Autocomplete `json:"autocomplete"`
	}
}

type rolePermissionsOutput struct {
	Body struct {
		Pagination   Pagination       `json:"pagination"`
		Results      []RolePermission `json:"results"`
		Autocomplete Autocomplete     `json:"autocomplete"`
	}
}

// PermissionAssignRequest assigns (or unassigns) permissions to a role,
// globally or on one object (authentik's PermissionAssign).
type PermissionAssignRequest struct {
	Permissions []string `json:"permissions" minItems:"1" doc:"app_label.codename, e.g. authentik_core.view_user"`
	Model       string   `json:"model,omitempty" doc:"app_label.model of the object, with object_pk"`
	ObjectPK    string   `json:"object_pk,omitempty" maxLength:"100"`
}

func (a *API) registerRBAC() {
	const tag = "rbac"
	huma.Register(a.huma, op(http.MethodGet, "/rbac/roles/", "rbac_roles_list", tag, "List roles", 200), a.listRoles)
	huma.Register(a.huma, op(http.MethodPost, "/rbac/roles/", "rbac_roles_create", tag, "Create a role", 201), a.createRole)
	huma.Register(a.huma, op(http.MethodGet, "/rbac/roles/{id}/", "rbac_roles_retrieve", tag, "Get a role", 200, 404), a.getRole)
	huma.Register(a.huma, op(http.MethodPut, "/rbac/roles/{id}/", "rbac_roles_update", tag, "Rename a role", 200, 404), a.updateRole)
	huma.Register(a.huma, op(http.MethodPatch, "/rbac/roles/{id}/", "rbac_roles_partial_update", tag, "Rename a role", 200, 404), a.updateRole)
	huma.Register(a.huma, op(http.MethodDelete, "/rbac/roles/{id}/", "rbac_roles_destroy", tag, "Delete a role", 204, 404), a.deleteRole)
	huma.Register(a.huma, op(http.MethodGet, "/rbac/permissions/", "rbac_permissions_list", tag, "List the permissions roles can hold", 200), a.listPermissions)
	huma.Register(a.huma, op(http.MethodGet, "/rbac/permissions/roles/{id}/", "rbac_permissions_roles_list", tag, "List a role's permissions", 200, 404), a.rolePermissions)
	huma.Register(a.huma, op(http.MethodPost, "/rbac/permissions/assigned_by_roles/{id}/assign/", "rbac_permissions_assigned_by_roles_assign", tag, "Assign permissions to a role", 204, 404), a.assignPermissions)
	huma.Register(a.huma, op(http.MethodPatch, "/rbac/permissions/assigned_by_roles/{id}/unassign/", "rbac_permissions_assigned_by_roles_unassign_partial_update", tag, "Unassign permissions from a role", 204, 404), a.unassignPermissions)
}

func (a *API) listRoles(ctx context.Context, in *ListParams) (*roleListOutput, error) {
	only, err := a.visible(ctx, permViewRole)
	if err != nil {
		return nil, err
	}
	rs, total, err := a.Store.ListRoles(ctx, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &roleListOutput{}
	out.Body.Results = []Role{}
	for _, r := range rs {
		out.Body.Results = append(out.Body.Results, Role{PK: r.UUID, Name: r.Name})
	}
	out.Body.Pagination = paginate(*in, total, len(rs))
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

func (a *API) createRole(ctx context.Context, in *struct{ Body roleBody }) (*roleOutput, error) {
	if _, err := a.require(ctx, permAddRole, ""); err != nil {
		return nil, err
	}
	r := &store.Role{Name: in.Body.Name}
	if err := a.Store.CreateRole(ctx, r); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_rbac", "role", r.UUID.String(), r.Name}, nil)
	return &roleOutput{Body: Role{PK: r.UUID, Name: r.Name}}, nil
}

func (a *API) loadRole(ctx context.Context, perm string, id uuid.UUID) (*store.Role, error) {
	if err := a.check(ctx, perm, permViewRole, id.String()); err != nil {
		return nil, err
	}
	r, err := a.Store.RoleByUUID(ctx, id)
	return r, a.storeError(err)
}

func (a *API) getRole(ctx context.Context, in *RoleIDInput) (*roleOutput, error) {
	r, err := a.loadRole(ctx, permViewRole, in.ID)
	if err != nil {
		return nil, err
	}
	return &roleOutput{Body: Role{PK: r.UUID, Name: r.Name}}, nil
}

func (a *API) updateRole(ctx context.Context, in *struct {
	RoleIDInput
	Body roleBody
}) (*roleOutput, error) {
	r, err := a.loadRole(ctx, permChangeRole, in.ID)
	if err != nil {
		return nil, err
	}
	old := r.Name
	r.Name = in.Body.Name
	if err := a.Store.UpdateRole(ctx, r); err != nil {
		return nil, a.storeError(err)
	}
	if old != r.Name {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_rbac", "role", r.UUID.String(), r.Name},
			map[string]any{"diff": map[string]any{"name": map[string]any{"previous_value": old, "new_value": r.Name}}})
	}
	return &roleOutput{Body: Role{PK: r.UUID, Name: r.Name}}, nil
}

func (a *API) deleteRole(ctx context.Context, in *RoleIDInput) (*noContent, error) {
	r, err := a.loadRole(ctx, permDeleteRole, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteRole(ctx, r.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_rbac", "role", r.UUID.String(), r.Name}, nil)
	return &noContent{}, nil
}

func (a *API) listPermissions(ctx context.Context, in *ListParams) (*permissionListOutput, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	var match []Permission
	q := strings.ToLower(in.Search)
	for _, p := range allPermissions() {
		if q == "" || strings.Contains(strings.ToLower(p.AppLabel+"."+p.Codename+" "+p.Name), q) {
			match = append(match, p)
		}
	}
	switch in.Ordering {
	case "", "id":
	case "codename":
		slices.SortStableFunc(match, func(x, y Permission) int { return strings.Compare(x.Codename, y.Codename) })
	default:
		return nil, fieldError("ordering", "cannot order by "+in.Ordering)
	}
	out := &permissionListOutput{}
	from, to := in.window(len(match))
	out.Body.Results = append([]Permission{}, match[from:to]...)
	out.Body.Pagination = paginate(*in, len(match), to-from)
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

func (a *API) rolePermissions(ctx context.Context, in *struct {
	RoleIDInput
	ListParams
}) (*rolePermissionsOutput, error) {
	r, err := a.loadRole(ctx, permViewRole, in.ID)
	if err != nil {
		return nil, err
	}
	perms, err := a.Store.RolePermissions(ctx, r.UUID)
	if err != nil {
		return nil, a.storeError(err)
	}
	out := &rolePermissionsOutput{}
	from, to := in.window(len(perms))
	out.Body.Results = []RolePermission{}
	for _, p := range perms[from:to] {
		out.Body.Results = append(out.Body.Results, RolePermission{Permission: p.Permission, ObjectPK: p.ObjectPK})
	}
	out.Body.Pagination = paginate(in.ListParams, len(perms), to-from)
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

type assignInput struct {
	RoleIDInput
	Body PermissionAssignRequest
}

func (a *API) assignPermissions(ctx context.Context, in *assignInput) (*noContent, error) {
	return a.changePermissions(ctx, in, true)
}

func (a *API) unassignPermissions(ctx context.Context, in *assignInput) (*noContent, error) {
	return a.changePermissions(ctx, in, false)
}

func (a *API) changePermissions(ctx context.Context, in *assignInput, assign bool) (*noContent, error) {
	r, err := a.loadRole(ctx, permAssignPermissions, in.ID)
	if err != nil {
		return nil, err
	}
	b := in.Body
	if (b.Model == "") != (b.ObjectPK == "") {
		return nil, fieldError("non_field_errors", "model and object_pk go together.")
	}
	for _, p := range b.Permissions {
		if !knownPermission(p) {
			return nil, fieldError("permissions", "Unknown permission "+p+".")
		}
		if b.Model != "" && !strings.HasPrefix(p, strings.SplitN(b.Model, ".", 2)[0]+".") {
			return nil, fieldError("permissions", p+" does not apply to "+b.Model+".")
		}
	}
	err = a.Store.InTx(ctx, func(tx store.Store) error {
		for _, p := range b.Permissions {
			rp := store.RolePermission{RoleUUID: r.UUID, Permission: p, ObjectPK: b.ObjectPK}
			var err error
			if assign {
				err = tx.AssignPermission(ctx, rp)
			} else {
				err = tx.UnassignPermission(ctx, rp)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelUpdated, modelRef{"authentik_rbac", "role", r.UUID.String(), r.Name},
		map[string]any{"permissions": map[string]any{"assigned": assign, "permissions": b.Permissions, "object_pk": b.ObjectPK}})
	return &noContent{}, nil
}
