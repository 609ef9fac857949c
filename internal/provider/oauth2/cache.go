package oauth2

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/expr"
	"github.com/gatehouse-idp/gatehouse/internal/policy/expression"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// configTTL is how long the machine endpoints (token, introspection,
// userinfo, revocation, discovery, JWKS) reuse a provider's configuration
// before reading it again: a change made on any server applies everywhere
// within it. The interactive endpoints (authorize, end-session) always
// read the store.
const configTTL = 2 * time.Second

// maxCached bounds the cache; only existing providers enter it.
const maxCached = 4096

// providerConfig is a provider with what its requests need.
type providerConfig struct {
	p        *store.OAuth2Provider
	app      *store.Application // nil when unassigned
	mappings []*store.PropertyMapping
	// key is the signing key (nil: none usable, keyErr says why).
	key    *signingKey
	keyErr error
	// serviceAccount is the client_credentials user, once looked up.
	serviceAccount atomic.Pointer[store.User]
	loaded         time.Time
	// docs holds rendered discovery / JWKS documents by kind and base URL.
	docs sync.Map
}

type configCache struct {
	mu sync.Mutex
	m  map[string]*providerConfig // by "client:<id>", "slug:<slug>", "pk:<pk>"
}

func (s *Server) cached(key string) *providerConfig {
	s.cache.mu.Lock()
	c := s.cache.m[key]
	s.cache.mu.Unlock()
	if s.fresh(c) {
		return c
	}
	return nil
}

func (s *Server) remember(key string, c *providerConfig) {
	s.cache.mu.Lock()
	if s.cache.m == nil || len(s.cache.m) >= maxCached {
		s.cache.m = map[string]*providerConfig{}
	}
	s.cache.m[key] = c
	s.cache.mu.Unlock()
}

func (s *Server) fresh(c *providerConfig) bool {
	return c != nil && s.now().Sub(c.loaded) < configTTL
}

// load reads a provider's configuration from the store.
func (s *Server) load(ctx context.Context, p *store.OAuth2Provider, app *store.Application) (*providerConfig, error) {
	mappings, err := s.scopeMappings(ctx, p)
	if err != nil {
		return nil, err
	}
	c := &providerConfig{p: p, app: app, mappings: mappings, loaded: s.now()}
	c.key, c.keyErr = s.providerKey(ctx, p)
	return c, nil
}

// byClientID returns the configuration of the provider with client_id id
// (store.ErrNotFound if none).
func (s *Server) byClientID(ctx context.Context, id string) (*providerConfig, error) {
	if c := s.cached("client:" + id); c != nil {
		return c, nil
	}
	p, err := s.Store.OAuth2ProviderByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.withApp(ctx, "client:"+id, p)
}

// byProviderPK returns the configuration of provider pk.
func (s *Server) byProviderPK(ctx context.Context, pk int64) (*providerConfig, error) {
	key := "pk:" + strconv.FormatInt(pk, 10)
	if c := s.cached(key); c != nil {
		return c, nil
	}
	p, err := s.Store.OAuth2ProviderByPK(ctx, pk)
	if err != nil {
		return nil, err
	}
	return s.withApp(ctx, key, p)
}

func (s *Server) withApp(ctx context.Context, key string, p *store.OAuth2Provider) (*providerConfig, error) {
	app, err := s.Store.ApplicationByProvider(ctx, p.ProviderPK)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	c, err := s.load(ctx, p, app)
	if err != nil {
		return nil, err
	}
	s.remember(key, c)
	return c, nil
}

// bySlug returns the configuration of the application slug's provider.
func (s *Server) bySlug(ctx context.Context, slug string) (*providerConfig, error) {
	if c := s.cached("slug:" + slug); c != nil {
		return c, nil
	}
	app, p, err := s.appProvider(ctx, slug)
	if err != nil {
		return nil, err
	}
	c, err := s.load(ctx, p, app)
	if err != nil {
		return nil, err
	}
	s.remember("slug:"+slug, c)
	return c, nil
}

// exprUsers caches users as expressions see them (with their groups), by
// pk, for configTTL: a scope mapping runs on every token and userinfo
// request, often for the same (service) account.
type exprUsers struct {
	mu sync.Mutex
	m  map[int64]exprUserEntry
}

type exprUserEntry struct {
	u      *expr.User
	loaded time.Time
}

func (s *Server) exprUser(ctx context.Context, u *store.User) (*expr.User, error) {
	s.users.mu.Lock()
	e, ok := s.users.m[u.PK]
	s.users.mu.Unlock()
	if ok && s.now().Sub(e.loaded) < configTTL && e.u.Username == u.Username && e.u.Email == u.Email && e.u.Name == u.Name {
		return e.u, nil
	}
	eu, err := expression.User(ctx, s.Store, u)
	if err != nil {
		return nil, err
	}
	s.users.mu.Lock()
	if s.users.m == nil || len(s.users.m) >= maxCached {
		s.users.m = map[int64]exprUserEntry{}
	}
	s.users.m[u.PK] = exprUserEntry{u: eu, loaded: s.now()}
	s.users.mu.Unlock()
	return eu, nil
}
