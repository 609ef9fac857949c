package e2e

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

const (
	bootstrapPassword = "e2e-admin-password"
	bootstrapToken    = "e2e-bootstrap-token-0123456789abcdef"
	secretKey         = "e2e-secret-key-0123456789abcdefghijklmnop"
)

var snapshotTables = []string{"users", "groups", "group_members", "tokens", "brands", "settings", "flows", "stages", "flow_stage_bindings", "goose_db_version"}

// snapshot renders every row of the foundation tables, to compare two starts.
func snapshot(t *testing.T, driver, dsn string) map[string][]string {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][]string{}
	for _, table := range snapshotTables {
		rows, err := db.Query("SELECT * FROM " + table + " ORDER BY 1")
		if err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[table] = append(out[table], fmt.Sprint(vals...))
		}
		rows.Close()
	}
	return out
}

// checkBootstrapped verifies the objects the first start must create.
func checkBootstrapped(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	admin, err := st.UserByUsername(ctx, core.AdminUsername)
	if err != nil {
		t.Fatalf("akadmin: %v", err)
	}
	if ok, _, err := password.Verify(bootstrapPassword, admin.PasswordHash); !ok || err != nil {
		t.Errorf("akadmin's password is not bootstrap_password (%v)", err)
	}
	if admin.Email != "admin@e2e.example" || !admin.IsActive {
		t.Errorf("akadmin = %+v", admin)
	}
	if su, err := st.UserIsSuperuser(ctx, admin.PK); !su || err != nil {
		t.Errorf("akadmin superuser = %v, %v", su, err)
	}
	g, err := st.GroupByName(ctx, core.AdminGroupName)
	if err != nil || !g.IsSuperuser {
		t.Errorf("admin group = %+v, %v", g, err)
	}
	tok, err := st.TokenByKeyHash(ctx, core.HashTokenKey(bootstrapToken))
	if err != nil {
		t.Fatalf("bootstrap token: %v", err)
	}
	if tok.UserPK != admin.PK || tok.Intent != store.IntentAPI || tok.Expiring || tok.Identifier != core.BootstrapTokenID {
		t.Errorf("bootstrap token = %+v", tok)
	}
	brands, err := st.ListBrands(ctx)
	if err != nil || len(brands) != 1 || !brands[0].Default || brands[0].Domain != core.DefaultBrandDomain {
		t.Errorf("brands = %+v, %v", brands, err)
	}
}

// checkServing checks health, readiness, metrics, HTTPS and the router's headers.
func checkServing(t *testing.T, p *proc) {
	t.Helper()
	resp, body := get(t, nil, p.url("http")+"/-/health/live/")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Errorf("live: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, nil, p.url("http")+"/-/health/ready/")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"database":"ok"`) || !strings.Contains(string(body), `"migrations":"ok"`) {
		t.Errorf("ready: %d %s", resp.StatusCode, body)
	}
	if id := resp.Header.Get("X-Request-Id"); len(id) != 32 {
		t.Errorf("X-Request-Id = %q", id)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, _ = get(t, insecure, p.url("https")+"/-/health/ready/")
	if resp.StatusCode != 200 || resp.TLS == nil || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("https ready: %d, tls %v, hsts %q", resp.StatusCode, resp.TLS != nil, resp.Header.Get("Strict-Transport-Security"))
	}
	for range 5 {
		get(t, nil, p.url("http")+"/-/health/live/")
	}
	resp, body = get(t, nil, p.url("http")+"/no/such/page")
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"detail"`) {
		t.Errorf("unknown path: %d %s", resp.StatusCode, body)
	}
	_, metrics := get(t, nil, p.url("metrics")+"/metrics")
	for _, want := range []string{
		`gatehouse_http_requests_total{method="GET",route="/-/health/live",status="200"}`,
		`gatehouse_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`gatehouse_http_request_duration_seconds_bucket`,
		`go_goroutines`, `process_resident_memory_bytes`, `go_sql_open_connections`, `gatehouse_build_info`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code, out := runCmd(t, nil, "healthcheck", "--url", p.url("http")+"/-/health/ready/"); code != 0 {
		t.Errorf("healthcheck against a ready server: exit %d: %s", code, out)
	}
}

func TestEmbeddedFromEmptyDataDir(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data") // does not exist yet
	env := baseEnv(dataDir)
	env["GATEHOUSE_BOOTSTRAP_PASSWORD"] = bootstrapPassword
	env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
	env["GATEHOUSE_BOOTSTRAP_EMAIL"] = "admin@e2e.example"

	p := start(t, env, "server")
	p.waitReady(30 * time.Second)
	p.waitLog("generated a new secret_key and saved it; back it up with the database", time.Second)
	checkServing(t, p)
	if l := p.waitLog("worker started", 5*time.Second); l["component"] != "worker" {
		t.Errorf("embedded mode should run the worker in process: %v", l)
	}
	if code := p.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("exit status after SIGTERM = %d", code)
	}
	p.waitLog("stopped", time.Second)
	if code, _ := runCmd(t, nil, "healthcheck", "--url", p.url("http")+"/-/health/ready/"); code != 1 {
		t.Errorf("healthcheck against a stopped server: exit %d, want 1", code)
	}

	for _, f := range []string{"secret_key", "gatehouse.db", "tls/self-signed.key"} {
		fi, err := os.Stat(filepath.Join(dataDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
	key1, _ := os.ReadFile(filepath.Join(dataDir, "secret_key"))
	dbPath := filepath.Join(dataDir, "gatehouse.db")
	st, err := sqlstore.OpenSQLite(context.Background(), dbPath, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkBootstrapped(t, st)
	st.Close()
	before := snapshot(t, "sqlite", dbPath)

	// Second start, with different bootstrap settings: nothing changes.
	env["GATEHOUSE_BOOTSTRAP_PASSWORD"] = "another-password"
	env["GATEHOUSE_BOOTSTRAP_TOKEN"] = "another-token-0123456789abcdef"
	p2 := start(t, env, "server")
	p2.waitReady(30 * time.Second)
	if l := p2.waitLog("bootstrap checked", time.Second); l["created_user"] != false || l["created_token"] != false || l["created_brand"] != false {
		t.Errorf("second start created objects: %v", l)
	}
	if len(p2.logsWith("generated a new secret_key and saved it; back it up with the database")) != 0 {
		t.Error("second start generated a new secret key")
	}
	if code := p2.stop(syscall.SIGINT, 30*time.Second); code != 0 {
		t.Fatalf("exit status after SIGINT = %d", code)
	}
	if diff := cmp.Diff(before, snapshot(t, "sqlite", dbPath)); diff != "" {
		t.Errorf("second start changed the database (-before +after):\n%s", diff)
	}
	if key2, _ := os.ReadFile(filepath.Join(dataDir, "secret_key")); string(key1) != string(key2) {
		t.Error("secret key changed between starts")
	}
}

func postgresEnv(t *testing.T, dsn string) map[string]string {
	host, port, user, pw, db := testenv.PostgresParts(t, dsn)
	env := baseEnv(t.TempDir())
	env["GATEHOUSE_POSTGRESQL__HOST"] = host
	env["GATEHOUSE_POSTGRESQL__PORT"] = port
	env["GATEHOUSE_POSTGRESQL__USER"] = user
	env["GATEHOUSE_POSTGRESQL__PASSWORD"] = pw
	env["GATEHOUSE_POSTGRESQL__NAME"] = db
	env["GATEHOUSE_POSTGRESQL__SSLMODE"] = "disable"
	return env
}

func TestPostgresMode(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	env := postgresEnv(t, dsn)

	// Without an explicit secret_key, PostgreSQL mode refuses to start.
	code, out := runCmd(t, env, "server")
	if code != 1 || !strings.Contains(out, "secret_key is not set") {
		t.Fatalf("start without secret_key: exit %d, output:\n%s", code, out)
	}

	// An authentik deployment's variable names work; GATEHOUSE_ ones win.
	env["AUTHENTIK_SECRET_KEY"] = secretKey
	env["AUTHENTIK_BOOTSTRAP_PASSWORD"] = bootstrapPassword
	env["AUTHENTIK_BOOTSTRAP_TOKEN"] = bootstrapToken
	env["AUTHENTIK_BOOTSTRAP_EMAIL"] = "ignored@e2e.example"
	env["GATEHOUSE_BOOTSTRAP_EMAIL"] = "admin@e2e.example"
	env["AUTHENTIK_ERROR_REPORTING__ENABLED"] = "true" // an authentik-only key: ignored with a warning
	p := start(t, env, "server")
	p.waitReady(30 * time.Second)
	p.waitLog("ignoring an authentik setting that Gatehouse does not use", time.Second)
	checkServing(t, p)
	if len(p.logsWith("worker started")) != 0 {
		t.Error("the server ran the worker in PostgreSQL mode; that is `gatehouse worker`'s job")
	}
	if code := p.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("exit status = %d", code)
	}
	st, err := sqlstore.OpenPostgres(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkBootstrapped(t, st)
	st.Close()
	before := snapshot(t, "pgx", dsn)

	// A worker replica and a second server start against the same database.
	wenv := map[string]string{}
	for k, v := range env {
		wenv[k] = v
	}
	wenv["GATEHOUSE_DATA_DIR"] = t.TempDir()
	w := start(t, wenv, "worker")
	w.waitReady(30 * time.Second)
	w.waitLog("task done", 10*time.Second)
	p2 := start(t, env, "server")
	p2.waitReady(30 * time.Second)
	if code := p2.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("second start: exit status = %d", code)
	}
	if code := w.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Fatalf("worker: exit status = %d", code)
	}
	if diff := cmp.Diff(before, snapshot(t, "pgx", dsn)); diff != "" {
		t.Errorf("second start changed the database (-before +after):\n%s", diff)
	}
}

// Two `gatehouse migrate` started at the same instant on one database both
// succeed and leave one schema.
func TestConcurrentMigrate(t *testing.T) {
	dsn := testenv.PostgresDB(t)
	env := postgresEnv(t, dsn)
	env["GATEHOUSE_SECRET_KEY"] = secretKey
	const n = 3
	var wg sync.WaitGroup
	codes, outs := make([]int, n), make([]string, n)
	startGate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-startGate
			codes[i], outs[i] = runCmd(t, env, "migrate")
		}()
	}
	close(startGate)
	wg.Wait()
	// One run applies every migration; the others wait for its lock and
	// then find nothing to do.
	var version, appliers, appliedNow int
	for i := range n {
		if codes[i] != 0 {
			t.Errorf("migrate %d: exit %d\n%s", i, codes[i], outs[i])
		}
		var v, a int
		if _, err := fmt.Sscanf(lastLine(outs[i]), "schema at version %d (%d migrations applied now)", &v, &a); err != nil {
			t.Fatalf("migrate %d output: %q", i, outs[i])
		}
		version = v
		if a > 0 {
			appliers++
			appliedNow = a
		}
	}
	if appliers != 1 || appliedNow != version {
		t.Errorf("%d runs applied migrations (the last %d of %d), want exactly one run applying all:\n%s", appliers, appliedNow, version, strings.Join(outs, "\n"))
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows int
	if err := db.QueryRow("SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&rows); err != nil || rows != version {
		t.Errorf("goose_db_version has %d applied rows (%v), want %d", rows, err, version)
	}
	// And a migrate on an up-to-date schema is a no-op.
	if code, out := runCmd(t, env, "migrate"); code != 0 || !strings.Contains(out, "(0 migrations applied now)") {
		t.Errorf("third migrate: %d %s", code, out)
	}
}

// An unreachable PostgreSQL: the process stays up, says why in the log and
// in readiness, and stops cleanly.
func TestUnreachablePostgres(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close() // nothing listens there now
	env := baseEnv(t.TempDir())
	env["GATEHOUSE_POSTGRESQL__HOST"] = "127.0.0.1"
	env["GATEHOUSE_POSTGRESQL__PORT"] = port
	env["GATEHOUSE_SECRET_KEY"] = secretKey
	p := start(t, env, "server")
	p.waitLog("postgresql is not reachable, retrying", 15*time.Second)
	resp, body := get(t, nil, p.url("http")+"/-/health/ready/")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "waiting for postgresql") {
		t.Errorf("ready while the database is down: %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, nil, p.url("http")+"/-/health/live/"); resp.StatusCode != 200 {
		t.Errorf("live while the database is down: %d", resp.StatusCode)
	}
	if resp, body := get(t, nil, p.url("http")+"/anything"); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a core route while starting: %d %s", resp.StatusCode, body)
	}
	if code := p.stop(syscall.SIGTERM, 15*time.Second); code != 0 {
		t.Errorf("exit status = %d", code)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
