package blueprint

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The directory models: users, groups, roles, applications, brands and
// certificate-key pairs (authentik_core, authentik_rbac, authentik_brands,
// authentik_crypto). Field names and defaults are authentik's serializers'.

// userObj is a user with its direct groups and roles. The relations are
// loaded only when an entry sets them (or for an export), and written only
// when loaded.
type userObj struct {
	store.User
	Groups       []uuid.UUID
	Roles        []uuid.UUID
	groupsLoaded bool
	rolesLoaded  bool
}

func newUserObj(u *store.User, err error) (*userObj, error) {
	if err != nil {
		return nil, err
	}
	return &userObj{User: *u}, nil
}

func usersOf(us []*store.User, err error) ([]*userObj, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*userObj, 0, len(us))
	for _, u := range us {
		out = append(out, &userObj{User: *u})
	}
	return out, nil
}

// prepareUser loads the relations the entry sets (all with nil).
func prepareUser(e *env, o *userObj, wants func(string) bool) error {
	if wants("groups") && !o.groupsLoaded && o.PK != 0 {
		gs, err := e.st.UserGroups(e.ctx, o.PK, false)
		if err != nil {
			return err
		}
		o.Groups = nil
		for _, g := range gs {
			o.Groups = append(o.Groups, g.UUID)
		}
		slices.SortFunc(o.Groups, compareUUID)
	}
	if wants("roles") && !o.rolesLoaded && o.PK != 0 {
		rs, err := e.st.UserRoles(e.ctx, o.PK)
		if err != nil {
			return err
		}
		o.Roles = nil
		for _, r := range rs {
			o.Roles = append(o.Roles, r.UUID)
		}
		slices.SortFunc(o.Roles, compareUUID)
	}
	o.groupsLoaded = o.groupsLoaded || wants("groups")
	o.rolesLoaded = o.rolesLoaded || wants("roles")
	return nil
}

func compareUUID(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) }

func writeUserRelations(e *env, o *userObj) error {
	if o.groupsLoaded {
		if err := syncGroups(e, o.PK, o.Groups); err != nil {
			return err
		}
	}
	if o.rolesLoaded {
		return e.st.SetUserRoles(e.ctx, o.PK, o.Roles)
	}
	return nil
}

// syncGroups makes the user's direct groups exactly want.
func syncGroups(e *env, userPK int64, want []uuid.UUID) error {
	have, err := e.st.UserGroups(e.ctx, userPK, false)
	if err != nil {
		return err
	}
	for _, g := range have {
		if !slices.Contains(want, g.UUID) {
			if err := e.st.RemoveGroupMember(e.ctx, g.UUID, userPK); err != nil {
				return err
			}
		}
	}
	for _, g := range want {
		if err := e.st.AddGroupMember(e.ctx, g, userPK); err != nil {
			return fmt.Errorf("add to group %s: %w", g, err)
		}
	}
	return nil
}

func userKind() model {
	return &kind[userObj]{
		name: "authentik_core.user", perm: "authentik_core.user",
		key: []string{"username"}, noBulk: true,
		fields: []field[userObj]{
			strField("username", func(o *userObj) *string { return &o.Username }, notEmpty, maxLen(150)),
			nullStrField("name", func(o *userObj) *string { return &o.Name }),
			boolField("is_active", func(o *userObj) *bool { return &o.IsActive }),
			{name: "last_login", noExport: true,
				get: func(o *userObj) any { return timeValue(o.LastLogin) },
				set: func(_ *env, o *userObj, v any) error { return setTime(&o.LastLogin, v) }},
			uuidListField("groups", refGroup, func(o *userObj) *[]uuid.UUID { return &o.Groups }),
			uuidListField("roles", refRole, func(o *userObj) *[]uuid.UUID { return &o.Roles }),
			nullStrField("email", func(o *userObj) *string { return &o.Email }, maxLen(254)),
			attrsField("attributes", func(o *userObj) *store.Attributes { return &o.Attributes }),
			strField("path", func(o *userObj) *string { return &o.Path }, notEmpty),
			strField("type", func(o *userObj) *string { return (*string)(&o.Type) },
				oneOf(string(store.UserInternal), string(store.UserExternal), string(store.UserServiceAccount), string(store.UserInternalServiceAccount))),
			// password is authentik's blueprint-only field: the clear text,
			// hashed here. A password the stored hash already verifies
			// changes nothing, so re-applying is a no-op.
			{name: "password", writeOnly: true,
				get: func(*userObj) any { return nil },
				set: func(e *env, o *userObj, v any) error {
					if v == nil {
						return nil
					}
					pw, err := asString(v)
					if err != nil || pw == "" {
						return err
					}
					if o.PasswordHash != "" {
						if ok, rehash, err := password.Verify(pw, o.PasswordHash); err == nil && ok && !rehash {
							return nil
						}
					}
					h, err := password.Hash(pw)
					if err != nil {
						return err
					}
					now := e.now()
					o.PasswordHash, o.PasswordChangeDate = h, &now
					return nil
				}},
		},
		ignored: []string{"ak_groups"},
		newObj: func() *userObj {
			return &userObj{User: store.User{IsActive: true, Type: store.UserInternal, Path: "users", Attributes: store.Attributes{}}}
		},
		pk: func(o *userObj) any { return int(o.PK) },
		byPK: func(e *env, pk any) (*userObj, error) {
			n, err := asInt64(pk)
			if err != nil {
				return nil, errNoPK
			}
			return newUserObj(e.st.UserByPK(e.ctx, n))
		},
		lookup: func(e *env, ids map[string]any) ([]*userObj, bool, error) {
			if name, ok := stringID(ids, "username"); ok {
				return one(newUserObj(e.st.UserByUsername(e.ctx, name)))
			}
			if email, ok := stringID(ids, "email"); ok {
				objs, err := usersOf(listAll(func(p store.Page) ([]*store.User, int, error) {
					return e.st.ListUsers(e.ctx, store.UserFilter{Email: email, Page: p})
				}))
				return objs, true, err
			}
			return nil, false, nil
		},
		list: func(e *env) ([]*userObj, error) {
			return usersOf(listAll(func(p store.Page) ([]*store.User, int, error) {
				return e.st.ListUsers(e.ctx, store.UserFilter{Ordering: "username", Page: p})
			}))
		},
		prepare: prepareUser,
		create: func(e *env, o *userObj) error {
			if err := e.st.CreateUser(e.ctx, &o.User); err != nil {
				return err
			}
			return writeUserRelations(e, o)
		},
		update: func(e *env, o *userObj) error {
			if err := e.st.UpdateUser(e.ctx, &o.User); err != nil {
				return err
			}
			return writeUserRelations(e, o)
		},
		remove: func(e *env, o *userObj) error { return e.st.DeleteUser(e.ctx, o.PK) },
	}
}

func timeValue(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func setTime(dst **time.Time, v any) error {
	if v == nil {
		*dst = nil
		return nil
	}
	s, err := asString(v)
	if err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("must be an ISO 8601 date and time, not %q", s)
	}
	t = t.UTC()
	*dst = &t
	return nil
}

// groupObj is a group with its direct members and roles, loaded and
// written as userObj's relations are.
type groupObj struct {
	store.Group
	Users       []int64
	Roles       []uuid.UUID
	usersLoaded bool
	rolesLoaded bool
}

func newGroupObj(g *store.Group, err error) (*groupObj, error) {
	if err != nil {
		return nil, err
	}
	return &groupObj{Group: *g}, nil
}

func prepareGroup(e *env, o *groupObj, wants func(string) bool) error {
	exists := o.UUID != uuid.Nil
	if wants("users") && !o.usersLoaded && exists {
		users, err := e.st.GroupMembers(e.ctx, o.UUID)
		if err != nil {
			return err
		}
		slices.Sort(users)
		o.Users = users
		if len(users) == 0 {
			o.Users = nil
		}
	}
	if wants("roles") && !o.rolesLoaded && exists {
		rs, err := e.st.GroupRoles(e.ctx, o.UUID)
		if err != nil {
			return err
		}
		o.Roles = nil
		for _, r := range rs {
			o.Roles = append(o.Roles, r.UUID)
		}
		slices.SortFunc(o.Roles, compareUUID)
	}
	o.usersLoaded = o.usersLoaded || wants("users")
	o.rolesLoaded = o.rolesLoaded || wants("roles")
	return nil
}

func groupKind() model {
	return &kind[groupObj]{
		name: "authentik_core.group", perm: "authentik_core.group",
		key: []string{"name"},
		fields: []field[groupObj]{
			strField("name", func(o *groupObj) *string { return &o.Name }, notEmpty, maxLen(150)),
			boolField("is_superuser", func(o *groupObj) *bool { return &o.IsSuperuser }),
			optUUIDField("parent", refGroup, func(o *groupObj) **uuid.UUID { return &o.Parent }),
			// parents (authentik 2025.12): Gatehouse keeps one parent.
			{name: "parents", ref: refGroup, noExport: true,
				get: func(o *groupObj) any {
					if o.Parent == nil {
						return []any{}
					}
					return []any{o.Parent.String()}
				},
				set: func(_ *env, o *groupObj, v any) error {
					list, err := asList(v)
					if err != nil {
						return err
					}
					switch len(list) {
					case 0:
						o.Parent = nil
					case 1:
						id, err := asUUID(list[0])
						if err != nil {
							return fmt.Errorf("[0]: %w", err)
						}
						o.Parent = &id
					default:
						return errors.New("a group has at most one parent in Gatehouse")
					}
					return nil
				}},
			// users is the other side of user.groups: exports list groups
			// on the users only, so that no two entries refer to each other.
			func() field[groupObj] {
				f := int64ListField("users", refUser, func(o *groupObj) *[]int64 { return &o.Users })
				f.noExport = true
				return f
			}(),
			attrsField("attributes", func(o *groupObj) *store.Attributes { return &o.Attributes }),
			uuidListField("roles", refRole, func(o *groupObj) *[]uuid.UUID { return &o.Roles }),
		},
		ignored: []string{"children"},
		newObj:  func() *groupObj { return &groupObj{Group: store.Group{Attributes: store.Attributes{}}} },
		pk:      func(o *groupObj) any { return o.UUID.String() },
		setPK:   func(o *groupObj, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*groupObj, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			return newGroupObj(e.st.GroupByUUID(e.ctx, id))
		},
		lookup: func(e *env, ids map[string]any) ([]*groupObj, bool, error) {
			if name, ok := stringID(ids, "name"); ok {
				return one(newGroupObj(e.st.GroupByName(e.ctx, name)))
			}
			return nil, false, nil
		},
		list: func(e *env) ([]*groupObj, error) {
			gs, err := listAll(func(p store.Page) ([]*store.Group, int, error) {
				return e.st.ListGroups(e.ctx, store.GroupFilter{ListOptions: store.ListOptions{Ordering: "name", Page: p}})
			})
			if err != nil {
				return nil, err
			}
			out := make([]*groupObj, 0, len(gs))
			for _, g := range gs {
				out = append(out, &groupObj{Group: *g})
			}
			return out, nil
		},
		prepare: prepareGroup,
		create: func(e *env, o *groupObj) error {
			if err := e.st.CreateGroup(e.ctx, &o.Group); err != nil {
				return err
			}
			return syncGroup(e, o)
		},
		update: func(e *env, o *groupObj) error {
			if err := e.st.UpdateGroup(e.ctx, &o.Group); err != nil {
				return err
			}
			return syncGroup(e, o)
		},
		remove: func(e *env, o *groupObj) error { return e.st.DeleteGroup(e.ctx, o.UUID) },
	}
}

func syncGroup(e *env, o *groupObj) error {
	if o.rolesLoaded {
		if err := e.st.SetGroupRoles(e.ctx, o.UUID, o.Roles); err != nil {
			return err
		}
	}
	if !o.usersLoaded {
		return nil
	}
	have, err := e.st.GroupMembers(e.ctx, o.UUID)
	if err != nil {
		return err
	}
	for _, u := range have {
		if !slices.Contains(o.Users, u) {
			if err := e.st.RemoveGroupMember(e.ctx, o.UUID, u); err != nil {
				return err
			}
		}
	}
	for _, u := range o.Users {
		if !slices.Contains(have, u) {
			if err := e.st.AddGroupMember(e.ctx, o.UUID, u); err != nil {
				return fmt.Errorf("add user %d: %w", u, err)
			}
		}
	}
	return nil
}

// roleObj is a role with its global permissions ("app_label.codename").
type roleObj struct {
	store.Role
	Permissions []string
}

func loadRole(e *env, r *store.Role) (*roleObj, error) {
	ps, err := e.st.RolePermissions(e.ctx, r.UUID)
	if err != nil {
		return nil, err
	}
	o := &roleObj{Role: *r, Permissions: []string{}}
	for _, p := range ps {
		if p.ObjectPK == "" {
			o.Permissions = append(o.Permissions, p.Permission)
		}
	}
	slices.Sort(o.Permissions)
	return o, nil
}

var permissionName = regexp.MustCompile(`^[a-z0-9_]+\.[a-z0-9_]+$`)

func roleKind() model {
	return &kind[roleObj]{
		name: "authentik_rbac.role", perm: "authentik_rbac.role",
		key: []string{"name"},
		fields: []field[roleObj]{
			strField("name", func(o *roleObj) *string { return &o.Name }, notEmpty, maxLen(150)),
			// permissions are the role's global permissions, as authentik's
			// read-only role blueprint gives them.
			{name: "permissions",
				get: func(o *roleObj) any {
					out := make([]any, 0, len(o.Permissions))
					for _, p := range o.Permissions {
						out = append(out, p)
					}
					return out
				},
				set: func(_ *env, o *roleObj, v any) error {
					list, err := asList(v)
					if err != nil {
						return err
					}
					perms := []string{}
					for i, x := range list {
						s, err := asString(x)
						if err != nil || !permissionName.MatchString(s) {
							return fmt.Errorf("[%d]: must be app_label.codename, not %s", i, describe(x))
						}
						if !slices.Contains(perms, s) {
							perms = append(perms, s)
						}
					}
					slices.Sort(perms)
					o.Permissions = perms
					return nil
				}},
		},
		newObj: func() *roleObj { return &roleObj{Permissions: []string{}} },
		pk:     func(o *roleObj) any { return o.UUID.String() },
		setPK:  func(o *roleObj, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*roleObj, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			r, err := e.st.RoleByUUID(e.ctx, id)
			if err != nil {
				return nil, err
			}
			return loadRole(e, r)
		},
		lookup: func(e *env, ids map[string]any) ([]*roleObj, bool, error) {
			name, ok := stringID(ids, "name")
			if !ok {
				return nil, false, nil
			}
			rs, err := listAll(func(p store.Page) ([]*store.Role, int, error) {
				return e.st.ListRoles(e.ctx, store.ListOptions{Search: name, Page: p})
			})
			if err != nil {
				return nil, true, err
			}
			for _, r := range rs {
				if r.Name == name {
					return one(loadRole(e, r))
				}
			}
			return nil, true, nil
		},
		list: func(e *env) ([]*roleObj, error) {
			rs, err := listAll(func(p store.Page) ([]*store.Role, int, error) {
				return e.st.ListRoles(e.ctx, store.ListOptions{Ordering: "name", Page: p})
			})
			if err != nil {
				return nil, err
			}
			out := make([]*roleObj, 0, len(rs))
			for _, r := range rs {
				o, err := loadRole(e, r)
				if err != nil {
					return nil, err
				}
				out = append(out, o)
			}
			return out, nil
		},
		create: func(e *env, o *roleObj) error {
			if err := e.st.CreateRole(e.ctx, &o.Role); err != nil {
				return err
			}
			return syncRolePermissions(e, o)
		},
		update: func(e *env, o *roleObj) error {
			if err := e.st.UpdateRole(e.ctx, &o.Role); err != nil {
				return err
			}
			return syncRolePermissions(e, o)
		},
		remove: func(e *env, o *roleObj) error { return e.st.DeleteRole(e.ctx, o.UUID) },
	}
}

func syncRolePermissions(e *env, o *roleObj) error {
	have, err := e.st.RolePermissions(e.ctx, o.UUID)
	if err != nil {
		return err
	}
	for _, p := range have {
		if p.ObjectPK == "" && !slices.Contains(o.Permissions, p.Permission) {
			if err := e.st.UnassignPermission(e.ctx, p); err != nil {
				return err
			}
		}
	}
	for _, p := range o.Permissions {
		if err := e.st.AssignPermission(e.ctx, store.RolePermission{RoleUUID: o.UUID, Permission: p}); err != nil {
			return err
		}
	}
	return nil
}

var slugPattern = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

func slug(s string) error {
	if !slugPattern.MatchString(s) {
		return errors.New("must be a slug: letters, numbers, underscores or hyphens")
	}
	return nil
}

// reservedSlugs are taken by the OAuth2 endpoints under /application/o/
// (the same list as the admin API's).
var reservedSlugs = []string{"authorize", "token", "device", "userinfo", "introspect", "revoke", "par"}

func applicationKind() model {
	return &kind[store.Application]{
		name: "authentik_core.application", perm: "authentik_core.application",
		key: []string{"slug"},
		fields: []field[store.Application]{
			strField("name", func(o *store.Application) *string { return &o.Name }, notEmpty, maxLen(250)),
			strField("slug", func(o *store.Application) *string { return &o.Slug }, slug, maxLen(50), func(s string) error {
				if slices.Contains(reservedSlugs, s) {
					return fmt.Errorf("%q is reserved", s)
				}
				return nil
			}),
			optInt64Field("provider", refProvider, func(o *store.Application) **int64 { return &o.ProviderPK }),
			boolField("open_in_new_tab", func(o *store.Application) *bool { return &o.OpenInNewTab }),
			nullStrField("meta_launch_url", func(o *store.Application) *string { return &o.MetaLaunchURL }, maxLen(2000)),
			nullStrField("meta_icon", func(o *store.Application) *string { return &o.MetaIcon }, maxLen(2000)),
			nullStrField("meta_description", func(o *store.Application) *string { return &o.MetaDescription }),
			nullStrField("meta_publisher", func(o *store.Application) *string { return &o.MetaPublisher }),
			strField("policy_engine_mode", func(o *store.Application) *string { return &o.PolicyEngineMode }, oneOf("all", "any")),
			nullStrField("group", func(o *store.Application) *string { return &o.Group }),
		},
		ignored: []string{"backchannel_providers"},
		newObj:  func() *store.Application { return &store.Application{PolicyEngineMode: "any"} },
		pk:      func(o *store.Application) any { return o.UUID.String() },
		setPK:   func(o *store.Application, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*store.Application, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			return applicationByUUID(e, id)
		},
		lookup: func(e *env, ids map[string]any) ([]*store.Application, bool, error) {
			if s, ok := stringID(ids, "slug"); ok {
				return one(e.st.ApplicationBySlug(e.ctx, s))
			}
			if v, ok := ids["provider"]; ok && v != nil {
				if n, err := asInt64(v); err == nil {
					return one(e.st.ApplicationByProvider(e.ctx, n))
				}
			}
			return nil, false, nil
		},
		list: func(e *env) ([]*store.Application, error) {
			return listAll(func(p store.Page) ([]*store.Application, int, error) {
				return e.st.ListApplications(e.ctx, store.ListOptions{Ordering: "slug", Page: p})
			})
		},
		create: func(e *env, o *store.Application) error { return e.st.CreateApplication(e.ctx, o) },
		update: func(e *env, o *store.Application) error { return e.st.UpdateApplication(e.ctx, o) },
		remove: func(e *env, o *store.Application) error { return e.st.DeleteApplication(e.ctx, o.UUID) },
	}
}

// applicationByUUID: the store has no such lookup; a list restricted to
// the one primary key does it.
func applicationByUUID(e *env, id uuid.UUID) (*store.Application, error) {
	as, _, err := e.st.ListApplications(e.ctx, store.ListOptions{Only: []string{id.String()}, Page: store.Page{Limit: 1}})
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, fmt.Errorf("application %s: %w", id, store.ErrNotFound)
	}
	return as[0], nil
}

func brandKind() model {
	flow := func(name string, p func(*store.Brand) **uuid.UUID) field[store.Brand] {
		return optUUIDField(name, refFlow, p)
	}
	return &kind[store.Brand]{
		name: "authentik_brands.brand", perm: "authentik_brands.brand",
		key: []string{"domain"},
		fields: []field[store.Brand]{
			strField("domain", func(o *store.Brand) *string { return &o.Domain }, notEmpty, maxLen(253)),
			boolField("default", func(o *store.Brand) *bool { return &o.Default }),
			nullStrField("branding_title", func(o *store.Brand) *string { return &o.BrandingTitle }, maxLen(200)),
			nullStrField("branding_logo", func(o *store.Brand) *string { return &o.BrandingLogo }, maxLen(2000)),
			nullStrField("branding_favicon", func(o *store.Brand) *string { return &o.BrandingFavicon }, maxLen(2000)),
			nullStrField("branding_custom_css", func(o *store.Brand) *string { return &o.BrandingCustomCSS }),
			flow("flow_authentication", func(o *store.Brand) **uuid.UUID { return &o.FlowAuthentication }),
			flow("flow_invalidation", func(o *store.Brand) **uuid.UUID { return &o.FlowInvalidation }),
			flow("flow_recovery", func(o *store.Brand) **uuid.UUID { return &o.FlowRecovery }),
			flow("flow_unenrollment", func(o *store.Brand) **uuid.UUID { return &o.FlowUnenrollment }),
			flow("flow_user_settings", func(o *store.Brand) **uuid.UUID { return &o.FlowUserSettings }),
			flow("flow_device_code", func(o *store.Brand) **uuid.UUID { return &o.FlowDeviceCode }),
			optUUIDField("default_application", refApplication, func(o *store.Brand) **uuid.UUID { return &o.DefaultApplication }),
			optUUIDField("web_certificate", refKeyPair, func(o *store.Brand) **uuid.UUID { return &o.WebCertificate }),
			attrsField("attributes", func(o *store.Brand) *store.Attributes { return &o.Attributes }),
		},
		ignored: []string{"branding_default_flow_background", "client_certificates", "flow_request"},
		newObj:  func() *store.Brand { return &store.Brand{BrandingTitle: "Gatehouse", Attributes: store.Attributes{}} },
		pk:      func(o *store.Brand) any { return o.UUID.String() },
		setPK:   func(o *store.Brand, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*store.Brand, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			return e.st.BrandByUUID(e.ctx, id)
		},
		lookup: func(*env, map[string]any) ([]*store.Brand, bool, error) { return nil, false, nil },
		list:   func(e *env) ([]*store.Brand, error) { return e.st.ListBrands(e.ctx) },
		create: func(e *env, o *store.Brand) error { return e.st.CreateBrand(e.ctx, o) },
		update: func(e *env, o *store.Brand) error { return e.st.UpdateBrand(e.ctx, o) },
		remove: func(e *env, o *store.Brand) error { return e.st.DeleteBrand(e.ctx, o.UUID) },
	}
}

// keyPairObj is a certificate-key pair with the private key given in the
// blueprint (clear text, sealed before it is stored).
type keyPairObj struct {
	store.CertificateKeyPair
	keyPEM string // set by key_data in this application; not stored
}

func keyPairKind() model {
	return &kind[keyPairObj]{
		name: "authentik_crypto.certificatekeypair", perm: "authentik_crypto.certificatekeypair",
		key: []string{"name"},
		fields: []field[keyPairObj]{
			strField("name", func(o *keyPairObj) *string { return &o.Name }, notEmpty, maxLen(250)),
			strField("certificate_data", func(o *keyPairObj) *string { return &o.CertificateData }, notEmpty),
			// key_data is sealed with the secret key: the same key again
			// (whatever its PEM form) keeps the sealed value, so
			// re-applying changes nothing.
			{name: "key_data", writeOnly: true,
				get: func(*keyPairObj) any { return nil },
				set: func(e *env, o *keyPairObj, v any) error {
					if v == nil || v == "" {
						o.KeySealed, o.keyPEM = "", ""
						return nil
					}
					s, err := asString(v)
					if err != nil {
						return err
					}
					norm, err := crypto.NormalizeKeyPEM([]byte(s))
					if err != nil {
						return err
					}
					if e.opts.KeySealer == nil {
						return errors.New("a private key can only be imported with the secret key (it is stored sealed)")
					}
					o.keyPEM = string(norm)
					if o.KeySealed != "" {
						if old, err := e.opts.KeySealer.Open(o.KeySealed); err == nil && string(old) == string(norm) {
							return nil
						}
					}
					o.KeySealed, err = e.opts.KeySealer.Seal(norm)
					return err
				}},
			{name: "managed",
				get: func(o *keyPairObj) any {
					if o.Managed == "" {
						return nil
					}
					return o.Managed
				},
				set: func(_ *env, o *keyPairObj, v any) error {
					if v == nil {
						o.Managed = ""
						return nil
					}
					s, err := asString(v)
					o.Managed = s
					return err
				}},
		},
		newObj: func() *keyPairObj { return &keyPairObj{} },
		pk:     func(o *keyPairObj) any { return o.UUID.String() },
		setPK:  func(o *keyPairObj, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*keyPairObj, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			k, err := e.st.KeyPairByUUID(e.ctx, id)
			if err != nil {
				return nil, err
			}
			return &keyPairObj{CertificateKeyPair: *k}, nil
		},
		lookup: func(e *env, ids map[string]any) ([]*keyPairObj, bool, error) {
			name, ok := stringID(ids, "name")
			if !ok {
				return nil, false, nil
			}
			all, err := listKeyPairs(e, name)
			var out []*keyPairObj
			for _, k := range all {
				if k.Name == name {
					out = append(out, k)
				}
			}
			return out, true, err
		},
		list:   func(e *env) ([]*keyPairObj, error) { return listKeyPairs(e, "") },
		check:  checkKeyPair,
		create: func(e *env, o *keyPairObj) error { return e.st.CreateKeyPair(e.ctx, &o.CertificateKeyPair) },
		update: func(e *env, o *keyPairObj) error { return e.st.UpdateKeyPair(e.ctx, &o.CertificateKeyPair) },
		remove: func(e *env, o *keyPairObj) error { return e.st.DeleteKeyPair(e.ctx, o.UUID) },
	}
}

func listKeyPairs(e *env, search string) ([]*keyPairObj, error) {
	ks, err := listAll(func(p store.Page) ([]*store.CertificateKeyPair, int, error) {
		return e.st.ListKeyPairs(e.ctx, nil, store.ListOptions{Search: search, Ordering: "name", Page: p})
	})
	if err != nil {
		return nil, err
	}
	out := make([]*keyPairObj, 0, len(ks))
	for _, k := range ks {
		out = append(out, &keyPairObj{CertificateKeyPair: *k})
	}
	return out, nil
}

// checkKeyPair inspects the certificate (and the key, when this entry gives
// one or the stored one can be opened) and fills in what derives from it.
func checkKeyPair(e *env, o *keyPairObj) error {
	key := o.keyPEM
	if key == "" && o.KeySealed != "" && e.opts.KeySealer != nil {
		if k, err := e.opts.KeySealer.Open(o.KeySealed); err == nil {
			key = string(k)
		}
	}
	info, err := crypto.Inspect([]byte(o.CertificateData), []byte(key))
	if err != nil {
		field := "certificate_data"
		if errors.Is(err, crypto.ErrInvalidKey) || errors.Is(err, crypto.ErrKeyMismatch) {
			field = "key_data"
		}
		return &fieldError{field, err}
	}
	exp := info.NotAfter.UTC()
	o.KeyType, o.CertExpiry, o.CertSubject = string(info.KeyType), &exp, info.Subject
	o.FingerprintSHA256, o.FingerprintSHA1, o.KID = info.FingerprintSHA256, info.FingerprintSHA1, info.KID
	return nil
}
