package api

import (
	"context"
	"net/http"
	"regexp"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewToken    = "authentik_core.view_token"
	permAddToken     = "authentik_core.add_token"
	permChangeToken  = "authentik_core.change_token"
	permDeleteToken  = "authentik_core.delete_token"
	permViewTokenKey = "authentik_core.view_token_key"
)

// Token is authentik's Token serializer. The key is never part of it: it is
// shown through view_key.
type Token struct {
	PK          string      `json:"pk"`
	Managed     *string     `json:"managed"`
	Identifier  string      `json:"identifier"`
	Intent      string      `json:"intent" enum:"verification,api,recovery,app_password"`
	User        int64       `json:"user"`
	UserObj     PartialUser `json:"user_obj"`
	Description string      `json:"description"`
	Expires     *time.Time  `json:"expires"`
	Expiring    bool        `json:"expiring"`
}

// PartialUser is a user as embedded in other objects.
type PartialUser struct {
	PK         int64          `json:"pk"`
	Username   string         `json:"username"`
	Name       string         `json:"name"`
	IsActive   bool           `json:"is_active"`
	LastLogin  *time.Time     `json:"last_login"`
	Email      string         `json:"email"`
	Attributes map[string]any `json:"attributes"`
	UID        string         `json:"uid"`
}

// TokenRequest creates or replaces a token.
type TokenRequest struct {
	Identifier  string     `json:"identifier" minLength:"1" maxLength:"200"`
	Intent      string     `json:"intent,omitempty" enum:"api,app_password"`
	User        *int64     `json:"user,omitempty"`
	Description string     `json:"description,omitempty" maxLength:"1000"`
	Expires     *time.Time `json:"expires,omitempty"`
	Expiring    *bool      `json:"expiring,omitempty"`
}

// PatchedTokenRequest updates a token partially.
type PatchedTokenRequest struct {
	Description *string    `json:"description,omitempty" maxLength:"1000"`
	Expires     *time.Time `json:"expires,omitempty"`
	Expiring    *bool      `json:"expiring,omitempty"`
}

var slugPattern = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

// TokenIDInput is the path parameter. Exported because input structs embed it: huma
// ignores unexported embedded fields (no parameter, documented or parsed).
type TokenIDInput struct {
	Identifier string `path:"identifier" maxLength:"200"`
}

type tokenOutput struct{ Body *Token }

type tokenListInput struct {
	ListParams
	Intent string `query:"intent" enum:"verification,api,recovery,app_password,"`
	UserPK int64  `query:"user__pk" doc:"Only this user's tokens."`
}

type tokenListOutput struct {
	Body struct {
		Pagination   Pagination   `json:"pagination"`
		Results      []*Token     `json:"results"`
		Autocomplete Autocomplete `json:"autocomplete"`
	}
}

func (a *API) registerTokens() {
	const tag = "core"
	huma.Register(a.huma, op(http.MethodGet, "/core/tokens/", "core_tokens_list", tag, "List tokens", 200), a.listTokens)
	huma.Register(a.huma, op(http.MethodPost, "/core/tokens/", "core_tokens_create", tag, "Create a token", 201), a.createToken)
	huma.Register(a.huma, op(http.MethodGet, "/core/tokens/{identifier}/", "core_tokens_retrieve", tag, "Get a token", 200, 404), a.getToken)
	huma.Register(a.huma, op(http.MethodPatch, "/core/tokens/{identifier}/", "core_tokens_partial_update", tag, "Update a token", 200, 404), a.patchToken)
	huma.Register(a.huma, op(http.MethodDelete, "/core/tokens/{identifier}/", "core_tokens_destroy", tag, "Delete a token", 204, 404), a.deleteToken)
	huma.Register(a.huma, op(http.MethodGet, "/core/tokens/{identifier}/view_key/", "core_tokens_view_key_retrieve", tag, "Show a token's key", 200, 404), a.viewTokenKey)
}

func (a *API) partialUser(u *store.User) PartialUser {
	attrs := map[string]any(u.Attributes)
	if attrs == nil {
		attrs = map[string]any{}
	}
	return PartialUser{PK: u.PK, Username: u.Username, Name: u.Name, IsActive: u.IsActive, LastLogin: u.LastLogin,
		Email: u.Email, Attributes: attrs, UID: a.uid(u.PK)}
}

func (a *API) token(ctx context.Context, t *store.Token) (*Token, error) {
	u, err := a.Store.UserByPK(ctx, t.UserPK)
	if err != nil {
		return nil, a.storeError(err)
	}
	o := &Token{PK: t.UUID.String(), Identifier: t.Identifier, Intent: string(t.Intent), User: t.UserPK,
		UserObj: a.partialUser(u), Description: t.Description, Expires: t.Expires, Expiring: t.Expiring}
	if t.Managed != "" {
		m := t.Managed
		o.Managed = &m
	}
	return o, nil
}

// tokenAccess: a user may always manage its own tokens; others' tokens need
// the permission, globally or on the token.
func (a *API) tokenAccess(ctx context.Context, perm string, identifier string) (*store.Token, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	t, err := a.Store.TokenByIdentifier(ctx, identifier)
	if err != nil {
		return nil, a.storeError(err)
	}
	if t.UserPK == p.User.PK && t.Intent != store.IntentRecovery && t.Intent != store.IntentVerification {
		return t, nil
	}
	if err := a.check(ctx, perm, permViewToken, t.UUID.String()); err != nil {
		return nil, err
	}
	return t, nil
}

func (a *API) listTokens(ctx context.Context, in *tokenListInput) (*tokenListOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	userPK := in.UserPK
	if ok, err := a.has(ctx, p, permViewToken, ""); err != nil {
		return nil, err
	} else if !ok {
		userPK = p.User.PK // without the permission, only one's own tokens
	}
	var all []*store.Token
	if userPK != 0 {
		all, err = a.Store.ListTokens(ctx, userPK)
	} else {
		all, err = a.allTokens(ctx)
	}
	if err != nil {
		return nil, a.storeError(err)
	}
	var match []*store.Token
	for _, t := range all {
		if in.Intent != "" && string(t.Intent) != in.Intent {
			continue
		}
		if in.Search != "" && !containsFold(t.Identifier+" "+t.Description, in.Search) {
			continue
		}
		match = append(match, t)
	}
	if in.Ordering != "" && in.Ordering != "identifier" {
		return nil, fieldError("ordering", "cannot order by "+in.Ordering)
	}
	from, to := in.window(len(match))
	out := &tokenListOutput{}
	out.Body.Results = []*Token{}
	for _, t := range match[from:to] {
		o, err := a.token(ctx, t)
		if err != nil {
			return nil, err
		}
		out.Body.Results = append(out.Body.Results, o)
	}
	out.Body.Pagination = paginate(in.ListParams, len(match), to-from)
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

// allTokens lists every user's tokens (admins; token counts are small
// compared to users, and ListTokens is indexed per user).
func (a *API) allTokens(ctx context.Context) ([]*store.Token, error) {
	var out []*store.Token
	for page := 0; ; page++ {
		us, _, err := a.Store.ListUsers(ctx, store.UserFilter{Ordering: "pk", Page: store.Page{Offset: page * 500, Limit: 500}})
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			ts, err := a.Store.ListTokens(ctx, u.PK)
			if err != nil {
				return nil, err
			}
			out = append(out, ts...)
		}
		if len(us) < 500 {
			return out, nil
		}
	}
}

func (a *API) createToken(ctx context.Context, in *struct{ Body TokenRequest }) (*tokenOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	b := in.Body
	if !slugPattern.MatchString(b.Identifier) {
		return nil, fieldError("identifier", "Enter a valid slug consisting of letters, numbers, underscores or hyphens.")
	}
	owner := p.User.PK
	if b.User != nil && *b.User != p.User.PK {
		if _, err := a.require(ctx, permAddToken, ""); err != nil {
			return nil, err
		}
		owner = *b.User
	}
	intent := store.IntentAPI
	if b.Intent != "" {
		intent = store.TokenIntent(b.Intent)
	}
	expiring := b.Expiring == nil || *b.Expiring
	t := &store.Token{Identifier: b.Identifier, Intent: intent, UserPK: owner, Description: b.Description, Expiring: expiring}
	if expiring {
		exp := a.now().Add(30 * time.Minute) // authentik's default token lifetime
		if b.Expires != nil {
			exp = b.Expires.UTC()
		}
		t.Expires = &exp
	}
	key := core.NewTokenKey()
	if t.KeySealed, err = a.tokenSealer.Seal([]byte(key)); err != nil {
		return nil, err
	}
	t.KeyHash = core.HashTokenKey(key)
	if err := a.Store.CreateToken(ctx, t); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_core", "token", t.UUID.String(), t.Identifier}, nil)
	o, err := a.token(ctx, t)
	return &tokenOutput{Body: o}, err
}

func (a *API) getToken(ctx context.Context, in *TokenIDInput) (*tokenOutput, error) {
	t, err := a.tokenAccess(ctx, permViewToken, in.Identifier)
	if err != nil {
		return nil, err
	}
	o, err := a.token(ctx, t)
	return &tokenOutput{Body: o}, err
}

func (a *API) patchToken(ctx context.Context, in *struct {
	TokenIDInput
	Body PatchedTokenRequest
}) (*tokenOutput, error) {
	t, err := a.tokenAccess(ctx, permChangeToken, in.Identifier)
	if err != nil {
		return nil, err
	}
	before, err := a.token(ctx, t)
	if err != nil {
		return nil, err
	}
	b := in.Body
	if b.Description != nil {
		t.Description = *b.Description
	}
	if b.Expiring != nil {
		t.Expiring = *b.Expiring
	}
	if b.Expires != nil {
		e := b.Expires.UTC()
		t.Expires = &e
	}
	if t.Expiring && t.Expires == nil {
		return nil, fieldError("expires", "An expiring token needs an expiry.")
	}
	if err := a.Store.UpdateToken(ctx, t); err != nil {
		return nil, a.storeError(err)
	}
	after, err := a.token(ctx, t)
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actionModelUpdated, modelRef{"authentik_core", "token", t.UUID.String(), t.Identifier},
		map[string]any{"diff": diff(before, after)})
	return &tokenOutput{Body: after}, nil
}

func (a *API) deleteToken(ctx context.Context, in *TokenIDInput) (*noContent, error) {
	t, err := a.tokenAccess(ctx, permDeleteToken, in.Identifier)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteToken(ctx, t.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_core", "token", t.UUID.String(), t.Identifier}, nil)
	return &noContent{}, nil
}

type tokenViewOutput struct {
	Body struct {
		Key string `json:"key"`
	}
}

func (a *API) viewTokenKey(ctx context.Context, in *TokenIDInput) (*tokenViewOutput, error) {
	t, err := a.tokenAccess(ctx, permViewTokenKey, in.Identifier)
	if err != nil {
		return nil, err
	}
	if t.KeySealed == "" {
		return nil, detailError(http.StatusNotFound, "The key of this token cannot be shown.")
	}
	key, err := a.tokenSealer.Open(t.KeySealed)
	if err != nil {
		a.Log.Error("api: token key does not open (was secret_key changed?)", "token", t.Identifier, "error", err)
		return nil, detailError(http.StatusInternalServerError, "Internal error.")
	}
	a.audit(ctx, actionSecretView, modelRef{"authentik_core", "token", t.UUID.String(), t.Identifier}, nil)
	out := &tokenViewOutput{}
	out.Body.Key = string(key)
	return out, nil
}
