// Package config loads Gatehouse's configuration.
//
// Layers, lowest to highest priority:
//
//  1. built-in defaults (Default),
//  2. a YAML file (--config or GATEHOUSE_CONFIG_FILE),
//  3. AUTHENTIK_SECTION__KEY environment variables (so an authentik env file works),
//  4. GATEHOUSE_SECTION__KEY environment variables.
//
// Keys follow authentik's (authentik/lib/default.yml): a double underscore in an
// environment name nests, so GATEHOUSE_POSTGRESQL__HOST is postgresql.host.
// String values of the form env://NAME?default and file:///path?default are
// resolved after merging, as authentik does.
//
// Every key is checked: a key Gatehouse does not know fails loading with an
// error naming the key and where it came from, except authentik settings that
// have no meaning here (IgnoredAuthentikKeys), which are logged and skipped.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Secret is a string that never reaches logs or printed configuration.
type Secret string

// String redacts the value, so fmt and templates cannot leak it.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "********"
}

// LogValue redacts the value in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts the value in JSON, YAML and any other text encoding.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// GoString redacts the value in %#v.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// Reveal returns the real value. Call it only where the secret is used.
func (s Secret) Reveal() string { return string(s) }

// Config is the whole configuration. The koanf tags are the key names.
type Config struct {
	SecretKey Secret `koanf:"secret_key"`
	LogLevel  string `koanf:"log_level"`
	DataDir   string `koanf:"data_dir"`

	PostgreSQL PostgreSQL `koanf:"postgresql"`
	Redis      Redis      `koanf:"redis"`
	Listen     Listen     `koanf:"listen"`
	Web        Web        `koanf:"web"`
	Email      Email      `koanf:"email"`
	Worker     Worker     `koanf:"worker"`

	// BlueprintsDir holds blueprint files (*.yaml, *.yml, recursively) that
	// the worker applies, and re-applies when they change (authentik's
	// blueprints_dir). !File reads only below it. Empty disables it.
	BlueprintsDir string `koanf:"blueprints_dir"`

	// CertDiscoveryDir holds PEM certificates and keys the worker imports
	// hourly (authentik's cert_discovery_dir): NAME.pem/.crt with NAME.key,
	// and Let's Encrypt's live/DOMAIN/{fullchain,privkey}.pem. Empty
	// disables it; the default dir may be missing.
	CertDiscoveryDir string `koanf:"cert_discovery_dir"`
	// MediaDir holds uploaded media (application icons, brand logos, flow
	// backgrounds), served under /media/. Empty means data_dir/media.
	MediaDir string `koanf:"media_dir"`

	BootstrapPassword Secret `koanf:"bootstrap_password"`
	BootstrapToken    Secret `koanf:"bootstrap_token"`
	BootstrapEmail    string `koanf:"bootstrap_email"`
}

// PostgreSQL selects the production store. With an empty Host, Gatehouse
// runs on the embedded SQLite database in DataDir.
type PostgreSQL struct {
	Host        string `koanf:"host"`
	Port        int    `koanf:"port"`
	User        string `koanf:"user"`
	Password    Secret `koanf:"password"`
	Name        string `koanf:"name"`
	SSLMode     string `koanf:"sslmode"`
	SSLRootCert string `koanf:"sslrootcert"`
	SSLCert     string `koanf:"sslcert"`
	SSLKey      string `koanf:"sslkey"`
	// ConnMaxAge is the longest a pooled connection is kept, in seconds;
	// 0 keeps connections until they fail (authentik: CONN_MAX_AGE).
	ConnMaxAge int `koanf:"conn_max_age"`
	// MaxConns bounds the connection pool of one process.
	MaxConns int `koanf:"max_conns"`
}

// Redis is optional: with an empty Host, caches and the message bus stay in process.
type Redis struct {
	Host     string `koanf:"host"`
	Port     int    `koanf:"port"`
	DB       int    `koanf:"db"`
	Username string `koanf:"username"`
	Password Secret `koanf:"password"`
	TLS      bool   `koanf:"tls"`
}

// Worker configures the background worker and its task queue.
type Worker struct {
	// Queue is the task queue's backend: "sql" (the database, durable;
	// the default) or "redis" (Redis Streams; needs redis.host).
	Queue string `koanf:"queue"`
	// Concurrency is how many tasks one worker process runs at once.
	Concurrency int `koanf:"concurrency"`
	// Embedded runs a worker inside `gatehouse server` on PostgreSQL too
	// (on SQLite it always does): a single-process deployment on an
	// external database.
	Embedded bool `koanf:"embedded"`
}

// Listen holds the listener addresses.
type Listen struct {
	HTTP    string `koanf:"http"`
	HTTPS   string `koanf:"https"`
	Metrics string `koanf:"metrics"`
	// TrustedProxyCIDRs lists the peers whose X-Forwarded-For is believed.
	TrustedProxyCIDRs []string `koanf:"trusted_proxy_cidrs"`
}

// Web holds the HTTP server's timeouts (authentik: WEB__TIMEOUT_HTTP_*).
type Web struct {
	TimeoutHTTPReadHeader time.Duration `koanf:"timeout_http_read_header"`
	TimeoutHTTPRead       time.Duration `koanf:"timeout_http_read"`
	TimeoutHTTPWrite      time.Duration `koanf:"timeout_http_write"`
	TimeoutHTTPIdle       time.Duration `koanf:"timeout_http_idle"`
	// ShutdownTimeout bounds how long in-flight requests may drain on SIGTERM.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
}

// Email configures outgoing mail (used by the worker's email tasks).
type Email struct {
	Host        string `koanf:"host"`
	Port        int    `koanf:"port"`
	Username    string `koanf:"username"`
	Password    Secret `koanf:"password"`
	UseTLS      bool   `koanf:"use_tls"`
	UseSSL      bool   `koanf:"use_ssl"`
	Timeout     int    `koanf:"timeout"`
	From        string `koanf:"from"`
	TemplateDir string `koanf:"template_dir"`
}

// DefaultCertDiscoveryDir is authentik's cert_discovery_dir; when it does not
// exist, discovery does nothing without a warning.
const DefaultCertDiscoveryDir = "/certs"

// MediaPath is where uploaded media live: MediaDir, or data_dir/media.
func (c *Config) MediaPath() string {
	if c.MediaDir != "" {
		return c.MediaDir
	}
	return filepath.Join(c.DataDir, "media")
}

// Default returns the built-in defaults (authentik's where it has one).
func Default() Config {
	return Config{
		LogLevel: "info",
		DataDir:  "./data",
		PostgreSQL: PostgreSQL{
			Port:     5432,
			User:     "gatehouse",
			Name:     "gatehouse",
			SSLMode:  "prefer",
			MaxConns: 20,
		},
		Redis:  Redis{Port: 6379},
		Worker: Worker{Queue: "sql", Concurrency: 4},
		Listen: Listen{
			HTTP:    "0.0.0.0:9000",
			HTTPS:   "0.0.0.0:9443",
			Metrics: "0.0.0.0:9300",
			TrustedProxyCIDRs: []string{
				"127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fe80::/10", "::1/128",
			},
		},
		Web: Web{
			TimeoutHTTPReadHeader: 5 * time.Second,
			TimeoutHTTPRead:       30 * time.Second,
			TimeoutHTTPWrite:      60 * time.Second,
			TimeoutHTTPIdle:       120 * time.Second,
			ShutdownTimeout:       25 * time.Second,
		},
		Email: Email{
			Host:        "localhost",
			Port:        25,
			Timeout:     10,
			From:        "gatehouse@localhost",
			TemplateDir: "/templates",
		},
		BlueprintsDir:    "/blueprints",
		CertDiscoveryDir: DefaultCertDiscoveryDir,
		BootstrapEmail:   "root@example.com",
	}
}

// Embedded reports whether Gatehouse runs on the embedded SQLite store.
func (c *Config) Embedded() bool { return c.PostgreSQL.Host == "" }

// RedisEnabled reports whether a Redis server is configured.
func (c *Config) RedisEnabled() bool { return c.Redis.Host != "" }

// TrustedProxies parses listen.trusted_proxy_cidrs (validated by Validate).
func (c *Config) TrustedProxies() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.Listen.TrustedProxyCIDRs))
	for _, s := range c.Listen.TrustedProxyCIDRs {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix accepts a CIDR or a bare address (a host route).
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Validate checks values that the type alone does not. Each error names its key.
func (c *Config) Validate() error {
	var errs []string
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.LogLevel {
	case "trace", "debug", "info", "warning", "error":
	default:
		bad("log_level", "%q is not one of trace, debug, info, warning, error", c.LogLevel)
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "must not be empty")
	}
	if c.SecretKey != "" && len(c.SecretKey) < 16 {
		bad("secret_key", "must be at least 16 characters long")
	}
	for key, addr := range map[string]string{
		"listen.http": c.Listen.HTTP, "listen.https": c.Listen.HTTPS, "listen.metrics": c.Listen.Metrics,
	} {
		if addr == "" {
			continue // an empty address disables the listener
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			bad(key, "%q is not a host:port address", addr)
		}
	}
	for _, s := range c.Listen.TrustedProxyCIDRs {
		if _, err := parsePrefix(s); err != nil {
			bad("listen.trusted_proxy_cidrs", "%q is not a CIDR or an IP address", s)
		}
	}
	checkPort := func(key string, p int) {
		if p < 1 || p > 65535 {
			bad(key, "%d is not a port number (1-65535)", p)
		}
	}
	checkPort("postgresql.port", c.PostgreSQL.Port)
	checkPort("redis.port", c.Redis.Port)
	checkPort("email.port", c.Email.Port)
	switch c.PostgreSQL.SSLMode {
	case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
	default:
		bad("postgresql.sslmode", "%q is not one of disable, allow, prefer, require, verify-ca, verify-full", c.PostgreSQL.SSLMode)
	}
	if c.PostgreSQL.ConnMaxAge < 0 {
		bad("postgresql.conn_max_age", "must not be negative")
	}
	if c.PostgreSQL.MaxConns < 1 {
		bad("postgresql.max_conns", "must be at least 1")
	}
	if c.Redis.DB < 0 {
		bad("redis.db", "must not be negative")
	}
	switch c.Worker.Queue {
	case "sql":
	case "redis":
		if !c.RedisEnabled() {
			bad("worker.queue", "redis needs redis.host")
		}
	default:
		bad("worker.queue", "%q is not one of sql, redis", c.Worker.Queue)
	}
	if c.Worker.Concurrency < 1 {
		bad("worker.concurrency", "must be at least 1")
	}
	if c.Email.UseTLS && c.Email.UseSSL {
		bad("email.use_ssl", "use_tls and use_ssl are mutually exclusive")
	}
	if c.Email.Timeout < 1 {
		bad("email.timeout", "must be at least 1 second")
	}
	for key, d := range map[string]time.Duration{
		"web.timeout_http_read_header": c.Web.TimeoutHTTPReadHeader,
		"web.timeout_http_read":        c.Web.TimeoutHTTPRead,
		"web.timeout_http_write":       c.Web.TimeoutHTTPWrite,
		"web.timeout_http_idle":        c.Web.TimeoutHTTPIdle,
		"web.shutdown_timeout":         c.Web.ShutdownTimeout,
	} {
		if d <= 0 {
			bad(key, "must be a positive duration such as 30s")
		}
	}
	if c.BootstrapToken != "" && len(c.BootstrapToken) < 16 {
		bad("bootstrap_token", "must be at least 16 characters long")
	}
	if len(errs) == 0 {
		return nil
	}
	slices.Sort(errs)
	return fmt.Errorf("invalid configuration: %s", strings.Join(errs, "; "))
}
