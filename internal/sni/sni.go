// Package sni picks the HTTPS listener's certificate by the server name a
// client asks for in its TLS ClientHello (the server_name extension, RFC 6066
// §3): the web_certificate of the brand whose domain matches, as authentik's
// server does, or a fallback (the self-signed certificate).
//
// Brands and their keypairs are read at most once per TTL (30 s by
// default), by one handshake while the others keep using the previous
// snapshot; a changed brand or keypair is served within a TTL without a
// restart, and a burst of handshakes never turns into a burst of queries.
package sni

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// DefaultTTL is how long a snapshot of the brands' certificates is used.
const DefaultTTL = 30 * time.Second

// Store is what the selector reads.
type Store interface {
	ListBrands(ctx context.Context) ([]*store.Brand, error)
	KeyPairByUUID(ctx context.Context, id uuid.UUID) (*store.CertificateKeyPair, error)
}

// Selector serves GetCertificate for a tls.Config.
type Selector struct {
	// Store returns the store, or nil while it is not connected (the
	// fallback is served then).
	Store func() Store
	// Sealer opens keypairs' private keys (purpose "certificate-private-key").
	Sealer   *crypto.Sealer
	Fallback *tls.Certificate
	Log      *slog.Logger
	TTL      time.Duration    // 0: DefaultTTL
	Now      func() time.Time // nil: time.Now

	snap atomic.Pointer[snapshot]
	// gen counts Invalidate calls, so that a snapshot read while one
	// happened is used once but not kept.
	gen     atomic.Uint64
	refresh sync.Mutex
	// parsed keeps certificates across snapshots, so an unchanged keypair
	// is not unsealed and parsed again every TTL. Guarded by refresh.
	parsed map[uuid.UUID]parsedCert
}

type parsedCert struct {
	certPEM, sealed string
	cert            *tls.Certificate // nil: unusable (logged once)
}

// snapshot is the brands that have a usable certificate, and their
// certificates.
type snapshot struct {
	brands  []*store.Brand
	certs   map[uuid.UUID]*tls.Certificate
	expires time.Time
}

// GetCertificate implements tls.Config.GetCertificate.
func (s *Selector) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	snap := s.current()
	if snap != nil {
		// Only brands with a certificate take part, so a matching brand
		// without one yields to the default brand's, as in authentik.
		if b := core.MatchBrand(snap.brands, hello.ServerName); b != nil {
			return snap.certs[*b.WebCertificate], nil
		}
	}
	if s.Fallback == nil {
		return nil, errors.New("sni: no certificate")
	}
	return s.Fallback, nil
}

// Invalidate makes the next handshake read the brands again (a brand or
// keypair changed on some replica: lifecycle calls it on every
// cache.Config invalidation).
func (s *Selector) Invalidate() {
	s.gen.Add(1)
	s.snap.Store(nil)
}

func (s *Selector) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// current returns a fresh snapshot, or a stale one while another handshake
// refreshes it, or nil before the store answers.
func (s *Selector) current() *snapshot {
	snap := s.snap.Load()
	if snap != nil && s.now().Before(snap.expires) {
		return snap
	}
	if snap != nil {
		if !s.refresh.TryLock() {
			return snap // someone is refreshing: use the old one meanwhile
		}
	} else {
		s.refresh.Lock()
	}
	defer s.refresh.Unlock()
	if cur := s.snap.Load(); cur != nil && s.now().Before(cur.expires) {
		return cur // refreshed while we waited
	}
	gen := s.gen.Load()
	next, err := s.load()
	if err == nil && s.gen.Load() != gen {
		next.expires = s.now() // may predate the change: serve it once, read again next time
	}
	if err != nil {
		if s.Log != nil && !errors.Is(err, errNoStore) {
			s.Log.Warn("tls: cannot read the brands' certificates; serving the previous ones", "error", err)
		}
		if snap == nil {
			snap = &snapshot{}
		}
		// Try again after a short pause, not at every handshake.
		pause := 5 * time.Second
		if errors.Is(err, errNoStore) {
			pause = time.Second
		}
		retry := *snap
		retry.expires = s.now().Add(min(s.ttl(), pause))
		s.snap.Store(&retry)
		return &retry
	}
	s.snap.Store(next)
	return next
}

func (s *Selector) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

var errNoStore = errors.New("store not connected")

// load reads the brands and the certificates they name.
func (s *Selector) load() (*snapshot, error) {
	var st Store
	if s.Store != nil {
		st = s.Store()
	}
	if st == nil {
		return nil, errNoStore
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	brands, err := st.ListBrands(ctx)
	if err != nil {
		return nil, err
	}
	if s.parsed == nil {
		s.parsed = map[uuid.UUID]parsedCert{}
	}
	next := &snapshot{certs: map[uuid.UUID]*tls.Certificate{}, expires: s.now().Add(s.ttl())}
	used := map[uuid.UUID]bool{}
	for _, b := range brands {
		if b.WebCertificate == nil {
			continue
		}
		id := *b.WebCertificate
		used[id] = true
		cert, ok := next.certs[id]
		if !ok {
			if cert, err = s.certificate(ctx, st, id); err != nil {
				return nil, err
			}
			next.certs[id] = cert
		}
		if cert != nil {
			next.brands = append(next.brands, b)
		}
	}
	for id := range s.parsed {
		if !used[id] {
			delete(s.parsed, id)
		}
	}
	return next, nil
}

// certificate returns a keypair as a tls.Certificate, nil when it cannot
// serve (no key, deleted, corrupt): logged once per keypair version.
func (s *Selector) certificate(ctx context.Context, st Store, id uuid.UUID) (*tls.Certificate, error) {
	k, err := st.KeyPairByUUID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // the foreign key is set null; a race at most
	}
	if err != nil {
		return nil, err
	}
	if p, ok := s.parsed[id]; ok && p.certPEM == k.CertificateData && p.sealed == k.KeySealed {
		return p.cert, nil
	}
	cert, why := s.parse(k)
	if why != "" && s.Log != nil {
		s.Log.Warn("tls: a brand's web certificate cannot be served; using the fallback", "keypair", k.Name, "reason", why)
	}
	s.parsed[id] = parsedCert{certPEM: k.CertificateData, sealed: k.KeySealed, cert: cert}
	return cert, nil
}

func (s *Selector) parse(k *store.CertificateKeyPair) (*tls.Certificate, string) {
	if k.KeySealed == "" {
		return nil, "the keypair has no private key"
	}
	key, err := s.Sealer.Open(k.KeySealed)
	if err != nil {
		return nil, "the private key does not open (was secret_key changed?)"
	}
	cert, err := tls.X509KeyPair([]byte(k.CertificateData), key)
	if err != nil {
		return nil, "the certificate and key do not load: " + err.Error()
	}
	return &cert, ""
}
