package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Cookie and header names, as authentik's.
const (
	SessionCookie = "authentik_session"
	CSRFCookie    = "authentik_csrf"
	CSRFHeader    = "X-authentik-CSRF"
)

// principal is the authenticated caller.
type principal struct {
	User      *store.User
	Token     *store.Token   // nil for a browser session
	Session   *store.Session // nil for a token
	Superuser bool
}

// authenticate resolves the caller from `Authorization: Bearer <token key>`
// or from the session cookie. Bad credentials are refused here (403, as
// authentik); no credentials leave the request anonymous for the operation
// to refuse.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Store == nil {
			writeDetail(w, http.StatusServiceUnavailable, "Starting.")
			return
		}
		p, err := a.resolve(r)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(ae.status)
				b, _ := ae.MarshalJSON()
				_, _ = w.Write(b)
				return
			}
			a.Log.Error("api: authentication", "error", err)
			writeDetail(w, http.StatusInternalServerError, "Internal error.")
			return
		}
		ctx := context.WithValue(r.Context(), ctxHost, r.Host)
		if p != nil {
			ctx = withPrincipal(ctx, p)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

var errTokenInvalid = detailError(http.StatusForbidden, "Token invalid/expired")

func (a *API) resolve(r *http.Request) (*principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, key, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			return nil, detailError(http.StatusForbidden, "Invalid Authorization header.")
		}
		tok, pr, err := a.Store.TokenPrincipal(ctx, core.HashTokenKey(strings.TrimSpace(key)))
		if errors.Is(err, store.ErrNotFound) {
			return nil, errTokenInvalid
		} else if err != nil {
			return nil, err
		}
		// Only API tokens call the API: an app password, recovery or
		// verification token is not an API credential.
		if tok.Intent != store.IntentAPI || tok.Expired(a.now()) {
			return nil, errTokenInvalid
		}
		return principalOf(pr, tok)
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sum := sha256.Sum256([]byte(c.Value))
	sess, err := a.Store.SessionByKey(ctx, hex.EncodeToString(sum[:]), a.now())
	if errors.Is(err, store.ErrNotFound) || (err == nil && sess.UserPK == nil) {
		return nil, nil // expired or anonymous session: not authenticated
	} else if err != nil {
		return nil, err
	}
	if !safeMethod(r.Method) {
		// Double-submit CSRF check: the header must repeat the CSRF cookie,
		// which another site can neither read nor set.
		cc, err := r.Cookie(CSRFCookie)
		hv := r.Header.Get(CSRFHeader)
		if err != nil || cc.Value == "" || subtle.ConstantTimeCompare([]byte(cc.Value), []byte(hv)) != 1 {
			return nil, detailError(http.StatusForbidden, "CSRF Failed: CSRF token missing or incorrect.")
		}
	}
	pr, err := a.Store.UserPrincipal(ctx, *sess.UserPK)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	p, err := principalOf(pr, nil)
	if p != nil {
		p.Session = sess
	}
	return p, err
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func principalOf(pr *store.Principal, tok *store.Token) (*principal, error) {
	if !pr.User.IsActive {
		return nil, detailError(http.StatusForbidden, "User inactive or deleted.")
	}
	return &principal{User: pr.User, Token: tok, Superuser: pr.Superuser}, nil
}

// caller returns the authenticated principal or a 403.
func caller(ctx context.Context) (*principal, error) {
	p, _ := ctx.Value(ctxPrincipal).(*principal)
	if p == nil {
		return nil, errNotAuthenticated
	}
	return p, nil
}

// require checks that the caller holds perm, globally or on objectPK.
// Superusers hold every permission.
func (a *API) require(ctx context.Context, perm, objectPK string) (*principal, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	ok, err := a.has(ctx, p, perm, objectPK)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errPermission
	}
	return p, nil
}

func (a *API) has(ctx context.Context, p *principal, perm, objectPK string) (bool, error) {
	if p.Superuser {
		return true, nil
	}
	perms, err := a.Store.UserPermissions(ctx, p.User.PK, objectPK)
	if err != nil {
		return false, a.storeError(err)
	}
	for _, rp := range perms {
		if rp.Permission == perm {
			return true, nil
		}
	}
	return false, nil
}

// visible decides what a list may show: everything with the global view
// permission, else only the objects the caller holds it on (nil = all).
func (a *API) visible(ctx context.Context, perm string) ([]string, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.Superuser {
		return nil, nil
	}
	perms, err := a.Store.UserPermissions(ctx, p.User.PK, "*")
	if err != nil {
		return nil, a.storeError(err)
	}
	only := []string{}
	for _, rp := range perms {
		if rp.Permission != perm {
			continue
		}
		if rp.ObjectPK == "" {
			return nil, nil
		}
		only = append(only, rp.ObjectPK)
	}
	return only, nil
}
