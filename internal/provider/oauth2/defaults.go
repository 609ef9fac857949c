package oauth2

import (
	"context"
	"errors"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Managed ids of the default scope mappings (authentik's).
const (
	ManagedScopeOpenID        = "goauthentik.io/providers/oauth2/scope-openid"
	ManagedScopeEmail         = "goauthentik.io/providers/oauth2/scope-email"
	ManagedScopeProfile       = "goauthentik.io/providers/oauth2/scope-profile"
	ManagedScopeOfflineAccess = "goauthentik.io/providers/oauth2/scope-offline_access"
)

// defaultScopeMappings mirror authentik's system blueprint for OAuth2
// providers. email_verified comes from the user's attributes, where the
// email stage records a verified address.
var defaultScopeMappings = []struct {
	managed, name, scope, description, expression string
}{
	{ManagedScopeOpenID, "authentik default OAuth Mapping: OpenID 'openid'", "openid", "",
		"# This scope is required by the OpenID Connect specification:\n# the claims it needs are added by the provider.\nreturn {}\n"},
	{ManagedScopeEmail, "authentik default OAuth Mapping: OpenID 'email'", "email", "Email address",
		`return {
    "email": request.user.email,
    "email_verified": request.user.attributes.get("email_verified", False) == True,
}
`},
	{ManagedScopeProfile, "authentik default OAuth Mapping: OpenID 'profile'", "profile", "General Profile Information",
		`return {
    # Because authentik only saves the user's full name, and has no concept of first and last names,
    # the full name is used as given name.
    "name": request.user.name,
    "given_name": request.user.name,
    "preferred_username": request.user.username,
    "nickname": request.user.username,
    "groups": [group.name for group in request.user.ak_groups.all()],
}
`},
	{ManagedScopeOfflineAccess, "authentik default OAuth Mapping: OpenID 'offline_access'", "offline_access",
		"Access to request new tokens without interaction", "# This scope grants the refresh token; it adds no claims.\nreturn {}\n"},
}

// EnsureScopeMappings creates the default scope mappings that are missing
// (an existing one, even edited, is left alone) and returns their names.
func EnsureScopeMappings(ctx context.Context, st store.PropertyMappings) ([]string, error) {
	var created []string
	for _, d := range defaultScopeMappings {
		_, err := st.PropertyMappingByManaged(ctx, d.managed)
		if err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return created, err
		}
		managed := d.managed
		m := &store.PropertyMapping{Name: d.name, Type: "scope", Managed: &managed, Expression: d.expression,
			Settings: store.Attributes{"scope_name": d.scope, "description": d.description}}
		if err := st.CreatePropertyMapping(ctx, m); err != nil && !errors.Is(err, store.ErrConflict) {
			return created, err
		}
		created = append(created, d.name)
	}
	return created, nil
}
