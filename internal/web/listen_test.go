package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Shutdown stops accepting at once and lets an in-flight request finish.
func TestShutdownDrainsInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	l, err := Listen("http", "listen.http", "127.0.0.1:0", h, nil, Timeouts{ReadHeader: time.Second, Read: 5 * time.Second, Write: 5 * time.Second, Idle: time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- l.Serve() }()
	url := "http://" + l.Addr().String() + "/"

	body := make(chan string, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body <- string(b)
	}()
	<-entered
	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdown <- l.Shutdown(ctx)
	}()
	// New connections are refused while the old request drains.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := &http.Client{Timeout: 200 * time.Millisecond}
		if _, err := c.Get(url); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("still accepting after Shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if got := <-body; got != "finished" {
		t.Errorf("in-flight request got %q", got)
	}
	if err := <-shutdown; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestListenPortInUse(t *testing.T) {
	l, err := Listen("http", "listen.http", "127.0.0.1:0", http.NotFoundHandler(), nil, Timeouts{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Shutdown(context.Background())
	_, err = Listen("http", "listen.http", l.Addr().String(), http.NotFoundHandler(), nil, Timeouts{}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "listen.http: cannot listen on") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("err = %v", err)
	}
}
