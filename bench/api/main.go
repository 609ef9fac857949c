// Command api measures the admin API's figures on the built binary
// (docs/benchmarks.md): with N users seeded, the latency of listing a page
// of 100 with a search term, and the throughput of a token-authenticated
// GET /api/v3/core/users/me/ driven by wrk.
//
//	go run ./bench/api -bin bin/gatehouse -users 100000 [-postgres URL-of-an-empty-database]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/bench/server"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

const token = "bench-admin-token-0123456789abcdef"

func main() {
	bin := flag.String("bin", "bin/gatehouse", "gatehouse binary")
	users := flag.Int("users", 100000, "users to seed")
	pg := flag.String("postgres", "", "URL of an empty PostgreSQL database (default: embedded SQLite)")
	dur := flag.Duration("duration", 10*time.Second, "wrk duration for /me")
	conns := flag.Int("connections", 32, "wrk connections")
	flag.Parse()
	ctx := context.Background()

	dir, err := os.MkdirTemp("", "gatehouse-bench-api-")
	check(err)
	defer os.RemoveAll(dir)
	env := []string{"GATEHOUSE_DATA_DIR=" + dir, "GATEHOUSE_LISTEN__HTTPS=", "GATEHOUSE_LISTEN__METRICS=",
		"GATEHOUSE_BOOTSTRAP_TOKEN=" + token}
	var st *sqlstore.Store
	engine := "sqlite"
	if *pg != "" {
		engine = "postgresql"
		u, perr := url.Parse(*pg)
		check(perr)
		pw, _ := u.User.Password()
		env = append(env, "GATEHOUSE_SECRET_KEY=bench-secret-key-0123456789abcdef",
			"GATEHOUSE_POSTGRESQL__HOST="+u.Hostname(), "GATEHOUSE_POSTGRESQL__PORT="+u.Port(),
			"GATEHOUSE_POSTGRESQL__USER="+u.User.Username(), "GATEHOUSE_POSTGRESQL__PASSWORD="+pw,
			"GATEHOUSE_POSTGRESQL__NAME="+strings.TrimPrefix(u.Path, "/"), "GATEHOUSE_POSTGRESQL__SSLMODE=disable")
		st, err = sqlstore.OpenPostgres(ctx, *pg, sqlstore.Options{})
	} else {
		st, err = sqlstore.OpenSQLite(ctx, filepath.Join(dir, "gatehouse.db"), sqlstore.Options{})
	}
	check(err)
	_, err = st.Migrate(ctx, nil)
	check(err)
	_, err = core.Bootstrap(ctx, st, core.BootstrapOptions{Token: token}, nil)
	check(err)
	began := time.Now()
	seed(ctx, st, *users)
	fmt.Printf("engine: %s; seeded %d users in %v\n", engine, *users, time.Since(began).Round(time.Millisecond))
	if *pg != "" {
		// What autovacuum does on a live system after a bulk load: without
		// it the GIN pending list and missing statistics make the planner scan.
		_, err = st.DBs()["primary"].ExecContext(ctx, "VACUUM ANALYZE users")
		check(err)
	}
	check(st.Close())

	srv, err := server.Start(*bin, env...)
	check(err)
	defer srv.Stop()
	base := srv.Base

	client := &http.Client{Timeout: 10 * time.Second}
	for _, term := range []string{"user04242", "user123", "user5", "example.com"} {
		var ds []time.Duration
		var total int
		for range 100 {
			t0 := time.Now()
			total = listOnce(client, base, term)
			ds = append(ds, time.Since(t0))
		}
		slices.Sort(ds)
		fmt.Printf("list page_size=100 search=%-12q (%6d matches): p50 %v, p90 %v, p99 %v\n", term, total,
			ds[49].Round(10*time.Microsecond), ds[89].Round(10*time.Microsecond), ds[98].Round(10*time.Microsecond))
	}

	wrk, err := exec.LookPath("wrk")
	if err != nil {
		fmt.Println("wrk not installed: skipping the /me throughput run")
		return
	}
	out, err := exec.Command(wrk, "-t2", fmt.Sprintf("-c%d", *conns), "-d"+dur.String(), "--latency",
		"-H", "Authorization: Bearer "+token, base+"/api/v3/core/users/me/").CombinedOutput()
	check(err)
	rps := regexp.MustCompile(`Requests/sec:\s+([\d.]+)`).FindSubmatch(out)
	non2xx := regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`).FindSubmatch(out)
	if non2xx != nil {
		fmt.Printf("wrk saw %s non-2xx responses\n", non2xx[1])
	}
	if rps != nil {
		fmt.Printf("GET /api/v3/core/users/me/ (token auth), wrk -t2 -c%d -d%v: %s req/s\n", *conns, *dur, rps[1])
	}
	fmt.Print(string(regexp.MustCompile(`(?s)Latency Distribution.*?99%.*?\n`).Find(out)))
}

func seed(ctx context.Context, st store.Store, n int) {
	const batch = 5000
	for from := 0; from < n; from += batch {
		check(st.InTx(ctx, func(tx store.Store) error {
			for i := from; i < min(from+batch, n); i++ {
				u := &store.User{Username: fmt.Sprintf("user%05d", i), Name: fmt.Sprintf("Bench User %d", i),
					Email: fmt.Sprintf("user%05d@example.com", i), IsActive: true}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
			}
			return nil
		}))
	}
}

func listOnce(c *http.Client, base, term string) int {
	req, _ := http.NewRequest("GET", base+"/api/v3/core/users/?page_size=100&search="+url.QueryEscape(term), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	check(err)
	defer resp.Body.Close()
	var body struct {
		Pagination struct {
			Count int `json:"count"`
		} `json:"pagination"`
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		check(fmt.Errorf("list: %d %s", resp.StatusCode, b))
	}
	check(json.NewDecoder(resp.Body).Decode(&body))
	return body.Pagination.Count
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
