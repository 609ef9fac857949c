package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// EnvConfigFile names the environment variable holding the config file path.
const EnvConfigFile = "GATEHOUSE_CONFIG_FILE"

// IgnoredAuthentikKeys are authentik settings that have no meaning in
// Gatehouse (gunicorn tuning, Sentry, update checks, ...). They are accepted
// so that an authentik deployment's configuration loads, and a warning names
// each one. A key here whose first part ends in "." ignores the whole section.
var IgnoredAuthentikKeys = []string{
	"env", "tag", "image", "host", "host_browser", "token", "insecure",
	"disable_update_check", "disable_startup_analytics", "skip_migrations",
	"error_reporting.", "web.workers", "web.threads", "web.max_requests", "web.max_requests_jitter",
	"web.path", "worker.", "cache.", "log.", "debug", "listen.debug", "listen.debug_py", "listen.debug_tokio",
	"listen.ldap", "listen.ldaps", "listen.radius",
	"postgresql.conn_health_checks", "postgresql.disable_server_side_cursors", "postgresql.use_pgbouncer",
	"postgresql.use_pgpool", "postgresql.conn_options", "postgresql.default_schema", "postgresql.use_pool",
	"postgresql.read_replicas.", "postgresql.replica_conn_options",
	"redis.tls_reqs", "redis.tls_ca_cert", "redis.url",
	"outposts.", "events.", "compliance.", "tenants.", "storage.", "ldap.", "sources.", "reputation.",
	"throttle.", "sessions.", "cookie_domain", "http_timeout",
	"avatars", "default_user_change_name", "default_user_change_email", "default_user_change_username",
	"gdpr_compliance", "impersonation", "footer_links", "email.template_dir_override",
}

// Options tell Load where to read from. Zero values mean the process's own.
type Options struct {
	// File is the YAML file; empty means $GATEHOUSE_CONFIG_FILE, or none.
	File string
	// Environ replaces os.Environ (tests).
	Environ []string
	// Logger receives warnings about ignored keys; nil discards them.
	Logger *slog.Logger
}

// Load reads, merges, resolves and validates the configuration.
func Load(opts Options) (*Config, error) {
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ()
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	known := knownKeys(reflect.TypeFor[Config](), "")

	k := koanf.New(".")
	if err := k.Load(structProvider(Default()), nil); err != nil {
		return nil, fmt.Errorf("config: defaults: %w", err)
	}

	path := opts.File
	if path == "" {
		path = lookupEnv(environ, EnvConfigFile)
	}
	if path != "" {
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("config file %s: does not exist", path)
			}
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
		if err := merge(k, fk, known, "config file "+path, log); err != nil {
			return nil, err
		}
	}

	// AUTHENTIK_ first, so GATEHOUSE_ wins.
	for _, prefix := range []string{"AUTHENTIK_", "GATEHOUSE_"} {
		ek, err := envLayer(environ, prefix, known)
		if err != nil {
			return nil, err
		}
		if err := merge(k, ek, known, prefix+"* environment", log); err != nil {
			return nil, err
		}
	}

	if err := resolveIndirections(k, environ); err != nil {
		return nil, err
	}

	cfg := Default()
	cfg.Listen.TrustedProxyCIDRs = nil // replaced, not appended to, by the merged value
	if err := k.Unmarshal("", &cfg); err != nil {
		return nil, fmt.Errorf("invalid configuration: %s", strings.ReplaceAll(err.Error(), "\n", " "))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// merge checks every key of layer against the known keys, then merges it.
func merge(into, layer *koanf.Koanf, known map[string]reflect.Type, source string, log *slog.Logger) error {
	var unknown []string
	for _, key := range layer.Keys() {
		if _, ok := known[key]; ok {
			continue
		}
		if parentIsLeaf(key, known) {
			unknown = append(unknown, key)
			continue
		}
		if ignoredAuthentikKey(key) {
			log.Warn("ignoring an authentik setting that Gatehouse does not use", "key", key, "source", source)
			layer.Delete(key)
			continue
		}
		unknown = append(unknown, key)
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return fmt.Errorf("%s: unknown configuration key %s", source, strings.Join(quoteAll(unknown), ", "))
	}
	return into.Merge(layer)
}

// parentIsLeaf reports keys such as postgresql.host.extra, nested below a scalar.
func parentIsLeaf(key string, known map[string]reflect.Type) bool {
	for i := strings.LastIndex(key, "."); i > 0; i = strings.LastIndex(key[:i], ".") {
		if _, ok := known[key[:i]]; ok {
			return true
		}
	}
	return false
}

func ignoredAuthentikKey(key string) bool {
	for _, ig := range IgnoredAuthentikKeys {
		if key == ig || (strings.HasSuffix(ig, ".") && strings.HasPrefix(key, ig)) {
			return true
		}
	}
	return false
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// envLayer turns PREFIX_SECTION__KEY variables into a koanf layer.
// GATEHOUSE_CONFIG_FILE and GATEHOUSE_TEST_* are not configuration keys.
func envLayer(environ []string, prefix string, known map[string]reflect.Type) (*koanf.Koanf, error) {
	k := koanf.New(".")
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, prefix) {
			continue
		}
		if name == EnvConfigFile || strings.HasPrefix(name, "GATEHOUSE_TEST_") {
			continue
		}
		key := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, prefix), "__", "."))
		if key == "" {
			continue
		}
		var v any = value
		if t, ok := known[key]; ok && t.Kind() == reflect.Slice {
			v = splitList(value)
		}
		if err := k.Set(key, v); err != nil {
			return nil, fmt.Errorf("environment %s: %w", name, err)
		}
	}
	return k, nil
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if n, v, ok := strings.Cut(kv, "="); ok && n == name {
			return v
		}
	}
	return ""
}

// resolveIndirections replaces env://NAME?default and file:///path?default
// string values (authentik's value indirection) with what they point to.
func resolveIndirections(k *koanf.Koanf, environ []string) error {
	for _, key := range k.Keys() {
		s, ok := k.Get(key).(string)
		if !ok {
			continue
		}
		v, changed, err := resolveValue(s, environ)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		if changed {
			if err := k.Set(key, v); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return nil
}

func resolveValue(s string, environ []string) (string, bool, error) {
	switch {
	case strings.HasPrefix(s, "env://"):
		name, def, hasDef := strings.Cut(strings.TrimPrefix(s, "env://"), "?")
		for _, kv := range environ {
			if n, v, ok := strings.Cut(kv, "="); ok && n == name {
				return v, true, nil
			}
		}
		if hasDef {
			return def, true, nil
		}
		return "", true, fmt.Errorf("environment variable %s (from %q) is not set", name, s)
	case strings.HasPrefix(s, "file://"):
		u, err := url.Parse(s)
		if err != nil || u.Path == "" {
			return "", false, fmt.Errorf("%q is not a file:///path URL", s)
		}
		b, err := os.ReadFile(u.Path)
		if err != nil {
			if u.RawQuery != "" || strings.HasSuffix(s, "?") {
				return u.RawQuery, true, nil
			}
			return "", false, fmt.Errorf("reading %s: %w", u.Path, err)
		}
		return strings.TrimSpace(string(b)), true, nil
	}
	return s, false, nil
}

// knownKeys lists the flattened key paths of a config struct with their types.
func knownKeys(t reflect.Type, prefix string) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("koanf")
		if name == "" {
			continue
		}
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Time]() {
			for k, v := range knownKeys(f.Type, prefix+name+".") {
				out[k] = v
			}
			continue
		}
		out[prefix+name] = f.Type
	}
	return out
}

// structProvider is a koanf.Provider over a Config value.
type structProvider Config

func (p structProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("config: struct provider has no bytes")
}

func (p structProvider) Read() (map[string]any, error) {
	return toMap(reflect.ValueOf(Config(p)), false), nil
}

// Redacted returns the configuration as a nested map with secrets masked,
// for --print-config.
func (c *Config) Redacted() map[string]any { return toMap(reflect.ValueOf(*c), true) }

func toMap(v reflect.Value, redact bool) map[string]any {
	out := map[string]any{}
	t := v.Type()
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("koanf")
		if name == "" {
			continue
		}
		fv := v.Field(i)
		switch {
		case fv.Type() == reflect.TypeFor[Secret]():
			if redact {
				out[name] = fv.Interface().(Secret).String()
			} else {
				out[name] = fv.String()
			}
		case fv.Kind() == reflect.Struct:
			out[name] = toMap(fv, redact)
		case fv.Type() == reflect.TypeFor[time.Duration]() && redact:
			out[name] = fv.Interface().(time.Duration).String()
		default:
			out[name] = fv.Interface()
		}
	}
	return out
}
