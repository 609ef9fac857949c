package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	objPropertyMapping = "property mapping"
	objOAuth2Provider  = "oauth2 provider"
	objOAuth2Grant     = "oauth2 grant"
	objOAuth2Token     = "oauth2 token"
)

// The OAuth2 rows name their tables: bun would derive "o_auth2_...".
type (
	oauth2ProviderRow struct {
		bun.BaseModel `bun:"table:oauth2_providers,alias:o"`
		store.OAuth2Provider
	}
	oauth2GrantRow struct {
		bun.BaseModel `bun:"table:oauth2_grants,alias:g"`
		store.OAuth2Grant
	}
	oauth2TokenRow struct {
		bun.BaseModel `bun:"table:oauth2_tokens,alias:t"`
		store.OAuth2Token
	}
)

// CreatePropertyMapping implements store.PropertyMappings.
func (s *Store) CreatePropertyMapping(ctx context.Context, m *store.PropertyMapping) error {
	newID(&m.UUID)
	if m.Settings == nil {
		m.Settings = store.Attributes{}
	}
	_, err := s.w.NewInsert().Model(m).Exec(ctx)
	return mapErr(objPropertyMapping, err)
}

// PropertyMappingByUUID implements store.PropertyMappings.
func (s *Store) PropertyMappingByUUID(ctx context.Context, id uuid.UUID) (*store.PropertyMapping, error) {
	return getBy[store.PropertyMapping](ctx, s.r, objPropertyMapping, "uuid = ?", id)
}

// PropertyMappingByManaged implements store.PropertyMappings.
func (s *Store) PropertyMappingByManaged(ctx context.Context, managed string) (*store.PropertyMapping, error) {
	return getBy[store.PropertyMapping](ctx, s.r, objPropertyMapping, "managed = ?", managed)
}

// PropertyMappingsByUUID implements store.PropertyMappings.
func (s *Store) PropertyMappingsByUUID(ctx context.Context, ids []uuid.UUID) ([]*store.PropertyMapping, error) {
	out := []*store.PropertyMapping{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.r.NewSelect().Model(&out).Where("uuid IN (?)", bun.List(ids)).Scan(ctx)
	return out, mapErr(objPropertyMapping, err)
}

// UpdatePropertyMapping implements store.PropertyMappings.
func (s *Store) UpdatePropertyMapping(ctx context.Context, m *store.PropertyMapping) error {
	if m.Settings == nil {
		m.Settings = store.Attributes{}
	}
	return updateByPK(ctx, s.w, objPropertyMapping, m, "type")
}

// DeletePropertyMapping implements store.PropertyMappings.
func (s *Store) DeletePropertyMapping(ctx context.Context, id uuid.UUID) error {
	return deleteBy[store.PropertyMapping](ctx, s.w, objPropertyMapping, "uuid = ?", id)
}

// ListPropertyMappings implements store.PropertyMappings.
func (s *Store) ListPropertyMappings(ctx context.Context, typ string, o store.ListOptions) ([]*store.PropertyMapping, int, error) {
	order, err := orderClause(objPropertyMapping, o.Ordering, "name", map[string]string{"name": "name", "managed": "managed"})
	if err != nil {
		return nil, 0, err
	}
	var out []*store.PropertyMapping
	q := searchAny(s.r.NewSelect().Model(&out), o.Search, "name")
	if typ != "" {
		q = q.Where("type = ?", typ)
	}
	n, err := listPage(ctx, restrict(q, "uuid", o.Only), objPropertyMapping, order+", uuid ASC", o.Page)
	return out, n, err
}

func normalizeOAuth2(p *store.OAuth2Provider) {
	if p.RedirectURIs == nil {
		p.RedirectURIs = []store.RedirectURI{}
	}
	if p.PropertyMappings == nil {
		p.PropertyMappings = []uuid.UUID{}
	}
	defaultStr(&p.ClientType, "confidential")
	defaultStr(&p.LogoutMethod, "backchannel")
	defaultStr(&p.AccessCodeValidity, "minutes=1")
	defaultStr(&p.AccessTokenValidity, "hours=1")
	defaultStr(&p.RefreshTokenValidity, "days=30")
	defaultStr(&p.RefreshTokenThreshold, "seconds=0")
	defaultStr(&p.SubMode, "hashed_user_id")
	defaultStr(&p.IssuerMode, "per_provider")
}

// CreateOAuth2Provider implements store.OAuth2Providers.
func (s *Store) CreateOAuth2Provider(ctx context.Context, p *store.OAuth2Provider) error {
	normalizeOAuth2(p)
	return s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		p.Provider.Type = "oauth2"
		if err := t.CreateProvider(ctx, p.Provider); err != nil {
			return err
		}
		p.ProviderPK = p.Provider.PK
		_, err := t.w.NewInsert().Model(&oauth2ProviderRow{OAuth2Provider: *p}).Exec(ctx)
		return mapErr(objOAuth2Provider, err)
	})
}

func (s *Store) oauth2Provider(ctx context.Context, where string, arg any) (*store.OAuth2Provider, error) {
	if hasNUL([]any{arg}) {
		return nil, mapErr(objOAuth2Provider, sql.ErrNoRows)
	}
	var row oauth2ProviderRow
	if err := s.r.NewSelect().Model(&row).Where(where, arg).Limit(1).Scan(ctx); err != nil {
		return nil, mapErr(objOAuth2Provider, err)
	}
	base, err := s.ProviderByPK(ctx, row.ProviderPK)
	if err != nil {
		return nil, err
	}
	p := row.OAuth2Provider
	p.Provider = base
	return &p, nil
}

// OAuth2ProviderByPK implements store.OAuth2Providers.
func (s *Store) OAuth2ProviderByPK(ctx context.Context, pk int64) (*store.OAuth2Provider, error) {
	return s.oauth2Provider(ctx, "provider_pk = ?", pk)
}

// OAuth2ProviderByClientID implements store.OAuth2Providers.
func (s *Store) OAuth2ProviderByClientID(ctx context.Context, clientID string) (*store.OAuth2Provider, error) {
	return s.oauth2Provider(ctx, "client_id = ?", clientID)
}

// UpdateOAuth2Provider implements store.OAuth2Providers.
func (s *Store) UpdateOAuth2Provider(ctx context.Context, p *store.OAuth2Provider) error {
	normalizeOAuth2(p)
	return s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		if err := t.UpdateProvider(ctx, p.Provider); err != nil {
			return err
		}
		p.ProviderPK = p.Provider.PK
		return updateByPK(ctx, t.w, objOAuth2Provider, &oauth2ProviderRow{OAuth2Provider: *p})
	})
}

// ListOAuth2Providers implements store.OAuth2Providers.
func (s *Store) ListOAuth2Providers(ctx context.Context, o store.ListOptions) ([]*store.OAuth2Provider, int, error) {
	order, err := orderClause(objOAuth2Provider, o.Ordering, "pk", map[string]string{"pk": "p.pk", "name": "p.name"})
	if err != nil {
		return nil, 0, err
	}
	var rows []oauth2ProviderRow
	q := s.r.NewSelect().Model(&rows).Join("JOIN providers AS p ON p.pk = o.provider_pk")
	if o.Search != "" {
		pat := like(o.Search)
		q = q.Where(`(LOWER(p.name) LIKE ? ESCAPE '\' OR LOWER(o.client_id) LIKE ? ESCAPE '\')`, pat, pat)
	}
	n, err := listPage(ctx, restrict(q, "p.pk", o.Only), objOAuth2Provider, order, o.Page)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*store.OAuth2Provider, 0, len(rows))
	for i := range rows {
		p := rows[i].OAuth2Provider
		if p.Provider, err = s.ProviderByPK(ctx, p.ProviderPK); err != nil {
			return nil, 0, err
		}
		out = append(out, &p)
	}
	return out, n, nil
}

// CreateOAuth2Grant implements store.OAuth2Grants; concurrent calls are
// written together (batch.go).
func (s *Store) CreateOAuth2Grant(ctx context.Context, g *store.OAuth2Grant, tokens ...*store.OAuth2Token) error {
	newID(&g.UUID)
	if g.AMR == nil {
		g.AMR = []string{}
	}
	return s.batchedInsert(ctx, []oauth2GrantRow{{OAuth2Grant: *g}}, tokenRows(g.UUID, tokens))
}

func tokenRows(grant uuid.UUID, tokens []*store.OAuth2Token) []oauth2TokenRow {
	rows := make([]oauth2TokenRow, len(tokens))
	for i, t := range tokens {
		if grant != uuid.Nil {
			t.GrantUUID = grant
		}
		if t.Data == nil {
			t.Data = store.Attributes{}
		}
		rows[i].OAuth2Token = *t
	}
	return rows
}

// AddOAuth2Tokens implements store.OAuth2Grants.
func (s *Store) AddOAuth2Tokens(ctx context.Context, tokens ...*store.OAuth2Token) error {
	if len(tokens) == 0 {
		return nil
	}
	return s.batchedInsert(ctx, nil, tokenRows(uuid.Nil, tokens))
}

// RotateOAuth2Token implements store.OAuth2Grants: in one transaction,
// grouped with concurrent token requests.
func (s *Store) RotateOAuth2Token(ctx context.Context, usedHash string, now time.Time, tokens ...*store.OAuth2Token) error {
	return s.batchedRotate(ctx, usedHash, now, tokenRows(uuid.Nil, tokens))
}

// tokenGrantRow is a token joined with its grant.
type tokenGrantRow struct {
	store.OAuth2Token
	GProviderPK  int64      `bun:"g_provider_pk"`
	GUserPK      int64      `bun:"g_user_pk"`
	GSessionUUID *uuid.UUID `bun:"g_session_uuid"`
	GScope       string     `bun:"g_scope"`
	GNonce       string     `bun:"g_nonce"`
	GAMR         []string   `bun:"g_amr"`
	GAuthTime    time.Time  `bun:"g_auth_time"`
	GRevoked     bool       `bun:"g_revoked"`
	GCreated     time.Time  `bun:"g_created"`
}

// OAuth2TokenByHash implements store.OAuth2Grants: one prepared join, as
// every token, introspection and userinfo request makes it.
func (s *Store) OAuth2TokenByHash(ctx context.Context, hash string) (*store.OAuth2Token, *store.OAuth2Grant, error) {
	r, err := one[tokenGrantRow](ctx, s, objOAuth2Token, `SELECT `+tokenGrantColumns+`
		FROM oauth2_tokens AS t JOIN oauth2_grants AS g ON g.uuid = t.grant_uuid WHERE t.hash = ?`, hash)
	if err != nil {
		return nil, nil, err
	}
	return &r.OAuth2Token, r.grant(), nil
}

// tokenGrantColumns select a tokenGrantRow from oauth2_tokens t joined
// with oauth2_grants g.
const tokenGrantColumns = `t.hash, t.grant_uuid, t.kind, t.expires, t.used, t.data,
		t.created, g.provider_pk AS g_provider_pk, g.user_pk AS g_user_pk, g.session_uuid AS g_session_uuid, g.scope AS g_scope,
		g.nonce AS g_nonce, g.amr AS g_amr, g.auth_time AS g_auth_time, g.revoked AS g_revoked, g.created AS g_created`

func (r *tokenGrantRow) grant() *store.OAuth2Grant {
	return &store.OAuth2Grant{UUID: r.GrantUUID, ProviderPK: r.GProviderPK, UserPK: r.GUserPK, SessionUUID: r.GSessionUUID,
		Scope: r.GScope, Nonce: r.GNonce, AMR: r.GAMR, AuthTime: r.GAuthTime, Revoked: r.GRevoked, Created: r.GCreated}
}

// UseOAuth2Token implements store.OAuth2Grants: one conditional UPDATE, so
// of two concurrent uses exactly one wins.
func (s *Store) UseOAuth2Token(ctx context.Context, hash string, now time.Time) error {
	return s.useOAuth2Token(ctx, hash, now)
}

func (s *Store) useOAuth2Token(ctx context.Context, hash string, now time.Time) error {
	res, err := s.w.NewUpdate().Model((*oauth2TokenRow)(nil)).Set("used = ?", now.UTC()).
		Where("hash = ? AND used IS NULL", hash).Exec(ctx)
	if err := affected(objOAuth2Token, res, err); err == nil || !errors.Is(err, store.ErrNotFound) {
		return err
	}
	exists, err := s.r.NewSelect().Model((*oauth2TokenRow)(nil)).Where("hash = ?", hash).Exists(ctx)
	if err != nil {
		return mapErr(objOAuth2Token, err)
	}
	if exists {
		return &store.ConflictError{Object: objOAuth2Token, Field: "used"}
	}
	return mapErr(objOAuth2Token, sql.ErrNoRows)
}

// RevokeOAuth2Grant implements store.OAuth2Grants.
func (s *Store) RevokeOAuth2Grant(ctx context.Context, id uuid.UUID) error {
	res, err := s.w.NewUpdate().Model((*oauth2GrantRow)(nil)).Set("revoked = ?", true).Where("uuid = ?", id).Exec(ctx)
	return affected(objOAuth2Grant, res, err)
}

// DeleteOAuth2Token implements store.OAuth2Grants.
func (s *Store) DeleteOAuth2Token(ctx context.Context, hash string) error {
	return deleteBy[oauth2TokenRow](ctx, s.w, objOAuth2Token, "hash = ?", hash)
}

// ListOAuth2Tokens implements store.OAuth2Grants: one join, tokens with
// their grants.
func (s *Store) ListOAuth2Tokens(ctx context.Context, f store.OAuth2TokenFilter, p store.Page) ([]*store.OAuth2Token, []*store.OAuth2Grant, int, error) {
	var rows []tokenGrantRow
	q := s.r.NewSelect().Model(&rows).ModelTableExpr("oauth2_tokens AS t").ColumnExpr(tokenGrantColumns).
		Join("JOIN oauth2_grants AS g ON g.uuid = t.grant_uuid")
	if f.Kind != "" {
		q = q.Where("t.kind = ?", f.Kind)
	}
	if f.UserPK != nil {
		q = q.Where("g.user_pk = ?", *f.UserPK)
	}
	if f.ProviderPK != nil {
		q = q.Where("g.provider_pk = ?", *f.ProviderPK)
	}
	n, err := listPage(ctx, q, objOAuth2Token, "t.created DESC, t.hash ASC", p)
	if err != nil {
		return nil, nil, 0, err
	}
	toks := make([]*store.OAuth2Token, len(rows))
	grants := make([]*store.OAuth2Grant, len(rows))
	for i := range rows {
		toks[i], grants[i] = &rows[i].OAuth2Token, rows[i].grant()
	}
	return toks, grants, n, nil
}

// DeleteExpiredOAuth2Tokens implements store.OAuth2Grants.
func (s *Store) DeleteExpiredOAuth2Tokens(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx store.Store) error {
		t := tx.(*Store)
		res, err := t.w.NewDelete().Model((*oauth2TokenRow)(nil)).Where("expires <= ?", now.UTC()).Exec(ctx)
		if n, err = rowsAffected(objOAuth2Token, res, err); err != nil {
			return err
		}
		_, err = t.w.NewDelete().Model((*oauth2GrantRow)(nil)).
			Where("NOT EXISTS (SELECT 1 FROM oauth2_tokens AS x WHERE x.grant_uuid = g.uuid)").Exec(ctx)
		return mapErr(objOAuth2Grant, err)
	})
	return n, err
}
