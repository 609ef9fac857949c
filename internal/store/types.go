package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// UserType is authentik's user type.
type UserType string

// User types, as authentik names them.
const (
	UserInternal               UserType = "internal"
	UserExternal               UserType = "external"
	UserServiceAccount         UserType = "service_account"
	UserInternalServiceAccount UserType = "internal_service_account"
)

// Valid reports whether t is one of the known types.
func (t UserType) Valid() bool {
	switch t {
	case UserInternal, UserExternal, UserServiceAccount, UserInternalServiceAccount:
		return true
	}
	return false
}

// Attributes is a free-form JSON object attached to users, groups and brands.
type Attributes map[string]any

// User is a person or a service account.
type User struct {
	PK       int64     `bun:"pk,pk,autoincrement"`
	UUID     uuid.UUID `bun:"uuid"`
	Username string
	Name     string
	Email    string
	IsActive bool
	Type     UserType
	// Path is the folder the user lives in (authentik default "users").
	Path       string
	Attributes Attributes
	// PasswordHash is a Django-style encoded hash ("argon2$argon2id$..."), or
	// empty for a user who cannot log in with a password.
	PasswordHash       string
	PasswordChangeDate *time.Time
	LastLogin          *time.Time
	DateJoined         time.Time
	LastUpdated        time.Time
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	// Search matches username, name or email (case-insensitive substring).
	Search   string
	Username string
	Email    string
	Path     string
	IsActive *bool
	Type     UserType
	// Ordering is a field name, "-" prefixed for descending: pk, username,
	// name, email, is_active, last_login, date_joined. Default username.
	Ordering string
	Page     Page
	// Only restricts to these user PKs (nil: no restriction).
	Only []string
}

// Users is the user aggregate.
type Users interface {
	// CreateUser inserts u; it fills PK, UUID (when zero) and the timestamps.
	CreateUser(ctx context.Context, u *User) error
	UserByPK(ctx context.Context, pk int64) (*User, error)
	UserByUUID(ctx context.Context, id uuid.UUID) (*User, error)
	UserByUsername(ctx context.Context, username string) (*User, error)
	// UpdateUser writes every field of u and refreshes LastUpdated.
	UpdateUser(ctx context.Context, u *User) error
	// SetLastLogin records a login time and nothing else (LastUpdated is
	// kept, as Django's update_last_login does).
	SetLastLogin(ctx context.Context, pk int64, at time.Time) error
	DeleteUser(ctx context.Context, pk int64) error
	// ListUsers returns one page ordered by username, and the total count.
	ListUsers(ctx context.Context, f UserFilter) ([]*User, int, error)
}

// Group is a set of users; membership is inherited down the Parent tree.
type Group struct {
	UUID        uuid.UUID `bun:"uuid,pk"`
	Name        string
	Parent      *uuid.UUID `bun:"parent_uuid"`
	IsSuperuser bool
	Attributes  Attributes
}

// GroupFilter narrows ListGroups.
type GroupFilter struct {
	// Parent keeps the direct children of this group.
	Parent *uuid.UUID
	// HasParent, when set, keeps the groups with (true) or without (false)
	// a parent.
	HasParent *bool
	ListOptions
}

// Groups is the group aggregate with memberships.
type Groups interface {
	CreateGroup(ctx context.Context, g *Group) error
	GroupByUUID(ctx context.Context, id uuid.UUID) (*Group, error)
	GroupByName(ctx context.Context, name string) (*Group, error)
	// UpdateGroup rejects a parent that would make a cycle with ErrInvalid.
	UpdateGroup(ctx context.Context, g *Group) error
	DeleteGroup(ctx context.Context, id uuid.UUID) error
	// ListGroups: Search on name; Ordering name, is_superuser, or tree:
	// depth first, each group followed by its subtree, siblings by name.
	ListGroups(ctx context.Context, f GroupFilter) ([]*Group, int, error)

	// AddGroupMember is idempotent.
	AddGroupMember(ctx context.Context, group uuid.UUID, userPK int64) error
	RemoveGroupMember(ctx context.Context, group uuid.UUID, userPK int64) error
	// GroupMembers lists the direct members' PKs.
	GroupMembers(ctx context.Context, group uuid.UUID) ([]int64, error)
	// UserGroups lists the groups a user is directly in; with inherited, also
	// every ancestor of those groups (a group inherits its parents' roles and
	// superuser status, as in authentik).
	UserGroups(ctx context.Context, userPK int64, inherited bool) ([]*Group, error)
	// UserIsSuperuser is true when any group the user is in, or any ancestor
	// of one, has IsSuperuser.
	UserIsSuperuser(ctx context.Context, userPK int64) (bool, error)
	// GroupsOfUsers is UserGroups for a page of users in one query.
	GroupsOfUsers(ctx context.Context, userPKs []int64, inherited bool) (map[int64][]*Group, error)
}

// TokenIntent is what a token may be used for.
type TokenIntent string

// Token intents, as authentik names them.
const (
	IntentVerification TokenIntent = "verification"
	IntentAPI          TokenIntent = "api"
	IntentRecovery     TokenIntent = "recovery"
	IntentAppPassword  TokenIntent = "app_password"
)

// Valid reports whether i is one of the known intents.
func (i TokenIntent) Valid() bool {
	switch i {
	case IntentVerification, IntentAPI, IntentRecovery, IntentAppPassword:
		return true
	}
	return false
}

// Token is an API key, app password or one-time link token. The secret key
// is never stored: KeyHash is its SHA-256 (see package core for hashing).
type Token struct {
	UUID       uuid.UUID `bun:"uuid,pk"`
	Identifier string
	KeyHash    []byte
	// KeySealed is the key encrypted with a key derived from secret_key, so
	// that view_key can show it again; empty for keys Gatehouse must not
	// reveal (the bootstrap token).
	KeySealed   string
	Intent      TokenIntent
	UserPK      int64
	Description string
	Expiring    bool
	Expires     *time.Time
	// Managed marks tokens owned by Gatehouse itself (bootstrap, outposts).
	Managed string
	// FlowPlan is the JSON flow plan a verification token (an email link)
	// resumes; empty for other tokens.
	FlowPlan string
	Created  time.Time
}

// Expired reports whether the token has expired at now.
func (t *Token) Expired(now time.Time) bool {
	return t.Expiring && t.Expires != nil && !now.Before(*t.Expires)
}

// Principal is the user an API credential stands for, with the superuser
// bit resolved (it depends on the user's groups and their ancestors).
type Principal struct {
	User      *User
	Superuser bool
}

// Tokens is the token aggregate.
type Tokens interface {
	// TokenPrincipal is TokenByKeyHash, the token's user and its superuser
	// bit in one query: the start of every token-authenticated request.
	TokenPrincipal(ctx context.Context, keyHash []byte) (*Token, *Principal, error)
	// UserPrincipal is the same for a user (session authentication).
	UserPrincipal(ctx context.Context, userPK int64) (*Principal, error)
	CreateToken(ctx context.Context, t *Token) error
	TokenByIdentifier(ctx context.Context, identifier string) (*Token, error)
	// TokenByKeyHash is the hot path of API authentication.
	TokenByKeyHash(ctx context.Context, keyHash []byte) (*Token, error)
	UpdateToken(ctx context.Context, t *Token) error
	DeleteToken(ctx context.Context, id uuid.UUID) error
	ListTokens(ctx context.Context, userPK int64) ([]*Token, error)
	// DeleteExpiredTokens removes expiring tokens whose expiry is before now.
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error)
}

// Brand is what a request's Host selects: title, logos, default flows.
type Brand struct {
	UUID               uuid.UUID `bun:"uuid,pk"`
	Domain             string
	Default            bool `bun:"is_default"`
	BrandingTitle      string
	BrandingLogo       string
	BrandingFavicon    string
	BrandingCustomCSS  string
	FlowAuthentication *uuid.UUID
	FlowInvalidation   *uuid.UUID
	FlowRecovery       *uuid.UUID
	FlowUnenrollment   *uuid.UUID
	FlowUserSettings   *uuid.UUID
	FlowDeviceCode     *uuid.UUID
	WebCertificate     *uuid.UUID
	DefaultApplication *uuid.UUID
	Attributes         Attributes
}

// Brands is the brand aggregate. At most one brand is Default.
type Brands interface {
	// CreateBrand fails with ErrConflict on a taken domain or a second default.
	CreateBrand(ctx context.Context, b *Brand) error
	BrandByUUID(ctx context.Context, id uuid.UUID) (*Brand, error)
	UpdateBrand(ctx context.Context, b *Brand) error
	DeleteBrand(ctx context.Context, id uuid.UUID) error
	// ListBrands returns every brand ordered by domain (brands are few).
	ListBrands(ctx context.Context) ([]*Brand, error)
}

// Session is a browser session, durable in the database. Key is the SHA-256
// of the cookie value, hex-encoded, so a database dump does not hold live
// cookies.
type Session struct {
	Key           string `bun:"key,pk"`
	UUID          uuid.UUID
	UserPK        *int64
	Data          json.RawMessage `bun:"data,type:jsonb"`
	LastIP        string
	LastUserAgent string
	LastUsed      time.Time
	Expires       time.Time
	Created       time.Time
}

// Sessions is the session aggregate.
type Sessions interface {
	CreateSession(ctx context.Context, s *Session) error
	// SessionByKey returns ErrNotFound for an unknown or expired session.
	SessionByKey(ctx context.Context, key string, now time.Time) (*Session, error)
	// SessionByUUID returns a live session by its public id (ErrNotFound
	// for an unknown or expired one).
	SessionByUUID(ctx context.Context, id uuid.UUID, now time.Time) (*Session, error)
	UpdateSession(ctx context.Context, s *Session) error
	DeleteSession(ctx context.Context, key string) error
	// UserSessions lists a user's live sessions, most recently used first.
	UserSessions(ctx context.Context, userPK int64, now time.Time) ([]*Session, error)
	DeleteUserSessions(ctx context.Context, userPK int64) (int, error)
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	// ExpiredSessionsWithGrants lists up to limit expired sessions in
	// which OAuth2 grants were issued (their relying parties are told of
	// the end before DeleteExpiredSessions deletes them and their grants).
	ExpiredSessionsWithGrants(ctx context.Context, now time.Time, limit int) ([]*Session, error)
}

// Settings is a small key/value store of JSON documents (system settings,
// install-wide markers).
type Settings interface {
	// Setting returns ErrNotFound for an unset key.
	Setting(ctx context.Context, key string) (json.RawMessage, error)
	PutSetting(ctx context.Context, key string, value json.RawMessage) error
}
