package oauth2

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// GitHub-compatible endpoints (authentik's providers/oauth2 github views),
// for applications that only speak GitHub's OAuth dialect: the authorize
// and token endpoints under GitHub's paths, and GitHub's /user and
// /user/teams API shapes built from the token's user.

// githubAuthorize sends GitHub's /login/oauth/authorize to the authorize
// endpoint; GitHub's request has no response_type (it is always a code).
func (s *Server) githubAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") == "" {
		q.Set("response_type", "code")
	}
	http.Redirect(w, r, Prefix+"/authorize/?"+q.Encode(), http.StatusFound)
}

// githubToken is /login/oauth/access_token: the token endpoint, answering
// in GitHub's form encoding unless the client asks for JSON.
func (s *Server) githubToken(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		s.token(w, r)
		return
	}
	rec := &bufferedWriter{header: http.Header{}}
	s.token(rec, r)
	var body map[string]any
	if err := json.Unmarshal(rec.body, &body); err != nil {
		copyResponse(w, rec)
		return
	}
	v := url.Values{}
	for k, x := range body {
		switch t := x.(type) {
		case string:
			v.Set(k, t)
		case float64:
			v.Set(k, strconv.FormatFloat(t, 'f', -1, 64))
		}
	}
	if tt := v.Get("token_type"); tt != "" {
		v.Set("token_type", strings.ToLower(tt)) // GitHub says "bearer"
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(rec.status)
	_, _ = w.Write([]byte(v.Encode()))
}

// githubBearer reads GitHub's "Authorization: token X" or a Bearer token
// (a DPoP-bound token has no place in GitHub's API).
func githubBearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && (strings.EqualFold(scheme, "token") || strings.EqualFold(scheme, "Bearer")) {
		return strings.TrimSpace(tok)
	}
	return ""
}

// githubUser is GET /user: the token's user in GitHub's shape.
func (s *Server) githubUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.githubCaller(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"login": u.Username, "id": u.PK, "node_id": "", "avatar_url": "", "gravatar_id": "", "url": "",
		"html_url": "", "type": "User", "site_admin": false, "name": u.Name, "company": "", "blog": "",
		"location": "", "email": u.Email, "hireable": false, "bio": "", "public_repos": 0, "public_gists": 0,
		"followers": 0, "following": 0, "created_at": u.DateJoined, "updated_at": u.LastUpdated,
		"private_gists": 0, "total_private_repos": 0, "owned_private_repos": 0, "disk_usage": 0,
		"collaborators": 0, "two_factor_authentication": true,
		"plan": map[string]any{"name": "None", "space": 0, "private_repos": 0, "collaborators": 0},
	})
}

// githubTeams is GET /user/teams: the user's groups as teams of one
// organization named after the application.
func (s *Server) githubTeams(w http.ResponseWriter, r *http.Request) {
	u, ok := s.githubCaller(w, r)
	if !ok {
		return
	}
	groups, err := s.Store.UserGroups(r.Context(), u.PK, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	teams := make([]map[string]any, 0, len(groups))
	for _, g := range groups {
		slug := strings.ToLower(strings.ReplaceAll(g.Name, " ", "-"))
		teams = append(teams, map[string]any{
			"id": g.UUID.String(), "node_id": "", "url": "", "html_url": "", "name": g.Name, "slug": slug,
			"description": "", "privacy": "closed", "permission": "pull", "members_url": "", "repositories_url": "",
			"parent": nil, "members_count": 0, "repos_count": 0, "created_at": "", "updated_at": "",
			"organization": map[string]any{"login": slug, "id": g.UUID.String(), "node_id": "", "url": "",
				"repos_url": "", "events_url": "", "hooks_url": "", "issues_url": "", "members_url": "",
				"public_members_url": "", "avatar_url": "", "description": ""},
		})
	}
	writeJSON(w, http.StatusOK, teams)
}

// githubCaller resolves the access token of a GitHub API request, or
// answers 401 as GitHub does.
func (s *Server) githubCaller(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	tok, _, u, err := s.accessGrant(r.Context(), githubBearer(r))
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	// A DPoP-bound token needs its proof (RFC 9449 §7.2), which GitHub's
	// API cannot carry.
	if tok == nil || tok.Kind != store.OAuth2Access || boundJKT(tok) != "" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return nil, false
	}
	return u, true
}

// bufferedWriter keeps a handler's response to rewrite it.
type bufferedWriter struct {
	header http.Header
	status int
	body   []byte
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(s int)   { b.status = s }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

func copyResponse(w http.ResponseWriter, b *bufferedWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body)
}
