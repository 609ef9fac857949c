// Package api is the admin REST API under /api/v3, with authentik's paths,
// JSON field names, pagination object and error shapes, so that authentik
// users' scripts and generated clients keep working.
//
// Operations are declared with huma, which validates requests against the
// same Go types the OpenAPI schema (/api/v3/schema/) is generated from, so the
// schema is what the server does. Every operation authenticates the caller
// (an API token, or the session cookie with a CSRF header) and checks RBAC
// permissions before it touches the store; every write records an audit event.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/media"
	"github.com/gatehouse-idp/gatehouse/internal/notify"
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v3"

// Deps are what the API needs. Store may be set after New (before the
// router lets requests through), since the store connects in the background.
type Deps struct {
	Store     store.Store
	Log       *slog.Logger
	Version   string
	BuildHash string
	// SecretKey derives the sealing keys (token keys, private keys) and user uids.
	SecretKey string
	Now       func() time.Time
	// OnSessionEnd, when set, runs before a signed-in session is deleted
	// by the API (a deleted user's sessions): the OAuth2 provider's
	// back-channel logout.
	OnSessionEnd func(ctx context.Context, s *store.Session)
	// Blueprints applies blueprint instances (/managed/blueprints/); shared
	// with the worker in the same process. Nil: one without a blueprints
	// dir. Its Store is set with the API's when unset.
	Blueprints *blueprint.Instances
	// Queue enqueues the tasks /tasks/schedules/{id}/send/ runs; nil
	// answers 503. Set once the store is connected.
	Queue queue.Queue
	// Media keeps uploaded icons and backgrounds (set_icon, set_background);
	// nil refuses uploads (URLs still work).
	Media *media.Store
	// Notifications runs the notification pipeline: the API's events are
	// passed to it, rule changes reset its cache, and transports' tests
	// send through it. Set once the store and queue are up; nil: events
	// are not dispatched.
	Notifications *notify.Service
	// Caches receives the invalidations of successful writes
	// (invalidate.go) and drops the API's policy results; nil: none.
	Caches *cache.Group
	// Flows plans the recovery links of /core/users/{id}/recovery/ and
	// sends recovery_email/'s messages (its Mail and MailTemplates); nil
	// answers "No recovery flow set.".
	Flows *flow.Executor
}

// API is the /api/v3 handler.
type API struct {
	Deps
	events      *event.Recorder
	tokenSealer *crypto.Sealer
	keySealer   *crypto.Sealer
	huma        huma.API
	router      chi.Router
	// policies evaluates application bindings (check_access); built with
	// the store.
	policies   *policy.Engine
	blueprints *blueprint.Instances
}

// New builds the API and its OpenAPI document.
func New(d Deps) (*API, error) {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	ts, err := crypto.NewSealer(d.SecretKey, "token-key")
	if err != nil {
		return nil, err
	}
	ks, err := crypto.NewSealer(d.SecretKey, "certificate-private-key")
	if err != nil {
		return nil, err
	}
	a := &API{Deps: d, tokenSealer: ts, keySealer: ks}
	a.events = &event.Recorder{Log: d.Log, Now: d.Now, Retention: a.EventRetention}
	a.events.Notify = notifier{a}
	a.blueprints = d.Blueprints
	if a.blueprints == nil {
		a.blueprints = &blueprint.Instances{Log: d.Log, EnvPolicy: blueprint.DefaultEnvPolicy()}
	}
	if a.blueprints.KeySealer == nil {
		a.blueprints.KeySealer = ks
	}
	if a.blueprints.TokenSealer == nil {
		a.blueprints.TokenSealer = ts
	}
	if a.blueprints.Events == nil {
		a.blueprints.Events = a.events
	}
	if d.Store != nil {
		a.SetStore(d.Store)
	}
	r := chi.NewRouter()
	r.Use(a.authenticate, a.invalidateWrites)
	cfg := huma.DefaultConfig("Gatehouse", d.Version)
	cfg.CreateHooks = nil // no $schema links in bodies: keep authentik's shapes
	cfg.OpenAPIPath, cfg.DocsPath, cfg.SchemasPath = "", "", ""
	cfg.Info.Description = "Gatehouse admin API (authentik-compatible /api/v3)"
	cfg.Servers = []*huma.Server{{URL: Prefix}}
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"authentik": {Type: "http", Scheme: "bearer", Description: "API token key"},
		"session": {Type: "apiKey", In: "cookie", Name: SessionCookie,
			Description: "Browser session; unsafe methods also need the " + CSRFHeader + " header to repeat the " + CSRFCookie + " cookie"},
	}
	cfg.Security = []map[string][]string{{"authentik": {}}}
	a.huma = humachi.New(r, cfg)
	a.router = r
	registerErrorSchemas(cfg.Components.Schemas)
	a.registerAll()
	r.Get("/schema/", a.serveSchema)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeDetail(w, http.StatusNotFound, "Not found.")
	})
	return a, nil
}

// SetStore supplies the store once it is connected.
func (a *API) SetStore(st store.Store) {
	a.Store, a.events.Store = st, st
	if a.blueprints.Store == nil {
		a.blueprints.Store = st
	}
	a.policies = policyall.Engine(st, a.Log, a.events)
	a.policies.Caches = a.Caches
}

// Handler serves requests below Prefix (the caller strips it).
func (a *API) Handler() http.Handler { return a.router }

// OpenAPI is the generated document (OpenAPI 3.1).
func (a *API) OpenAPI() *huma.OpenAPI { return a.huma.OpenAPI() }

func (a *API) registerAll() {
	a.registerUsers()
	a.registerUserRecovery()
	a.registerImpersonation()
	a.registerGroups()
	a.registerRBAC()
	a.registerTokens()
	a.registerBrands()
	a.registerApplications()
	a.registerCrypto()
	a.registerEvents()
	a.registerAdmin()
	a.registerFlows()
	a.registerPolicies()
	a.registerFlowDiagram()
	a.registerFlowTransfer()
	a.registerInvitations()
	a.registerOAuth2()
	a.registerPropertyMappings()
	a.registerBlueprints()
	a.registerTasks()
	a.registerAuthenticators()
	a.registerUserSettings()
	a.registerSessions()
	a.registerConsents()
	a.registerMedia()
	a.registerNotifications()
	a.registerWebhookMappings()
}

// op returns a huma operation with authentik-style ids and tags. It answers
// 400 with a ValidationError, 403 (and the other errors: errs, 500) with a
// GenericError, as authentik documents them; huma's own 422 is never sent
// (newHumaError makes it a 400). Anonymous callers are refused before the
// input is parsed, as DRF checks permissions before it reads the body.
func op(method, path, id, tag, summary string, status int, errs ...int) huma.Operation {
	o := huma.Operation{
		Method: method, Path: path, OperationID: id, Tags: []string{tag}, Summary: summary,
		DefaultStatus: status, Responses: map[string]*huma.Response{},
		Middlewares: huma.Middlewares{requireCaller},
	}
	for _, code := range append(append([]int{400, 403}, errs...), 500) {
		o.Responses[strconv.Itoa(code)] = errorResponse(code)
	}
	return o
}

// public marks an operation any visitor may call (the login page's), as
// authentik does: the token is optional.
func public(o huma.Operation) huma.Operation {
	o.Middlewares = nil
	o.Security = []map[string][]string{{"authentik": {}}, {}}
	return o
}

// sessionOnly marks an operation that acts on the caller's browser session
// (impersonation): an API token cannot call it.
func sessionOnly(o huma.Operation) huma.Operation {
	o.Security = []map[string][]string{{"session": {}}}
	return o
}

// requireCaller refuses anonymous requests with 403.
func requireCaller(ctx huma.Context, next func(huma.Context)) {
	if p, _ := ctx.Context().Value(ctxPrincipal).(*principal); p == nil {
		b, _ := errNotAuthenticated.MarshalJSON()
		ctx.SetHeader("Content-Type", "application/json")
		ctx.SetStatus(errNotAuthenticated.status)
		_, _ = ctx.BodyWriter().Write(b)
		return
	}
	next(ctx)
}

func (a *API) now() time.Time { return a.Now().UTC() }

// ctxKey types the request-context values of this package.
type ctxKey int

const (
	ctxPrincipal ctxKey = iota
	ctxHost
)

// requestHost is the Host the request was sent to (brand selection).
func requestHost(ctx context.Context) string {
	h, _ := ctx.Value(ctxHost).(string)
	return h
}

func withPrincipal(ctx context.Context, p *principal) context.Context {
	return context.WithValue(ctx, ctxPrincipal, p)
}
