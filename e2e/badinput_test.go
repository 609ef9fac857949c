package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each operator mistake gives one clear error naming its cause, exit 1, and
// leaves nothing half-written.
func TestBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	malformed := write("malformed.yml", "postgresql:\n  host: [unclosed\n")
	unknown := write("unknown.yml", "postgresql:\n  hots: db.example\n")
	badValue := write("value.yml", "postgresql:\n  sslmode: sometimes\n")
	notAFile := filepath.Join(dir, "missing.yml")

	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"malformed yaml", nil, []string{"--config", malformed, "server"}, []string{"config file " + malformed, "yaml: line"}},
		{"unknown yaml key", nil, []string{"--config", unknown, "server"}, []string{`unknown configuration key "postgresql.hots"`, unknown}},
		{"invalid value", nil, []string{"--config", badValue, "server"}, []string{"postgresql.sslmode", `"sometimes"`}},
		{"missing file", nil, []string{"--config", notAFile, "server"}, []string{notAFile, "does not exist"}},
		{"config file from env", map[string]string{"GATEHOUSE_CONFIG_FILE": unknown}, []string{"server"}, []string{`"postgresql.hots"`}},
		{"unknown env key", map[string]string{"GATEHOUSE_POSTGRESQL__HOTS": "x"}, []string{"server"}, []string{`unknown configuration key "postgresql.hots"`, "GATEHOUSE_"}},
		{"bad port", map[string]string{"GATEHOUSE_POSTGRESQL__PORT": "fivefourthreetwo"}, []string{"server"}, []string{"postgresql.port"}},
		{"port out of range", map[string]string{"AUTHENTIK_POSTGRESQL__PORT": "70000"}, []string{"server"}, []string{"postgresql.port", "70000"}},
		{"bad cidr", map[string]string{"GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS": "10.0.0.0/8,not-a-net"}, []string{"server"}, []string{"listen.trusted_proxy_cidrs", "not-a-net"}},
		{"bad listen address", map[string]string{"GATEHOUSE_LISTEN__HTTP": "9000"}, []string{"server"}, []string{"listen.http"}},
		{"env indirection to a missing variable", map[string]string{"GATEHOUSE_SECRET_KEY": "env://NO_SUCH_VARIABLE_HERE"}, []string{"server"}, []string{"secret_key", "NO_SUCH_VARIABLE_HERE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv(filepath.Join(t.TempDir(), "data"))
			for k, v := range tc.env {
				env[k] = v
			}
			code, out := runCmd(t, env, tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1; output:\n%s", code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Count(strings.TrimSpace(out), "\n") > 2 {
				t.Errorf("want one clear error, got:\n%s", out)
			}
			if _, err := os.Stat(env["GATEHOUSE_DATA_DIR"]); err == nil {
				t.Error("a failed start created the data dir")
			}
		})
	}
}

func TestPrintConfigRedactsSecrets(t *testing.T) {
	env := baseEnv(t.TempDir())
	env["GATEHOUSE_SECRET_KEY"] = "file://" + writeTemp(t, "secret-from-a-file-0123456789")
	env["AUTHENTIK_POSTGRESQL__PASSWORD"] = "env://PG_PASS_FOR_TEST"
	env["PG_PASS_FOR_TEST"] = "db-password-value"
	env["GATEHOUSE_BOOTSTRAP_PASSWORD"] = "bootstrap-password-value"
	env["AUTHENTIK_LOG_LEVEL"] = "error"
	env["GATEHOUSE_LOG_LEVEL"] = "warning" // GATEHOUSE_ wins over AUTHENTIK_
	env["GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS"] = "10.1.0.0/16, 192.0.2.7"
	code, out := runCmd(t, env, "server", "--print-config")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, secret := range []string{"secret-from-a-file", "db-password-value", "bootstrap-password-value"} {
		if strings.Contains(out, secret) {
			t.Errorf("--print-config shows a secret (%s):\n%s", secret, out)
		}
	}
	for _, want := range []string{"secret_key: '********'", "password: '********'", "log_level: warning", "- 10.1.0.0/16", "- 192.0.2.7", "http: 127.0.0.1:0"} {
		if !strings.Contains(out, want) {
			t.Errorf("--print-config lacks %q:\n%s", want, out)
		}
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	env := baseEnv(t.TempDir())
	env["GATEHOUSE_LISTEN__HTTP"] = ln.Addr().String()
	code, out := runCmd(t, env, "server")
	if code != 1 || !strings.Contains(out, "listen.http: cannot listen on "+ln.Addr().String()) || !strings.Contains(out, "address already in use") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
}

// A data dir that cannot be written: one error naming it, no crash loop.
func TestReadOnlyDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// root ignores permission bits: use a read-only mount instead.
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a read-only tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })
	} else {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	}
	env := baseEnv(dir)
	code, out := runCmd(t, env, "server")
	if code != 1 || !strings.Contains(out, "data_dir "+dir+" is not writable") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	// A data dir path that is a file.
	env = baseEnv(writeTemp(t, "not a directory"))
	code, out = runCmd(t, env, "server")
	if code != 1 || !strings.Contains(out, "data_dir") {
		t.Errorf("data_dir is a file: exit %d, output:\n%s", code, out)
	}
}

// The embedded database file is not readable as SQLite: one clear error.
func TestCorruptDatabaseFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "gatehouse.db"), []byte(strings.Repeat("not sqlite ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, baseEnv(dir), "server")
	code := p.wait(30 * time.Second)
	if code != 1 || !strings.Contains(p.output(), "gatehouse.db") {
		t.Errorf("exit %d, output:\n%s", code, p.output())
	}
}
