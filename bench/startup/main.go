// Command startup measures the foundation's figures on the built binary:
// start-to-ready time (empty and existing database) and resident memory after
// start-up and 100 health requests. See docs/benchmarks.md.
//
//	go run ./bench/startup -bin bin/gatehouse -runs 20 [-postgres URL]
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/bench/server"
)

func main() {
	bin := flag.String("bin", "bin/gatehouse", "gatehouse binary")
	runs := flag.Int("runs", 20, "start-ups to time")
	pg := flag.String("postgres", os.Getenv("GATEHOUSE_TEST_POSTGRES_URL"), "PostgreSQL URL of an empty database to also measure (optional)")
	flag.Parse()

	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	check(err)
	defer os.RemoveAll(dir)

	fmt.Printf("binary: %s\n", *bin)
	embedded := func(data string) []string { return []string{"GATEHOUSE_DATA_DIR=" + data} }

	// Empty data dir each time: creates the DB, migrates, bootstraps.
	var cold []time.Duration
	for i := range *runs {
		d, _ := startAndStop(*bin, embedded(filepath.Join(dir, fmt.Sprintf("cold-%d", i))), 0)
		cold = append(cold, d)
	}
	report("embedded, empty data dir: start to ready", cold)

	// Existing database.
	warmDir := filepath.Join(dir, "warm")
	startAndStop(*bin, embedded(warmDir), 0)
	var warm []time.Duration
	for range *runs {
		d, _ := startAndStop(*bin, embedded(warmDir), 0)
		warm = append(warm, d)
	}
	report("embedded, existing database: start to ready", warm)

	_, rss := startAndStop(*bin, embedded(warmDir), 100)
	fmt.Printf("embedded, RSS after start-up and 100 health requests: %.1f MiB\n", float64(rss)/1024)

	if *pg != "" {
		u, err := url.Parse(*pg)
		check(err)
		pw, _ := u.User.Password()
		env := []string{
			"GATEHOUSE_DATA_DIR=" + filepath.Join(dir, "pg"),
			"GATEHOUSE_SECRET_KEY=bench-secret-key-0123456789abcdef",
			"GATEHOUSE_POSTGRESQL__HOST=" + u.Hostname(), "GATEHOUSE_POSTGRESQL__PORT=" + u.Port(),
			"GATEHOUSE_POSTGRESQL__USER=" + u.User.Username(), "GATEHOUSE_POSTGRESQL__PASSWORD=" + pw,
			"GATEHOUSE_POSTGRESQL__NAME=" + strings.TrimPrefix(u.Path, "/"), "GATEHOUSE_POSTGRESQL__SSLMODE=disable",
		}
		startAndStop(*bin, env, 0)
		var pgRuns []time.Duration
		for range *runs {
			d, _ := startAndStop(*bin, env, 0)
			pgRuns = append(pgRuns, d)
		}
		report("postgresql, existing schema: start to ready", pgRuns)
		_, rss := startAndStop(*bin, env, 100)
		fmt.Printf("postgresql, RSS after start-up and 100 health requests: %.1f MiB\n", float64(rss)/1024)
	}
}

// startAndStop starts the server, times it to the first 200 from
// /-/health/ready/, sends `requests` more health requests, reads VmRSS (KiB),
// and stops it with SIGTERM.
// startAndStop starts the server, times it to ready, sends `requests` more
// health requests, reads VmRSS (KiB), and stops it.
func startAndStop(bin string, env []string, requests int) (time.Duration, int) {
	p, err := server.Start(bin, env...)
	check(err)
	defer p.Stop()
	client := &http.Client{Timeout: time.Second}
	for range requests {
		resp, err := client.Get(p.Base + "/-/health/ready/")
		check(err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	rss := 0
	if requests > 0 {
		time.Sleep(200 * time.Millisecond) // let the worker's first run and GC settle
		rss = vmRSS(p.Cmd.Process.Pid)
	}
	return p.Ready, rss
}

func vmRSS(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	check(err)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, err := strconv.Atoi(strings.Fields(line)[1])
			check(err)
			return n
		}
	}
	return 0
}

func report(name string, ds []time.Duration) {
	slices.Sort(ds)
	p := func(q float64) time.Duration { return ds[int(q*float64(len(ds)-1))] }
	fmt.Printf("%s: min %v, median %v, p90 %v, max %v (n=%d)\n", name,
		ds[0].Round(100*time.Microsecond), p(0.5).Round(100*time.Microsecond),
		p(0.9).Round(100*time.Microsecond), ds[len(ds)-1].Round(100*time.Microsecond), len(ds))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
