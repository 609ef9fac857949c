package oauth2

// The Device Authorization Grant (RFC 8628):
//
//	device ──POST /application/o/device/──▶ device_code + user_code (pending, 10 min)
//	device ──token(device_code)──▶ authorization_pending | slow_down (polling under 5 s apart)
//	user ──/device (logged in) ── code ── confirm ──▶ the provider's authorization flow
//	     └─ DeviceFulfillmentStage ──▶ grant + device token (the device code, by its key)
//	user ── confirm: deny ──▶ revoked grant + device token
//	device ──token(device_code)──▶ device token used; access (+ refresh, + ID token)
//	                           └── denied: access_denied; past 10 minutes: expired_token
//	device code used again ──▶ replay: the grant is revoked
//
// A pending authorization has no user yet, so it can be neither an OAuth2
// grant nor a store.Token (both reference a user). It is kept, as is a
// pushed authorization request (par.go), in an anonymous row of the sessions
// table: the store's only rows that need no user, expire by themselves
// (SessionByKey ignores expired rows, the worker deletes them) and can be
// consumed once (DeleteSession). Their keys are an HMAC under the secret key
// (pendingKey), so no cookie value can load one as a browser session.

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// DeviceFulfillmentStage is the name of the builtin stage that completes a
// device authorization (register Server.DeviceFulfillment under it).
const DeviceFulfillmentStage = "oauth2_device_fulfillment"

// deviceGrantType is RFC 8628 §3.4's grant_type.
const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// kindDevice is the OAuth2 token kind of an approved (or denied) device
// code; it is stored under pendingKey("device_code", code), never under
// hashToken, so no other endpoint takes it for an access token.
const kindDevice = "device"

const (
	// deviceCodeLifetime is how long a device and user code live (RFC 8628
	// §3.2 expires_in).
	deviceCodeLifetime = 10 * time.Minute
	// devicePollInterval is the polling interval (§3.2 interval), and
	// devicePollLeeway what a poll may come early before it is slow_down
	// (§3.5): timers and networks jitter.
	devicePollInterval = 5 * time.Second
	devicePollLeeway   = time.Second
	// deviceGrace keeps a pending device row past its expiry, so that a late
	// poll is answered expired_token (§3.5) rather than invalid_grant.
	deviceGrace = 10 * time.Minute
	// userCodeAlphabet is RFC 8628 §6.1's base-20 alphabet: no vowels (no
	// words), nothing that looks like a digit. userCodeLength characters
	// give 20^8 ≈ 2^34.5 codes, shown as XXXX-XXXX.
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLength   = 8
)

// pendingDevice is a device authorization waiting for its user: the row of
// the device code (LastPoll set by polling) and the row of the user code
// (Device and UserCode name the two rows' keys).
type pendingDevice struct {
	ProviderPK int64     `json:"provider"`
	Scopes     []string  `json:"scopes"`
	Expires    time.Time `json:"expires"`
	Device     string    `json:"device"`
	UserCode   string    `json:"user_code"`
	LastPoll   time.Time `json:"last_poll,omitzero"`
}

// deviceAuthResponse is RFC 8628 §3.2.
type deviceAuthResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// pendingKey is the key of a pending row (and of a device token): an HMAC
// of the value under the secret key, labelled by kind.
func (s *Server) pendingKey(kind, value string) string {
	m := hmac.New(sha256.New, []byte(s.SecretKey))
	m.Write([]byte("gatehouse/oauth2/pending/" + kind + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil))
}

// putPending stores v under key until expires, as an anonymous row.
func putPending(ctx context.Context, st store.Sessions, r *http.Request, key string, v any, now, expires time.Time) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.CreateSession(ctx, &store.Session{Key: key, Data: data, LastIP: requestIP(r),
		LastUserAgent: truncateUA(r.UserAgent()), LastUsed: now, Expires: expires})
}

// loadPending decodes the live row of key into v (store.ErrNotFound when
// there is none, or it expired).
func (s *Server) loadPending(ctx context.Context, key string, v any) (*store.Session, error) {
	row, err := s.Store.SessionByKey(ctx, key, s.now())
	if err != nil {
		return nil, err
	}
	if row.UserPK != nil {
		return nil, store.ErrNotFound // not ours (cannot happen: the keys are HMACs)
	}
	if err := json.Unmarshal(row.Data, v); err != nil {
		return nil, err
	}
	return row, nil
}

// requestIP is the client address the router resolved (trusted proxies
// applied), else the peer.
func requestIP(r *http.Request) string {
	if ip := web.ClientIP(r.Context()); ip.IsValid() {
		return ip.String()
	}
	return clientIP(r)
}

func truncateUA(v string) string {
	if len(v) > 512 {
		return v[:512]
	}
	return v
}

// newUserCode draws userCodeLength characters of userCodeAlphabet
// (rejection sampling: no modulo bias).
func newUserCode() string {
	const n = len(userCodeAlphabet)
	out := make([]byte, 0, userCodeLength)
	buf := make([]byte, 2*userCodeLength)
	for len(out) < userCodeLength {
		_, _ = rand.Read(buf) // crypto/rand.Read never fails (Go 1.24+)
		for _, b := range buf {
			if int(b) < 256-256%n && len(out) < userCodeLength {
				out = append(out, userCodeAlphabet[int(b)%n])
			}
		}
	}
	return string(out)
}

// normalizeUserCode reads what a user typed (RFC 8628 §6.1: any case,
// dashes and spaces ignored).
func normalizeUserCode(v string) (string, bool) {
	if len(v) > 32 {
		return "", false
	}
	var b strings.Builder
	for _, c := range strings.ToUpper(v) {
		switch {
		case c == '-' || c == ' ':
		case strings.ContainsRune(userCodeAlphabet, c):
			b.WriteRune(c)
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == userCodeLength
}

func formatUserCode(c string) string { return c[:4] + "-" + c[4:] }

// deviceAuthorization is the device authorization endpoint (RFC 8628
// §3.1-§3.2), throttled per client and IP (authentik: 20/hour).
func (s *Server) deviceAuthorization() http.HandlerFunc {
	throttle := &limiter{limit: 20, window: time.Hour, now: s.now}
	return func(w http.ResponseWriter, r *http.Request) {
		resp, err := s.deviceAuthorize(w, r, throttle)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

func (s *Server) deviceAuthorize(w http.ResponseWriter, r *http.Request, throttle *limiter) (*deviceAuthResponse, error) {
	ctx := r.Context()
	form, err := parseForm(w, r)
	if err != nil {
		return nil, err
	}
	// §3.1: the client authentication of RFC 6749 §3.2.1 applies.
	c, err := s.authenticateClient(ctx, r, form)
	if err != nil {
		return nil, err
	}
	if err := c.requireSecret(); err != nil {
		return nil, err
	}
	if c.app == nil {
		return nil, invalidClient("The provider has no application.")
	}
	if c.p.Provider.AuthorizationFlow == nil {
		return nil, oauthErr(http.StatusBadRequest, "unauthorized_client", "The provider has no authorization flow.")
	}
	if !throttle.allow(c.p.ClientID + "\x00" + requestIP(r)) {
		// authentik answers the throttle with 429 slow_down.
		return nil, oauthErr(http.StatusTooManyRequests, "slow_down", "Too many device authorization requests.")
	}
	mappings, err := s.scopeMappings(ctx, c.p)
	if err != nil {
		return nil, err
	}
	now := s.now()
	pd := pendingDevice{ProviderPK: c.p.ProviderPK, Scopes: allowedScopes(strings.Fields(form.Get("scope")), mappings),
		Expires: now.Add(deviceCodeLifetime)}
	deviceCode := newOpaque()
	pd.Device = s.pendingKey("device_code", deviceCode)
	var userCode string
	for attempt := 0; ; attempt++ {
		userCode = newUserCode()
		pd.UserCode = s.pendingKey("user_code", userCode)
		err = s.Store.InTx(ctx, func(tx store.Store) error {
			if err := putPending(ctx, tx, r, pd.UserCode, pd, now, pd.Expires); err != nil {
				return err
			}
			return putPending(ctx, tx, r, pd.Device, pd, now, pd.Expires.Add(deviceGrace))
		})
		if !errors.Is(err, store.ErrConflict) || attempt == 2 {
			break // a user code still pending was drawn again: draw another
		}
	}
	if err != nil {
		return nil, err
	}
	verify := baseURL(r) + "/device"
	return &deviceAuthResponse{DeviceCode: deviceCode, UserCode: formatUserCode(userCode), VerificationURI: verify,
		VerificationURIComplete: verify + "?" + url.Values{"code": {formatUserCode(userCode)}}.Encode(),
		ExpiresIn:               int64(deviceCodeLifetime / time.Second), Interval: int64(devicePollInterval / time.Second)}, nil
}

// deviceExchange is the token request of RFC 8628 §3.4-§3.5.
func (s *Server) deviceExchange(r *http.Request, c *client, form map[string][]string) (*tokenResponse, error) {
	ctx := r.Context()
	if err := c.requireSecret(); err != nil {
		return nil, err
	}
	dc := first(form, "device_code")
	if dc == "" || len(dc) > 512 {
		return nil, invalidRequest("device_code is required.")
	}
	key := s.pendingKey("device_code", dc)
	now := s.now()
	// Decided: the user approved or denied it.
	tok, g, err := s.Store.OAuth2TokenByHash(ctx, key)
	if err == nil {
		if tok.Kind != kindDevice || g.ProviderPK != c.p.ProviderPK {
			return nil, invalidGrant("The device code is invalid.")
		}
		return s.deviceTokens(r, c, tok, g, now)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	// Pending: the user has not decided yet.
	var pd pendingDevice
	row, err := s.loadPending(ctx, key, &pd)
	if errors.Is(err, store.ErrNotFound) || (err == nil && pd.ProviderPK != c.p.ProviderPK) {
		return nil, invalidGrant("The device code is invalid.")
	} else if err != nil {
		return nil, err
	}
	if !now.Before(pd.Expires) {
		return nil, oauthErr(http.StatusBadRequest, "expired_token", "The device code has expired.")
	}
	early := !pd.LastPoll.IsZero() && now.Sub(pd.LastPoll) < devicePollInterval-devicePollLeeway
	pd.LastPoll = now
	if row.Data, err = json.Marshal(pd); err == nil {
		row.LastUsed = now
		err = s.Store.UpdateSession(ctx, row)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if early {
		return nil, oauthErr(http.StatusBadRequest, "slow_down", "Poll at most every %d seconds.", int(devicePollInterval/time.Second))
	}
	return nil, oauthErr(http.StatusBadRequest, "authorization_pending", "The user has not yet approved the device.")
}

// deviceTokens redeems a decided device code, once.
func (s *Server) deviceTokens(r *http.Request, c *client, tok *store.OAuth2Token, g *store.OAuth2Grant, now time.Time) (*tokenResponse, error) {
	ctx := r.Context()
	if tok.Used != nil {
		s.revokeReplay(ctx, g, "device code")
		return nil, invalidGrant("The device code was already used.")
	}
	if g.Revoked {
		return nil, oauthErr(http.StatusBadRequest, "access_denied", "The user denied the device access.")
	}
	if tok.Expired(now) {
		return nil, oauthErr(http.StatusBadRequest, "expired_token", "The device code has expired.")
	}
	user, err := s.Store.UserByPK(ctx, g.UserPK)
	if err != nil || !user.IsActive {
		return nil, invalidGrant("The user is no longer active.")
	}
	scopes := strings.Fields(g.Scope)
	// The device code is marked used with the tokens it gives, at once.
	resp, err := s.respond(r, c, user, g, scopes, slices.Contains(scopes, "offline_access"), tok.Hash)
	if errors.Is(err, store.ErrConflict) {
		s.revokeReplay(ctx, g, "device code")
		return nil, invalidGrant("The device code was already used.")
	}
	return resp, err
}

// deviceApproval is the plan context of a device authorization's flow.
type deviceApproval struct {
	ProviderPK int64     `json:"device_provider"`
	Scopes     []string  `json:"scopes"`
	Expires    time.Time `json:"expires"`
	Device     string    `json:"device"`
	UserCode   string    `json:"user_code"`
}

// decideDevice records the user's decision on a pending device code: a
// grant with the device token, revoked when denied. The token's key is
// unique, so only the first decision counts.
func (s *Server) decideDevice(ctx context.Context, r *http.Request, sess *store.Session, user *store.User, d *deviceApproval, deny bool) error {
	now := s.now()
	if !now.Before(d.Expires) {
		return oauthErr(http.StatusBadRequest, "expired_token", "The code has expired.")
	}
	var method string
	_ = session.Get(sess, flow.SessionAuthMethod, &method)
	// The grant is not bound to the browser session: logging out there
	// does not log the device out.
	g := &store.OAuth2Grant{ProviderPK: d.ProviderPK, UserPK: user.PK, Scope: strings.Join(d.Scopes, " "),
		AMR: amrOf(method), AuthTime: sess.Created.UTC(), Revoked: deny, Created: now}
	tok := &store.OAuth2Token{Hash: d.Device, Kind: kindDevice, Expires: d.Expires, Created: now}
	if err := s.Store.CreateOAuth2Grant(ctx, g, tok); errors.Is(err, store.ErrConflict) {
		return oauthErr(http.StatusBadRequest, "invalid_grant", "This code was already used.")
	} else if err != nil {
		return err
	}
	if err := s.Store.DeleteSession(ctx, d.UserCode); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log().Error("device: deleting the used user code", "error", err)
	}
	if s.Events != nil && !deny {
		p, err := s.Store.OAuth2ProviderByPK(ctx, d.ProviderPK)
		var app *store.Application
		if err == nil {
			app, err = s.Store.ApplicationByProvider(ctx, p.ProviderPK)
		}
		if err == nil {
			s.Events.Record(ctx, r, "authorize_application", user, map[string]any{
				"authorized_application": map[string]any{"pk": app.UUID.String(), "name": app.Name, "slug": app.Slug},
				"scopes":                 strings.Join(d.Scopes, " ")})
		}
	}
	return nil
}

// DeviceFulfillment is the builtin stage appended to the authorization flow
// of a device authorization: the user approves the device code.
func (s *Server) DeviceFulfillment() flow.Stage { return deviceFulfillment{s} }

type deviceFulfillment struct{ s *Server }

var _ flow.Stage = deviceFulfillment{}

func (f deviceFulfillment) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	var d deviceApproval
	if err := json.Unmarshal(r.Plan.Context.Authorization, &d); err != nil || d.Device == "" || d.ProviderPK == 0 {
		return flow.Step{Deny: "There is no device authorization to complete."}, nil
	}
	if r.User == nil || r.Session == nil {
		return flow.Step{Deny: "You must be logged in to authorize a device."}, nil
	}
	if err := f.s.decideDevice(ctx, r.Request, r.Session, r.User, &d, false); err != nil {
		var oe *Error
		if errors.As(err, &oe) {
			return flow.Step{Deny: oe.Description}, nil
		}
		return flow.Step{}, err
	}
	return flow.Step{RedirectTo: "/device?status=approved"}, nil
}

func (f deviceFulfillment) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	return f.Enter(ctx, r)
}

// deviceVerification serves /device, the verification URI (RFC 8628
// §3.3): a logged-in user enters (or follows a link with) the user code,
// sees which application asks, and approves (through the provider's
// authorization flow) or denies. Cross-origin POSTs are refused, as on the
// flow pages; lookups are limited per user (§5.1: user codes can be
// guessed at only so fast).
func (s *Server) deviceVerification() http.Handler {
	attempts := &limiter{limit: 30, window: 10 * time.Minute, now: s.now}
	return http.NewCrossOriginProtection().Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.deviceVerify(w, r, attempts)
	}))
}

// devicePage is what the /device page shows.
type devicePage struct {
	Brand, User, Code, App, Error string
	Confirm                       bool
	Permissions                   []flow.Permission
}

var deviceTmpl = template.Must(template.New("device").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Connect a device</title>
<style>body{font-family:system-ui,sans-serif;background:#f2f2f5;display:flex;justify-content:center;padding-top:10vh}
main{background:#fff;border-radius:8px;padding:2rem 2.5rem;max-width:32rem;box-shadow:0 1px 4px #0002}h1{font-size:1.3rem}
.code{font:600 1.6rem ui-monospace,monospace;letter-spacing:.15em}.error{color:#b00}input{font:1.2rem ui-monospace,monospace;text-transform:uppercase}
button{font-size:1rem;margin-right:.5rem}</style>
</head><body><main><h1>Connect a device</h1>{{if .User}}<p>Signed in as <strong>{{.User}}</strong>.</p>{{end}}
{{if .Confirm}}<p><strong>{{.App}}</strong> asks to use your account on a device showing this code:</p>
<p class="code">{{.Code}}</p>{{if .Permissions}}<p>It will be allowed:</p><ul>{{range .Permissions}}<li>{{.Name}}</li>{{end}}</ul>{{end}}
<p>Continue only if you started this yourself and your device shows the same code.</p>
<form method="post" action="/device"><input type="hidden" name="code" value="{{.Code}}">
<button type="submit" name="action" value="allow">Continue</button><button type="submit" name="action" value="deny">Deny</button></form>
{{else}}<p>Enter the code your device shows.</p>{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="get" action="/device"><input name="code" value="{{.Code}}" aria-label="Code" autocomplete="off" maxlength="16" required autofocus>
<button type="submit">Next</button></form>{{end}}</main></body></html>`))

func renderDevice(w http.ResponseWriter, status int, v devicePage) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_ = deviceTmpl.Execute(w, v)
}

func (s *Server) deviceVerify(w http.ResponseWriter, r *http.Request, attempts *limiter) {
	ctx := r.Context()
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	default:
		w.Header().Set("Allow", "GET, POST")
		errorPage(w, http.StatusMethodNotAllowed, "Method not allowed", "Use the form on this page.")
		return
	}
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "Invalid request", "The request could not be read.")
		return
	}
	if r.Method == http.MethodGet && r.Form.Get("status") == "approved" {
		errorPage(w, http.StatusOK, "Device connected", "You can close this page and continue on your device.")
		return
	}
	typed := strings.TrimSpace(r.Form.Get("code"))
	sess, err := s.Sessions.Load(ctx, r)
	if err != nil {
		s.log().Error("device: loading the session", "error", err)
		errorPage(w, http.StatusInternalServerError, "Error", "The request could not be handled.")
		return
	}
	var user *store.User
	if sess != nil && sess.UserPK != nil {
		if u, err := s.Store.UserByPK(ctx, *sess.UserPK); err == nil && u.IsActive {
			user = u
		}
	}
	if user == nil {
		next := "/device"
		if typed != "" {
			next += "?" + url.Values{"code": {typed}}.Encode()
		}
		s.deviceLogin(w, r, next)
		return
	}
	page := devicePage{User: user.Username, Code: typed}
	if typed == "" {
		if r.Method == http.MethodPost {
			page.Error = "Enter the code your device shows."
			renderDevice(w, http.StatusBadRequest, page)
			return
		}
		renderDevice(w, http.StatusOK, page)
		return
	}
	if !attempts.allow(strconv.FormatInt(user.PK, 10)) {
		page.Error = "Too many attempts. Try again in a few minutes."
		renderDevice(w, http.StatusTooManyRequests, page)
		return
	}
	var pd pendingDevice
	code, ok := normalizeUserCode(typed)
	if ok {
		_, err = s.loadPending(ctx, s.pendingKey("user_code", code), &pd)
	}
	if !ok || errors.Is(err, store.ErrNotFound) || (err == nil && !s.now().Before(pd.Expires)) {
		page.Error = "This code is not valid, was already used or has expired."
		renderDevice(w, http.StatusBadRequest, page)
		return
	} else if err != nil {
		s.log().Error("device: loading the user code", "error", err)
		errorPage(w, http.StatusInternalServerError, "Error", "The request could not be handled.")
		return
	}
	page.Code = formatUserCode(code)
	p, err := s.Store.OAuth2ProviderByPK(ctx, pd.ProviderPK)
	var app *store.Application
	if err == nil {
		app, err = s.Store.ApplicationByProvider(ctx, p.ProviderPK)
	}
	if errors.Is(err, store.ErrNotFound) {
		errorPage(w, http.StatusBadRequest, "Unknown application", "The application of this code no longer exists.")
		return
	} else if err != nil {
		s.log().Error("device: loading the provider", "error", err)
		errorPage(w, http.StatusInternalServerError, "Error", "The request could not be handled.")
		return
	}
	mappings, err := s.scopeMappings(ctx, p)
	if err != nil {
		s.log().Error("device: loading the scope mappings", "error", err)
		errorPage(w, http.StatusInternalServerError, "Error", "The request could not be handled.")
		return
	}
	perms := permissions(pd.Scopes, mappings)
	d := &deviceApproval{ProviderPK: pd.ProviderPK, Scopes: pd.Scopes, Expires: pd.Expires, Device: pd.Device, UserCode: pd.UserCode}
	if r.Method == http.MethodGet {
		page.Confirm, page.App, page.Permissions = true, app.Name, perms
		renderDevice(w, http.StatusOK, page)
		return
	}
	switch r.PostForm.Get("action") {
	case "deny":
		if err := s.decideDevice(ctx, r, sess, user, d, true); err != nil {
			s.deviceError(w, err)
			return
		}
		errorPage(w, http.StatusOK, "Device not connected", "You denied the device access to "+app.Name+".")
	case "allow":
		s.deviceApprove(w, r, user, app, p, d, perms)
	default:
		page.Confirm, page.App, page.Permissions = true, app.Name, perms
		renderDevice(w, http.StatusBadRequest, page)
	}
}

// deviceApprove checks that the user may use the application and hands
// them to the provider's authorization flow, which ends in
// DeviceFulfillmentStage (authentik's device flow does the same).
func (s *Server) deviceApprove(w http.ResponseWriter, r *http.Request, user *store.User, app *store.Application, p *store.OAuth2Provider,
	d *deviceApproval, perms []flow.Permission) {
	ctx := r.Context()
	res, err := s.Policies.Evaluate(ctx, app.UUID, app.PolicyEngineMode, policyRequest(r, user, &authRequest{Scopes: d.Scopes}))
	if err != nil {
		s.log().Error("device: evaluating the application's policies", "error", err)
		errorPage(w, http.StatusInternalServerError, "Error", "The request could not be handled.")
		return
	}
	if !res.Passing {
		msg := "You do not have access to this application."
		if len(res.Messages) > 0 {
			msg = strings.Join(res.Messages, " ")
		}
		errorPage(w, http.StatusForbidden, "Access denied", msg)
		return
	}
	if p.Provider.AuthorizationFlow == nil {
		errorPage(w, http.StatusBadRequest, "Misconfigured provider", "The provider has no authorization flow.")
		return
	}
	fl, err := s.Store.FlowByUUID(ctx, *p.Provider.AuthorizationFlow)
	if err != nil {
		s.log().Error("device: loading the authorization flow", "error", err)
		errorPage(w, http.StatusInternalServerError, "Error", "The provider's authorization flow is missing.")
		return
	}
	raw, err := json.Marshal(d)
	if err != nil {
		s.deviceError(w, err)
		return
	}
	err = s.Executor.Start(w, r, fl, func(c *flow.Context) {
		c.Application = app.Slug
		c.ConsentPermissions = perms
		c.Authorization = raw
	}, DeviceFulfillmentStage)
	var denied flow.DeniedError
	if errors.As(err, &denied) {
		errorPage(w, http.StatusForbidden, "Access denied", denied.Message)
		return
	} else if err != nil {
		s.log().Error("device: starting the authorization flow", "error", err)
		errorPage(w, http.StatusInternalServerError, "Error", "The request could not be handled.")
		return
	}
	http.Redirect(w, r, "/if/flow/"+url.PathEscape(fl.Slug)+"/", http.StatusFound)
}

func (s *Server) deviceError(w http.ResponseWriter, err error) {
	var oe *Error
	if errors.As(err, &oe) {
		errorPage(w, oe.status, "Invalid code", oe.Description)
		return
	}
	s.log().Error("device", "error", err)
	errorPage(w, http.StatusInternalServerError, "Error", "The request could not be handled.")
}

// deviceLogin sends an anonymous user to the brand's authentication flow,
// to come back to next.
func (s *Server) deviceLogin(w http.ResponseWriter, r *http.Request, next string) {
	ctx := r.Context()
	target := "/flows/-/default/authentication/" // the flow UI finds the default
	if brands, err := s.Store.ListBrands(ctx); err == nil {
		if b := core.MatchBrand(brands, r.Host); b != nil && b.FlowAuthentication != nil {
			if f, err := s.Store.FlowByUUID(ctx, *b.FlowAuthentication); err == nil {
				target = "/if/flow/" + url.PathEscape(f.Slug) + "/"
			}
		}
	}
	http.Redirect(w, r, target+"?"+url.Values{"next": {next}}.Encode(), http.StatusFound)
}

// limiter counts requests per key in fixed windows, in memory (per
// process: a simple throttle, not a quota). It holds at most
// limiterMaxKeys keys; when full, finished windows are dropped, and if
// none is, everything is (it fails open rather than grow).
type limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu   sync.Mutex
	hits map[string]*limiterWindow
}

type limiterWindow struct {
	start time.Time
	n     int
}

const limiterMaxKeys = 10000

// allow counts one request of key and tells whether it is within the limit.
func (l *limiter) allow(key string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hits == nil {
		l.hits = map[string]*limiterWindow{}
	}
	w := l.hits[key]
	if w == nil || now.Sub(w.start) >= l.window {
		if w == nil && len(l.hits) >= limiterMaxKeys {
			for k, v := range l.hits {
				if now.Sub(v.start) >= l.window {
					delete(l.hits, k)
				}
			}
			if len(l.hits) >= limiterMaxKeys {
				clear(l.hits)
			}
		}
		w = &limiterWindow{start: now}
		l.hits[key] = w
	}
	if w.n >= l.limit {
		return false
	}
	w.n++
	return true
}
