package config

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	cfg, err := Load(Options{Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Default(), *cfg); diff != "" {
		t.Errorf("Load with nothing set differs from Default():\n%s", diff)
	}
	if !cfg.Embedded() || cfg.RedisEnabled() {
		t.Error("defaults should be embedded without Redis")
	}
	if cfg.Listen.HTTP != "0.0.0.0:9000" || cfg.Listen.HTTPS != "0.0.0.0:9443" || cfg.Listen.Metrics != "0.0.0.0:9300" || cfg.DataDir != "./data" {
		t.Errorf("default listeners/data dir: %+v %s", cfg.Listen, cfg.DataDir)
	}
}

func TestLayers(t *testing.T) {
	file := writeFile(t, `
log_level: debug
postgresql:
  host: file-host
  port: 6543
  name: fromfile
listen:
  trusted_proxy_cidrs: [10.0.0.0/8]
web:
  timeout_http_read: 45s
`)
	cfg, err := Load(Options{File: file, Environ: []string{
		"AUTHENTIK_POSTGRESQL__HOST=authentik-host",
		"GATEHOUSE_POSTGRESQL__HOST=gatehouse-host", // GATEHOUSE_ wins
		"AUTHENTIK_POSTGRESQL__USER=ak-user",        // AUTHENTIK_ beats the file and defaults
		"GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS=192.0.2.0/24, 2001:db8::/32",
		"GATEHOUSE_REDIS__TLS=true",
		"GATEHOUSE_SECRET_KEY=0123456789abcdef0123",
		"GATEHOUSE_TEST_POSTGRES_URL=postgres://ignored", // test variables are not keys
		"UNRELATED=1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.LogLevel = "debug"
	want.SecretKey = "0123456789abcdef0123"
	want.PostgreSQL.Host, want.PostgreSQL.Port, want.PostgreSQL.Name, want.PostgreSQL.User = "gatehouse-host", 6543, "fromfile", "ak-user"
	want.Listen.TrustedProxyCIDRs = []string{"192.0.2.0/24", "2001:db8::/32"}
	want.Redis.TLS = true
	want.Web.TimeoutHTTPRead = 45 * time.Second
	if diff := cmp.Diff(want, *cfg); diff != "" {
		t.Errorf("merged config (-want +got):\n%s", diff)
	}
	if cfg.Embedded() {
		t.Error("postgresql.host is set: not embedded")
	}
	if got := len(cfg.TrustedProxies()); got != 2 {
		t.Errorf("TrustedProxies: %d", got)
	}
}

func TestConfigFileFromEnv(t *testing.T) {
	file := writeFile(t, "log_level: error\n")
	cfg, err := Load(Options{Environ: []string{EnvConfigFile + "=" + file}})
	if err != nil || cfg.LogLevel != "error" {
		t.Fatalf("Load = %v, %v", cfg, err)
	}
}

func TestIndirection(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(Options{Environ: []string{
		"GATEHOUSE_SECRET_KEY=file://" + secret,
		"AUTHENTIK_POSTGRESQL__PASSWORD=env://POSTGRES_PASSWORD",
		"POSTGRES_PASSWORD=pg-pass",
		"GATEHOUSE_EMAIL__USERNAME=env://MISSING_VAR?fallback-user",
		"GATEHOUSE_EMAIL__FROM=file:///does/not/exist?noreply@example.com",
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{cfg.SecretKey.Reveal(), cfg.PostgreSQL.Password.Reveal(), cfg.Email.Username, cfg.Email.From}
	want := []string{"from-a-file-0123456789", "pg-pass", "fallback-user", "noreply@example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved values:\n%s", diff)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		environ []string
		want    []string
	}{
		{"unknown file key", "postgresql:\n  hots: x\n", nil, []string{`unknown configuration key "postgresql.hots"`, "config file"}},
		{"unknown top-level key", "colour: blue\n", nil, []string{`"colour"`}},
		{"key below a scalar", "log_level:\n  nested: x\n", nil, []string{`"log_level.nested"`}},
		{"unknown env key", "", []string{"GATEHOUSE_LISTEN__HTTPZ=x"}, []string{`"listen.httpz"`, "GATEHOUSE_"}},
		{"unknown authentik key", "", []string{"AUTHENTIK_NOT_A_SETTING=1"}, []string{`"not_a_setting"`, "AUTHENTIK_"}},
		{"bad int", "", []string{"GATEHOUSE_REDIS__PORT=abc"}, []string{"redis.port"}},
		{"bad bool", "", []string{"GATEHOUSE_EMAIL__USE_TLS=maybe"}, []string{"email.use_tls"}},
		{"bad duration", "", []string{"GATEHOUSE_WEB__TIMEOUT_HTTP_IDLE=forever"}, []string{"timeout_http_idle"}},
		{"negative duration", "", []string{"GATEHOUSE_WEB__SHUTDOWN_TIMEOUT=-1s"}, []string{"web.shutdown_timeout"}},
		{"bad level", "", []string{"GATEHOUSE_LOG_LEVEL=loud"}, []string{"log_level", `"loud"`}},
		{"short secret", "", []string{"GATEHOUSE_SECRET_KEY=short"}, []string{"secret_key"}},
		{"short token", "", []string{"GATEHOUSE_BOOTSTRAP_TOKEN=short"}, []string{"bootstrap_token"}},
		{"bad sslmode", "", []string{"GATEHOUSE_POSTGRESQL__SSLMODE=yes"}, []string{"postgresql.sslmode"}},
		{"tls and ssl", "", []string{"GATEHOUSE_EMAIL__USE_TLS=true", "GATEHOUSE_EMAIL__USE_SSL=true"}, []string{"email.use_ssl"}},
		{"missing env target", "", []string{"GATEHOUSE_SECRET_KEY=env://NOPE"}, []string{"secret_key", "NOPE"}},
		{"missing file target", "", []string{"GATEHOUSE_SECRET_KEY=file:///nope/nope"}, []string{"secret_key", "/nope/nope"}},
		{"bad queue", "", []string{"GATEHOUSE_WORKER__QUEUE=kafka"}, []string{"worker.queue", `"kafka"`}},
		{"redis queue without redis", "", []string{"GATEHOUSE_WORKER__QUEUE=redis"}, []string{"worker.queue", "redis.host"}},
		{"no concurrency", "", []string{"GATEHOUSE_WORKER__CONCURRENCY=0"}, []string{"worker.concurrency"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Environ: tc.environ}
			if opts.Environ == nil {
				opts.Environ = []string{}
			}
			if tc.file != "" {
				opts.File = writeFile(t, tc.file)
			}
			_, err := Load(opts)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestIgnoredAuthentikKeysWarn(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	cfg, err := Load(Options{Logger: log, Environ: []string{
		"AUTHENTIK_ERROR_REPORTING__ENABLED=true",
		"AUTHENTIK_WEB__WORKERS=4",
		"AUTHENTIK_POSTGRESQL__READ_REPLICAS__0__HOST=replica",
		"AUTHENTIK_SECRET_KEY=0123456789abcdef0123",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SecretKey.Reveal() != "0123456789abcdef0123" {
		t.Error("AUTHENTIK_SECRET_KEY not applied")
	}
	for _, k := range []string{"error_reporting.enabled", "web.workers", "postgresql.read_replicas.0.host"} {
		if !strings.Contains(buf.String(), "key="+k) {
			t.Errorf("no warning for %s:\n%s", k, buf.String())
		}
	}
}

func TestSecretsRedacted(t *testing.T) {
	cfg := Default()
	cfg.SecretKey = "super-secret-value"
	cfg.PostgreSQL.Password = "pw"
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "secret", cfg.SecretKey, "cfg", cfg)
	if strings.Contains(buf.String(), "super-secret-value") || strings.Contains(buf.String(), `"pw"`) {
		t.Errorf("secret in log output: %s", buf.String())
	}
	m := cfg.Redacted()
	if m["secret_key"] != "********" || m["postgresql"].(map[string]any)["password"] != "********" {
		t.Errorf("Redacted() = %v", m)
	}
	if m["bootstrap_password"] != "" {
		t.Errorf("an empty secret should print empty, got %v", m["bootstrap_password"])
	}
}

// worker.embedded runs the worker inside the server on PostgreSQL.
func TestWorkerEmbedded(t *testing.T) {
	cfg, err := Load(Options{Environ: []string{"GATEHOUSE_WORKER__EMBEDDED=true"}})
	if err != nil || !cfg.Worker.Embedded {
		t.Fatalf("Load = %+v, %v", cfg.Worker, err)
	}
	if cfg, _ := Load(Options{}); cfg.Worker.Embedded {
		t.Error("embedded by default")
	}
}
