// Command oauth2 measures the OAuth2/OIDC endpoints of the built binary
// (docs/benchmarks.md): client_credentials, introspection, userinfo, JWKS,
// discovery and the authorization-code exchange, each for a fixed time at a
// fixed concurrency, all driven by wrk; the code exchange redeems codes
// pre-issued in the database, each once (wrk's Lua script gives each of its
// threads half of the list).
// The load generators run on the same machine and take CPU from the server.
//
//	go run ./bench/oauth2 -bin bin/gatehouse -duration 10s -c 32 [-postgres URL]
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/bench/server"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

const (
	token        = "bench-bootstrap-token-0123456789abcdef"
	clientID     = "bench-client"
	clientSecret = "bench-secret-0123456789abcdefghijklmnopqrstuvwxyz0123456789"
)

func main() {
	bin := flag.String("bin", "bin/gatehouse", "gatehouse binary")
	dur := flag.Duration("duration", 10*time.Second, "duration of each run")
	conc := flag.Int("c", 32, "concurrent clients")
	pg := flag.String("postgres", "", "PostgreSQL URL (an empty database); SQLite when empty")
	alg := flag.String("alg", "ecdsa", "signing key type: ecdsa (ES256) or rsa (RS256, 2048 bits)")
	only := flag.String("only", "", "comma-separated endpoints to run (default all)")
	flag.BoolVar(&verbose, "v", false, "print wrk's whole report (latency distribution)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "gatehouse-bench-oauth2-")
	check(err)
	defer os.RemoveAll(dir)
	env := []string{"GATEHOUSE_DATA_DIR=" + dir, "GATEHOUSE_LISTEN__HTTPS=", "GATEHOUSE_LISTEN__METRICS=",
		"GATEHOUSE_BOOTSTRAP_TOKEN=" + token}
	if *pg != "" {
		u, err := url.Parse(*pg)
		check(err)
		pw, _ := u.User.Password()
		env = append(env, "GATEHOUSE_POSTGRESQL__HOST="+u.Hostname(), "GATEHOUSE_POSTGRESQL__PORT="+u.Port(),
			"GATEHOUSE_POSTGRESQL__USER="+u.User.Username(), "GATEHOUSE_POSTGRESQL__PASSWORD="+pw,
			"GATEHOUSE_POSTGRESQL__NAME="+strings.TrimPrefix(u.Path, "/"), "GATEHOUSE_SECRET_KEY=bench-secret-key-0123456789")
	}
	srv, err := server.Start(*bin, env...)
	check(err)
	defer srv.Stop()

	var st store.Store
	if *pg != "" {
		st, err = sqlstore.OpenPostgres(context.Background(), *pg, sqlstore.Options{MaxConns: 4})
	} else {
		st, err = sqlstore.OpenSQLite(context.Background(), dir+"/gatehouse.db", sqlstore.Options{})
	}
	check(err)
	p := setup(srv.Base, st, *alg)

	engine := "sqlite"
	if *pg != "" {
		engine = "postgresql"
	}
	fmt.Printf("engine %s, key %s, %d concurrent clients, %s per endpoint\n", engine, *alg, *conc, *dur)
	want := func(name string) bool { return *only == "" || slices.Contains(strings.Split(*only, ","), name) }
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID)+":"+url.QueryEscape(clientSecret)))
	o := srv.Base + "/application/o/"
	at := clientCredentials(o + "token/")
	form := "application/x-www-form-urlencoded"
	post := map[string]string{"Content-Type": form, "Authorization": basic}
	if want("client_credentials") {
		load("client_credentials", *dur, *conc, "POST", o+"token/", "grant_type=client_credentials&scope=openid", post)
	}
	if want("introspection") {
		load("introspection", *dur, *conc, "POST", o+"introspect/", "token="+at, post)
	}
	if want("userinfo") {
		load("userinfo", *dur, *conc, "GET", o+"userinfo/", "", map[string]string{"Authorization": "Bearer " + at})
	}
	if want("jwks") {
		load("jwks", *dur, *conc, "GET", o+"bench/jwks/", "", nil)
	}
	if want("discovery") {
		load("discovery", *dur, *conc, "GET", o+"bench/.well-known/openid-configuration", "", nil)
	}
	if want("code_exchange") {
		codeExchange(o+"token/", st, p, *dur, *conc, post)
	}
}

// setup creates a signing key and the "bench" application with a
// confidential OAuth2 provider.
func setup(base string, st store.Store, alg string) *store.OAuth2Provider {
	kp := api(base, "POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "bench", "validity_days": 30, "alg": alg})
	kpID := uuid.MustParse(kp["pk"].(string))
	ms, _, err := st.ListPropertyMappings(context.Background(), "scope", store.ListOptions{})
	check(err)
	var mappings []uuid.UUID
	for _, m := range ms {
		mappings = append(mappings, m.UUID)
	}
	p := &store.OAuth2Provider{Provider: &store.Provider{Name: "bench"}, ClientID: clientID, ClientSecret: clientSecret,
		SigningKey: &kpID, PropertyMappings: mappings, IncludeClaimsInIDToken: true,
		RedirectURIs: []store.RedirectURI{{MatchingMode: "strict", URL: "http://127.0.0.1/cb"}}}
	check(st.CreateOAuth2Provider(context.Background(), p))
	api(base, "POST", "/core/applications/", map[string]any{"name": "Bench", "slug": "bench", "provider": p.ProviderPK})
	return p
}

func api(base, method, path string, body any) map[string]any {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+"/api/v3"+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	check(err)
	defer resp.Body.Close()
	var out map[string]any
	check(json.NewDecoder(resp.Body).Decode(&out))
	if resp.StatusCode >= 300 {
		check(fmt.Errorf("%s %s: %d %v", method, path, resp.StatusCode, out))
	}
	return out
}

func clientCredentials(tokenURL string) string {
	resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {clientSecret}, "scope": {"openid profile"}})
	check(err)
	defer resp.Body.Close()
	var out map[string]any
	check(json.NewDecoder(resp.Body).Decode(&out))
	at, ok := out["access_token"].(string)
	if !ok {
		check(fmt.Errorf("client_credentials: %v", out))
	}
	return at
}

var (
	rpsRe    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Re    = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	non2xxRe = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	totalRe  = regexp.MustCompile(`(\d+) requests in`)
)

// load runs wrk (2 threads) for one endpoint and prints requests/s, p99 and
// the number of non-2xx answers. method, body and headers go through a Lua
// script.
func load(name string, dur time.Duration, conc int, method, target, body string, headers map[string]string, script ...string) {
	var lua strings.Builder
	for _, l := range script {
		lua.WriteString(l)
	}
	fmt.Fprintf(&lua, "wrk.method = %q\n", method)
	if body != "" {
		fmt.Fprintf(&lua, "wrk.body = %q\n", body)
	}
	for k, v := range headers {
		fmt.Fprintf(&lua, "wrk.headers[%q] = %q\n", k, v)
	}
	f, err := os.CreateTemp("", "gatehouse-wrk-*.lua")
	check(err)
	defer os.Remove(f.Name())
	_, err = f.WriteString(lua.String())
	check(err)
	check(f.Close())
	out, err := exec.Command("wrk", "-t2", "-c"+fmt.Sprint(conc), "-d"+dur.String(), "--latency", "-s", f.Name(), target).CombinedOutput()
	if err != nil {
		check(fmt.Errorf("wrk %s: %v: %s", name, err, out))
	}
	rps, p99, bad, total := "?", "?", "0", "?"
	if m := rpsRe.FindSubmatch(out); m != nil {
		rps = string(m[1])
	}
	if m := p99Re.FindSubmatch(out); m != nil {
		var v float64
		fmt.Sscan(string(m[1]), &v)
		switch string(m[2]) {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		p99 = fmt.Sprintf("%.1f ms", v)
	}
	if m := non2xxRe.FindSubmatch(out); m != nil {
		bad = string(m[1])
	}
	if m := totalRe.FindSubmatch(out); m != nil {
		total = string(m[1])
	}
	fmt.Printf("%-20s %10s req/s   p99 %9s   requests %s, non-2xx %s\n", name, rps, p99, total, bad)
	if verbose {
		fmt.Printf("%s\n", out)
	}
}

// verbose prints wrk's whole report after each summary line.
var verbose bool

// codeExchange pre-issues codes in the database (as the authorization
// endpoint stores them) and has wrk exchange them, each code once: thread
// n of wrk's two takes every other line of the code file.
func codeExchange(tokenURL string, st store.Store, p *store.OAuth2Provider, dur time.Duration, conc int, headers map[string]string) {
	users, _, err := st.ListUsers(context.Background(), store.UserFilter{Username: "akadmin"})
	check(err)
	n := int(dur.Seconds()) * 5000
	now := time.Now().UTC()
	f, err := os.CreateTemp("", "gatehouse-codes-*.txt")
	check(err)
	defer os.Remove(f.Name())
	const batch = 500
	for i := 0; i < n; i += batch {
		check(st.InTx(context.Background(), func(tx store.Store) error {
			for j := 0; j < batch; j++ {
				code := fmt.Sprintf("bench-code-%d-%d-%s", i, j, uuid.NewString())
				g := &store.OAuth2Grant{ProviderPK: p.ProviderPK, UserPK: users[0].PK, Scope: "openid profile", AuthTime: now, Created: now}
				tok := &store.OAuth2Token{Hash: hashToken(code), Kind: store.OAuth2Code, Expires: now.Add(time.Hour), Created: now,
					Data: store.Attributes{"redirect_uri": "http://127.0.0.1/cb"}}
				if err := tx.CreateOAuth2Grant(context.Background(), g, tok); err != nil {
					return err
				}
				fmt.Fprintln(f, code)
			}
			return nil
		}))
	}
	check(f.Close())
	script := fmt.Sprintf(`local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args)
  codes, idx = {}, 0
  local i = 0
  for line in io.lines(%q) do
    if i %% 2 == id then codes[#codes + 1] = line end
    i = i + 1
  end
end
function request()
  idx = idx + 1
  return wrk.format(nil, nil, nil, "grant_type=authorization_code&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%2Fcb&code=" .. (codes[idx] or "exhausted"))
end
`, f.Name())
	load("code_exchange", dur, conc, "POST", tokenURL, "", headers, script)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "oauth2 bench:", err)
		os.Exit(1)
	}
}

// hashToken is how the provider stores tokens (SHA-256, hex).
func hashToken(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}
