package oauth2

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/expr"
	"github.com/gatehouse-idp/gatehouse/internal/policy/expression"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// configTTL is how long the machine endpoints (token, introspection,
// userinfo, revocation, discovery, JWKS) reuse a provider's configuration
// before reading it again. A change made through the API applies at once
// on every server (the cache is dropped by the cache.Config invalidation,
// see SetCaches); the TTL bounds the staleness of other writes (key
// rotation, the blueprint CLI). The interactive endpoints (authorize,
// end-session) always read the store.
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
	// docs holds rendered discovery / JWKS documents by kind and base URL.
	docs sync.Map
}

// configCache holds the providers' configurations by "client:<id>",
// "slug:<slug>" and "pk:<pk>", and the users as expressions see them.
type configCache struct {
	once    sync.Once
	group   *cache.Group
	configs *cache.Cache[string, *providerConfig]
	users   *cache.Cache[int64, *expr.User]
}

// SetCaches joins the server's caches to g, whose invalidations (from any
// replica) drop them: configurations on cache.Config, users on cache.Users.
// Call it before serving; without it they only expire.
func (s *Server) SetCaches(g *cache.Group) { s.cache.group = g }

func (s *Server) caches() *configCache {
	s.cache.once.Do(func() {
		opts := cache.Options{Namespaces: []string{cache.Config}, TTL: configTTL, MaxEntries: maxCached, Now: s.now}
		s.cache.configs = cache.New[string, *providerConfig](s.cache.group, opts)
		opts.Namespaces = []string{cache.Users, cache.Config}
		s.cache.users = cache.New[int64, *expr.User](s.cache.group, opts)
	})
	return &s.cache
}

func (s *Server) cached(key string) *providerConfig {
	c, _ := s.caches().configs.Get(key)
	return c
}

func (s *Server) remember(key string, c *providerConfig) { s.caches().configs.Set(key, c) }

// load reads a provider's configuration from the store.
func (s *Server) load(ctx context.Context, p *store.OAuth2Provider, app *store.Application) (*providerConfig, error) {
	mappings, err := s.scopeMappings(ctx, p)
	if err != nil {
		return nil, err
	}
	c := &providerConfig{p: p, app: app, mappings: mappings}
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

// exprUser returns u as expressions see it (with its groups), cached by
// pk for configTTL: a scope mapping runs on every token and userinfo
// request, often for the same (service) account.
func (s *Server) exprUser(ctx context.Context, u *store.User) (*expr.User, error) {
	users := s.caches().users
	if e, ok := users.Get(u.PK); ok && e.Username == u.Username && e.Email == u.Email && e.Name == u.Name {
		return e, nil
	}
	eu, err := expression.User(ctx, s.Store, u)
	if err != nil {
		return nil, err
	}
	users.Set(u.PK, eu)
	return eu, nil
}
