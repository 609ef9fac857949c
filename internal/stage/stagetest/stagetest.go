// Package stagetest runs the flow executor API in process over a fresh
// SQLite store with the default flows, for stage tests that drive a stage
// through real flows as a client does.
package stagetest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// Password is akadmin's password.
const Password = "test-password"

// Server is the executor API over a bootstrapped store with the default
// flows.
type Server struct {
	T        testing.TB
	Store    *sqlstore.Store
	Executor *flow.Executor
	Sealer   *crypto.Sealer
	URL      string
	// Now is the executor's clock; tests may move it.
	Now time.Time
}

// New starts a server. Password hashing is made cheap for the test.
func New(t testing.TB) *Server {
	t.Helper()
	saved := password.DefaultParams
	password.DefaultParams = password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	t.Cleanup(func() { password.DefaultParams = saved })

	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := core.Bootstrap(ctx, st, core.BootstrapOptions{Password: Password}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := core.EnsureDefaultFlows(ctx, st); err != nil {
		t.Fatal(err)
	}
	sealer, err := crypto.NewSealer("stagetest secret key, long enough", "authenticator-secret")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	events := &event.Recorder{Store: st, Log: log}
	s := &Server{T: t, Store: st, Sealer: sealer, Now: time.Now()}
	s.Executor = &flow.Executor{Store: st, Stages: stageall.Registry(), Log: log, Sessions: &session.Manager{Store: st},
		Events: events, Policies: policyall.Engine(st, log, events), Secrets: sealer, Now: func() time.Time { return s.Now }}
	r := chi.NewRouter()
	r.Handle("/api/v3/flows/executor/{slug}/", s.Executor)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// User makes an active internal user with a password.
func (s *Server) User(username, pw string) *store.User {
	s.T.Helper()
	hash, err := password.Hash(pw)
	if err != nil {
		s.T.Fatal(err)
	}
	u := &store.User{Username: username, Name: username, IsActive: true, Type: store.UserInternal, Path: "users",
		PasswordHash: hash, Attributes: store.Attributes{}}
	if err := s.Store.CreateUser(context.Background(), u); err != nil {
		s.T.Fatal(err)
	}
	return u
}

// Client is a browser without a browser: a cookie jar.
type Client struct {
	s    *Server
	http *http.Client
}

// Client returns a client with an empty cookie jar.
func (s *Server) Client() *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{s: s, http: &http.Client{Jar: jar}}
}

// Challenge is a decoded challenge.
type Challenge map[string]any

// Component is the challenge's component.
func (c Challenge) Component() string { s, _ := c["component"].(string); return s }

// Error is the first response error of field ("" when none).
func (c Challenge) Error(field string) string {
	errs, _ := c["response_errors"].(map[string]any)
	list, _ := errs[field].([]any)
	if len(list) == 0 {
		return ""
	}
	e, _ := list[0].(map[string]any)
	s, _ := e["string"].(string)
	return s
}

// Get starts or continues flow slug.
func (c *Client) Get(slug string) Challenge { return c.do(http.MethodGet, slug, "") }

// Post answers the current challenge of flow slug with body (JSON).
func (c *Client) Post(slug string, body map[string]any) Challenge {
	raw, err := json.Marshal(body)
	if err != nil {
		c.s.T.Fatal(err)
	}
	return c.do(http.MethodPost, slug, string(raw))
}

// PostRaw answers with a raw body.
func (c *Client) PostRaw(slug, body string) Challenge { return c.do(http.MethodPost, slug, body) }

func (c *Client) do(method, slug, body string) Challenge {
	c.s.T.Helper()
	u := c.s.URL + "/api/v3/flows/executor/" + slug + "/?query=" + url.QueryEscape("next=/done/")
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		c.s.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req) // follows the 302 after a finished stage
	if err != nil {
		c.s.T.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.s.T.Fatalf("%s %s: status %d: %s", method, slug, resp.StatusCode, raw)
	}
	var ch Challenge
	if err := json.Unmarshal(raw, &ch); err != nil {
		c.s.T.Fatalf("%s %s: %v: %s", method, slug, err, raw)
	}
	if ch.Component() == "ak-stage-flow-error" {
		c.s.T.Fatalf("%s %s: flow error: %s", method, slug, raw)
	}
	return ch
}

// Password logs in through default-authentication-flow up to the
// password: it returns the challenge after it (the MFA stage's, or the
// final redirect).
func (c *Client) Password(username, pw string) Challenge {
	c.s.T.Helper()
	const slug = core.DefaultAuthenticationFlow
	if ch := c.Get(slug); ch.Component() != "ak-stage-identification" {
		c.s.T.Fatalf("first challenge: %v", ch)
	}
	if ch := c.Post(slug, map[string]any{"component": "ak-stage-identification", "uid_field": username}); ch.Component() != "ak-stage-password" {
		c.s.T.Fatalf("after identification: %v", ch)
	}
	return c.Post(slug, map[string]any{"component": "ak-stage-password", "password": pw})
}
