package api

import (
	"context"
	"fmt"
	"net/http"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Permissions on users (authentik's codenames).
const (
	permViewUser          = "authentik_core.view_user"
	permAddUser           = "authentik_core.add_user"
	permChangeUser        = "authentik_core.change_user"
	permDeleteUser        = "authentik_core.delete_user"
	permResetUserPassword = "authentik_core.reset_user_password"
)

// PartialGroup is a group as embedded in a user.
type PartialGroup struct {
	PK          uuid.UUID      `json:"pk"`
	NumPK       int            `json:"num_pk"`
	Name        string         `json:"name"`
	IsSuperuser bool           `json:"is_superuser"`
	Attributes  map[string]any `json:"attributes"`
}

// Role is an RBAC role.
type Role struct {
	PK   uuid.UUID `json:"pk" readOnly:"true"`
	Name string    `json:"name"`
}

// User is authentik's User serializer.
type User struct {
	PK                 int64          `json:"pk"`
	Username           string         `json:"username"`
	Name               string         `json:"name"`
	IsActive           bool           `json:"is_active"`
	LastLogin          *time.Time     `json:"last_login"`
	DateJoined         time.Time      `json:"date_joined"`
	IsSuperuser        bool           `json:"is_superuser"`
	Groups             []uuid.UUID    `json:"groups"`
	GroupsObj          []PartialGroup `json:"groups_obj"`
	Roles              []uuid.UUID    `json:"roles"`
	RolesObj           []Role         `json:"roles_obj"`
	Email              string         `json:"email"`
	Avatar             string         `json:"avatar"`
	Attributes         map[string]any `json:"attributes"`
	UID                string         `json:"uid"`
	Path               string         `json:"path"`
	Type               string         `json:"type" enum:"internal,external,service_account,internal_service_account"`
	UUID               uuid.UUID      `json:"uuid"`
	PasswordChangeDate *time.Time     `json:"password_change_date"`
	LastUpdated        time.Time      `json:"last_updated"`
}

// UserRequest is the body of create and replace.
type UserRequest struct {
	Username   string         `json:"username" minLength:"1" maxLength:"150"`
	Name       string         `json:"name" maxLength:"300"`
	IsActive   *bool          `json:"is_active,omitempty"`
	LastLogin  *time.Time     `json:"last_login,omitempty"`
	Groups     []uuid.UUID    `json:"groups,omitempty"`
	Roles      []uuid.UUID    `json:"roles,omitempty"`
	Email      string         `json:"email,omitempty" maxLength:"254"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Path       string         `json:"path,omitempty" maxLength:"300"`
	Type       string         `json:"type,omitempty" enum:"internal,external,service_account,internal_service_account"`
	// PasswordHash imports an existing hash (Gatehouse extension, for
	// migrations from authentik/Django). Upgraded to argon2id at the next login.
	PasswordHash string `json:"password_hash,omitempty" maxLength:"1000" writeOnly:"true" doc:"Import an existing Django/authentik hash (pbkdf2_sha256$, pbkdf2_sha1$, argon2$, bcrypt_sha256$, bcrypt$); needs reset_user_password"`
}

// PatchedUserRequest is the body of a partial update: absent fields stay.
type PatchedUserRequest struct {
	Username   *string         `json:"username,omitempty" minLength:"1" maxLength:"150"`
	Name       *string         `json:"name,omitempty" maxLength:"300"`
	IsActive   *bool           `json:"is_active,omitempty"`
	LastLogin  *time.Time      `json:"last_login,omitempty"`
	Groups     *[]uuid.UUID    `json:"groups,omitempty"`
	Roles      *[]uuid.UUID    `json:"roles,omitempty"`
	Email      *string         `json:"email,omitempty" maxLength:"254"`
	Attributes *map[string]any `json:"attributes,omitempty"`
	Path       *string         `json:"path,omitempty" maxLength:"300"`
	Type       *string         `json:"type,omitempty" enum:"internal,external,service_account,internal_service_account"`
	// PasswordHash: see UserRequest.
	PasswordHash *string `json:"password_hash,omitempty" maxLength:"1000" writeOnly:"true" doc:"Import an existing Django/authentik hash; needs reset_user_password"`
}

// usernamePattern is Django's username validator.
var usernamePattern = regexp.MustCompile(`^[\w.@+-]+$`)

type userListInput struct {
	ListParams
	Username string `query:"username"`
	Email    string `query:"email"`
	Path     string `query:"path"`
	IsActive string `query:"is_active" enum:"true,false,"`
	Type     string `query:"type" enum:"internal,external,service_account,internal_service_account,"`
}

// UserIDInput is the path parameter. Exported because input structs embed it: huma
// ignores unexported embedded fields (no parameter, documented or parsed).
type UserIDInput struct {
	ID int64 `path:"id" doc:"A unique integer value identifying this User."`
}

type userOutput struct{ Body *User }

type userListOutput struct {
	Body struct {
		Pagination   Pagination   `json:"pagination"`
		Results      []*User      `json:"results"`
		Autocomplete Autocomplete `json:"autocomplete"`
	}
}

func (a *API) registerUsers() {
	const tag = "core"
	huma.Register(a.huma, op(http.MethodGet, "/core/users/", "core_users_list", tag, "List users", 200), a.listUsers)
	huma.Register(a.huma, op(http.MethodPost, "/core/users/", "core_users_create", tag, "Create a user", 201), a.createUser)
	huma.Register(a.huma, op(http.MethodGet, "/core/users/me/", "core_users_me_retrieve", tag, "The authenticated user", 200), a.me)
	huma.Register(a.huma, op(http.MethodPost, "/core/users/service_account/", "core_users_service_account_create", tag, "Create a service account and its token", 200), a.createServiceAccount)
	huma.Register(a.huma, op(http.MethodGet, "/core/users/{id}/", "core_users_retrieve", tag, "Get a user", 200, 404), a.getUser)
	huma.Register(a.huma, op(http.MethodPut, "/core/users/{id}/", "core_users_update", tag, "Replace a user", 200, 404), a.replaceUser)
	huma.Register(a.huma, op(http.MethodPatch, "/core/users/{id}/", "core_users_partial_update", tag, "Update a user", 200, 404), a.patchUser)
	huma.Register(a.huma, op(http.MethodDelete, "/core/users/{id}/", "core_users_destroy", tag, "Delete a user", 204, 404), a.deleteUser)
	huma.Register(a.huma, op(http.MethodPost, "/core/users/{id}/set_password/", "core_users_set_password_create", tag, "Set a user's password", 204, 404), a.setPassword)
}

// uid is authentik's stable, non-reversible user id: an HMAC of the pk.
func (a *API) uid(pk int64) string { return core.UserUID(a.SecretKey, pk) }

// avatar is an initials SVG as a data URI (no third-party request, unlike gravatar).
func avatar(u *store.User) string {
	src := u.Name
	if strings.TrimSpace(src) == "" {
		src = u.Username
	}
	var initials []rune
	for _, f := range strings.Fields(src) {
		for _, r := range f {
			initials = append(initials, []rune(strings.ToUpper(string(r)))...)
			break
		}
		if len(initials) == 2 {
			break
		}
	}
	svg := `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#3b82f6"/>` +
		`<text x="50%" y="50%" dy=".35em" text-anchor="middle" fill="#fff" font-family="sans-serif" font-size="28">` +
		htmlEscape(string(initials)) + `</text></svg>`
	return "data:image/svg+xml;base64," + b64(svg)
}

// users renders users with their groups and roles in three queries per page.
func (a *API) users(ctx context.Context, us []*store.User) ([]*User, error) {
	pks := make([]int64, len(us))
	for i, u := range us {
		pks[i] = u.PK
	}
	direct, err := a.Store.GroupsOfUsers(ctx, pks, false)
	if err != nil {
		return nil, a.storeError(err)
	}
	inherited, err := a.Store.GroupsOfUsers(ctx, pks, true)
	if err != nil {
		return nil, a.storeError(err)
	}
	roles, err := a.Store.RolesOfUsers(ctx, pks)
	if err != nil {
		return nil, a.storeError(err)
	}
	out := make([]*User, len(us))
	for i, u := range us {
		o := &User{
			PK: u.PK, Username: u.Username, Name: u.Name, IsActive: u.IsActive, LastLogin: u.LastLogin,
			DateJoined: u.DateJoined, Email: u.Email, Avatar: avatar(u), Attributes: u.Attributes, UID: a.uid(u.PK),
			Path: u.Path, Type: string(u.Type), UUID: u.UUID, PasswordChangeDate: u.PasswordChangeDate,
			LastUpdated: u.LastUpdated, Groups: []uuid.UUID{}, GroupsObj: []PartialGroup{}, Roles: []uuid.UUID{}, RolesObj: []Role{},
		}
		if o.Attributes == nil {
			o.Attributes = map[string]any{}
		}
		for _, g := range direct[u.PK] {
			o.Groups = append(o.Groups, g.UUID)
			o.GroupsObj = append(o.GroupsObj, partialGroup(g))
		}
		for _, g := range inherited[u.PK] {
			o.IsSuperuser = o.IsSuperuser || g.IsSuperuser
		}
		for _, r := range roles[u.PK] {
			o.Roles = append(o.Roles, r.UUID)
			o.RolesObj = append(o.RolesObj, Role{PK: r.UUID, Name: r.Name})
		}
		out[i] = o
	}
	return out, nil
}

func (a *API) user(ctx context.Context, u *store.User) (*User, error) {
	out, err := a.users(ctx, []*store.User{u})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func partialGroup(g *store.Group) PartialGroup {
	attrs := map[string]any(g.Attributes)
	if attrs == nil {
		attrs = map[string]any{}
	}
	return PartialGroup{PK: g.UUID, NumPK: numPK(g.UUID), Name: g.Name, IsSuperuser: g.IsSuperuser, Attributes: attrs}
}

// numPK is authentik's small integer group id (used by LDAP gidNumber);
// derived from the uuid so it is stable.
func numPK(id uuid.UUID) int {
	return int(uint16(id[14])<<8|uint16(id[15])) + 1000
}

func (a *API) listUsers(ctx context.Context, in *userListInput) (*userListOutput, error) {
	only, err := a.visible(ctx, permViewUser)
	if err != nil {
		return nil, err
	}
	f := store.UserFilter{
		Search: in.Search, Ordering: in.Ordering, Username: in.Username, Email: in.Email, Path: in.Path,
		Type: store.UserType(in.Type), Page: in.page(), Only: only,
	}
	if in.IsActive != "" {
		v := in.IsActive == "true"
		f.IsActive = &v
	}
	us, total, err := a.Store.ListUsers(ctx, f)
	if err != nil {
		return nil, a.listError(err)
	}
	out := &userListOutput{}
	if out.Body.Results, err = a.users(ctx, us); err != nil {
		return nil, err
	}
	out.Body.Pagination = paginate(in.ListParams, total, len(us))
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

func (a *API) loadUser(ctx context.Context, perm string, id int64) (*store.User, error) {
	if _, err := a.require(ctx, perm, strconv.FormatInt(id, 10)); err != nil {
		if err == errPermission {
			// Objects the caller may not see do not exist for it.
			if ok, _ := a.canSee(ctx, permViewUser, strconv.FormatInt(id, 10)); !ok {
				return nil, errNotFound
			}
		}
		return nil, err
	}
	u, err := a.Store.UserByPK(ctx, id)
	if err != nil {
		return nil, a.storeError(err)
	}
	return u, nil
}

// canSee reports whether the caller may view the object.
func (a *API) canSee(ctx context.Context, viewPerm, objectPK string) (bool, error) {
	p, err := caller(ctx)
	if err != nil {
		return false, err
	}
	return a.has(ctx, p, viewPerm, objectPK)
}

func (a *API) getUser(ctx context.Context, in *UserIDInput) (*userOutput, error) {
	u, err := a.loadUser(ctx, permViewUser, in.ID)
	if err != nil {
		return nil, err
	}
	o, err := a.user(ctx, u)
	return &userOutput{Body: o}, err
}

func validateUser(u *store.User) error {
	if !usernamePattern.MatchString(u.Username) {
		return fieldError("username", "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.")
	}
	if u.Email != "" {
		if addr, err := mail.ParseAddress(u.Email); err != nil || addr.Address != u.Email {
			return fieldError("email", "Enter a valid email address.")
		}
	}
	if !u.Type.Valid() {
		return fieldError("type", fmt.Sprintf("%q is not a valid choice.", u.Type))
	}
	return nil
}

func (a *API) createUser(ctx context.Context, in *struct{ Body UserRequest }) (*userOutput, error) {
	if _, err := a.require(ctx, permAddUser, ""); err != nil {
		return nil, err
	}
	b := in.Body
	u := &store.User{Username: b.Username, Name: b.Name, Email: b.Email, IsActive: true, LastLogin: b.LastLogin,
		Attributes: b.Attributes, Path: b.Path, Type: store.UserType(b.Type)}
	if b.IsActive != nil {
		u.IsActive = *b.IsActive
	}
	if u.Type == "" {
		u.Type = store.UserInternal
	}
	if u.Path == "" {
		u.Path = "users"
	}
	if err := validateUser(u); err != nil {
		return nil, err
	}
	if b.PasswordHash != "" {
		if err := a.importHash(ctx, u, b.PasswordHash); err != nil {
			return nil, err
		}
	}
	err := a.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return setUserRelations(ctx, tx, u.PK, &b.Groups, &b.Roles)
	})
	if err != nil {
		return nil, a.storeError(err)
	}
	o, err := a.user(ctx, u)
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_core", "user", u.PK, u.Username}, nil)
	return &userOutput{Body: o}, nil
}

// setUserRelations replaces group memberships and roles; nil pointers leave them.
func setUserRelations(ctx context.Context, tx store.Store, pk int64, groups, roles *[]uuid.UUID) error {
	if groups != nil {
		current, err := tx.UserGroups(ctx, pk, false)
		if err != nil {
			return err
		}
		want := map[uuid.UUID]bool{}
		for _, g := range *groups {
			want[g] = true
		}
		for _, g := range current {
			if !want[g.UUID] {
				if err := tx.RemoveGroupMember(ctx, g.UUID, pk); err != nil {
					return err
				}
			}
		}
		for g := range want {
			if err := tx.AddGroupMember(ctx, g, pk); err != nil {
				return err
			}
		}
	}
	if roles != nil {
		return tx.SetUserRoles(ctx, pk, *roles)
	}
	return nil
}

func (a *API) replaceUser(ctx context.Context, in *struct {
	UserIDInput
	Body UserRequest
}) (*userOutput, error) {
	b := in.Body
	p := PatchedUserRequest{Username: &b.Username, Name: &b.Name, IsActive: b.IsActive, LastLogin: b.LastLogin,
		Groups: &b.Groups, Roles: &b.Roles, Email: &b.Email, Attributes: &b.Attributes}
	if b.PasswordHash != "" {
		p.PasswordHash = &b.PasswordHash
	}
	if b.Path != "" {
		p.Path = &b.Path
	}
	if b.Type != "" {
		p.Type = &b.Type
	}
	return a.updateUser(ctx, in.ID, p)
}

func (a *API) patchUser(ctx context.Context, in *struct {
	UserIDInput
	Body PatchedUserRequest
}) (*userOutput, error) {
	return a.updateUser(ctx, in.ID, in.Body)
}

func (a *API) updateUser(ctx context.Context, id int64, p PatchedUserRequest) (*userOutput, error) {
	u, err := a.loadUser(ctx, permChangeUser, id)
	if err != nil {
		return nil, err
	}
	before, err := a.user(ctx, u)
	if err != nil {
		return nil, err
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&u.Username, p.Username)
	set(&u.Name, p.Name)
	set(&u.Email, p.Email)
	set(&u.Path, p.Path)
	if p.Type != nil {
		u.Type = store.UserType(*p.Type)
	}
	if p.IsActive != nil {
		u.IsActive = *p.IsActive
	}
	if p.LastLogin != nil {
		u.LastLogin = p.LastLogin
	}
	if p.Attributes != nil {
		u.Attributes = *p.Attributes
	}
	if err := validateUser(u); err != nil {
		return nil, err
	}
	if p.PasswordHash != nil {
		if err := a.importHash(ctx, u, *p.PasswordHash); err != nil {
			return nil, err
		}
	}
	err = a.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return setUserRelations(ctx, tx, u.PK, p.Groups, p.Roles)
	})
	if err != nil {
		return nil, a.storeError(err)
	}
	after, err := a.user(ctx, u)
	if err != nil {
		return nil, err
	}
	if d := diff(before, after); len(d) > 0 {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_core", "user", u.PK, u.Username}, map[string]any{"diff": d})
	}
	return &userOutput{Body: after}, nil
}

func (a *API) deleteUser(ctx context.Context, in *UserIDInput) (*noContent, error) {
	u, err := a.loadUser(ctx, permDeleteUser, in.ID)
	if err != nil {
		return nil, err
	}
	if a.OnSessionEnd != nil {
		// The user's sessions go with the user (a cascade): their
		// relying parties hear first.
		if sessions, err := a.Store.UserSessions(ctx, u.PK, a.Now()); err == nil {
			for _, s := range sessions {
				a.OnSessionEnd(ctx, s)
			}
		}
	}
	if err := a.Store.DeleteUser(ctx, u.PK); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_core", "user", u.PK, u.Username}, nil)
	return &noContent{}, nil
}

type setPasswordInput struct {
	UserIDInput
	Body struct {
		Password string `json:"password" minLength:"1" maxLength:"4096"`
	}
}

func (a *API) setPassword(ctx context.Context, in *setPasswordInput) (*noContent, error) {
	u, err := a.loadUser(ctx, permResetUserPassword, in.ID)
	if err != nil {
		return nil, err
	}
	h, err := password.Hash(in.Body.Password)
	if err != nil {
		return nil, err
	}
	now := a.now()
	u.PasswordHash, u.PasswordChangeDate = h, &now
	if err := a.Store.UpdateUser(ctx, u); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionPasswordSet, modelRef{"authentik_core", "user", u.PK, u.Username}, nil)
	return &noContent{}, nil
}

// UserSelf is what a user sees of itself (authentik's UserSelf).
type UserSelf struct {
	PK                int64          `json:"pk"`
	Username          string         `json:"username"`
	Name              string         `json:"name"`
	IsActive          bool           `json:"is_active"`
	IsSuperuser       bool           `json:"is_superuser"`
	Groups            []SelfGroup    `json:"groups"`
	Roles             []Role         `json:"roles"`
	Email             string         `json:"email"`
	Avatar            string         `json:"avatar"`
	UID               string         `json:"uid"`
	Settings          map[string]any `json:"settings"`
	Type              string         `json:"type"`
	SystemPermissions []string       `json:"system_permissions"`
}

// SelfGroup is a group as a user sees it in its own profile.
type SelfGroup struct {
	PK   uuid.UUID `json:"pk"`
	Name string    `json:"name"`
}

type meOutput struct {
	Body struct {
		User     UserSelf  `json:"user"`
		Original *UserSelf `json:"original,omitempty"`
	}
}

func (a *API) me(ctx context.Context, _ *struct{}) (*meOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	u := p.User
	groups, err := a.Store.UserGroups(ctx, u.PK, false)
	if err != nil {
		return nil, a.storeError(err)
	}
	roles, err := a.Store.UserRoles(ctx, u.PK)
	if err != nil {
		return nil, a.storeError(err)
	}
	perms, err := a.Store.UserPermissions(ctx, u.PK, "")
	if err != nil {
		return nil, a.storeError(err)
	}
	self := UserSelf{PK: u.PK, Username: u.Username, Name: u.Name, IsActive: u.IsActive, IsSuperuser: p.Superuser,
		Email: u.Email, Avatar: avatar(u), UID: a.uid(u.PK), Settings: map[string]any{}, Type: string(u.Type),
		Groups: []SelfGroup{}, Roles: []Role{}, SystemPermissions: []string{}}
	if s, ok := u.Attributes["settings"].(map[string]any); ok {
		self.Settings = s
	}
	for _, g := range groups {
		self.Groups = append(self.Groups, SelfGroup{PK: g.UUID, Name: g.Name})
	}
	for _, r := range roles {
		self.Roles = append(self.Roles, Role{PK: r.UUID, Name: r.Name})
	}
	for _, rp := range perms {
		self.SystemPermissions = append(self.SystemPermissions, rp.Permission)
	}
	out := &meOutput{}
	out.Body.User = self
	if orig := impersonator(p.Session); orig != 0 {
		ou, err := a.Store.UserByPK(ctx, orig)
		if err != nil {
			return nil, a.storeError(err)
		}
		su, err := a.Store.UserIsSuperuser(ctx, orig)
		if err != nil {
			return nil, a.storeError(err)
		}
		out.Body.Original = &UserSelf{PK: ou.PK, Username: ou.Username, Name: ou.Name, IsActive: ou.IsActive,
			IsSuperuser: su, Email: ou.Email, Avatar: avatar(ou), UID: a.uid(ou.PK), Settings: map[string]any{},
			Type: string(ou.Type), Groups: []SelfGroup{}, Roles: []Role{}, SystemPermissions: []string{}}
	}
	return out, nil
}

type serviceAccountInput struct {
	Body struct {
		Name        string     `json:"name" minLength:"1" maxLength:"150"`
		CreateGroup bool       `json:"create_group,omitempty"`
		Expiring    *bool      `json:"expiring,omitempty"`
		Expires     *time.Time `json:"expires,omitempty"`
	}
}

type serviceAccountOutput struct {
	Body struct {
		Username string     `json:"username"`
		Token    string     `json:"token"`
		UserUID  string     `json:"user_uid"`
		UserPK   int64      `json:"user_pk"`
		GroupPK  *uuid.UUID `json:"group_pk,omitempty"`
	}
}

// createServiceAccount makes a service account with an API token, as
// authentik's users/service_account/ (token expiring in a year unless told).
func (a *API) createServiceAccount(ctx context.Context, in *serviceAccountInput) (*serviceAccountOutput, error) {
	if _, err := a.require(ctx, permAddUser, ""); err != nil {
		return nil, err
	}
	b := in.Body
	u := &store.User{Username: b.Name, Name: b.Name, IsActive: true, Type: store.UserServiceAccount,
		Path: "goauthentik.io/service-accounts", Attributes: store.Attributes{"goauthentik.io/user/service-account": true}}
	if err := validateUser(u); err != nil {
		return nil, fieldError("name", "Enter a valid username.")
	}
	expiring := b.Expiring == nil || *b.Expiring
	expires := a.now().Add(365 * 24 * time.Hour)
	if b.Expires != nil {
		expires = b.Expires.UTC()
	}
	key := core.NewTokenKey()
	sealed, err := a.tokenSealer.Seal([]byte(key))
	if err != nil {
		return nil, err
	}
	out := &serviceAccountOutput{}
	err = a.Store.InTx(ctx, func(tx store.Store) error {
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if b.CreateGroup {
			g := &store.Group{Name: b.Name}
			if err := tx.CreateGroup(ctx, g); err != nil {
				return err
			}
			if err := tx.AddGroupMember(ctx, g.UUID, u.PK); err != nil {
				return err
			}
			out.Body.GroupPK = &g.UUID
		}
		tok := &store.Token{Identifier: "service-account-" + b.Name + "-password", KeyHash: core.HashTokenKey(key),
			KeySealed: sealed, Intent: store.IntentAppPassword, UserPK: u.PK, Expiring: expiring,
			Description: "Service account token for " + b.Name}
		if expiring {
			tok.Expires = &expires
		}
		return tx.CreateToken(ctx, tok)
	})
	if err != nil {
		if ce := (*store.ConflictError)(nil); asConflict(err, &ce) {
			return nil, fieldError("name", "A user or group with this name already exists.")
		}
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_core", "user", u.PK, u.Username}, nil)
	out.Body.Username, out.Body.Token, out.Body.UserUID, out.Body.UserPK = u.Username, key, a.uid(u.PK), u.PK
	return out, nil
}

// importHash sets an existing password hash after checking that Gatehouse
// can verify its format (the check costs one verification of an empty
// password, bounded by the password package's cost limits).
func (a *API) importHash(ctx context.Context, u *store.User, hash string) error {
	objectPK := ""
	if u.PK != 0 {
		objectPK = strconv.FormatInt(u.PK, 10)
	}
	if _, err := a.require(ctx, permResetUserPassword, objectPK); err != nil {
		return err
	}
	if _, _, err := password.Verify("", hash); err != nil {
		return fieldError("password_hash", "Unsupported or malformed password hash.")
	}
	now := a.now()
	u.PasswordHash, u.PasswordChangeDate = hash, &now
	return nil
}
