package e2e

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// With redis.* configured, readiness includes Redis.
func TestRedisReadiness(t *testing.T) {
	u, err := url.Parse(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	env := baseEnv(t.TempDir())
	env["GATEHOUSE_REDIS__HOST"] = u.Hostname()
	env["GATEHOUSE_REDIS__PORT"] = u.Port()
	p := start(t, env, "server")
	p.waitReady(30 * time.Second)
	_, body := get(t, nil, p.url("http")+"/-/health/ready/")
	if !strings.Contains(string(body), `"redis":"ok"`) {
		t.Errorf("ready body lacks the redis check: %s", body)
	}
	p.stop(syscall.SIGTERM, 30*time.Second)

	// A configured Redis that does not answer makes the server unready.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	env["GATEHOUSE_REDIS__PORT"] = fmt.Sprint(port)
	p = start(t, env, "server")
	p.waitLog("ready", 30*time.Second)
	resp, body := get(t, nil, p.url("http")+"/-/health/ready/")
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"redis":`) || strings.Contains(string(body), `"redis":"ok"`) {
		t.Errorf("ready with Redis down: %d %s", resp.StatusCode, body)
	}
	p.stop(syscall.SIGTERM, 30*time.Second)
}
