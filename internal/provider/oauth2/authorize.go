package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// FulfillmentStage is the name of the builtin stage that completes an
// authorization (register Server.Fulfillment under it in the executor).
const FulfillmentStage = "oauth2_fulfillment"

// authRequest is a validated authorization request, kept in the plan.
type authRequest struct {
	ProviderPK  int64  `json:"provider"`
	ClientID    string `json:"client_id"`
	RedirectURI string `json:"redirect_uri"`
	// RedirectGiven: the request named redirect_uri (RFC 6749 §4.1.3: the
	// token request must then repeat it).
	RedirectGiven       bool     `json:"redirect_given,omitempty"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode"`
	Scopes              []string `json:"scopes"`
	State               string   `json:"state,omitempty"`
	Nonce               string   `json:"nonce,omitempty"`
	CodeChallenge       string   `json:"code_challenge,omitempty"`
	CodeChallengeMethod string   `json:"code_challenge_method,omitempty"`
	Prompt              []string `json:"prompt,omitempty"`
}

func (a *authRequest) hasType(t string) bool {
	return slices.Contains(strings.Fields(a.ResponseType), t)
}

// responseTypes are those authentik offers (OAuth 2.0 Multiple Response
// Type Encoding Practices §5), normalized to this order.
var responseTypes = map[string]bool{"code": true, "id_token": true, "id_token token": true, "code token": true,
	"code id_token": true, "code id_token token": true}

func normalizeResponseType(v string) string {
	parts := strings.Fields(v)
	order := map[string]int{"code": 0, "id_token": 1, "token": 2}
	slices.SortFunc(parts, func(a, b string) int { return order[a] - order[b] })
	return strings.Join(parts, " ")
}

// pkceVerifier is RFC 7636 §4.1's code_verifier / code_challenge alphabet.
var pkceValue = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// matchRedirect tells whether uri is one of the provider's redirect URIs of
// type typ (strict string equality, or an anchored regular expression).
func matchRedirect(p *store.OAuth2Provider, uri, typ string) bool {
	for _, ru := range p.RedirectURIs {
		t := ru.Type
		if t == "" {
			t = "authorization"
		}
		if t != typ {
			continue
		}
		switch ru.MatchingMode {
		case "regex":
			re, err := regexp.Compile("^(?:" + ru.URL + ")$")
			if err == nil && re.MatchString(uri) {
				return true
			}
		default:
			if ru.URL == uri {
				return true
			}
		}
	}
	return false
}

// errorPage answers an authorization error that cannot go back to the
// client (unknown client, bad redirect URI: RFC 6749 §4.1.2.1).
func errorPage(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = errorTmpl.Execute(w, map[string]string{"Title": title, "Message": msg})
}

var errorTmpl = template.Must(template.New("e").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;background:#f2f2f5;display:flex;justify-content:center;padding-top:10vh}
main{background:#fff;border-radius:8px;padding:2rem 2.5rem;max-width:32rem;box-shadow:0 1px 4px #0002}h1{font-size:1.3rem}</style>
</head><body><main><h1>{{.Title}}</h1><p>{{.Message}}</p></main></body></html>`))

// authorize is the authorization endpoint (RFC 6749 §3.1, OIDC Core §3.1.2).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	}
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, "Invalid request", "The authorization request could not be read.")
		return
	}
	q := r.Form
	for k, v := range q {
		if len(v) > 1 {
			errorPage(w, http.StatusBadRequest, "Invalid request", fmt.Sprintf("Parameter %q is repeated.", k))
			return
		}
	}
	if q.Get("request_uri") != "" {
		// RFC 9126 §4: the request pushed to the PAR endpoint.
		pushed, ok := s.pushedParams(w, r, q)
		if !ok {
			return
		}
		q = pushed
	}
	p, err := s.Store.OAuth2ProviderByClientID(ctx, q.Get("client_id"))
	if errors.Is(err, store.ErrNotFound) || q.Get("client_id") == "" {
		errorPage(w, http.StatusBadRequest, "Unknown client", "The application that sent you here is not known (invalid client_id).")
		return
	} else if err != nil {
		s.log().Error("authorize: loading the provider", "error", err)
		errorPage(w, http.StatusInternalServerError, "Error", "The request could not be handled.")
		return
	}
	app, err := s.Store.ApplicationByProvider(ctx, p.ProviderPK)
	if err != nil {
		errorPage(w, http.StatusBadRequest, "Unknown application", "This provider is not assigned to an application.")
		return
	}
	if raw := q.Get("request"); raw != "" {
		// OIDC Core §6.1, RFC 9101 §5: the signed request object's
		// parameters are the request. Its errors cannot go back to a
		// redirect_uri that only it would vouch for.
		params, err := requestObjectParams(raw, p, issuer(r, p, app), s.now())
		if err != nil {
			msg := "The request object is not valid."
			var oe *Error
			if errors.As(err, &oe) {
				msg = oe.Description
			}
			errorPage(w, http.StatusBadRequest, "Invalid request object", msg)
			return
		}
		q = params
	}
	ar := &authRequest{ProviderPK: p.ProviderPK, ClientID: p.ClientID, RedirectURI: q.Get("redirect_uri"),
		RedirectGiven: q.Get("redirect_uri") != "",
		State:         q.Get("state"), Nonce: q.Get("nonce"), CodeChallenge: q.Get("code_challenge"),
		CodeChallengeMethod: q.Get("code_challenge_method"), Prompt: strings.Fields(q.Get("prompt"))}
	if ar.RedirectURI == "" {
		// RFC 6749 §3.1.2.3: optional when exactly one URI is registered.
		var strict []string
		for _, ru := range p.RedirectURIs {
			if ru.MatchingMode != "regex" && (ru.Type == "" || ru.Type == "authorization") {
				strict = append(strict, ru.URL)
			}
		}
		if len(strict) == 1 {
			ar.RedirectURI = strict[0]
		}
	}
	if u, err := url.Parse(ar.RedirectURI); err != nil || ar.RedirectURI == "" || !u.IsAbs() || u.Fragment != "" {
		errorPage(w, http.StatusBadRequest, "Invalid redirect URI", "The redirect URI is missing or not an absolute URL.")
		return
	}
	if !matchRedirect(p, ar.RedirectURI, "authorization") {
		if len(p.RedirectURIs) == 0 {
			// authentik: a provider without redirect URIs keeps the first one used.
			p.RedirectURIs = []store.RedirectURI{{MatchingMode: "strict", URL: ar.RedirectURI, Type: "authorization"}}
			if err := s.Store.UpdateOAuth2Provider(ctx, p); err != nil {
				s.log().Error("authorize: saving the first redirect URI", "error", err)
			}
		} else {
			errorPage(w, http.StatusBadRequest, "Invalid redirect URI",
				"The redirect URI is not one the application registered.")
			return
		}
	}
	// From here on, errors go back to the client (RFC 6749 §4.1.2.1).
	ar.ResponseType = normalizeResponseType(q.Get("response_type"))
	ar.ResponseMode = q.Get("response_mode")
	if !responseTypes[ar.ResponseType] {
		ar.ResponseType = "code" // so that the error goes in the query
		s.redirectError(w, r, ar, "unsupported_response_type", "The response_type is not supported.")
		return
	}
	switch ar.ResponseMode {
	case "":
		ar.ResponseMode = "query"
		if ar.ResponseType != "code" {
			ar.ResponseMode = "fragment" // Multiple Response Types §5
		}
	case "query", "fragment", "form_post":
		if ar.ResponseMode == "query" && ar.ResponseType != "code" {
			s.redirectError(w, r, ar, "invalid_request", "Tokens cannot be returned in the query.")
			return
		}
	default:
		s.redirectError(w, r, ar, "invalid_request", "The response_mode is not supported.")
		return
	}
	mappings, err := s.scopeMappings(ctx, p)
	if err != nil {
		s.redirectError(w, r, ar, "server_error", "The request could not be handled.")
		return
	}
	requested := strings.Fields(q.Get("scope"))
	ar.Scopes = allowedScopes(requested, mappings)
	if ar.hasType("id_token") {
		if !slices.Contains(ar.Scopes, "openid") {
			s.redirectError(w, r, ar, "invalid_scope", "An ID token needs the openid scope.")
			return
		}
		if ar.Nonce == "" { // OIDC Core §3.2.2.1, §3.3.2.11
			s.redirectError(w, r, ar, "invalid_request", "A nonce is required when an ID token is returned from the authorization endpoint.")
			return
		}
	}
	if ar.hasType("code") {
		switch {
		case ar.CodeChallenge == "" && p.ClientType != "confidential":
			// OAuth 2.1 / RFC 9700 §2.1.1: public clients must use PKCE.
			s.redirectError(w, r, ar, "invalid_request", "A public client must use PKCE (code_challenge).")
			return
		case ar.CodeChallenge != "" && ar.CodeChallengeMethod != "S256":
			// RFC 9700 §2.1.1: plain offers no protection; only S256.
			s.redirectError(w, r, ar, "invalid_request", "code_challenge_method must be S256.")
			return
		case ar.CodeChallenge != "" && !pkceValue.MatchString(ar.CodeChallenge):
			s.redirectError(w, r, ar, "invalid_request", "The code_challenge is malformed.")
			return
		}
	} else {
		ar.CodeChallenge, ar.CodeChallengeMethod = "", ""
	}
	if slices.Contains(ar.Prompt, "none") && len(ar.Prompt) > 1 {
		s.redirectError(w, r, ar, "invalid_request", "prompt=none cannot be combined with other values.")
		return
	}

	// Who is asking? prompt=login and max_age send the user to log in again.
	sess, err := s.Sessions.Load(ctx, r)
	if err != nil {
		s.redirectError(w, r, ar, "server_error", "The request could not be handled.")
		return
	}
	var user *store.User
	if sess != nil && sess.UserPK != nil {
		if u, err := s.Store.UserByPK(ctx, *sess.UserPK); err == nil && u.IsActive {
			user = u
		}
	}
	reauth := slices.Contains(ar.Prompt, "login")
	if v := q.Get("max_age"); v != "" && user != nil {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.redirectError(w, r, ar, "invalid_request", "max_age must be a non-negative integer.")
			return
		}
		// (a max_age beyond a century cannot have passed: no overflow)
		if n < 100*365*24*3600 && s.now().Sub(sess.Created) > time.Duration(n)*time.Second {
			reauth = true
		}
	}
	if user == nil || reauth {
		if slices.Contains(ar.Prompt, "none") {
			s.redirectError(w, r, ar, "login_required", "The user is not logged in.")
			return
		}
		var age time.Duration
		if user != nil {
			age = s.now().Sub(sess.Created)
		}
		s.toLogin(w, r, p, q, reauth && user != nil, age)
		return
	}

	// May this user use the application?
	res, err := s.Policies.Evaluate(ctx, app.UUID, app.PolicyEngineMode, policyRequest(r, user, ar))
	if err != nil {
		s.redirectError(w, r, ar, "server_error", "The request could not be handled.")
		return
	}
	if !res.Passing {
		if slices.Contains(ar.Prompt, "none") {
			s.redirectError(w, r, ar, "access_denied", "The user may not use this application.")
			return
		}
		msg := "You do not have access to this application."
		if len(res.Messages) > 0 {
			msg = strings.Join(res.Messages, " ")
		}
		errorPage(w, http.StatusForbidden, "Access denied", msg)
		return
	}

	// The authorization flow (consent), then the fulfillment stage.
	if p.Provider.AuthorizationFlow == nil {
		errorPage(w, http.StatusBadRequest, "Misconfigured provider", "The provider has no authorization flow.")
		return
	}
	fl, err := s.Store.FlowByUUID(ctx, *p.Provider.AuthorizationFlow)
	if err != nil {
		s.redirectError(w, r, ar, "server_error", "The provider's authorization flow is missing.")
		return
	}
	raw, _ := json.Marshal(ar)
	perms := permissions(ar.Scopes, mappings)
	seed := func(c *flow.Context) {
		c.Application = app.Slug
		c.ConsentPermissions = perms
		c.ForceConsent = slices.Contains(ar.Prompt, "consent")
		c.Authorization = raw
	}
	if slices.Contains(ar.Prompt, "none") {
		// No interaction: fulfil now if consent is not needed.
		if need, err := s.needsInteraction(ctx, fl, user, app, perms); err != nil || need {
			s.redirectError(w, r, ar, "consent_required", "The user must consent first.")
			return
		}
		params, err := s.fulfil(ctx, r, sess, user, ar)
		if err != nil {
			s.redirectErrorFrom(w, r, ar, err)
			return
		}
		s.deliver(w, r, ar, params)
		return
	}
	err = s.Executor.Start(w, r, fl, seed, FulfillmentStage)
	var denied flow.DeniedError
	if errors.As(err, &denied) {
		errorPage(w, http.StatusForbidden, "Access denied", denied.Message)
		return
	} else if err != nil {
		s.log().Error("authorize: starting the authorization flow", "error", err)
		s.redirectError(w, r, ar, "server_error", "The request could not be handled.")
		return
	}
	http.Redirect(w, r, "/if/flow/"+url.PathEscape(fl.Slug)+"/", http.StatusFound)
}

// permissions lists the granted scopes for the consent stage, with their
// mappings' descriptions.
func permissions(scopes []string, mappings []*store.PropertyMapping) []flow.Permission {
	var out []flow.Permission
	for _, sc := range scopes {
		name := ""
		for _, m := range mappings {
			if scopeName(m) == sc {
				name, _ = m.Settings["description"].(string)
				break
			}
		}
		if name == "" {
			continue // a scope without description is not shown (authentik)
		}
		out = append(out, flow.Permission{ID: sc, Name: name})
	}
	return out
}

// needsInteraction tells whether the authorization flow would ask the user
// something: it has stages, and its consent is not already given.
func (s *Server) needsInteraction(ctx context.Context, f *store.Flow, u *store.User, app *store.Application, perms []flow.Permission) (bool, error) {
	bindings, err := s.Store.FlowStageBindings(ctx, f.UUID)
	if err != nil || len(bindings) == 0 {
		return err != nil, err
	}
	c, err := s.Store.Consent(ctx, u.PK, app.UUID)
	if err != nil || (c.Expires != nil && !s.now().Before(*c.Expires)) {
		return true, nil
	}
	have := strings.Fields(c.Permissions)
	for _, p := range perms {
		if !slices.Contains(have, p.ID) {
			return true, nil
		}
	}
	return false, nil
}

// toLogin sends the user to the authentication flow, to come back here.
// With reauth (prompt=login, max_age), the prompt and max_age are dropped
// from the way back so that the fresh login is accepted.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, p *store.OAuth2Provider, q url.Values, reauth bool, age time.Duration) {
	ctx := r.Context()
	back := url.Values{}
	for k, v := range q {
		back[k] = v
	}
	if reauth {
		// The way back asks for a login newer than the current session
		// (age less a second; at least 30 s, so a slow login cannot loop):
		// the fresh login passes, the old session no longer does.
		back.Set("max_age", strconv.Itoa(max(int(age.Seconds())-1, 30)))
		prompts := slices.DeleteFunc(strings.Fields(back.Get("prompt")), func(v string) bool { return v == "login" })
		if len(prompts) == 0 {
			back.Del("prompt")
		} else {
			back.Set("prompt", strings.Join(prompts, " "))
		}
		// The session stays until the new login replaces it: a link with
		// prompt=login must not be a way to log someone out.
	}
	slug := ""
	if p.Provider.AuthenticationFlow != nil {
		if f, err := s.Store.FlowByUUID(ctx, *p.Provider.AuthenticationFlow); err == nil {
			slug = f.Slug
		}
	}
	if slug == "" {
		if brands, err := s.Store.ListBrands(ctx); err == nil {
			if b := core.MatchBrand(brands, r.Host); b != nil && b.FlowAuthentication != nil {
				if f, err := s.Store.FlowByUUID(ctx, *b.FlowAuthentication); err == nil {
					slug = f.Slug
				}
			}
		}
	}
	if slug == "" {
		errorPage(w, http.StatusInternalServerError, "No login flow", "No authentication flow is configured for this site.")
		return
	}
	next := Prefix + "/authorize/?" + back.Encode()
	http.Redirect(w, r, "/if/flow/"+url.PathEscape(slug)+"/?"+url.Values{"next": {next}}.Encode(), http.StatusFound)
}

// redirectError sends an error back to the client's redirect URI.
func (s *Server) redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, code, desc string) {
	params := url.Values{"error": {code}, "error_description": {safeDescription(desc)}}
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	s.deliver(w, r, ar, params)
}

// deliver sends response parameters to the client in its response mode:
// a redirect with the query or fragment, or a self-posting form.
func (s *Server) deliver(w http.ResponseWriter, r *http.Request, ar *authRequest, params url.Values) {
	if ar.ResponseMode == "form_post" {
		formPost(w, ar.RedirectURI, params)
		return
	}
	target, err := responseURL(ar, params)
	if err != nil {
		errorPage(w, http.StatusBadRequest, "Invalid request", "The redirect URI is not a URL.")
		return
	}
	http.Redirect(w, r, target, http.StatusFound)
}

func (s *Server) redirectErrorFrom(w http.ResponseWriter, r *http.Request, ar *authRequest, err error) {
	var oe *Error
	if errors.As(err, &oe) {
		s.redirectError(w, r, ar, oe.Code, oe.Description)
		return
	}
	s.log().Error("authorize", "error", err)
	s.redirectError(w, r, ar, "server_error", "The request could not be handled.")
}

// responseURL puts params in the redirect URI's query or fragment.
func responseURL(ar *authRequest, params url.Values) (string, error) {
	u, err := url.Parse(ar.RedirectURI)
	if err != nil {
		return "", err
	}
	if ar.ResponseMode == "fragment" {
		u.Fragment = ""
		return u.String() + "#" + params.Encode(), nil
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// formPost answers with a page that posts params to uri (OAuth 2.0 Form
// Post Response Mode §2).
func formPost(w http.ResponseWriter, uri string, params url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = formPostTmpl.Execute(w, map[string]any{"URI": uri, "Params": params})
}

var formPostTmpl = template.Must(template.New("f").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Redirecting</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{{.URI}}">{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<noscript><button type="submit">Continue</button></noscript></form></body></html>`))

// fulfil issues what the authorization request asked for and returns the
// response parameters for the client (see deliver).
func (s *Server) fulfil(ctx context.Context, r *http.Request, sess *store.Session, user *store.User, ar *authRequest) (url.Values, error) {
	p, err := s.Store.OAuth2ProviderByPK(ctx, ar.ProviderPK)
	if err != nil {
		return nil, err
	}
	app, err := s.Store.ApplicationByProvider(ctx, p.ProviderPK)
	if err != nil {
		return nil, err
	}
	mappings, err := s.scopeMappings(ctx, p)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var method string
	_ = session.Get(sess, flow.SessionAuthMethod, &method)
	g := &store.OAuth2Grant{ProviderPK: p.ProviderPK, UserPK: user.PK, SessionUUID: &sess.UUID, Scope: strings.Join(ar.Scopes, " "),
		Nonce: ar.Nonce, AMR: amrOf(method), AuthTime: sess.Created.UTC(), Created: now}
	params := url.Values{}
	var code string
	var rows []*store.OAuth2Token
	if ar.hasType("code") {
		code = newOpaque()
		rows = append(rows, &store.OAuth2Token{Hash: hashToken(code), Kind: store.OAuth2Code,
			Expires: now.Add(duration(p.AccessCodeValidity, time.Minute)), Created: now,
			Data: store.Attributes{"redirect_uri": ar.RedirectURI, "redirect_given": ar.RedirectGiven, "code_challenge": ar.CodeChallenge,
				"code_challenge_method": ar.CodeChallengeMethod}})
		params.Set("code", code)
	}
	if ar.hasType("token") || ar.hasType("id_token") {
		g.UUID = newGrantID()
		ts, toks, err := s.issue(ctx, r, issueParams{p: p, mappings: mappings, app: app, user: user, grant: g, scopes: ar.Scopes,
			withID: ar.hasType("id_token"), code: code, noAccess: !ar.hasType("token")})
		if err != nil {
			return nil, err
		}
		rows = append(rows, toks...)
		if ts.access != "" {
			params.Set("access_token", ts.access)
			params.Set("token_type", "Bearer")
			params.Set("expires_in", strconv.Itoa(int(ts.accessExpiry.Sub(s.now()).Seconds())))
		}
		if ts.id != "" {
			params.Set("id_token", ts.id)
		}
	}
	if err := s.Store.CreateOAuth2Grant(ctx, g, rows...); err != nil {
		return nil, err
	}
	if ar.State != "" {
		params.Set("state", ar.State)
	}
	if !ar.hasType("code") || ar.ResponseType != "code" {
		params.Set("scope", strings.Join(ar.Scopes, " "))
	}
	if s.Events != nil {
		s.Events.Record(ctx, r, "authorize_application", user, map[string]any{
			"authorized_application": map[string]any{"pk": app.UUID.String(), "name": app.Name, "slug": app.Slug},
			"scopes":                 strings.Join(ar.Scopes, " ")})
	}
	return params, nil
}

// Fulfillment is the builtin stage appended to the authorization flow.
func (s *Server) Fulfillment() flow.Stage { return fulfillment{s} }

type fulfillment struct{ s *Server }

var _ flow.Stage = fulfillment{}

// autosubmitChallenge is authentik's ak-stage-autosubmit (form_post).
type autosubmitChallenge struct {
	flow.Base
	URL   string            `json:"url"`
	Attrs map[string]string `json:"attrs"`
	Title string            `json:"title,omitempty"`
}

// AutosubmitURL tells the flow UI where the form posts (its CSP allows it).
func (c *autosubmitChallenge) AutosubmitURL() string { return c.URL }

func (f fulfillment) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	var ar authRequest
	if err := json.Unmarshal(r.Plan.Context.Authorization, &ar); err != nil || ar.ProviderPK == 0 {
		return flow.Step{Deny: "There is no authorization request to complete."}, nil
	}
	if r.User == nil || r.Session == nil {
		return flow.Step{Deny: "You must be logged in to authorize an application."}, nil
	}
	params, err := f.s.fulfil(ctx, r.Request, r.Session, r.User, &ar)
	if err != nil {
		var oe *Error
		if errors.As(err, &oe) {
			return flow.Step{Deny: oe.Description}, nil
		}
		if errors.Is(err, errNoKey) {
			return flow.Step{Deny: "The application's provider has no usable signing key."}, nil
		}
		return flow.Step{}, err
	}
	if ar.ResponseMode == "form_post" {
		attrs := map[string]string{}
		for k, v := range params {
			attrs[k] = v[0]
		}
		return flow.Step{Challenge: &autosubmitChallenge{Base: flow.Base{Component: "ak-stage-autosubmit"},
			URL: ar.RedirectURI, Attrs: attrs, Title: "Redirecting to the application..."}}, nil
	}
	target, err := responseURL(&ar, params)
	if err != nil {
		return flow.Step{Deny: "The redirect URI is not a URL."}, nil
	}
	return flow.Step{RedirectTo: target}, nil
}

func (f fulfillment) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	return f.Enter(ctx, r)
}
