package sni_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/sni"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// fakeStore holds brands and keypairs and counts the queries.
type fakeStore struct {
	mu       sync.Mutex
	brands   []*store.Brand
	keypairs map[uuid.UUID]*store.CertificateKeyPair
	lists    atomic.Int32
	gets     atomic.Int32
	block    chan struct{} // when set, ListBrands waits for it
}

func (f *fakeStore) ListBrands(context.Context) ([]*store.Brand, error) {
	f.lists.Add(1)
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*store.Brand, len(f.brands))
	for i, b := range f.brands {
		c := *b
		out[i] = &c
	}
	return out, nil
}

func (f *fakeStore) KeyPairByUUID(_ context.Context, id uuid.UUID) (*store.CertificateKeyPair, error) {
	f.gets.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keypairs[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	c := *k
	return &c, nil
}

type env struct {
	st       *fakeStore
	sel      *sni.Selector
	sealer   *crypto.Sealer
	fallback *tls.Certificate
	now      time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	sealer, err := crypto.NewSealer("test-secret-key-0123456789", "certificate-private-key")
	if err != nil {
		t.Fatal(err)
	}
	fc, fk, err := crypto.Generate(crypto.GenerateOptions{CommonName: "fallback"})
	if err != nil {
		t.Fatal(err)
	}
	fallback, err := tls.X509KeyPair(fc, fk)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{st: &fakeStore{keypairs: map[uuid.UUID]*store.CertificateKeyPair{}}, sealer: sealer, fallback: &fallback,
		now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e.sel = &sni.Selector{Store: func() sni.Store { return e.st }, Sealer: sealer, Fallback: &fallback,
		Now: func() time.Time { return e.now }}
	return e
}

// keypair stores a generated keypair for cn (without its key when noKey).
func (e *env) keypair(t *testing.T, cn string, noKey bool) uuid.UUID {
	t.Helper()
	c, k, err := crypto.Generate(crypto.GenerateOptions{CommonName: cn, SubjectAltNames: []string{cn}})
	if err != nil {
		t.Fatal(err)
	}
	kp := &store.CertificateKeyPair{UUID: uuid.New(), Name: cn, CertificateData: string(c)}
	if !noKey {
		if kp.KeySealed, err = e.sealer.Seal(k); err != nil {
			t.Fatal(err)
		}
	}
	e.st.mu.Lock()
	e.st.keypairs[kp.UUID] = kp
	e.st.mu.Unlock()
	return kp.UUID
}

func subject(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	if c == nil {
		t.Fatal("no certificate")
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf.Subject.CommonName
}

func TestSelectByServerName(t *testing.T) {
	e := newEnv(t)
	a := e.keypair(t, "a.example", false)
	noKey := e.keypair(t, "nokey.example", false)
	e.st.keypairs[noKey].KeySealed = ""
	deleted := uuid.New()
	e.st.brands = []*store.Brand{
		{Domain: "a.example", WebCertificate: &a},
		{Domain: "nokey.example", WebCertificate: &noKey},
		{Domain: "gone.example", WebCertificate: &deleted},
		{Domain: "plain.example"},
		{Domain: "authentik-default", Default: true},
	}
	for _, tc := range []struct{ name, want string }{
		{"a.example", "a.example"},
		{"sso.a.example", "a.example"},
		{"A.Example.", "a.example"},
		{"bada.example", "fallback"},
		{"nokey.example", "fallback"},
		{"gone.example", "fallback"},
		{"plain.example", "fallback"},
		{"", "fallback"},
		{"other.example", "fallback"},
	} {
		c, err := e.sel.GetCertificate(&tls.ClientHelloInfo{ServerName: tc.name})
		if err != nil {
			t.Fatal(err)
		}
		if got := subject(t, c); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.name, got, tc.want)
		}
	}

	// The default brand's certificate serves names no brand with a
	// certificate matches, and brands whose own keypair cannot serve.
	def := e.keypair(t, "default.example", false)
	e.st.brands[4].WebCertificate = &def
	e.sel.Invalidate()
	for name, want := range map[string]string{"other.example": "default.example", "plain.example": "default.example",
		"nokey.example": "default.example", "a.example": "a.example", "": "default.example"} {
		c, _ := e.sel.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if got := subject(t, c); got != want {
			t.Errorf("with a default certificate, %q: got %s, want %s", name, got, want)
		}
	}
}

func TestCacheAndRefresh(t *testing.T) {
	e := newEnv(t)
	a := e.keypair(t, "a.example", false)
	e.st.brands = []*store.Brand{{Domain: "a.example", WebCertificate: &a}}
	hello := &tls.ClientHelloInfo{ServerName: "a.example"}
	for range 100 {
		if _, err := e.sel.GetCertificate(hello); err != nil {
			t.Fatal(err)
		}
	}
	if l, g := e.st.lists.Load(), e.st.gets.Load(); l != 1 || g != 1 {
		t.Errorf("100 handshakes: %d brand lists, %d keypair reads; want 1 and 1", l, g)
	}

	// A new certificate for the brand is served after the TTL, not before.
	b := e.keypair(t, "a.example-renewed", false)
	e.st.mu.Lock()
	e.st.brands[0].WebCertificate = &b
	e.st.mu.Unlock()
	e.now = e.now.Add(sni.DefaultTTL - time.Second)
	c, _ := e.sel.GetCertificate(hello)
	if got := subject(t, c); got != "a.example" {
		t.Errorf("within the TTL: %s", got)
	}
	e.now = e.now.Add(2 * time.Second)
	c, _ = e.sel.GetCertificate(hello)
	if got := subject(t, c); got != "a.example-renewed" {
		t.Errorf("after the TTL: %s", got)
	}

	// While one handshake refreshes, the others use the old snapshot and
	// do not query.
	e.now = e.now.Add(sni.DefaultTTL + time.Second)
	e.st.block = make(chan struct{})
	lists := e.st.lists.Load()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.sel.GetCertificate(hello)
	}()
	for e.st.lists.Load() == lists {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.sel.GetCertificate(hello)
			if err != nil || subject(t, c) != "a.example-renewed" {
				t.Errorf("during a refresh: %v", err)
			}
		}()
	}
	wg.Wait()
	close(e.st.block)
	<-done
	if n := e.st.lists.Load() - lists; n != 1 {
		t.Errorf("%d brand lists during one refresh", n)
	}
}

func TestNoStoreServesFallback(t *testing.T) {
	e := newEnv(t)
	e.sel.Store = func() sni.Store { return nil }
	c, err := e.sel.GetCertificate(&tls.ClientHelloInfo{ServerName: "a.example"})
	if err != nil || subject(t, c) != "fallback" {
		t.Fatalf("before the store: %v", err)
	}
}

// TestHandshake drives a real TLS handshake through a tls.Config that uses
// the selector, as the HTTPS listener does.
func TestHandshake(t *testing.T) {
	e := newEnv(t)
	a := e.keypair(t, "sni.example", false)
	e.st.brands = []*store.Brand{{Domain: "sni.example", WebCertificate: &a}}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: e.sel.GetCertificate}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(raw, conf)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}()
		}
	}()
	for name, want := range map[string]string{"sni.example": "sni.example", "else.example": "fallback"} {
		c, err := tls.Dial("tcp", raw.Addr().String(), &tls.Config{ServerName: name, InsecureSkipVerify: true}) //nolint:gosec // the test reads the served certificate
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ConnectionState().PeerCertificates[0].Subject.CommonName; got != want {
			t.Errorf("%s: served %s, want %s", name, got, want)
		}
		_ = c.Close()
	}
}
