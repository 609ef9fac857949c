package crypto

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
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
// or IP addresses.
func SelfSigned(names []string, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Gatehouse Self-signed Certificate", Organization: []string{"Gatehouse"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if n != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}
