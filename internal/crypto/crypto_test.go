package crypto

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSecretKeyCreatedOnceAndPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret_key")
	k1, created, err := LoadOrCreateSecretKey(path)
	if err != nil || !created || len(k1) < 50 {
		t.Fatalf("first call: %q %v %v", k1, created, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	k2, created, err := LoadOrCreateSecretKey(path)
	if err != nil || created || k1 != k2 {
		t.Errorf("second call: %q %v %v", k2, created, err)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateSecretKey(path); err == nil {
		t.Error("a too-short stored key was accepted")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestSelfSignedReusedAndRenewed(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	c1, created, err := LoadOrCreateSelfSigned(dir, []string{"idp.example", "192.0.2.1"}, now)
	if err != nil || !created {
		t.Fatalf("first: %v %v", created, err)
	}
	leaf, err := x509.ParseCertificate(c1.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("idp.example"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("192.0.2.1"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, SelfSignedKeyFile))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", fi.Mode().Perm())
	}
	_, created, err = LoadOrCreateSelfSigned(dir, nil, now.Add(24*time.Hour))
	if err != nil || created {
		t.Errorf("a valid certificate was replaced: %v %v", created, err)
	}
	// 340 days later it expires within 30 days: renewed.
	c3, created, err := LoadOrCreateSelfSigned(dir, nil, now.Add(340*24*time.Hour))
	if err != nil || !created || string(c3.Certificate[0]) == string(c1.Certificate[0]) {
		t.Errorf("an expiring certificate was not renewed: %v %v", created, err)
	}
	// A broken file is replaced, not fatal.
	if err := os.WriteFile(filepath.Join(dir, SelfSignedCertFile), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, created, err := LoadOrCreateSelfSigned(dir, nil, now); err != nil || !created {
		t.Errorf("broken certificate: %v %v", created, err)
	}
}
