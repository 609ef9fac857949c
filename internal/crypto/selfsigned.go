package crypto

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Self-signed certificate files, below the data dir.
const (
	SelfSignedCertFile = "tls/self-signed.crt"
	SelfSignedKeyFile  = "tls/self-signed.key"
)

// renewBefore: a stored certificate this close to expiry is replaced.
const renewBefore = 30 * 24 * time.Hour

// LoadOrCreateSelfSigned returns the HTTPS listener's fallback certificate,
// stored in dataDir. It is made (ECDSA P-256, valid one year, for localhost
// and the given names) when missing, unreadable or about to expire.
func LoadOrCreateSelfSigned(dataDir string, names []string, now time.Time) (tls.Certificate, bool, error) {
	certPath := filepath.Join(dataDir, SelfSignedCertFile)
	keyPath := filepath.Join(dataDir, SelfSignedKeyFile)
	cert, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err == nil && cert.Leaf != nil && now.Add(renewBefore).Before(cert.Leaf.NotAfter) {
		return cert, false, nil
	}
	// Missing, unreadable or about to expire: make a new one.
	certPEM, keyPEM, err := SelfSigned(append([]string{"localhost"}, names...), now, 365*24*time.Hour)
	if err != nil {
		return tls.Certificate{}, false, err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return tls.Certificate{}, false, fmt.Errorf("self-signed certificate: %w", err)
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, false, fmt.Errorf("save self-signed key: %w", err)
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, false, fmt.Errorf("save self-signed certificate: %w", err)
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	return cert, true, err
}

// SelfSigned makes a PEM certificate and PKCS#8 key for the given DNS names
// or IP addresses (empty ones skipped): ECDSA P-256, subject
// "CN=Gatehouse Self-signed Certificate,O=Gatehouse", for server
// authentication.
func SelfSigned(names []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	p := certParams{
		commonName:  "Gatehouse Self-signed Certificate",
		notBefore:   now.Add(-time.Minute),
		notAfter:    now.Add(validity),
		keyType:     KeyTypeEC,
		extKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			p.ips = append(p.ips, ip)
		} else if n != "" {
			p.dnsNames = append(p.dnsNames, n)
		}
	}
	return issue(p)
}
