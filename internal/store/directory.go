package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// ListOptions are the common list parameters. Ordering is a field name,
// "-" prefixed for descending; each list allows its own fields and rejects
// others with ErrInvalid, so nothing from a request reaches SQL unchecked.
type ListOptions struct {
	Search   string
	Ordering string
	Page     Page
	// Only restricts the list to these primary keys (RBAC object
	// permissions); nil means no restriction, empty means nothing.
	Only []string
}

// Role bundles permissions; it is given to groups (and through them, and
// down the group tree, to their members) or to users directly.
type Role struct {
	UUID uuid.UUID `bun:"uuid,pk"`
	Name string
}

// RolePermission is one permission of a role: global when ObjectPK is
// empty, else on the one object.
type RolePermission struct {
	RoleUUID   uuid.UUID `bun:"role_uuid"`
	Permission string
	ObjectPK   string `bun:"object_pk"`
}

// Roles is the RBAC aggregate.
type Roles interface {
	CreateRole(ctx context.Context, r *Role) error
	RoleByUUID(ctx context.Context, id uuid.UUID) (*Role, error)
	UpdateRole(ctx context.Context, r *Role) error
	DeleteRole(ctx context.Context, id uuid.UUID) error
	ListRoles(ctx context.Context, o ListOptions) ([]*Role, int, error)

	// SetGroupRoles and SetUserRoles replace the role set.
	SetGroupRoles(ctx context.Context, group uuid.UUID, roles []uuid.UUID) error
	GroupRoles(ctx context.Context, group uuid.UUID) ([]*Role, error)
	SetUserRoles(ctx context.Context, userPK int64, roles []uuid.UUID) error
	UserRoles(ctx context.Context, userPK int64) ([]*Role, error)
	// RolesOfUsers is UserRoles for a page of users in one query.
	RolesOfUsers(ctx context.Context, userPKs []int64) (map[int64][]*Role, error)

	// AssignPermission is idempotent; UnassignPermission returns ErrNotFound
	// when the role did not have it.
	AssignPermission(ctx context.Context, p RolePermission) error
	UnassignPermission(ctx context.Context, p RolePermission) error
	RolePermissions(ctx context.Context, role uuid.UUID) ([]RolePermission, error)
	// UserPermissions returns every permission the user holds through its
	// own roles and the roles of its groups and their ancestors: the global
	// ones and those on objectPK ("" for global ones only, "*" for all).
	UserPermissions(ctx context.Context, userPK int64, objectPK string) ([]RolePermission, error)
}

// Provider is the base of every provider type (oauth2, saml, ...). Each type
// keeps its own settings in Settings until it needs columns of its own.
type Provider struct {
	PK                 int64 `bun:"pk,pk,autoincrement"`
	Name               string
	Type               string
	AuthenticationFlow *uuid.UUID
	AuthorizationFlow  *uuid.UUID
	InvalidationFlow   *uuid.UUID
	Settings           Attributes
}

// Providers is the provider aggregate.
type Providers interface {
	CreateProvider(ctx context.Context, p *Provider) error
	ProviderByPK(ctx context.Context, pk int64) (*Provider, error)
	UpdateProvider(ctx context.Context, p *Provider) error
	DeleteProvider(ctx context.Context, pk int64) error
	// ListProviders: Search on name; Ordering pk, name; typ filters when set.
	ListProviders(ctx context.Context, typ string, o ListOptions) ([]*Provider, int, error)
}

// Application is what users see and launch; it has at most one provider.
type Application struct {
	UUID             uuid.UUID `bun:"uuid,pk"`
	Name             string
	Slug             string
	ProviderPK       *int64 `bun:"provider_pk"`
	Group            string
	MetaLaunchURL    string `bun:"meta_launch_url"`
	MetaIcon         string
	MetaDescription  string
	MetaPublisher    string
	PolicyEngineMode string
	OpenInNewTab     bool
}

// Applications is the application aggregate.
type Applications interface {
	CreateApplication(ctx context.Context, a *Application) error
	ApplicationBySlug(ctx context.Context, slug string) (*Application, error)
	ApplicationByProvider(ctx context.Context, providerPK int64) (*Application, error)
	UpdateApplication(ctx context.Context, a *Application) error
	DeleteApplication(ctx context.Context, id uuid.UUID) error
	// ListApplications: Search on name, slug, group, meta_publisher; Ordering name, slug, group.
	ListApplications(ctx context.Context, o ListOptions) ([]*Application, int, error)
}

// CertificateKeyPair is a certificate with an optional private key, sealed at rest.
type CertificateKeyPair struct {
	UUID              uuid.UUID `bun:"uuid,pk"`
	Name              string
	CertificateData   string
	KeySealed         string
	KeyType           string
	CertExpiry        *time.Time
	CertSubject       string
	FingerprintSHA256 string `bun:"fingerprint_sha256"`
	FingerprintSHA1   string `bun:"fingerprint_sha1"`
	KID               string `bun:"kid"`
	Managed           string
}

// Certificates is the keypair aggregate.
type Certificates interface {
	CreateKeyPair(ctx context.Context, k *CertificateKeyPair) error
	KeyPairByUUID(ctx context.Context, id uuid.UUID) (*CertificateKeyPair, error)
	// KeyPairByManaged finds the keypair with this managed key (certificate
	// discovery's "goauthentik.io/crypto/discovered/NAME"); ErrNotFound if none.
	KeyPairByManaged(ctx context.Context, managed string) (*CertificateKeyPair, error)
	UpdateKeyPair(ctx context.Context, k *CertificateKeyPair) error
	DeleteKeyPair(ctx context.Context, id uuid.UUID) error
	// ListKeyPairs: Search on name and subject; Ordering name, cert_expiry.
	ListKeyPairs(ctx context.Context, hasKey *bool, o ListOptions) ([]*CertificateKeyPair, int, error)
}

// Event is one audit log entry. User, Context and Brand are JSON snapshots,
// so an event keeps its meaning after the objects change or go.
type Event struct {
	UUID     uuid.UUID `bun:"uuid,pk"`
	Action   string
	User     Attributes `bun:"user"`
	App      string
	Context  Attributes
	ClientIP *string `bun:"client_ip"`
	Brand    Attributes
	Created  time.Time
	Expires  time.Time
}

// EventFilter narrows ListEvents.
type EventFilter struct {
	Action   string
	Username string
	ClientIP string
	// ContextModelPK matches context.model.pk (the object a model_* event is about).
	ContextModelPK string
	// ContextModelApp matches context.model.app (the Django-style app label
	// of that object, e.g. authentik_core).
	ContextModelApp string
	// ContextAuthorizedApp matches context.authorized_application.pk (the
	// application an authorize_application event is about).
	ContextAuthorizedApp string
	// Since and Until bound created: Since <= created <= Until, a zero
	// time leaving that side open.
	Since, Until time.Time
	ListOptions
}

// Events is the audit log.
// EventVolume is the number of events of one action in one hour.
type EventVolume struct {
	Action string
	Hour   time.Time // the hour's start, UTC
	Count  int
}

type Events interface {
	CreateEvent(ctx context.Context, e *Event) error
	EventByUUID(ctx context.Context, id uuid.UUID) (*Event, error)
	// ListEvents: Search on action, app and the username; Ordering created, action, client_ip (default -created).
	ListEvents(ctx context.Context, f EventFilter) ([]*Event, int, error)
	// EventVolume counts the events matching f (its conditions and date
	// range; not its page or ordering) created at or after since, per
	// action and hour, oldest hour first.
	EventVolume(ctx context.Context, f EventFilter, since time.Time) ([]EventVolume, error)
	DeleteExpiredEvents(ctx context.Context, now time.Time) (int, error)
}
