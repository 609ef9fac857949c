package oauth2

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogin"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// Prefix is where the endpoints live (authentik's).
const Prefix = "/application/o"

// maxFormBytes bounds a request body of the token, introspection and
// revocation endpoints.
const maxFormBytes = 64 << 10

// Server serves the OAuth2/OIDC endpoints.
type Server struct {
	Store    store.Store
	Executor *flow.Executor
	Sessions *session.Manager
	// Policies evaluates the application's policy bindings (who may use it).
	Policies *policy.Engine
	Events   flow.Events
	// KeySealer opens the private keys of certificate keypairs.
	KeySealer *crypto.Sealer
	// SecretKey derives the hashed_user_id subjects (core.UserUID).
	SecretKey string
	Log       *slog.Logger
	Now       func() time.Time
	// RequireDPoPNonce makes every DPoP proof carry a fresh server nonce
	// (RFC 9449 §8, §9); off by default.
	RequireDPoPNonce bool
	// SharedReplay records single-use identifiers (DPoP proof and client
	// assertion jti) in the store as well as in memory, so that a replay is
	// refused by every replica (set on PostgreSQL, where replicas run).
	SharedReplay bool
	// Queue, when set, delivers back-channel logout tokens as tasks the
	// worker retries (BackchannelHandler); nil sends them once, in process.
	Queue queue.Queue

	keys     keyCache
	mappings programCache
	cache    configCache
	replay   replayCache // DPoP proof and client assertion jti
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Routes mounts the endpoints on r (the root router).
func (s *Server) Routes(r chi.Router) {
	r.Route(Prefix, func(r chi.Router) {
		r.Get("/authorize/", s.authorize)
		r.Post("/authorize/", s.authorize)
		r.With(cors).Post("/token/", s.token)
		r.With(cors).Options("/token/", preflight)
		r.With(cors).Get("/userinfo/", s.userinfo)
		r.With(cors).Post("/userinfo/", s.userinfo)
		r.With(cors).Options("/userinfo/", preflight)
		r.Post("/introspect/", s.introspect)
		r.Post("/revoke/", s.revoke)
		r.Post("/device/", s.deviceAuthorization())
		r.With(cors).Post("/par/", s.pushedAuthorization)
		r.With(cors).Options("/par/", preflight)
		r.Get("/{slug}/", s.issuerRoot)
		r.With(cors).Get("/{slug}/.well-known/openid-configuration", s.discovery)
		r.With(cors).Options("/{slug}/.well-known/openid-configuration", preflight)
		r.With(cors).Get("/{slug}/jwks/", s.jwks)
		r.With(cors).Options("/{slug}/jwks/", preflight)
		r.Get("/{slug}/end-session/", s.endSession)
		r.Post("/{slug}/end-session/", s.endSession)
	})
	// GitHub-compatible paths (github.go).
	r.Get("/login/oauth/authorize", s.githubAuthorize)
	r.With(cors).Post("/login/oauth/access_token", s.githubToken)
	r.With(cors).Get("/user", s.githubUser)
	r.With(cors).Get("/user/teams", s.githubTeams)
	// RFC 8414 §3: the metadata of issuer https://host/application/o/<slug>/.
	r.With(cors).Get("/.well-known/oauth-authorization-server"+Prefix+"/{slug}/", s.discovery)
	r.With(cors).Get("/.well-known/oauth-authorization-server"+Prefix+"/{slug}", s.discovery)
	r.Handle("/device", s.deviceVerification())
}

// cors lets browser clients call the token, userinfo, discovery and JWKS
// endpoints: they authenticate with credentials in the request, never
// cookies, so any origin may.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", "*")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, DPoP-Nonce")
			h.Set("Access-Control-Max-Age", "600")
		}
		next.ServeHTTP(w, r)
	})
}

func preflight(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// Error is an OAuth error response (RFC 6749 §4.1.2.1, §5.2).
type Error struct {
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	status      int
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func oauthErr(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Description: safeDescription(fmt.Sprintf(format, args...)), status: status}
}

// safeDescription keeps an error_description within RFC 6749 §5.2's
// characters (%x20-21 / %x23-5B / %x5D-7E): quotes become ', anything
// else outside becomes ?.
func safeDescription(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\' || r < 0x20 || r > 0x7e:
			return '?'
		}
		return r
	}, s)
}

func invalidRequest(format string, args ...any) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_request", format, args...)
}

func invalidGrant(format string, args ...any) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_grant", format, args...)
}

func invalidClient(format string, args ...any) *Error {
	return oauthErr(http.StatusUnauthorized, "invalid_client", format, args...)
}

// writeJSON answers a token-style response: never cached (RFC 6749 §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers e, or a server_error for anything else (logged).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *Error
	if !errors.As(err, &oe) && errors.Is(err, errNoKey) {
		// The provider's configuration, not the server, is at fault.
		s.log().Warn("oauth2 provider cannot sign", "request_id", web.RequestID(r.Context()), "error", err)
		oe = oauthErr(http.StatusBadRequest, "unauthorized_client",
			"The provider has no usable signing key: set one, or a client secret of at least 32 characters.")
	}
	if oe == nil {
		s.log().Error("oauth2 error", "request_id", web.RequestID(r.Context()), "path", r.URL.Path, "error", err)
		oe = oauthErr(http.StatusInternalServerError, "server_error", "The server could not handle the request.")
	}
	if oe.status == http.StatusUnauthorized {
		// RFC 6749 §5.2: a 401 names the scheme the client may use.
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
	}
	writeJSON(w, oe.status, oe)
}

// parseForm reads an application/x-www-form-urlencoded body (bounded) and
// rejects repeated parameters (RFC 6749 §3.1, §3.2).
func parseForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("The request body is not a valid form.")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, invalidRequest("Parameter %q is repeated.", k)
		}
	}
	return r.PostForm, nil
}

// hashToken is how tokens are stored and looked up.
func hashToken(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// newOpaque returns a random token value (48 bytes of entropy).
func newOpaque() string { return core.NewTokenKey() }

// client is an authenticated (or, for public clients, identified) client.
type client struct {
	p   *store.OAuth2Provider
	app *store.Application
	cfg *providerConfig
	// secretUsed: the client proved itself with its secret (confidential).
	secretUsed bool
	// basicUser and basicPassword: a client_secret that is
	// base64("username:app password") (authentik's service-account style).
	basicUser, basicPassword string
}

// authenticateClient identifies the client of a token, introspection or
// revocation request: client_secret_basic (RFC 6749 §2.3.1, the values
// form-urlencoded), client_secret_post, or a client assertion
// (client_secret_jwt, private_key_jwt: RFC 7523 §2.2, see jwtauth.go). A
// confidential client must prove itself unless allowBasicUser and the
// secret is a username:app password.
func (s *Server) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (*client, error) {
	if form.Get("client_assertion_type") != "" || form.Get("client_assertion") != "" {
		return s.assertionClient(ctx, r, form)
	}
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		var err1, err2 error
		if u, err1 = url.QueryUnescape(u); err1 == nil {
			p, err2 = url.QueryUnescape(p)
		}
		if err1 != nil || err2 != nil {
			return nil, invalidClient("Malformed HTTP Basic credentials.")
		}
		if id != "" && id != u {
			return nil, invalidRequest("client_id differs from the HTTP Basic user.")
		}
		id, secret = u, p
	}
	if id == "" {
		return nil, invalidClient("Client authentication is required.")
	}
	cfg, err := s.byClientID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalidClient("Unknown client.")
	} else if err != nil {
		return nil, err
	}
	p := cfg.p
	c := &client{p: p, app: cfg.app, cfg: cfg}
	if p.ClientType == "confidential" {
		if secret != "" && p.ClientSecret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) == 1 {
			c.secretUsed = true
		} else if u, pw, ok := decodeBasicSecret(secret); ok {
			c.basicUser, c.basicPassword = u, pw
		} else {
			return nil, invalidClient("Client authentication failed.")
		}
	}
	return c, nil
}

// decodeBasicSecret reads authentik's client_secret =
// base64("username:app password").
func decodeBasicSecret(secret string) (string, string, bool) {
	if secret == "" || len(secret) > 4096 {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(secret)
	if err != nil {
		return "", "", false
	}
	u, p, ok := strings.Cut(string(raw), ":")
	return u, p, ok && u != "" && p != ""
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// baseURL is the scheme and host the request came to.
func baseURL(r *http.Request) string { return web.Scheme(r.Context()) + "://" + r.Host }

// issuer is the provider's issuer (authentik's issuer_mode).
func issuer(r *http.Request, p *store.OAuth2Provider, app *store.Application) string {
	if p.IssuerMode == "global" || app == nil {
		return baseURL(r) + "/"
	}
	return baseURL(r) + Prefix + "/" + app.Slug + "/"
}

// appProvider loads the application of slug and its OAuth2 provider.
func (s *Server) appProvider(ctx context.Context, slug string) (*store.Application, *store.OAuth2Provider, error) {
	app, err := s.Store.ApplicationBySlug(ctx, slug)
	if err != nil {
		return nil, nil, err
	}
	if app.ProviderPK == nil {
		return nil, nil, fmt.Errorf("application %s: %w", slug, store.ErrNotFound)
	}
	p, err := s.Store.OAuth2ProviderByPK(ctx, *app.ProviderPK)
	if err != nil {
		return nil, nil, err
	}
	return app, p, nil
}

// duration reads an authentik timedelta ("minutes=1"), falling back to def.
func duration(v string, def time.Duration) time.Duration {
	d, err := userlogin.ParseDuration(v)
	if err != nil || d <= 0 {
		return def
	}
	return d
}
