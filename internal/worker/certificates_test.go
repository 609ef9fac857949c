package worker_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

// countingCerts counts the keypairs certificate discovery writes.
type countingCerts struct {
	store.Certificates
	writes atomic.Int32
}

func (c *countingCerts) CreateKeyPair(ctx context.Context, k *store.CertificateKeyPair) error {
	err := c.Certificates.CreateKeyPair(ctx, k)
	if err == nil {
		c.writes.Add(1)
	}
	return err
}

func (c *countingCerts) UpdateKeyPair(ctx context.Context, k *store.CertificateKeyPair) error {
	err := c.Certificates.UpdateKeyPair(ctx, k)
	if err == nil {
		c.writes.Add(1)
	}
	return err
}

func certDiscoveryStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func genPair(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	c, k, err := crypto.Generate(crypto.GenerateOptions{CommonName: cn, SubjectAltNames: []string{cn}})
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func put(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCertificateDiscovery(t *testing.T) {
	ctx := context.Background()
	st := certDiscoveryStore(t)
	sealer, err := crypto.NewSealer("test-secret-key-0123456789", "certificate-private-key")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	webCert, webKey := genPair(t, "web.example")
	put(t, filepath.Join(dir, "web.pem"), webCert)
	put(t, filepath.Join(dir, "web.key"), webKey)
	apiCert, apiKey := genPair(t, "api.example")
	put(t, filepath.Join(dir, "sub", "api.crt"), apiCert)
	put(t, filepath.Join(dir, "sub", "api.key"), apiKey)
	caCert, _ := genPair(t, "ca.example")
	put(t, filepath.Join(dir, "ca.pem"), caCert)

	// Let's Encrypt: live/ links into archive/, which is not imported itself.
	leCert, leKey := genPair(t, "sso.example")
	put(t, filepath.Join(dir, "archive", "sso.example", "fullchain1.pem"), leCert)
	put(t, filepath.Join(dir, "archive", "sso.example", "privkey1.pem"), leKey)
	put(t, filepath.Join(dir, "archive", "sso.example", "cert1.pem"), leCert)
	live := filepath.Join(dir, "live", "sso.example")
	if err := os.MkdirAll(live, 0o700); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"fullchain.pem": "fullchain1.pem", "privkey.pem": "privkey1.pem",
		"cert.pem": "cert1.pem", "chain.pem": "cert1.pem"} {
		if err := os.Symlink(filepath.Join("..", "..", "archive", "sso.example", target), filepath.Join(live, link)); err != nil {
			t.Fatal(err)
		}
	}
	put(t, filepath.Join(live, "README"), []byte("certbot's README"))

	// Bad input: a key of another certificate, corrupt PEM, a key alone,
	// a name taken by a keypair made by hand, a hidden directory.
	_, otherKey := genPair(t, "other.example")
	mmCert, _ := genPair(t, "mismatch.example")
	put(t, filepath.Join(dir, "mismatch.pem"), mmCert)
	put(t, filepath.Join(dir, "mismatch.key"), otherKey)
	put(t, filepath.Join(dir, "corrupt.pem"), []byte("-----BEGIN CERTIFICATE-----\nnot base64 !!!\n-----END CERTIFICATE-----\n"))
	put(t, filepath.Join(dir, "garbage.crt"), []byte{0xff, 0x00, 0x13})
	put(t, filepath.Join(dir, "lonely.key"), otherKey)
	takenCert, takenKey := genPair(t, "taken.example")
	put(t, filepath.Join(dir, "taken.pem"), takenCert)
	put(t, filepath.Join(dir, "taken.key"), takenKey)
	hand := &store.CertificateKeyPair{Name: "taken", CertificateData: "by hand"}
	if err := st.CreateKeyPair(ctx, hand); err != nil {
		t.Fatal(err)
	}
	hiddenCert, _ := genPair(t, "hidden.example")
	put(t, filepath.Join(dir, "..data", "hidden.pem"), hiddenCert)

	var logs bytes.Buffer
	counting := &countingCerts{Certificates: st}
	d := &worker.CertDiscovery{Dir: dir, Store: counting, Sealer: sealer,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	res, err := d.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// web, api, ca, sso.example; mismatch, corrupt, garbage, lonely, taken.
	if want := (worker.CertDiscoveryResult{Created: 4, Skipped: 5}); res != want {
		t.Errorf("first run = %+v, want %+v\nlog:\n%s", res, want, logs.String())
	}
	check := func(name string, cert, key []byte) *store.CertificateKeyPair {
		t.Helper()
		k, err := st.KeyPairByManaged(ctx, worker.ManagedDiscovered+name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k.Name != name || k.CertificateData != string(cert) {
			t.Errorf("%s: name %q, certificate %.40q", name, k.Name, k.CertificateData)
		}
		info, err := crypto.Inspect(cert, nil)
		if err != nil {
			t.Fatal(err)
		}
		if k.FingerprintSHA256 != info.FingerprintSHA256 || k.CertSubject != info.Subject || k.CertExpiry == nil {
			t.Errorf("%s: fingerprint %s subject %s expiry %v", name, k.FingerprintSHA256, k.CertSubject, k.CertExpiry)
		}
		if key == nil {
			if k.KeySealed != "" {
				t.Errorf("%s: a key was stored", name)
			}
			return k
		}
		opened, err := sealer.Open(k.KeySealed)
		if err != nil {
			t.Fatalf("%s: key: %v", name, err)
		}
		want, _ := crypto.NormalizeKeyPEM(key)
		if !bytes.Equal(opened, want) {
			t.Errorf("%s: stored key differs", name)
		}
		return k
	}
	web := check("web", webCert, webKey)
	check("api", apiCert, apiKey)
	check("ca", caCert, nil)
	check("sso.example", leCert, leKey)
	for _, name := range []string{"mismatch", "corrupt", "garbage", "lonely", "cert", "chain", "fullchain1", "hidden", "taken"} {
		if _, err := st.KeyPairByManaged(ctx, worker.ManagedDiscovered+name); err == nil {
			t.Errorf("%s was imported", name)
		}
	}
	if k, err := st.KeyPairByUUID(ctx, hand.UUID); err != nil || k.CertificateData != "by hand" || k.Managed != "" {
		t.Errorf("hand-made keypair changed: %+v, %v", k, err)
	}
	for _, want := range []string{"mismatch", "corrupt.pem", "garbage.crt", "lonely", "taken"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not mention %s:\n%s", want, logs.String())
		}
	}

	// Idempotent: nothing changed, nothing written.
	writes := counting.writes.Load()
	res, err = d.Run(ctx)
	if err != nil || res != (worker.CertDiscoveryResult{Unchanged: 4, Skipped: 5}) {
		t.Errorf("second run = %+v, %v", res, err)
	}
	if n := counting.writes.Load() - writes; n != 0 {
		t.Errorf("second run wrote %d keypairs", n)
	}

	// A renewed certificate updates the keypair in place; a rename in the
	// admin API is kept (the managed key finds it).
	web.Name = "web (renamed)"
	if err := st.UpdateKeyPair(ctx, web); err != nil {
		t.Fatal(err)
	}
	newCert, newKey := genPair(t, "web.example")
	put(t, filepath.Join(dir, "web.pem"), newCert)
	put(t, filepath.Join(dir, "web.key"), newKey)
	res, err = d.Run(ctx)
	if err != nil || res != (worker.CertDiscoveryResult{Updated: 1, Unchanged: 3, Skipped: 5}) {
		t.Errorf("after renewal = %+v, %v", res, err)
	}
	got, err := st.KeyPairByManaged(ctx, worker.ManagedDiscovered+"web")
	if err != nil {
		t.Fatal(err)
	}
	if got.UUID != web.UUID || got.Name != "web (renamed)" || got.CertificateData != string(newCert) {
		t.Errorf("renewed keypair: uuid %s (was %s) name %q", got.UUID, web.UUID, got.Name)
	}

	// Secrets never reach the log.
	for _, k := range [][]byte{webKey, apiKey, leKey, otherKey, takenKey, newKey} {
		body := strings.Split(string(k), "\n")[1]
		if strings.Contains(logs.String(), body) || strings.Contains(logs.String(), "PRIVATE KEY-----") {
			t.Fatalf("a private key reached the log:\n%s", logs.String())
		}
	}
}

func TestCertificateDiscoveryMissingDir(t *testing.T) {
	st := certDiscoveryStore(t)
	sealer, _ := crypto.NewSealer("test-secret-key-0123456789", "certificate-private-key")
	for _, quiet := range []bool{true, false} {
		var logs bytes.Buffer
		d := &worker.CertDiscovery{Dir: filepath.Join(t.TempDir(), "missing"), Quiet: quiet, Store: st, Sealer: sealer,
			Log: slog.New(slog.NewTextHandler(&logs, nil))}
		task := worker.CertificateDiscovery(d, nil)
		got, err := task.Run(context.Background())
		if err != nil || got != "0 keypairs created, 0 updated, 0 unchanged, 0 skipped" {
			t.Errorf("quiet=%v: %q, %v", quiet, got, err)
		}
		if warned := strings.Contains(logs.String(), "level=WARN"); warned == quiet {
			t.Errorf("quiet=%v: log %q", quiet, logs.String())
		}
	}
}

func TestWatchCertificates(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := filepath.Join(t.TempDir(), "certs")
	changed := make(chan struct{}, 1)
	done := make(chan struct{})
	failed := make(chan struct{}, 1)
	log := slog.New(signalHandler{failed})
	go func() {
		defer close(done)
		worker.WatchCertificates(ctx, log, dir, false, 20*time.Millisecond, 50*time.Millisecond, changed)
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-changed:
		case <-time.After(5 * time.Second):
			t.Fatalf("no signal after %s", what)
		}
	}
	quiet := func(what string) {
		t.Helper()
		select {
		case <-changed:
			t.Fatalf("a signal after %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// The dir appears after the watch failed: watched on a retry, and a
	// run is signalled for what it holds.
	select {
	case <-failed:
	case <-time.After(5 * time.Second):
		t.Fatal("no warning about the missing dir")
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	wait("the dir appeared")
	quiet("nothing changed")
	cert, key := genPair(t, "w.example")
	put(t, filepath.Join(dir, "w.pem"), cert)
	put(t, filepath.Join(dir, "w.key"), key)
	wait("a pair was written")
	// Writes further apart than the debounce may signal twice.
	time.Sleep(100 * time.Millisecond)
	select {
	case <-changed:
	default:
	}
	// A new directory is watched too (certbot's live/DOMAIN).
	if err := os.MkdirAll(filepath.Join(dir, "live", "x.example"), 0o700); err != nil {
		t.Fatal(err)
	}
	wait("a directory was made")
	time.Sleep(50 * time.Millisecond)
	put(t, filepath.Join(dir, "live", "x.example", "fullchain.pem"), cert)
	wait("a file was written in the new directory")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the watch did not stop")
	}
}

// signalHandler signals on each warning.
type signalHandler struct{ c chan struct{} }

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		select {
		case h.c <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }
