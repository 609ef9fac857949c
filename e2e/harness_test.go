// Package e2e starts the built gatehouse binary and drives it from outside,
// as an operator and a client would.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the gatehouse binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	if path := os.Getenv(envWriterChild); path != "" {
		os.Exit(writerChild(path)) // re-executed as the kill -9 victim
	}
	dir, err := os.MkdirTemp("", "gatehouse-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/gatehouse")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building gatehouse:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running gatehouse process.
type proc struct {
	t    testing.TB
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs []map[string]any
	raw  bytes.Buffer
	addr map[string]string
	done chan struct{}
	err  error
}

// baseEnv is a clean environment: no GATEHOUSE_/AUTHENTIK_ variables leak in
// from the test runner, and every listener takes a free port.
func baseEnv(dataDir string) map[string]string {
	return map[string]string{
		"GATEHOUSE_DATA_DIR":        dataDir,
		"GATEHOUSE_LISTEN__HTTP":    "127.0.0.1:0",
		"GATEHOUSE_LISTEN__HTTPS":   "127.0.0.1:0",
		"GATEHOUSE_LISTEN__METRICS": "127.0.0.1:0",
		"GATEHOUSE_LOG_LEVEL":       "debug",
	}
}

func environ(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GATEHOUSE_") || strings.HasPrefix(kv, "AUTHENTIK_") {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// start runs `gatehouse args...` and collects its JSON log lines.
func start(t testing.TB, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, addr: map[string]string{}, done: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = environ(env)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = lockedWriter{p}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var m map[string]any
			p.mu.Lock()
			p.raw.Write(line)
			p.raw.WriteByte('\n')
			if json.Unmarshal(line, &m) == nil {
				p.logs = append(p.logs, m)
				if m["msg"] == "listening" {
					p.addr[m["listener"].(string)] = m["address"].(string)
				}
			}
			p.mu.Unlock()
		}
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("gatehouse %s output:\n%s", strings.Join(args, " "), p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// waitLog waits for a log line whose msg is msg and returns it.
func (p *proc) waitLog(msg string, timeout time.Duration) map[string]any {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, l := range p.logs {
			if l["msg"] == msg {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		select {
		case <-p.done:
			p.t.Fatalf("gatehouse exited (%v) before logging %q", p.err, msg)
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.t.Fatalf("no %q log line within %s", msg, timeout)
	return nil
}

func (p *proc) logsWith(msg string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, l := range p.logs {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// url returns the base URL of a listener, waiting for it to be bound.
func (p *proc) url(listener string) string {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		a := p.addr[listener]
		p.mu.Unlock()
		if a != "" {
			scheme := "http"
			if listener == "https" {
				scheme = "https"
			}
			return scheme + "://" + a
		}
		select {
		case <-p.done:
			p.t.Fatalf("gatehouse exited (%v) before binding %s", p.err, listener)
		case <-time.After(5 * time.Millisecond):
		}
	}
	p.t.Fatalf("listener %s not bound", listener)
	return ""
}

// waitReady polls /-/health/ready/ until 200.
func (p *proc) waitReady(timeout time.Duration) {
	p.t.Helper()
	u := p.url("http") + "/-/health/ready/"
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("gatehouse exited (%v) before ready", p.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	p.t.Fatalf("not ready within %s", timeout)
}

// stop sends sig and waits for the exit status.
func (p *proc) stop(sig syscall.Signal, timeout time.Duration) int {
	p.t.Helper()
	_ = p.cmd.Process.Signal(sig)
	return p.wait(timeout)
}

// wait waits for the process to exit and returns its status.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("gatehouse did not exit within %s", timeout)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		p.t.Fatalf("wait: %v", p.err)
	}
	return 0
}

// runCmd runs gatehouse to completion and returns its exit code and output.
func runCmd(t testing.TB, env map[string]string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = environ(env)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("run gatehouse %v: %v\n%s", args, err, out)
	}
	return 0, string(out)
}

// get fetches a URL and returns the response with its body read.
func get(t testing.TB, client *http.Client, u string) (*http.Response, []byte) {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// lockedWriter appends stdout to the same buffer as the log reader, under its lock.
type lockedWriter struct{ p *proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.raw.Write(b)
}
