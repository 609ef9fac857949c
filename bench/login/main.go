// Command login measures logins through the flow executor API on the built
// binary (docs/benchmarks.md): full logins per second (identification,
// password, user_login, redirect) with the default argon2id parameters, and
// the server CPU per login spent outside the password hash, measured with a
// cheap hash on the same user.
//
//	go run ./bench/login -bin bin/gatehouse -duration 10s -workers 4
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/password"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

const pw = "bench-password-0123456789"

func main() {
	bin := flag.String("bin", "bin/gatehouse", "gatehouse binary")
	dur := flag.Duration("duration", 10*time.Second, "duration of each run")
	workers := flag.Int("workers", 4, "concurrent clients")
	flag.Parse()
	dir, err := os.MkdirTemp("", "gatehouse-bench-login-")
	check(err)
	defer os.RemoveAll(dir)

	cmd, base := start(*bin, dir)
	logins, cpu := run(base, cmd.Process.Pid, *dur, *workers)
	p := password.DefaultParams
	fmt.Printf("default argon2id (m=%d KiB, t=%d, p=%d): %.1f logins/s with %d workers, server CPU %.2f ms per login\n",
		p.MemoryKiB, p.Time, p.Threads, logins, *workers, cpu)
	stop(cmd)

	// The same user with a cheap hash (argon2id m=64 KiB, t=1): what remains
	// is the flow engine's own cost.
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "gatehouse.db"), sqlstore.Options{})
	check(err)
	u, err := st.UserByUsername(context.Background(), "akadmin")
	check(err)
	u.PasswordHash, err = password.HashWith(pw, password.Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	check(err)
	check(st.UpdateUser(context.Background(), u))
	check(st.Close())
	cmd, base = start(*bin, dir)
	logins, cpu = run(base, cmd.Process.Pid, *dur, *workers)
	fmt.Printf("cheap hash (argon2id m=64 KiB, t=1): %.1f logins/s with %d workers, server CPU %.2f ms per login (outside the hash)\n",
		logins, *workers, cpu)
	stop(cmd)
}

func start(bin, dir string) (*exec.Cmd, string) {
	cmd := exec.Command(bin, "server")
	cmd.Env = append(os.Environ(), "GATEHOUSE_DATA_DIR="+dir, "GATEHOUSE_LISTEN__HTTP=127.0.0.1:0",
		"GATEHOUSE_LISTEN__HTTPS=", "GATEHOUSE_LISTEN__METRICS=", "GATEHOUSE_LOG_LEVEL=info",
		"GATEHOUSE_BOOTSTRAP_PASSWORD="+pw)
	stderr, err := cmd.StderrPipe()
	check(err)
	check(cmd.Start())
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "listening" && m["listener"] == "http" {
				addr <- m["address"].(string)
			}
		}
	}()
	base := "http://" + <-addr
	for i := 0; i < 3000; i++ {
		if resp, err := http.Get(base + "/-/health/ready/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, base
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	check(fmt.Errorf("not ready"))
	return nil, ""
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
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
