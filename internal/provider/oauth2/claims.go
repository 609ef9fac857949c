package oauth2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/expr"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// ACR is the acr claim authentik sends.
const ACR = "goauthentik.io/providers/oauth2/default"

// mappingTimeout bounds one scope mapping's evaluation.
const mappingTimeout = 2 * time.Second

func marshalClaims(c map[string]any) ([]byte, error) { return json.Marshal(c) }

func unmarshalClaims(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// subject is the sub claim for u (authentik's sub_mode).
func (s *Server) subject(p *store.OAuth2Provider, u *store.User) string {
	switch p.SubMode {
	case "user_id":
		return strconv.FormatInt(u.PK, 10)
	case "user_uuid":
		return u.UUID.String()
	case "user_username":
		return u.Username
	case "user_email":
		return u.Email
	case "user_upn":
		if upn, ok := u.Attributes["upn"].(string); ok && upn != "" {
			return upn
		}
		return u.UUID.String()
	}
	return core.UserUID(s.SecretKey, u.PK)
}

// programCache keeps compiled scope-mapping expressions by source.
type programCache struct {
	mu    sync.Mutex
	progs map[[32]byte]*expr.Program
}

// scopeVars are the names a scope mapping sees besides request and context.
var scopeVars = []string{"user", "provider", "token"}

// CompileScopeMapping compiles a scope mapping's expression the way the
// provider runs it (for validation when a mapping is saved).
func CompileScopeMapping(src string) (*expr.Program, error) {
	return expr.CompileOptions("scope mapping", src, expr.Options{Vars: scopeVars})
}

func (c *programCache) get(src string) (*expr.Program, error) {
	key := sha256.Sum256([]byte(src))
	c.mu.Lock()
	p := c.progs[key]
	c.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := CompileScopeMapping(src)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.progs == nil || len(c.progs) > 1024 {
		c.progs = map[[32]byte]*expr.Program{}
	}
	c.progs[key] = p
	c.mu.Unlock()
	return p, nil
}

// scopeMappings returns the provider's scope mappings.
func (s *Server) scopeMappings(ctx context.Context, p *store.OAuth2Provider) ([]*store.PropertyMapping, error) {
	ms, err := s.Store.PropertyMappingsByUUID(ctx, p.PropertyMappings)
	if err != nil {
		return nil, err
	}
	out := ms[:0]
	for _, m := range ms {
		if m.Type == "scope" {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *store.PropertyMapping) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func scopeName(m *store.PropertyMapping) string {
	v, _ := m.Settings["scope_name"].(string)
	return v
}

// allowedScopes narrows requested to the scopes the provider has mappings
// for (openid always). With nothing requested, every configured scope is
// granted (authentik).
func allowedScopes(requested []string, mappings []*store.PropertyMapping) []string {
	have := map[string]bool{"openid": true}
	var all []string
	for _, m := range mappings {
		if n := scopeName(m); n != "" && !have[n] {
			have[n] = true
			all = append(all, n)
		}
	}
	if len(requested) == 0 {
		return all
	}
	var out []string
	for _, sc := range requested {
		if have[sc] && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// claims evaluates the mappings of the granted scopes for u. A failing
// mapping is logged and left out (authentik), never fatal for the login.
func (s *Server) claims(ctx context.Context, r *http.Request, p *store.OAuth2Provider, mappings []*store.PropertyMapping,
	u *store.User, scopes []string) (map[string]any, error) {
	out := map[string]any{}
	var eu *expr.User
	var err error
	for _, m := range mappings {
		if !slices.Contains(scopes, scopeName(m)) || strings.TrimSpace(m.Expression) == "" {
			continue
		}
		if eu == nil {
			if eu, err = s.exprUser(ctx, u); err != nil {
				return nil, err
			}
		}
		prog, err := s.mappings.get(m.Expression)
		if err != nil {
			s.log().Warn("scope mapping does not compile", "mapping", m.Name, "error", err)
			continue
		}
		ectx, cancel := context.WithTimeout(ctx, mappingTimeout)
		env := expr.Env{Request: expr.Request{User: eu, Context: map[string]any{}}, Logger: s.log(),
			Vars: map[string]any{"user": eu, "provider": map[string]any{"name": p.Provider.Name, "client_id": p.ClientID},
				"token": map[string]any{"scope": strings.Join(scopes, " ")}}}
		if r != nil {
			env.Request.HTTP = &expr.HTTPRequest{Method: r.Method, Path: r.URL.Path, Host: r.Host}
		}
		res, err := prog.Run(ectx, env)
		cancel()
		if err != nil {
			s.log().Warn("scope mapping failed", "mapping", m.Name, "error", err)
			continue
		}
		if m, ok := res.Value.(map[string]any); ok {
			for k, v := range m {
				out[k] = v
			}
		}
	}
	return out, nil
}

// tokenSet is what one token response issues.
type tokenSet struct {
	access, refresh, id string
	accessExpiry        time.Time
}

// issueParams describe the tokens to issue for a grant.
type issueParams struct {
	p *store.OAuth2Provider
	// key and keyErr: the provider's key when already loaded.
	key      *signingKey
	keyErr   error
	mappings []*store.PropertyMapping
	app      *store.Application
	user     *store.User
	grant    *store.OAuth2Grant
	scopes   []string
	withID   bool
	refresh  bool
	code     string // for c_hash (hybrid)
	noAccess bool   // response_type=id_token: no access token
}

// issue makes the tokens of one response and returns the rows to store.
func (s *Server) issue(ctx context.Context, r *http.Request, ip issueParams) (tokenSet, []*store.OAuth2Token, error) {
	var ts tokenSet
	k, err := ip.key, ip.keyErr
	if k == nil && err == nil {
		k, err = s.providerKey(ctx, ip.p)
	}
	if err != nil {
		return ts, nil, err
	}
	now := s.now()
	iss := issuer(r, ip.p, ip.app)
	sub := s.subject(ip.p, ip.user)
	cnf := dpopJKT(ctx) // RFC 9449 §6.1: the key of the token request's DPoP proof ("": none)
	var rows []*store.OAuth2Token
	var userClaims map[string]any
	if ip.withID || !ip.noAccess {
		if userClaims, err = s.claims(ctx, r, ip.p, ip.mappings, ip.user, ip.scopes); err != nil {
			return ts, nil, err
		}
	}
	if !ip.noAccess {
		ts.accessExpiry = now.Add(duration(ip.p.AccessTokenValidity, time.Hour))
		// RFC 9068 §2.2: a JWT access token.
		at := map[string]any{"iss": iss, "sub": sub, "aud": ip.p.ClientID, "client_id": ip.p.ClientID,
			"iat": now.Unix(), "exp": ts.accessExpiry.Unix(), "jti": uuid.NewString(), "scope": strings.Join(ip.scopes, " "),
			"auth_time": ip.grant.AuthTime.Unix(), "acr": ACR, "amr": ip.grant.AMR}
		if ip.grant.SessionUUID != nil {
			at["sid"] = sidOf(*ip.grant.SessionUUID)
		}
		if cnf != "" {
			at["cnf"] = map[string]any{"jkt": cnf}
		}
		for k, v := range userClaims {
			if _, reserved := at[k]; !reserved {
				at[k] = v
			}
		}
		if ts.access, err = k.sign(ip.p, "at+jwt", at); err != nil {
			return ts, nil, err
		}
		rows = append(rows, &store.OAuth2Token{Hash: hashToken(ts.access), GrantUUID: ip.grant.UUID, Kind: store.OAuth2Access,
			Expires: ts.accessExpiry, Created: now, Data: cnfData(cnf)})
	}
	if ip.refresh {
		ts.refresh = newOpaque()
		rows = append(rows, &store.OAuth2Token{Hash: hashToken(ts.refresh), GrantUUID: ip.grant.UUID, Kind: store.OAuth2Refresh,
			Expires: now.Add(duration(ip.p.RefreshTokenValidity, 30*24*time.Hour)), Created: now, Data: cnfData(cnf)})
	}
	if ip.withID {
		// OIDC Core §2: the ID token.
		idt := map[string]any{"iss": iss, "sub": sub, "aud": ip.p.ClientID, "iat": now.Unix(),
			"exp": now.Add(duration(ip.p.AccessTokenValidity, time.Hour)).Unix(), "auth_time": ip.grant.AuthTime.Unix(),
			"acr": ACR, "amr": ip.grant.AMR, "jti": uuid.NewString()}
		if ip.grant.Nonce != "" {
			idt["nonce"] = ip.grant.Nonce
		}
		if ip.grant.SessionUUID != nil {
			idt["sid"] = sidOf(*ip.grant.SessionUUID)
		}
		if ts.access != "" {
			idt["at_hash"] = halfHash(k.alg, ts.access)
		}
		if ip.code != "" {
			idt["c_hash"] = halfHash(k.alg, ip.code)
		}
		if ip.p.IncludeClaimsInIDToken || ip.noAccess {
			for k, v := range userClaims {
				if _, reserved := idt[k]; !reserved {
					idt[k] = v
				}
			}
		}
		if ts.id, err = k.sign(ip.p, "JWT", idt); err != nil {
			return ts, nil, err
		}
		// With an encryption key, a nested JWT: signed, then encrypted
		// (OIDC Core §10.2, jwe.go).
		if ts.id, err = s.encryptIDToken(ctx, ip.p, ts.id); err != nil {
			return ts, nil, err
		}
	}
	// The issuer depends on the host the client used; the back-channel
	// logout token must carry the same one (backchannel.go), and is made
	// without a request.
	for _, row := range rows {
		if row.Data == nil {
			row.Data = store.Attributes{}
		}
		row.Data[tokenDataIssuer] = iss
	}
	return ts, rows, nil
}

// sidOf is the sid claim of a session: stable for the session, not its key.
func sidOf(id uuid.UUID) string {
	h := sha256.Sum256([]byte("gatehouse/sid/" + id.String()))
	return fmt.Sprintf("%x", h[:16])
}

// amrOf maps how the session logged in to amr values (RFC 8176).
func amrOf(method string) []string {
	switch method {
	case "password":
		return []string{"pwd"}
	case "auth_mfa":
		// A password, then a second factor (authenticator_validate).
		return []string{"pwd", "mfa"}
	case "auth_webauthn_pwl":
		return []string{"user"}
	case "token", "app_password":
		return []string{"pwd"}
	case "":
		return []string{}
	}
	return []string{method}
}
