// Package web is Gatehouse's HTTP front: the router with its middleware
// (request id, trusted-proxy client IP, body limit, security headers, logs and
// metrics), the health endpoints, and the listeners.
//
// Until the core is ready (database reachable, migrations applied, bootstrap
// done) every route but the health endpoints answers 503 with Retry-After, as
// authentik's router does while its core starts.
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Check is one readiness check; a nil error means healthy.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Server builds the router. Fill the exported fields, then call Handler.
type Server struct {
	Log            *slog.Logger
	Registry       prometheus.Registerer
	TrustedProxies []netip.Prefix
	// Checks run on every /-/health/ready/ request, after the started flag.
	Checks []Check
	// Mount adds the core's routes (API, flows, protocols) to the router.
	Mount func(r chi.Router)

	started atomic.Bool
	// startErr is what readiness reports while not started.
	startErr atomic.Value
	metrics  *httpMetrics
}

// SetStarted marks the core ready (or not) to serve.
func (s *Server) SetStarted(ok bool) { s.started.Store(ok) }

// SetStartupStatus records why the core is not ready yet, for readiness.
func (s *Server) SetStartupStatus(msg string) { s.startErr.Store(msg) }

// Handler returns the router.
func (s *Server) Handler() http.Handler {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	s.metrics = newHTTPMetrics(s.Registry)
	r := chi.NewRouter()
	r.Use(s.requestMeta, s.observe, securityHeaders, limitBody)
	r.NotFound(s.gate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "not found")
	})).ServeHTTP)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusMethodNotAllowed, "method not allowed")
	})
	r.Get("/-/health/live/", s.live)
	r.Head("/-/health/live/", s.live)
	r.Get("/-/health/ready/", s.ready)
	r.Head("/-/health/ready/", s.ready)
	r.Group(func(r chi.Router) {
		r.Use(s.gate)
		if s.Mount != nil {
			s.Mount(r)
		}
	})
	return r
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyReport is the body of /-/health/ready/.
type readyReport struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	rep := readyReport{Status: "ok", Checks: map[string]string{}}
	if !s.started.Load() {
		rep.Status = "unavailable"
		msg, _ := s.startErr.Load().(string)
		if msg == "" {
			msg = "starting"
		}
		rep.Checks["startup"] = msg
	} else {
		rep.Checks["startup"] = "ok"
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for _, c := range s.Checks {
		if err := c.Fn(ctx); err != nil {
			rep.Status = "unavailable"
			rep.Checks[c.Name] = err.Error()
		} else {
			rep.Checks[c.Name] = "ok"
		}
	}
	status := http.StatusOK
	if rep.Status != "ok" {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	}
	writeJSON(w, status, rep)
}

// gate answers 503 until the core is ready.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.started.Load() {
			w.Header().Set("Retry-After", "5")
			writeError(w, r, http.StatusServiceUnavailable, "gatehouse starting")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes authentik's error shape {"detail": ...} (DRF) with the
// request id, so a user can quote it to an admin.
func writeError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg, "request_id": RequestID(r.Context())})
}
