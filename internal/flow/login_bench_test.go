package flow_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/password"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// BenchmarkLogin is one full login through the executor API in process
// (identification, password, user_login, the redirect: five requests, a
// fresh session each), with a deliberately cheap argon2id so that what is
// measured is the flow engine, the store and the session work around the
// hash: the "CPU per login outside the hash" figure (docs/benchmarks.md).
//
// cpu-ms/op is the process's CPU, client included. The server's share is in
// a CPU profile: the server's goroutines carry the label side=server and the
// client's side=client (the runtime's own, the garbage collector's, carry
// none), so
//
//	go test -run '^$' -bench 'Login$' -cpuprofile cpu.out ./internal/flow/
//	go tool pprof -tags cpu.out
//
// splits the samples (bench/login measures the built binary's server alone).
func BenchmarkLogin(b *testing.B) {
	saved := password.DefaultParams
	password.DefaultParams = password.BenchParams
	b.Cleanup(func() { password.DefaultParams = saved })

	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(b.TempDir(), "gatehouse.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := core.Bootstrap(ctx, st, core.BootstrapOptions{Password: "bench-password"}, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := core.EnsureDefaultFlows(ctx, st); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	events := &event.Recorder{Store: st, Log: log}
	e := &flow.Executor{Store: st, Stages: stageall.Registry(), Log: log, Sessions: &session.Manager{Store: st}, Events: events,
		Policies: policyall.Engine(st, log, events), Definitions: flow.NewDefinitions(nil, 0, nil)}
	r := chi.NewRouter()
	r.Handle("/api/v3/flows/executor/{slug}/", e)
	// Goroutines inherit their creator's labels: the listener's and so
	// every connection's are the server's.
	var srv *httptest.Server
	pprof.Do(ctx, pprof.Labels("side", "server"), func(context.Context) { srv = httptest.NewServer(r) })
	b.Cleanup(srv.Close)
	url := srv.URL + "/api/v3/flows/executor/default-authentication-flow/?query=next%3D%2F"

	step := func(c *http.Client, method, body string) string {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("%s: status %d", method, resp.StatusCode)
		}
		return string(out)
	}
	login := func() string {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		step(c, "GET", "")
		step(c, "POST", `{"component":"ak-stage-identification","uid_field":"akadmin"}`)
		return step(c, "POST", `{"component":"ak-stage-password","password":"bench-password"}`)
	}
	// The client's labels go on the transport's connections, made by the
	// first login.
	clientSide := pprof.WithLabels(ctx, pprof.Labels("side", "client"))
	pprof.SetGoroutineLabels(clientSide)
	defer pprof.SetGoroutineLabels(ctx)
	if last := login(); !strings.Contains(last, `"xak-flow-redirect"`) {
		b.Fatalf("the login did not finish: %s", last)
	}
	// CPU time (client and server) is reported besides wall time: on a
	// shared machine it is the steadier figure.
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	n := 0
	for b.Loop() {
		login()
		n++
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(n), "cpu-ms/op")
}
