package e2e

import (
	"context"
	"net"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// redisServer is a private redis-server the test can stop and start again
// on the same port: no persistence, so a restart loses every key, as a
// Redis without appendonly does in production.
type redisServer struct {
	t    *testing.T
	bin  string
	dir  string
	port string
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis starts redis-server on a free port (skipped without it, failed
// under CI=true).
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin := testenv.Tool(t, "redis-server")
	_, port, err := net.SplitHostPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	r := &redisServer{t: t, bin: bin, dir: t.TempDir(), port: port}
	r.start()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", r.port) }

func (r *redisServer) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "--bind", "127.0.0.1", "--port", r.port, "--save", "",
		"--appendonly", "no", "--dir", r.dir, "--daemonize", "no", "--loglevel", "warning")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	r.done = done
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(done) }(r.cmd)
	rdb := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := rdb.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		select {
		case <-done:
			r.t.Fatalf("redis-server on port %s exited: %v", r.port, err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on port %s does not answer: %v", r.port, err)
		}
	}
}

// stop ends redis-server (SIGTERM, then SIGKILL) and waits for it.
func (r *redisServer) stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

// restart stops the server and starts an empty one on the same port.
func (r *redisServer) restart() {
	r.t.Helper()
	r.stop()
	r.start()
}

// env is the Gatehouse configuration that points at this server.
func (r *redisServer) env() map[string]string {
	return map[string]string{"GATEHOUSE_REDIS__HOST": "127.0.0.1", "GATEHOUSE_REDIS__PORT": r.port}
}
