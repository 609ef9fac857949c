package adminui

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Roles hold permissions (globally or on one object) and are given to
// groups, whose members (and their subgroups' members) hold them, or to
// users directly (authentik's RBAC).

type role struct {
	PK   string `json:"pk"`
	Name string `json:"name"`
}

type rolesData struct {
	Query string
	Roles []role
	Pager pager
}

func (u *UI) roles(w http.ResponseWriter, r *http.Request) {
	d := rolesData{Query: query(r, "q")}
	q := url.Values{"ordering": {"name"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	var err error
	if d.Roles, d.Pager, err = listPage[role](u, r, "/rbac/roles/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "roles", page{Title: "Roles", Section: "roles", Notice: noticeOf(r), Data: d})
}

func roleForm(pk, name string) *form {
	f := &form{ID: "role-form", Crumbs: []crumb{{Prefix + "roles/", "Roles"}}, Action: Prefix + "roles/new/",
		Submit: "Create role", Cancel: Prefix + "roles/",
		Fields: []field{{Name: "name", Label: "Name", Value: name, Required: true, Max: 150}}}
	if pk != "" {
		f.Crumbs = append(f.Crumbs, crumb{Prefix + "roles/" + pk + "/", name})
		f.Action, f.Submit, f.Cancel = Prefix+"roles/"+pk+"/edit/", "Save", Prefix+"roles/"+pk+"/"
	}
	return f
}

func (u *UI) newRole(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "form", page{Title: "New role", Section: "roles", Data: roleForm("", "")})
}

func (u *UI) createRole(w http.ResponseWriter, r *http.Request) {
	f := roleForm("", "")
	f.read(r)
	var created role
	err := u.do(r, http.MethodPost, "/rbac/roles/", map[string]any{"name": f.get("name")}, &created)
	if u.written(w, r, page{Title: "New role", Section: "roles"}, f, err, nil) {
		back(w, r, Prefix+"roles/"+url.PathEscape(created.PK)+"/", "role-created")
	}
}

func (u *UI) loadRole(w http.ResponseWriter, r *http.Request) (*role, bool) {
	return loadByID[role](u, w, r, "/rbac/roles/")
}

func (u *UI) editRole(w http.ResponseWriter, r *http.Request) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	u.render(w, r, "form", page{Title: "Rename role", Section: "roles", Data: roleForm(ro.PK, ro.Name)})
}

func (u *UI) saveRole(w http.ResponseWriter, r *http.Request) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	f := roleForm(ro.PK, ro.Name)
	f.read(r)
	err := u.do(r, http.MethodPatch, "/rbac/roles/"+ro.PK+"/", map[string]any{"name": f.get("name")}, nil)
	if u.written(w, r, page{Title: "Rename role", Section: "roles"}, f, err, nil) {
		back(w, r, Prefix+"roles/"+ro.PK+"/", "role-saved")
	}
}

func (u *UI) confirmDeleteRole(w http.ResponseWriter, r *http.Request) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete role", Section: "roles", Data: confirmation{
		Heading: "Delete the role “" + ro.Name + "”?",
		Text:    "The groups and users holding it lose its permissions. This cannot be undone.",
		Action:  r.URL.Path, Button: "Delete role", Back: Prefix + "roles/" + ro.PK + "/"}})
}

func (u *UI) deleteRole(w http.ResponseWriter, r *http.Request) {
	u.deleteByID(w, r, "/rbac/roles/", Prefix+"roles/", "role-deleted")
}

// permission is one entry of the API's permission registry.
type permission struct {
	Name         string `json:"name"`
	Codename     string `json:"codename"`
	Model        string `json:"model"`
	AppLabel     string `json:"app_label"`
	ModelVerbose string `json:"model_verbose"`
}

// Full is app_label.codename, as roles hold it.
func (p permission) Full() string { return p.AppLabel + "." + p.Codename }

// heldPermission is a permission a role holds, with its name when the
// registry knows it.
type heldPermission struct {
	Permission string `json:"permission"`
	ObjectPK   string `json:"object_pk"`
	Name       string `json:"-"`
	Model      string `json:"-"` // app_label.model
	Role       string `json:"-"` // where it comes from, on a user's page
}

// RemoveURL is the unassign confirmation page of the permission.
func (h heldPermission) RemoveURL(rolePK string) string {
	q := url.Values{"permission": {h.Permission}}
	if h.ObjectPK != "" {
		q.Set("object_pk", h.ObjectPK)
	}
	return Prefix + "roles/" + url.PathEscape(rolePK) + "/permissions/remove/?" + q.Encode()
}

// registry is every permission roles can hold (the API lists about 150).
func (u *UI) registry(r *http.Request) ([]permission, error) {
	return listAll[permission](u, r, "/rbac/permissions/", nil, 1000)
}

// rolePermissions is what the role holds, named from the registry.
func (u *UI) rolePermissions(r *http.Request, roleID string, reg []permission) ([]heldPermission, error) {
	held, err := listAll[heldPermission](u, r, "/rbac/permissions/roles/"+roleID+"/", nil, 5000)
	if err != nil {
		return nil, err
	}
	for i := range held {
		for _, p := range reg {
			if p.Full() == held[i].Permission {
				held[i].Name, held[i].Model = p.Name, p.AppLabel+"."+p.Model
				break
			}
		}
	}
	return held, nil
}

// roleGroup is a group as the role pages need it.
type roleGroup struct {
	PK     string   `json:"pk"`
	Name   string   `json:"name"`
	Parent *string  `json:"parent"`
	Users  []int64  `json:"users"`
	Roles  []string `json:"roles"`
}

// maxGroupsScanned bounds the groups read to find a role's holders.
const maxGroupsScanned = 5000

type roleData struct {
	Role     *role
	Held     []heldPermission
	Choices  field
	Groups   []roleGroup
	Group    field
	Username field
}

func (u *UI) rolePage(w http.ResponseWriter, r *http.Request, ro *role, d roleData, status int) {
	reg, err := u.registry(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Role = ro
	if d.Held, err = u.rolePermissions(r, ro.PK, reg); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Choices.Name, d.Choices.Label, d.Choices.Kind, d.Choices.Required = "permissions", "Permissions", "multi", true
	d.Choices.Options = nil
	for _, p := range reg {
		d.Choices.Options = append(d.Choices.Options, option{Value: p.Full(), Label: p.Name, Group: p.ModelVerbose})
	}
	gs, err := listAll[roleGroup](u, r, "/core/groups/", url.Values{"ordering": {"name"}}, maxGroupsScanned)
	if err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	for _, g := range gs {
		if slices.Contains(g.Roles, ro.PK) {
			d.Groups = append(d.Groups, g)
		}
	}
	d.Group.Name, d.Group.Label = "group", "Group name"
	d.Username.Name, d.Username.Label = "username", "Username"
	if status != 0 {
		w.WriteHeader(status)
	}
	u.render(w, r, "role", page{Title: ro.Name, Section: "roles", Notice: noticeOf(r), Data: d})
}

func (u *UI) role(w http.ResponseWriter, r *http.Request) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	u.rolePage(w, r, ro, roleData{}, 0)
}

func (u *UI) assignPermissions(w http.ResponseWriter, r *http.Request) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	perms := r.PostForm["permissions"]
	d := roleData{Choices: field{Values: perms}}
	var err error
	if len(perms) == 0 {
		err = &apiError{Status: http.StatusBadRequest, Fields: map[string][]string{"permissions": {"Choose at least one permission."}}}
	} else {
		err = u.do(r, http.MethodPost, "/rbac/permissions/assigned_by_roles/"+ro.PK+"/assign/", map[string]any{"permissions": perms}, nil)
	}
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		for _, m := range errs {
			d.Choices.Errors = append(d.Choices.Errors, m...)
		}
		u.rolePage(w, r, ro, d, http.StatusBadRequest)
	}) {
		return
	}
	back(w, r, Prefix+"roles/"+ro.PK+"/", "permissions-assigned")
}

// unassignBody is the API body that takes back the permission the query
// names (with its object, if any).
func (u *UI) unassignBody(r *http.Request) (map[string]any, string, error) {
	perm, obj := r.URL.Query().Get("permission"), r.URL.Query().Get("object_pk")
	reg, err := u.registry(r)
	if err != nil {
		return nil, "", err
	}
	for _, p := range reg {
		if p.Full() == perm {
			body := map[string]any{"permissions": []string{perm}}
			if obj != "" {
				body["model"], body["object_pk"] = p.AppLabel+"."+p.Model, obj
			}
			return body, p.Name, nil
		}
	}
	return nil, "", &apiError{Status: http.StatusNotFound}
}

func (u *UI) confirmUnassign(w http.ResponseWriter, r *http.Request) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	_, name, err := u.unassignBody(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	on := ""
	if obj := r.URL.Query().Get("object_pk"); obj != "" {
		on = " on object " + obj
	}
	u.render(w, r, "confirm", page{Title: "Remove permission", Section: "roles", Data: confirmation{
		Heading: "Take “" + name + "”" + on + " from the role “" + ro.Name + "”?",
		Text:    "Everyone holding the role loses this permission.",
		Action:  r.URL.RequestURI(), Button: "Remove permission", Back: Prefix + "roles/" + ro.PK + "/"}})
}

func (u *UI) unassignPermission(w http.ResponseWriter, r *http.Request) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	body, _, err := u.unassignBody(r)
	if err == nil {
		err = u.do(r, http.MethodPatch, "/rbac/permissions/assigned_by_roles/"+ro.PK+"/unassign/", body, nil)
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"roles/"+ro.PK+"/", "permission-removed")
}

// groupByName finds the group with exactly this name.
func (u *UI) groupByName(r *http.Request, name string) (*roleGroup, error) {
	var found struct {
		Results []roleGroup `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/core/groups/?"+url.Values{"search": {name}, "page_size": {"100"}}.Encode(), nil, &found); err != nil {
		return nil, err
	}
	for _, g := range found.Results {
		if g.Name == name {
			return &g, nil
		}
	}
	return nil, nil
}

func (u *UI) addRoleToGroup(w http.ResponseWriter, r *http.Request) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("group"))
	d := roleData{Group: field{Value: name}}
	g, err := u.groupByName(r, name)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	switch {
	case g == nil:
		d.Group.Errors = []string{"No group has this name."}
	case slices.Contains(g.Roles, ro.PK):
		d.Group.Errors = []string{"The group holds this role already."}
	default:
		err = u.do(r, http.MethodPatch, "/core/groups/"+g.PK+"/", map[string]any{"roles": append(g.Roles, ro.PK)}, nil)
		if errs, ok := formErrors(err); ok {
			for _, m := range errs {
				d.Group.Errors = append(d.Group.Errors, m...)
			}
		} else if err != nil {
			u.fail(w, r, err)
			return
		}
	}
	if d.Group.Errors != nil {
		u.rolePage(w, r, ro, d, http.StatusBadRequest)
		return
	}
	back(w, r, Prefix+"roles/"+ro.PK+"/", "role-given")
}

func (u *UI) loadRoleGroup(w http.ResponseWriter, r *http.Request) (*role, *roleGroup, bool) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return nil, nil, false
	}
	gid := uuidParam(r, "gid")
	if gid == "" {
		u.notFound(w, r)
		return nil, nil, false
	}
	var g roleGroup
	if err := u.do(r, http.MethodGet, "/core/groups/"+gid+"/", nil, &g); err != nil {
		u.fail(w, r, err)
		return nil, nil, false
	}
	return ro, &g, true
}

func (u *UI) confirmRemoveRoleGroup(w http.ResponseWriter, r *http.Request) {
	ro, g, ok := u.loadRoleGroup(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Take role from group", Section: "roles", Data: confirmation{
		Heading: "Take the role “" + ro.Name + "” from the group “" + g.Name + "”?",
		Text:    fmt.Sprintf("Its %s (and those of its subgroups) lose the role's permissions.", plural(len(g.Users), "member")),
		Action:  r.URL.Path, Button: "Take role", Back: Prefix + "roles/" + ro.PK + "/"}})
}

func (u *UI) removeRoleGroup(w http.ResponseWriter, r *http.Request) {
	ro, g, ok := u.loadRoleGroup(w, r)
	if !ok {
		return
	}
	roles := []string{}
	for _, id := range g.Roles {
		if id != ro.PK {
			roles = append(roles, id)
		}
	}
	if err := u.do(r, http.MethodPatch, "/core/groups/"+g.PK+"/", map[string]any{"roles": roles}, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"roles/"+ro.PK+"/", "role-taken")
}

// userRoles is a user's direct roles.
type userRoles struct {
	PK       int64    `json:"pk"`
	Username string   `json:"username"`
	Roles    []string `json:"roles"`
	RolesObj []role   `json:"roles_obj"`
}

func (u *UI) addRoleToUser(w http.ResponseWriter, r *http.Request) {
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("username"))
	d := roleData{Username: field{Value: name}}
	var found struct {
		Results []userRoles `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/core/users/?"+url.Values{"username": {name}}.Encode(), nil, &found); err != nil {
		u.fail(w, r, err)
		return
	}
	switch {
	case name == "" || len(found.Results) != 1:
		d.Username.Errors = []string{"No user has this username."}
	case slices.Contains(found.Results[0].Roles, ro.PK):
		d.Username.Errors = []string{"The user holds this role already."}
	default:
		us := found.Results[0]
		err := u.do(r, http.MethodPatch, fmt.Sprintf("/core/users/%d/", us.PK), map[string]any{"roles": append(us.Roles, ro.PK)}, nil)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		back(w, r, fmt.Sprintf("%susers/%d/permissions/", Prefix, us.PK), "role-given")
		return
	}
	u.rolePage(w, r, ro, d, http.StatusBadRequest)
}

// userPermissionsData is where a user's permissions come from.
type userPermissionsData struct {
	User      *user
	Superuser bool
	Direct    []role
	ViaGroups []groupRoles
	Held      []heldPermission
}

type groupRoles struct {
	Group, GroupPK string
	Inherited      bool // from a parent of one of the user's groups
	Roles          []role
}

// maxGroupDepth bounds the walk up a group's parents.
const maxGroupDepth = 20

func (u *UI) userPermissions(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	var ur userRoles
	if err := u.do(r, http.MethodGet, fmt.Sprintf("/core/users/%d/", us.PK), nil, &ur); err != nil {
		u.fail(w, r, err)
		return
	}
	d := userPermissionsData{User: us, Superuser: us.IsSuperuser, Direct: ur.RolesObj}
	roles := map[string]string{}
	for _, ro := range ur.RolesObj {
		roles[ro.PK] = ro.Name
	}
	seen := map[string]bool{}
	for _, g := range us.GroupsObj {
		id, inherited := g.PK, false
		for depth := 0; id != "" && !seen[id] && depth < maxGroupDepth; depth++ {
			seen[id] = true
			var gr struct {
				roleGroup
				RolesObj []role `json:"roles_obj"`
			}
			if err := u.do(r, http.MethodGet, "/core/groups/"+url.PathEscape(id)+"/", nil, &gr); err != nil {
				u.fail(w, r, err)
				return
			}
			if len(gr.RolesObj) > 0 {
				d.ViaGroups = append(d.ViaGroups, groupRoles{Group: gr.Name, GroupPK: gr.PK, Inherited: inherited, Roles: gr.RolesObj})
			}
			for _, ro := range gr.RolesObj {
				roles[ro.PK] = ro.Name
			}
			id, inherited = "", true
			if gr.Parent != nil {
				id = *gr.Parent
			}
		}
	}
	reg, err := u.registry(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	for id, name := range roles {
		held, err := u.rolePermissions(r, id, reg)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		for _, h := range held {
			h.Role = name
			d.Held = append(d.Held, h)
		}
	}
	slices.SortFunc(d.Held, func(a, b heldPermission) int {
		return strings.Compare(a.Permission+" "+a.ObjectPK+" "+a.Role, b.Permission+" "+b.ObjectPK+" "+b.Role)
	})
	u.render(w, r, "user-permissions", page{Title: "Permissions of " + us.Username, Section: "users", Notice: noticeOf(r), Data: d})
}

func (u *UI) confirmRemoveUserRole(w http.ResponseWriter, r *http.Request) {
	us, ok := u.loadUser(w, r)
	if !ok {
		return
	}
	ro, ok := u.loadRole(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Take role from user", Section: "users", Data: confirmation{
		Heading: "Take the role “" + ro.Name + "” from “" + us.Username + "”?",
		Text:    "They keep the role if one of their groups holds it.",
		Action:  r.URL.Path, Button: "Take role", Back: fmt.Sprintf("%susers/%d/permissions/", Prefix, us.PK)}})
}

func (u *UI) removeUserRole(w http.ResponseWriter, r *http.Request) {
	pk := userPK(r)
	id := uuidParam(r, "id")
	if pk == 0 || id == "" {
		u.notFound(w, r)
		return
	}
	var ur userRoles
	if err := u.do(r, http.MethodGet, fmt.Sprintf("/core/users/%d/", pk), nil, &ur); err != nil {
		u.fail(w, r, err)
		return
	}
	roles := []string{}
	for _, x := range ur.Roles {
		if x != id {
			roles = append(roles, x)
		}
	}
	if err := u.do(r, http.MethodPatch, fmt.Sprintf("/core/users/%d/", pk), map[string]any{"roles": roles}, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, fmt.Sprintf("%susers/%d/permissions/", Prefix, pk), "role-taken")
}
