// Package server starts the built gatehouse binary for the load scripts in
// bench/: on free loopback ports, learning the HTTP address from its log.
package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Process is a running gatehouse server.
type Process struct {
	Cmd  *exec.Cmd
	Base string // http://127.0.0.1:port
	// Ready is how long it took from exec to the first 200 from /-/health/ready/.
	Ready time.Duration
}

// Start runs `bin server` with env added to this process's environment (the
// listeners on 127.0.0.1:0 unless env says otherwise) and waits until it is ready.
func Start(bin string, env ...string) (*Process, error) {
	cmd := exec.Command(bin, "server")
	cmd.Env = append(os.Environ(), "GATEHOUSE_LISTEN__HTTP=127.0.0.1:0", "GATEHOUSE_LISTEN__HTTPS=127.0.0.1:0",
		"GATEHOUSE_LISTEN__METRICS=127.0.0.1:0", "GATEHOUSE_LOG_LEVEL=info")
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
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
	p := &Process{Cmd: cmd}
	select {
	case a := <-addr:
		p.Base = "http://" + a
	case <-time.After(30 * time.Second):
		p.Stop()
		return nil, errors.New("gatehouse did not bind its HTTP listener within 30s")
	}
	client := &http.Client{Timeout: time.Second}
	for time.Since(began) < 60*time.Second {
		if resp, err := client.Get(p.Base + "/-/health/ready/"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.Ready = time.Since(began)
				return p, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	p.Stop()
	return nil, errors.New("gatehouse was not ready within 60s")
}

// Stop sends SIGTERM and waits.
func (p *Process) Stop() {
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	_ = p.Cmd.Wait()
}
