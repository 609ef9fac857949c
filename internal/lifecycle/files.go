package lifecycle

import (
	"context"
	"crypto/tls"
	"sync"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/cache"
	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/media"
	"github.com/gatehouse-idp/gatehouse/internal/sni"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

// This file wires the parts that live on the file system and in TLS: the
// media dir, the HTTPS certificate per server name, and certificate
// discovery.

// mediaStore is the uploaded media dir (media_dir, or data_dir/media).
func (p *Process) mediaStore() *media.Store {
	return &media.Store{Dir: p.Config.MediaPath()}
}

// httpsConfig serves each brand's web_certificate by SNI, the self-signed
// certificate otherwise (and until the store is connected).
func (p *Process) httpsConfig(selfSigned tls.Certificate) (*tls.Config, error) {
	sealer, err := crypto.NewSealer(p.secretKey, "certificate-private-key")
	if err != nil {
		return nil, err
	}
	sel := &sni.Selector{Sealer: sealer, Fallback: &selfSigned, Log: p.Log.With("component", "tls"),
		Store: func() sni.Store {
			if st := p.st.Load(); st != nil {
				return st
			}
			return nil // not a typed nil in the interface
		}}
	p.caches.OnInvalidate(cache.Config, func(string) { sel.Invalidate() }) // a brand or keypair changed
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: sel.GetCertificate}, nil
}

// certificateDiscovery is the worker's certificate_discovery task over
// cert_discovery_dir ("" disables it: a task that finds nothing), with a
// file watch that runs it about a second after a change.
func (p *Process) certificateDiscovery(ctx context.Context, st store.Store, background *sync.WaitGroup) worker.Task {
	sealer, err := crypto.NewSealer(p.secretKey, "certificate-private-key")
	dir := p.Config.CertDiscoveryDir
	if err != nil {
		// secret_key was checked at start; keep the process up regardless.
		p.Log.Error("certificate discovery disabled", "error", err)
		dir = ""
	}
	log := p.Log.With("component", "certificates")
	quiet := dir == config.DefaultCertDiscoveryDir
	d := &worker.CertDiscovery{Dir: dir, Quiet: quiet, Store: st, Sealer: sealer, Log: log}
	if dir == "" {
		return worker.CertificateDiscovery(d, nil)
	}
	changed := make(chan struct{}, 1)
	background.Add(1)
	go func() {
		defer background.Done()
		worker.WatchCertificates(ctx, log, dir, quiet, time.Second, 30*time.Second, changed)
	}()
	return worker.CertificateDiscovery(d, changed)
}
