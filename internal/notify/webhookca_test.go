package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// serverCert is a certificate for 127.0.0.1 signed by ca.
func (ca *testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "webhook"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// A webhook over TLS whose certificate a private CA signed: delivered when
// webhook_ca names that CA's keypair; refused, and not retried, with the
// system roots or another CA.
func TestWebhookCA(t *testing.T) {
	f := newFixture(t)
	ca, other := newTestCA(t, "Webhook Test CA"), newTestCA(t, "Other CA")
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.serverCert(t)}}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	keypair := func(name, pem string) *store.CertificateKeyPair {
		kp := &store.CertificateKeyPair{Name: name, CertificateData: pem}
		if err := f.st.CreateKeyPair(ctx, kp); err != nil {
			t.Fatal(err)
		}
		return kp
	}
	good, wrong, junk := keypair("webhook ca", ca.pem), keypair("other ca", other.pem), keypair("junk", "not a certificate")
	n := &store.Notification{Severity: store.SeverityNotice, Body: "hello", UserPK: f.admin.PK}
	for _, tc := range []struct {
		name    string
		ca      *store.CertificateKeyPair
		ok      bool
		errText string
	}{
		{"system roots", nil, false, "certificate"},
		{"the signing CA", good, true, ""},
		{"another CA", wrong, false, "certificate"},
		{"not a certificate", junk, false, "no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &store.NotificationTransport{Name: "hook " + tc.name, Mode: store.TransportWebhook, WebhookURL: srv.URL}
			if tc.ca != nil {
				tr.WebhookCA = &tc.ca.UUID
			}
			if err := f.st.CreateNotificationTransport(ctx, tr); err != nil {
				t.Fatal(err)
			}
			before := hits.Load()
			msgs, err := f.svc.Send(ctx, tr, n, f.admin, nil)
			if tc.ok {
				if err != nil || len(msgs) == 0 || msgs[0] != "204" || hits.Load() != before+1 {
					t.Errorf("Send = %v, %v; hits %d", msgs, err, hits.Load()-before)
				}
				return
			}
			if err == nil || !Final(err) || !strings.Contains(err.Error(), tc.errText) || hits.Load() != before {
				t.Errorf("Send = %v, %v (final %v); hits %d", msgs, err, Final(err), hits.Load()-before)
			}
		})
	}
	// The client for one CA is made once and reused.
	tr := &store.NotificationTransport{WebhookCA: &good.UUID}
	c1, err1 := f.svc.webhookClient(ctx, tr)
	c2, err2 := f.svc.webhookClient(ctx, tr)
	if err1 != nil || err2 != nil || c1 != c2 {
		t.Errorf("clients %p %p: %v %v", c1, c2, err1, err2)
	}
}
