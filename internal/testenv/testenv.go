// Package testenv gives tests the external services they need: a fresh
// PostgreSQL database, a Redis URL, a tool on PATH. Without the service a test
// is skipped, except under CI=true, where it fails: CI must run everything.
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
)

// Env names read by this package.
const (
	EnvPostgres = "GATEHOUSE_TEST_POSTGRES_URL"
	EnvRedis    = "GATEHOUSE_TEST_REDIS_URL"
)

// CI reports whether tests run under CI=true, where nothing may be skipped.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing skips t, or fails it under CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg)
}

// PostgresDB creates a new, empty database on the server named by
// GATEHOUSE_TEST_POSTGRES_URL, drops it when the test ends, and returns its URL.
func PostgresDB(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		Missing(t, "%s is not set", EnvPostgres)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPostgres, err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "gatehouse_test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		if CI() {
			t.Fatalf("create test database: %v", err)
		}
		t.Skipf("PostgreSQL at %s is not usable: %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}

// RedisURL returns GATEHOUSE_TEST_REDIS_URL, or skips (fails under CI).
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvRedis)
	if u == "" {
		Missing(t, "%s is not set", EnvRedis)
	}
	return u
}

// Tool returns the path of a program on PATH, or skips (fails under CI).
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not installed", name)
	}
	return p
}

// PostgresParts splits a postgres:// URL into host, port, user, password and
// database, for tests that configure Gatehouse with postgresql.* keys.
func PostgresParts(t testing.TB, rawURL string) (host, port, user, password, db string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parse %q: %v", rawURL, err)
	}
	host, port = u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	user = u.User.Username()
	password, _ = u.User.Password()
	db = strings.TrimPrefix(u.Path, "/")
	return
}
