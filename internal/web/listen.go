package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Timeouts are the HTTP server's timeouts.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// Listener is one bound socket with the server that will serve it.
type Listener struct {
	Name string // "http", "https", "metrics"
	ln   net.Listener
	srv  *http.Server
}

// Addr is the bound address (useful with port 0).
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Listen binds addr now, so a port in use fails start-up at once with an
// error naming the setting. tlsConf may be nil.
func Listen(name, setting, addr string, h http.Handler, tlsConf *tls.Config, t Timeouts, log *slog.Logger) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		var se interface{ Unwrap() error }
		cause := err
		if errors.As(err, &se) {
			cause = se.Unwrap()
		}
		return nil, fmt.Errorf("%s: cannot listen on %s: %w", setting, addr, cause)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(log.With("listener", name).Handler(), slog.LevelWarn),
	}
	return &Listener{Name: name, ln: ln, srv: srv}, nil
}

// Serve blocks until the listener is shut down. A clean shutdown returns nil.
func (l *Listener) Serve() error {
	err := l.srv.Serve(l.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for in-flight requests until ctx ends,
// then closes what is left.
func (l *Listener) Shutdown(ctx context.Context) error {
	err := l.srv.Shutdown(ctx)
	if err != nil {
		_ = l.srv.Close()
	}
	return err
}

// MetricsHandler serves the registry in the Prometheus text format.
func MetricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		Registry: reg,
	}))
	return mux
}
