// Command login measures logins through the flow executor API on the built
// binary (docs/benchmarks.md): full logins per second (identification,
// password, user_login, redirect) with the default argon2id parameters, and
// the server CPU per login spent outside the password hash (the server's CPU
// per login minus one argon2id verification's CPU, measured in this process
// right after each run, so that both see the same load on a shared machine).
//
//	go run ./bench/login -bin bin/gatehouse -duration 10s -workers 4 -runs 3 [-postgres URL]
//
// With -benchhash it builds a benchmark binary instead (go build -tags
// benchhash: new hashes, the seeded admin's included, are a cheap argon2id),
// so the server's CPU per login (utime+stime from /proc/<pid>/stat over the
// run) is the CPU outside the hash, measured directly, give or take one
// 64 KiB verification (also printed):
//
//	go run ./bench/login -benchhash -duration 10s -workers 1 -runs 3 [-postgres URL]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse-idp/gatehouse/bench/server"
	"github.com/gatehouse-idp/gatehouse/internal/password"
)

const pw = "bench-password-0123456789"

func main() {
	bin := flag.String("bin", "bin/gatehouse", "gatehouse binary")
	dur := flag.Duration("duration", 10*time.Second, "duration of each run")
	workers := flag.Int("workers", 4, "concurrent clients")
	runs := flag.Int("runs", 1, "timed runs against the same server")
	pg := flag.String("postgres", "", "URL of an empty PostgreSQL database (default: embedded SQLite)")
	benchHash := flag.Bool("benchhash", false, "run a benchmark build with a cheap hash: -bin if given (it must be built with -tags benchhash), "+
		"else one built here (go build -tags benchhash ./cmd/gatehouse, from the module root)")
	flag.Parse()
	binSet := false
	flag.Visit(func(f *flag.Flag) { binSet = binSet || f.Name == "bin" })
	dir, err := os.MkdirTemp("", "gatehouse-bench-login-")
	check(err)
	defer os.RemoveAll(dir)

	p, verifications := password.DefaultParams, 20
	if *benchHash {
		if !binSet {
			*bin = filepath.Join(dir, "gatehouse-benchhash")
			build := exec.Command("go", "build", "-tags", "benchhash", "-o", *bin, "./cmd/gatehouse")
			build.Stdout, build.Stderr = os.Stderr, os.Stderr
			check(build.Run())
		}
		check(isBenchBuild(*bin))
		p, verifications = password.BenchParams, 2000
	}
	srv := start(*bin, dir, *pg)
	defer srv.Stop()
	h, err := password.HashWith(pw, p)
	check(err)
	var rates, cpus, outside []float64
	for i := range *runs {
		logins, cpu := run(srv.Base, srv.Cmd.Process.Pid, *dur, *workers)
		verify := verifyMillis(h, verifications)
		if *benchHash {
			fmt.Printf("run %d, benchmark build (argon2id m=%d KiB, t=%d): %.1f logins/s with %d workers, server CPU per login %.2f ms "+
				"(of which one verification of the cheap hash: %.2f ms)\n", i+1, p.MemoryKiB, p.Time, logins, *workers, cpu, verify)
		} else {
			fmt.Printf("run %d, default argon2id (m=%d KiB, t=%d, p=%d): %.1f logins/s with %d workers, server CPU %.2f ms per login; "+
				"one argon2id verification %.2f ms CPU; server CPU per login outside the hash: %.2f ms\n",
				i+1, p.MemoryKiB, p.Time, p.Threads, logins, *workers, cpu, verify, cpu-verify)
		}
		rates, cpus, outside = append(rates, logins), append(cpus, cpu), append(outside, cpu-verify)
	}
	if *benchHash {
		fmt.Printf("%d runs, %d workers, benchmark build: %s logins/s; %s ms server CPU per login (cheap hash included)\n",
			*runs, *workers, span(rates, 1), span(cpus, 2))
		return
	}
	fmt.Printf("%d runs: %s logins/s; %s ms server CPU per login outside the hash\n", *runs, span(rates, 1), span(outside, 2))
}

// verifyMillis is the CPU of one argon2id verification of h, measured in
// this process the same way as the server's (process CPU time) over n
// verifications (the cheap hash needs many for the clock's resolution): it
// is subtracted to get the flow engine's own cost.
func verifyMillis(h string, n int) float64 {
	var ru0, ru1 syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru0))
	for range n {
		if ok, _, err := password.Verify(pw, h); !ok || err != nil {
			check(fmt.Errorf("verify: %v", err))
		}
	}
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru1))
	return (tvMillis(ru1.Utime) + tvMillis(ru1.Stime) - tvMillis(ru0.Utime) - tvMillis(ru0.Stime)) / float64(n)
}

// isBenchBuild checks that bin was built with -tags benchhash (its build
// settings, as `go version -m` prints them).
func isBenchBuild(bin string) error {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		return fmt.Errorf("go version -m %s: %w", bin, err)
	}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "-tags=") &&
			slices.Contains(strings.Split(strings.TrimPrefix(f[1], "-tags="), ","), "benchhash") {
			return nil
		}
	}
	return fmt.Errorf("%s is not a benchmark build (go build -tags benchhash)", bin)
}

// span formats the range of vs ("lo-hi", or one value).
func span(vs []float64, decimals int) string {
	lo, hi := slices.Min(vs), slices.Max(vs)
	if lo == hi {
		return strconv.FormatFloat(lo, 'f', decimals, 64)
	}
	return strconv.FormatFloat(lo, 'f', decimals, 64) + "-" + strconv.FormatFloat(hi, 'f', decimals, 64)
}

func tvMillis(tv syscall.Timeval) float64 { return float64(tv.Sec)*1000 + float64(tv.Usec)/1000 }

func start(bin, dir, pg string) *server.Process {
	env := []string{"GATEHOUSE_DATA_DIR=" + dir, "GATEHOUSE_LISTEN__HTTPS=", "GATEHOUSE_LISTEN__METRICS=",
		"GATEHOUSE_BOOTSTRAP_PASSWORD=" + pw}
	if pg != "" {
		pgEnv, err := server.PostgresEnv(pg)
		check(err)
		env = append(env, pgEnv...)
	}
	p, err := server.Start(bin, env...)
	check(err)
	return p
}

// login runs one full login with a fresh cookie jar.
func login(base string) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	u := base + "/api/v3/flows/executor/default-authentication-flow/"
	step := func(method string, body map[string]any) (map[string]any, error) {
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, u, rd)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var out map[string]any
		return out, json.NewDecoder(resp.Body).Decode(&out)
	}
	if _, err := step("GET", nil); err != nil {
		return err
	}
	if _, err := step("POST", map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"}); err != nil {
		return err
	}
	out, err := step("POST", map[string]any{"component": "ak-stage-password", "password": pw})
	if err != nil {
		return err
	}
	if out["component"] != "xak-flow-redirect" {
		return fmt.Errorf("login ended with %v", out)
	}
	return nil
}

// run drives logins for d and returns logins/s and server CPU ms per login.
func run(base string, pid int, d time.Duration, workers int) (float64, float64) {
	var n atomic.Int64
	cpu0 := cpuMillis(pid)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	began := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				check(login(base))
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	cpu := cpuMillis(pid) - cpu0
	return float64(n.Load()) / elapsed.Seconds(), cpu / float64(n.Load())
}

// cpuMillis is the process's user+system CPU time (from /proc).
func cpuMillis(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	check(err)
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	stt, _ := strconv.ParseFloat(f[12], 64)
	return (ut + stt) * 1000 / 100 // clock ticks are 1/100 s on Linux
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
