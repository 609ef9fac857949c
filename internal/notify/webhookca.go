package notify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// webhookClient is the client that posts tr's webhook: the default one, or,
// with webhook_ca set, one that verifies the server's certificate against
// that keypair's certificates alone (authentik's webhook_ca) instead of the
// system roots. Clients are kept per certificate, so connections are reused.
func (s *Service) webhookClient(ctx context.Context, tr *store.NotificationTransport) (*http.Client, error) {
	base := s.client()
	if tr.WebhookCA == nil {
		return base, nil
	}
	kp, err := s.Store.KeyPairByUUID(ctx, *tr.WebhookCA)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("webhook_ca: the certificate is gone: %w", errFinal)
	} else if err != nil {
		return nil, fmt.Errorf("webhook_ca: %w", err)
	}
	key := sha256.Sum256([]byte(kp.CertificateData))
	if c, ok := s.caClients.Load(key); ok {
		return c.(*http.Client), nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(kp.CertificateData)) {
		return nil, fmt.Errorf("webhook_ca: keypair %s holds no PEM certificate: %w", kp.Name, errFinal)
	}
	var rt *http.Transport
	if t, ok := base.Transport.(*http.Transport); ok {
		rt = t.Clone()
	} else {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if rt.TLSClientConfig != nil {
		conf = rt.TLSClientConfig.Clone()
	}
	conf.RootCAs = pool
	rt.TLSClientConfig = conf
	c := &http.Client{Transport: rt, Timeout: base.Timeout, CheckRedirect: base.CheckRedirect, Jar: base.Jar}
	actual, _ := s.caClients.LoadOrStore(key, c)
	return actual.(*http.Client), nil
}

// certificateRefused reports whether err is the webhook server's
// certificate failing verification: retrying cannot fix it.
func certificateRefused(err error) bool {
	var ve *tls.CertificateVerificationError
	return errors.As(err, &ve)
}
