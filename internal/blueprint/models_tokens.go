package blueprint

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// API tokens (authentik_core.token) and invitations
// (authentik_stages_invitation.invitation), with the fields of authentik's
// serializers (and key, which authentik's token serializer takes in
// blueprints, as its bootstrap blueprint sets it).

// defaultTokenLifetime is authentik's default_token_duration.
const defaultTokenLifetime = 30 * time.Minute

// tokenObj is a token (a type of its own, so that kind[T] has one per model).
type tokenObj struct {
	store.Token
}

func tokenKind() model {
	return &kind[tokenObj]{
		name: "authentik_core.token", perm: "authentik_core.token",
		key: []string{"identifier"}, noExport: true,
		fields: []field[tokenObj]{
			strField("identifier", func(o *tokenObj) *string { return &o.Identifier }, slug, maxLen(255)),
			strField("intent", func(o *tokenObj) *string { return (*string)(&o.Intent) },
				oneOf(string(store.IntentVerification), string(store.IntentAPI), string(store.IntentRecovery), string(store.IntentAppPassword))),
			{name: "user", ref: refUser,
				get: func(o *tokenObj) any {
					if o.UserPK == 0 {
						return nil
					}
					return int(o.UserPK)
				},
				set: func(_ *env, o *tokenObj, v any) error {
					n, err := asInt64(v)
					o.UserPK = n
					return err
				}},
			nullStrField("description", func(o *tokenObj) *string { return &o.Description }),
			boolField("expiring", func(o *tokenObj) *bool { return &o.Expiring }),
			{name: "expires",
				get: func(o *tokenObj) any { return timeValue(o.Expires) },
				set: func(_ *env, o *tokenObj, v any) error { return setTime(&o.Expires, v) }},
			// key is the token's secret. Only its hash is stored (and, with
			// a token sealer, the key sealed for view_key); the same key
			// again changes nothing.
			{name: "key", writeOnly: true,
				get: func(*tokenObj) any { return nil },
				set: func(e *env, o *tokenObj, v any) error {
					if v == nil || v == "" {
						return nil // keep the key; a new token gets a random one
					}
					s, err := asString(v)
					if err != nil {
						return err
					}
					if len(s) < 8 {
						return errors.New("must be at least 8 characters")
					}
					hash := core.HashTokenKey(s)
					if string(hash) == string(o.KeyHash) {
						return nil
					}
					o.KeyHash, o.KeySealed = hash, ""
					if e.opts != nil && e.opts.TokenSealer != nil {
						o.KeySealed, err = e.opts.TokenSealer.Seal([]byte(s))
					}
					return err
				}},
			{name: "managed",
				get: func(o *tokenObj) any {
					if o.Managed == "" {
						return nil
					}
					return o.Managed
				},
				set: func(_ *env, o *tokenObj, v any) error {
					if v == nil {
						o.Managed = ""
						return nil
					}
					s, err := asString(v)
					o.Managed = s
					return err
				}},
		},
		// authentik's defaults: intent verification, expiring.
		newObj: func() *tokenObj {
			return &tokenObj{Token: store.Token{Intent: store.IntentVerification, Expiring: true}}
		},
		pk:    func(o *tokenObj) any { return o.UUID.String() },
		setPK: func(o *tokenObj, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*tokenObj, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			all, err := listTokens(e)
			if err != nil {
				return nil, err
			}
			for _, t := range all {
				if t.UUID == id {
					return t, nil
				}
			}
			return nil, fmt.Errorf("token %s: %w", id, store.ErrNotFound)
		},
		lookup: func(e *env, ids map[string]any) ([]*tokenObj, bool, error) {
			if s, ok := stringID(ids, "identifier"); ok {
				t, err := e.st.TokenByIdentifier(e.ctx, s)
				if err != nil {
					return one[tokenObj](nil, err)
				}
				return one(&tokenObj{Token: *t}, nil)
			}
			return nil, false, nil
		},
		list: listTokens,
		check: func(e *env, o *tokenObj) error {
			if o.UserPK == 0 {
				return &fieldError{"user", errors.New("is required: the user the token authenticates as")}
			}
			if o.Expiring && o.Expires == nil {
				exp := e.now().Add(defaultTokenLifetime)
				o.Expires = &exp
			}
			if len(o.KeyHash) == 0 {
				key := core.NewTokenKey()
				o.KeyHash = core.HashTokenKey(key)
				if e.opts != nil && e.opts.TokenSealer != nil {
					sealed, err := e.opts.TokenSealer.Seal([]byte(key))
					if err != nil {
						return err
					}
					o.KeySealed = sealed
				}
			}
			return nil
		},
		create: func(e *env, o *tokenObj) error { return e.st.CreateToken(e.ctx, &o.Token) },
		update: func(e *env, o *tokenObj) error { return e.st.UpdateToken(e.ctx, &o.Token) },
		remove: func(e *env, o *tokenObj) error { return e.st.DeleteToken(e.ctx, o.UUID) },
	}
}

// listTokens lists every user's tokens (the store lists them per user).
func listTokens(e *env) ([]*tokenObj, error) {
	users, err := listAll(func(p store.Page) ([]*store.User, int, error) {
		return e.st.ListUsers(e.ctx, store.UserFilter{Ordering: "pk", Page: p})
	})
	if err != nil {
		return nil, err
	}
	var out []*tokenObj
	for _, u := range users {
		ts, err := e.st.ListTokens(e.ctx, u.PK)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			out = append(out, &tokenObj{Token: *t})
		}
	}
	return out, nil
}

func invitationKind() model {
	return &kind[store.Invitation]{
		name: "authentik_stages_invitation.invitation", perm: "authentik_stages_invitation.invitation",
		key: []string{"name"},
		fields: []field[store.Invitation]{
			strField("name", func(o *store.Invitation) *string { return &o.Name }, slug, maxLen(50)),
			{name: "expires",
				get: func(o *store.Invitation) any { return timeValue(o.Expires) },
				set: func(_ *env, o *store.Invitation, v any) error { return setTime(&o.Expires, v) }},
			attrsField("fixed_data", func(o *store.Invitation) *store.Attributes { return &o.FixedData }),
			boolField("single_use", func(o *store.Invitation) *bool { return &o.SingleUse }),
			optUUIDField("flow", refFlow, func(o *store.Invitation) **uuid.UUID { return &o.FlowUUID }),
		},
		// created_by is read-only in authentik's serializer.
		ignored: []string{"created_by"},
		newObj:  func() *store.Invitation { return &store.Invitation{FixedData: store.Attributes{}} },
		pk:      func(o *store.Invitation) any { return o.UUID.String() },
		setPK:   func(o *store.Invitation, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*store.Invitation, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			return e.st.InvitationByUUID(e.ctx, id)
		},
		lookup: func(e *env, ids map[string]any) ([]*store.Invitation, bool, error) {
			name, ok := stringID(ids, "name")
			if !ok {
				return nil, false, nil
			}
			all, err := listAll(func(p store.Page) ([]*store.Invitation, int, error) {
				return e.st.ListInvitations(e.ctx, store.ListOptions{Search: name, Ordering: "name", Page: p})
			})
			var out []*store.Invitation
			for _, i := range all {
				if i.Name == name {
					out = append(out, i)
				}
			}
			return out, true, err
		},
		list: func(e *env) ([]*store.Invitation, error) {
			return listAll(func(p store.Page) ([]*store.Invitation, int, error) {
				return e.st.ListInvitations(e.ctx, store.ListOptions{Ordering: "name", Page: p})
			})
		},
		create: func(e *env, o *store.Invitation) error { return e.st.CreateInvitation(e.ctx, o) },
		update: func(e *env, o *store.Invitation) error { return e.st.UpdateInvitation(e.ctx, o) },
		remove: func(e *env, o *store.Invitation) error { return e.st.DeleteInvitation(e.ctx, o.UUID) },
	}
}
