package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// PropertyMapping turns a user into protocol claims or attributes
// (authentik's PropertyMapping). Type "scope" is an OAuth2 scope mapping
// whose Settings hold scope_name and description.
type PropertyMapping struct {
	UUID uuid.UUID `bun:"uuid,pk"`
	Name string
	Type string
	// Managed is the stable id of a built-in mapping
	// ("goauthentik.io/providers/oauth2/scope-openid"), nil for others.
	Managed    *string
	Expression string
	Settings   Attributes
}

// PropertyMappings is the property-mapping aggregate.
type PropertyMappings interface {
	CreatePropertyMapping(ctx context.Context, m *PropertyMapping) error
	PropertyMappingByUUID(ctx context.Context, id uuid.UUID) (*PropertyMapping, error)
	PropertyMappingByManaged(ctx context.Context, managed string) (*PropertyMapping, error)
	// PropertyMappingsByUUID returns those of ids that exist, in no order.
	PropertyMappingsByUUID(ctx context.Context, ids []uuid.UUID) ([]*PropertyMapping, error)
	UpdatePropertyMapping(ctx context.Context, m *PropertyMapping) error
	DeletePropertyMapping(ctx context.Context, id uuid.UUID) error
	// ListPropertyMappings: Search on name; Ordering name; typ filters when set.
	ListPropertyMappings(ctx context.Context, typ string, o ListOptions) ([]*PropertyMapping, int, error)
}

// RedirectURI is one allowed redirect (authentik's RedirectURI):
// MatchingMode "strict" compares the whole string, "regex" matches URL as
// an anchored regular expression. Type is "authorization" or "logout".
type RedirectURI struct {
	MatchingMode string `json:"matching_mode"`
	URL          string `json:"url"`
	Type         string `json:"redirect_uri_type,omitempty"`
}

// OAuth2Provider is an OAuth2/OpenID Connect provider: the base Provider
// plus its own fields (authentik's OAuth2Provider). Validities are
// authentik timedelta strings ("minutes=1").
type OAuth2Provider struct {
	Provider               *Provider `bun:"-"`
	ProviderPK             int64     `bun:"provider_pk,pk"`
	ClientType             string
	ClientID               string `bun:"client_id"`
	ClientSecret           string
	RedirectURIs           []RedirectURI `bun:"redirect_uris"`
	LogoutURI              string        `bun:"logout_uri"`
	LogoutMethod           string
	IncludeClaimsInIDToken bool `bun:"include_claims_in_id_token"`
	AccessCodeValidity     string
	AccessTokenValidity    string
	RefreshTokenValidity   string
	RefreshTokenThreshold  string
	SubMode                string
	IssuerMode             string
	SigningKey             *uuid.UUID
	EncryptionKey          *uuid.UUID
	PropertyMappings       []uuid.UUID
}

// OAuth2Providers is the OAuth2 provider aggregate. Deleting the base
// provider (Providers.DeleteProvider) deletes the OAuth2 part too.
type OAuth2Providers interface {
	// CreateOAuth2Provider creates p.Provider (type "oauth2") and p together.
	CreateOAuth2Provider(ctx context.Context, p *OAuth2Provider) error
	OAuth2ProviderByPK(ctx context.Context, pk int64) (*OAuth2Provider, error)
	OAuth2ProviderByClientID(ctx context.Context, clientID string) (*OAuth2Provider, error)
	// UpdateOAuth2Provider writes p.Provider and p together.
	UpdateOAuth2Provider(ctx context.Context, p *OAuth2Provider) error
	// ListOAuth2Providers: Search on name and client_id; Ordering pk, name.
	ListOAuth2Providers(ctx context.Context, o ListOptions) ([]*OAuth2Provider, int, error)
}

// OAuth2 token kinds.
const (
	OAuth2Code    = "code"
	OAuth2Access  = "access"
	OAuth2Refresh = "refresh"
)

// OAuth2Grant is one authorization given to a client and the family of
// tokens issued from it (RFC 6749 §1.3). Revoked revokes the whole family.
// A grant issued in a browser session (SessionUUID) ends with it.
type OAuth2Grant struct {
	UUID        uuid.UUID `bun:"uuid,pk"`
	ProviderPK  int64     `bun:"provider_pk"`
	UserPK      int64     `bun:"user_pk"`
	SessionUUID *uuid.UUID
	Scope       string
	Nonce       string
	AMR         []string `bun:"amr"`
	AuthTime    time.Time
	Revoked     bool
	Created     time.Time
}

// OAuth2Token is a code, access or refresh token of a grant, stored by the
// SHA-256 of its value (never the value). Used marks a consumed code or a
// rotated refresh token: presenting it again is a replay.
type OAuth2Token struct {
	Hash      string    `bun:"hash,pk"`
	GrantUUID uuid.UUID `bun:"grant_uuid"`
	Kind      string
	Expires   time.Time
	Used      *time.Time
	Data      Attributes
	Created   time.Time
}

// Expired tells whether the token is past its expiry at now.
func (t *OAuth2Token) Expired(now time.Time) bool { return !now.Before(t.Expires) }

// OAuth2TokenFilter narrows ListOAuth2Tokens.
type OAuth2TokenFilter struct {
	Kind       string
	UserPK     *int64
	ProviderPK *int64
}

// OAuth2Grants is the grant and token aggregate.
type OAuth2Grants interface {
	// CreateOAuth2Grant creates g and its first tokens in one transaction.
	CreateOAuth2Grant(ctx context.Context, g *OAuth2Grant, tokens ...*OAuth2Token) error
	// AddOAuth2Tokens adds tokens to existing grants.
	AddOAuth2Tokens(ctx context.Context, tokens ...*OAuth2Token) error
	// OAuth2TokenByHash returns the token and its grant (ErrNotFound if none).
	OAuth2TokenByHash(ctx context.Context, hash string) (*OAuth2Token, *OAuth2Grant, error)
	// UseOAuth2Token marks an unused token used at now. A token already used
	// is ErrConflict (a replay), an unknown one ErrNotFound.
	UseOAuth2Token(ctx context.Context, hash string, now time.Time) error
	// RotateOAuth2Token marks usedHash used (as UseOAuth2Token, with its
	// errors) and adds tokens, atomically: a code exchange or a refresh.
	RotateOAuth2Token(ctx context.Context, usedHash string, now time.Time, tokens ...*OAuth2Token) error
	// RevokeOAuth2Grant revokes the grant and so every token of it.
	RevokeOAuth2Grant(ctx context.Context, id uuid.UUID) error
	DeleteOAuth2Token(ctx context.Context, hash string) error
	// ListOAuth2Tokens lists tokens with their grants, newest first.
	ListOAuth2Tokens(ctx context.Context, f OAuth2TokenFilter, p Page) ([]*OAuth2Token, []*OAuth2Grant, int, error)
	// DeleteExpiredOAuth2Tokens deletes tokens expired before now and the
	// grants left without tokens; it returns how many tokens went.
	DeleteExpiredOAuth2Tokens(ctx context.Context, now time.Time) (int, error)
}
