package crypto

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	fpSHA256 = regexp.MustCompile(`^([0-9a-f]{2}:){31}[0-9a-f]{2}$`)
	fpSHA1   = regexp.MustCompile(`^([0-9a-f]{2}:){19}[0-9a-f]{2}$`)
	kidRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// testPair is a generated keypair, made once per key type: RSA key
// generation is slow.
type testPair struct{ cert, key []byte }

var (
	pairsOnce sync.Once
	pairs     map[KeyType]testPair
	pairsErr  error
)

func generated(t testing.TB, kt KeyType) testPair {
	t.Helper()
	pairsOnce.Do(func() {
		pairs = map[KeyType]testPair{}
		for _, k := range []KeyType{KeyTypeEC, KeyTypeRSA, KeyTypeED25519} {
			c, key, err := Generate(GenerateOptions{CommonName: "fixture " + string(k), KeyType: k,
				SubjectAltNames: []string{"fixture.example"}})
			if err != nil {
				pairsErr = err
				return
			}
			pairs[k] = testPair{c, key}
		}
	})
	if pairsErr != nil {
		t.Fatal(pairsErr)
	}
	return pairs[kt]
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func derOf(t testing.TB, p []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(p)
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}

func parseKeyPEM(t testing.TB, p []byte) crypto.Signer {
	t.Helper()
	k, err := x509.ParsePKCS8PrivateKey(derOf(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer)
}

func TestGenerateInspectRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		opts     GenerateOptions
		wantType KeyType
		wantAlg  x509.SignatureAlgorithm
		wantKU   x509.KeyUsage
		wantBits int // RSA modulus or EC curve size
	}{
		{"default is ec p256", GenerateOptions{CommonName: "idp.example"}, KeyTypeEC, x509.ECDSAWithSHA256, x509.KeyUsageDigitalSignature, 256},
		{"ec", GenerateOptions{CommonName: "idp.example", KeyType: KeyTypeEC, RSABits: 1024 /* ignored */}, KeyTypeEC, x509.ECDSAWithSHA256, x509.KeyUsageDigitalSignature, 256},
		{"rsa 2048 default size", GenerateOptions{CommonName: "idp.example", KeyType: KeyTypeRSA}, KeyTypeRSA, x509.SHA256WithRSA, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, 2048},
		{"ed25519", GenerateOptions{CommonName: "Ünïcode name", KeyType: KeyTypeED25519}, KeyTypeED25519, x509.PureEd25519, x509.KeyUsageDigitalSignature, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Now = now
			opts.Validity = 90 * 24 * time.Hour
			certPEM, keyPEM, err := Generate(opts)
			if err != nil {
				t.Fatal(err)
			}
			info, err := Inspect(certPEM, keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			der := derOf(t, certPEM)
			sum256, sum1 := sha256.Sum256(der), sha1.Sum(der)
			wantSubject := "CN=" + opts.CommonName + ",O=Gatehouse"
			switch {
			case info.KeyType != tc.wantType:
				t.Errorf("KeyType %q", info.KeyType)
			case info.Subject != wantSubject || info.Issuer != wantSubject:
				t.Errorf("Subject %q Issuer %q, want %q", info.Subject, info.Issuer, wantSubject)
			case !info.NotBefore.Equal(now.Add(-time.Minute)):
				t.Errorf("NotBefore %v", info.NotBefore)
			case !info.NotAfter.Equal(now.Add(90 * 24 * time.Hour)):
				t.Errorf("NotAfter %v", info.NotAfter)
			case !info.HasKey:
				t.Error("HasKey false")
			case !fpSHA256.MatchString(info.FingerprintSHA256) || !fpSHA1.MatchString(info.FingerprintSHA1) || !kidRE.MatchString(info.KID):
				t.Errorf("format: %q %q %q", info.FingerprintSHA256, info.FingerprintSHA1, info.KID)
			case strings.ReplaceAll(info.FingerprintSHA256, ":", "") != hex.EncodeToString(sum256[:]):
				t.Errorf("FingerprintSHA256 %s", info.FingerprintSHA256)
			case strings.ReplaceAll(info.FingerprintSHA1, ":", "") != hex.EncodeToString(sum1[:]):
				t.Errorf("FingerprintSHA1 %s", info.FingerprintSHA1)
			case info.KID != hex.EncodeToString(sum256[:]):
				t.Errorf("KID %s", info.KID)
			case len(info.SANs) != 0:
				t.Errorf("SANs %v", info.SANs)
			}

			cert, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if cert.SignatureAlgorithm != tc.wantAlg || cert.KeyUsage != tc.wantKU || cert.IsCA || !cert.BasicConstraintsValid {
				t.Errorf("alg %v key usage %v CA %v", cert.SignatureAlgorithm, cert.KeyUsage, cert.IsCA)
			}
			if len(cert.ExtKeyUsage) != 2 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || cert.ExtKeyUsage[1] != x509.ExtKeyUsageClientAuth {
				t.Errorf("ext key usage %v", cert.ExtKeyUsage)
			}
			if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 128 {
				t.Errorf("serial %v", cert.SerialNumber)
			}
			if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
				t.Errorf("self-signature: %v", err)
			}
			switch pub := cert.PublicKey.(type) {
			case *rsa.PublicKey:
				if pub.N.BitLen() != tc.wantBits {
					t.Errorf("RSA bits %d", pub.N.BitLen())
				}
			case *ecdsa.PublicKey:
				if pub.Curve != elliptic.P256() {
					t.Errorf("curve %v", pub.Curve.Params().Name)
				}
			}
			// Verified as its own trust anchor, for both usages.
			roots := x509.NewCertPool()
			roots.AddCert(cert)
			for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
				if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
					t.Errorf("verify %v: %v", usage, err)
				}
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now.Add(91 * 24 * time.Hour)}); err == nil {
				t.Error("verified after expiry")
			}
			// The key is PKCS#8 and the TLS stack pairs it with the certificate.
			if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
				t.Errorf("key PEM %q", keyPEM)
			}
			if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
				t.Error(err)
			}
			// Certificate alone: described, no key.
			info2, err := Inspect(certPEM, nil)
			if err != nil || info2.HasKey || info2.FingerprintSHA256 != info.FingerprintSHA256 {
				t.Errorf("without key: %+v %v", info2, err)
			}

			t.Run("openssl", func(t *testing.T) {
				dir := t.TempDir()
				certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
				writeFile(t, certFile, certPEM)
				writeFile(t, keyFile, keyPEM)
				checkOpenSSLFingerprints(t, certFile, info)
				openssl(t, "pkey", "-in", keyFile, "-noout")
				// openssl agrees that key and certificate belong together.
				if a, b := openssl(t, "x509", "-in", certFile, "-noout", "-pubkey"), openssl(t, "pkey", "-in", keyFile, "-pubout"); a != b {
					t.Errorf("public keys differ:\n%s\n%s", a, b)
				}
			})
		})
	}
}

func TestGenerateDefaults(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	certPEM, keyPEM, err := Generate(GenerateOptions{CommonName: "  padded  "})
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if info.KeyType != KeyTypeEC || info.Subject != "CN=padded,O=Gatehouse" {
		t.Errorf("%+v", info)
	}
	if info.NotAfter.Before(before.Add(DefaultValidity)) || info.NotAfter.After(after.Add(DefaultValidity)) {
		t.Errorf("NotAfter %v, want now + 365 days", info.NotAfter)
	}
	if _, ok := parseKeyPEM(t, keyPEM).(*ecdsa.PrivateKey); !ok {
		t.Error("not ECDSA")
	}
}

func TestGenerateSANs(t *testing.T) {
	certPEM, keyPEM, err := Generate(GenerateOptions{
		CommonName:      "idp",
		SubjectAltNames: []string{"idp.example", "*.apps.example", " 192.0.2.1 ", "2001:db8::1", "under_score.internal", "localhost"},
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"idp.example", "*.apps.example", "under_score.internal", "localhost", "192.0.2.1", "2001:db8::1"}
	if strings.Join(info.SANs, " ") != strings.Join(want, " ") {
		t.Errorf("SANs %q, want %q", info.SANs, want)
	}
	cert, _ := x509.ParseCertificate(derOf(t, certPEM))
	for _, h := range []string{"idp.example", "x.apps.example", "192.0.2.1", "2001:db8::1", "localhost"} {
		if err := cert.VerifyHostname(h); err != nil {
			t.Error(err)
		}
	}
	for _, h := range []string{"other.example", "apps.example", "a.b.apps.example", "192.0.2.2"} {
		if err := cert.VerifyHostname(h); err == nil {
			t.Errorf("%s verified", h)
		}
	}
}

func TestGenerateOptionsValidation(t *testing.T) {
	many := make([]string, maxSANs+1)
	for i := range many {
		many[i] = "h.example"
	}
	ok := func(o GenerateOptions) GenerateOptions {
		if o.CommonName == "" {
			o.CommonName = "cn"
		}
		return o
	}
	tests := []struct {
		name  string
		opts  GenerateOptions
		valid bool
	}{
		{"empty common name", GenerateOptions{}, false},
		{"blank common name", GenerateOptions{CommonName: " \t "}, false},
		{"65 character common name", GenerateOptions{CommonName: strings.Repeat("a", 65)}, false},
		{"64 character common name", GenerateOptions{CommonName: strings.Repeat("é", 64)}, true},
		{"control character", GenerateOptions{CommonName: "a\x00b"}, false},
		{"invalid utf-8", GenerateOptions{CommonName: "a\xffb"}, false},
		{"negative validity", ok(GenerateOptions{Validity: -time.Hour}), false},
		{"validity over 100 years", ok(GenerateOptions{Validity: MaxValidity + time.Second}), false},
		{"validity 100 years", ok(GenerateOptions{Validity: MaxValidity}), true},
		{"unknown key type", ok(GenerateOptions{KeyType: "dsa"}), false},
		{"key type is case sensitive", ok(GenerateOptions{KeyType: "EC"}), false},
		{"ed448 unsupported", ok(GenerateOptions{KeyType: "ed448"}), false},
		{"rsa 1024", ok(GenerateOptions{KeyType: KeyTypeRSA, RSABits: 1024}), false},
		{"rsa 2047", ok(GenerateOptions{KeyType: KeyTypeRSA, RSABits: 2047}), false},
		{"rsa 8192", ok(GenerateOptions{KeyType: KeyTypeRSA, RSABits: 8192}), false},
		{"rsa 3072", ok(GenerateOptions{KeyType: KeyTypeRSA, RSABits: 3072}), true},
		{"rsa 4096", ok(GenerateOptions{KeyType: KeyTypeRSA, RSABits: 4096}), true},
		{"rsa bits ignored for ed25519", ok(GenerateOptions{KeyType: KeyTypeED25519, RSABits: 1}), true},
		{"empty SAN", ok(GenerateOptions{SubjectAltNames: []string{""}}), false},
		{"SAN with space", ok(GenerateOptions{SubjectAltNames: []string{"a b.example"}}), false},
		{"SAN empty label", ok(GenerateOptions{SubjectAltNames: []string{"a..example"}}), false},
		{"SAN trailing dot", ok(GenerateOptions{SubjectAltNames: []string{"a.example."}}), false},
		{"SAN bare wildcard", ok(GenerateOptions{SubjectAltNames: []string{"*"}}), false},
		{"SAN inner wildcard", ok(GenerateOptions{SubjectAltNames: []string{"a.*.example"}}), false},
		{"SAN partial wildcard", ok(GenerateOptions{SubjectAltNames: []string{"a*.example"}}), false},
		{"SAN non-ascii", ok(GenerateOptions{SubjectAltNames: []string{"ü.example"}}), false},
		{"SAN ip with zone", ok(GenerateOptions{SubjectAltNames: []string{"fe80::1%eth0"}}), false},
		{"SAN url", ok(GenerateOptions{SubjectAltNames: []string{"https://idp.example"}}), false},
		{"SAN 64 character label", ok(GenerateOptions{SubjectAltNames: []string{strings.Repeat("a", 64) + ".example"}}), false},
		{"SAN longer than 253", ok(GenerateOptions{SubjectAltNames: []string{strings.Repeat("a.", 127) + "ab"}}), false},
		{"too many SANs", ok(GenerateOptions{SubjectAltNames: many}), false},
		{"100 SANs", ok(GenerateOptions{SubjectAltNames: many[:maxSANs]}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// params is what Generate validates with; checking it avoids
			// generating large RSA keys.
			_, err := tc.opts.params()
			if tc.valid && err != nil {
				t.Errorf("rejected: %v", err)
			}
			if !tc.valid && !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("error %v, want ErrInvalidOptions", err)
			}
			if !tc.valid {
				if _, _, err := Generate(tc.opts); !errors.Is(err, ErrInvalidOptions) {
					t.Errorf("Generate: %v", err)
				}
			}
		})
	}
}

func TestInspectChain(t *testing.T) {
	leaf, other := generated(t, KeyTypeEC), generated(t, KeyTypeED25519)
	leafInfo, err := Inspect(leaf.cert, nil)
	if err != nil {
		t.Fatal(err)
	}
	chain := append(append([]byte{}, leaf.cert...), other.cert...)
	info, err := Inspect(chain, leaf.key)
	if err != nil {
		t.Fatal(err)
	}
	if info.FingerprintSHA256 != leafInfo.FingerprintSHA256 || !info.HasKey || info.Subject != "CN=fixture ec,O=Gatehouse" {
		t.Errorf("chain described as %+v", info)
	}
	// The key must be the first certificate's, not a chain certificate's.
	if _, err := Inspect(chain, other.key); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("key of the second certificate: %v", err)
	}
	// CRLF line endings, blank lines between blocks and a byte order mark.
	crlf := "\xef\xbb\xbf\r\n" + strings.ReplaceAll(string(leaf.cert), "\n", "\r\n") + "\r\n\r\n" + string(other.cert) + "\n\n"
	if info, err := Inspect([]byte(crlf), nil); err != nil || info.FingerprintSHA256 != leafInfo.FingerprintSHA256 {
		t.Errorf("CRLF chain: %v", err)
	}
}

func TestInspectRejects(t *testing.T) {
	ec, rsaPair, ed := generated(t, KeyTypeEC), generated(t, KeyTypeRSA), generated(t, KeyTypeED25519)
	ec2cert, ec2key, err := Generate(GenerateOptions{CommonName: "other"})
	if err != nil {
		t.Fatal(err)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	x25519DER, _ := x509.MarshalPKCS8PrivateKey(x25519)
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00000000000000000000000000000000"},
		Bytes:   []byte("ciphertext")})
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Headers: map[string]string{"X": "y"}, Bytes: derOf(t, ec.cert)})
	huge := cat(ec.cert, bytes.Repeat([]byte("\n"), MaxPEMSize))
	truncated := ec.cert[:len(ec.cert)-20]

	tests := []struct {
		name      string
		cert, key []byte
		want      error
	}{
		{"empty certificate", nil, nil, ErrInvalidCertificate},
		{"blank certificate", []byte(" \n\t"), nil, ErrInvalidCertificate},
		{"garbage", []byte("hello, world"), nil, ErrInvalidCertificate},
		{"binary garbage", []byte{0x30, 0x82, 0xff, 0xff, 0, 1, 2}, nil, ErrInvalidCertificate},
		{"DER instead of PEM", derOf(t, ec.cert), nil, ErrInvalidCertificate},
		{"text before the certificate", cat([]byte("subject=CN=x\n"), ec.cert), nil, ErrInvalidCertificate},
		{"trailing garbage", cat(ec.cert, []byte("junk\n")), nil, ErrInvalidCertificate},
		{"garbage between certificates", cat(ec.cert, []byte("junk\n"), ed.cert), nil, ErrInvalidCertificate},
		{"key as certificate", ec.key, nil, ErrInvalidCertificate},
		{"key appended to certificate", cat(ec.cert, ec.key), nil, ErrInvalidCertificate},
		{"wrong PEM type", pemBlock("TRUSTED CERTIFICATE", derOf(t, ec.cert)), nil, ErrInvalidCertificate},
		{"certificate with headers", withHeaders, nil, ErrInvalidCertificate},
		{"not DER inside", pemBlock("CERTIFICATE", []byte("not a certificate")), nil, ErrInvalidCertificate},
		{"broken chain certificate", cat(ec.cert, pemBlock("CERTIFICATE", []byte{0x30, 0})), nil, ErrInvalidCertificate},
		{"truncated PEM", truncated, nil, ErrInvalidCertificate},
		{"malformed block before a good one", cat([]byte("-----BEGIN CERTIFICATE-----\n!!!\n"), ec.cert), nil, ErrInvalidCertificate},
		{"unterminated block", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n"), nil, ErrInvalidCertificate},
		{"certificate over 1 MiB", huge, nil, ErrInvalidCertificate},

		{"key garbage", ec.cert, []byte("garbage"), ErrInvalidKey},
		{"key over 1 MiB", ec.cert, cat(ec.key, bytes.Repeat([]byte(" "), MaxPEMSize)), ErrInvalidKey},
		{"blank key over 1 MiB", ec.cert, bytes.Repeat([]byte(" "), MaxPEMSize+1), ErrInvalidKey},
		{"certificate as key", ec.cert, ec.cert, ErrInvalidKey},
		{"public key as key", ec.cert, pemBlock("PUBLIC KEY", []byte{0x30, 0}), ErrInvalidKey},
		{"two keys", ec.cert, cat(ec.key, ec.key), ErrInvalidKey},
		{"trailing garbage after key", ec.cert, cat(ec.key, []byte("x")), ErrInvalidKey},
		{"encrypted PKCS#8", ec.cert, pemBlock("ENCRYPTED PRIVATE KEY", []byte{0x30, 0}), ErrInvalidKey},
		{"encrypted PKCS#1", rsaPair.cert, encrypted, ErrInvalidKey},
		{"not DER inside key", ec.cert, pemBlock("PRIVATE KEY", []byte("junk")), ErrInvalidKey},
		{"EC key labelled RSA", ec.cert, pemBlock("RSA PRIVATE KEY", derOf(t, ec.key)), ErrInvalidKey},
		{"only EC parameters", ec.cert, pemBlock("EC PARAMETERS", []byte{6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 3, 1, 7}), ErrInvalidKey},
		{"X25519 key", ec.cert, pemBlock("PRIVATE KEY", x25519DER), ErrInvalidKey},

		{"another EC key", ec.cert, ec2key, ErrKeyMismatch},
		{"EC certificate, RSA key", ec.cert, rsaPair.key, ErrKeyMismatch},
		{"RSA certificate, EC key", rsaPair.cert, ec.key, ErrKeyMismatch},
		{"Ed25519 certificate, other Ed25519 key", ed.cert, mustGenerateKey(t, KeyTypeED25519), ErrKeyMismatch},
		{"other certificate, its key swapped", ec2cert, ec.key, ErrKeyMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Inspect(tc.cert, tc.key)
			if !errors.Is(err, tc.want) || info != nil {
				t.Fatalf("Inspect = %+v, %v; want %v", info, err, tc.want)
			}
			if len(err.Error()) > 300 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
		})
	}
}

func mustGenerateKey(t *testing.T, kt KeyType) []byte {
	t.Helper()
	_, key, err := Generate(GenerateOptions{CommonName: "k", KeyType: kt})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// ecParams is the "EC PARAMETERS" block openssl ecparam -genkey writes: the
// P-256 OID.
var ecParams = pemBlock("EC PARAMETERS", []byte{6, 8, 0x2a, 0x86, 0x48, 0xce, 0x3d, 3, 1, 7})

func TestKeyFormatsAcceptedAndNormalized(t *testing.T) {
	ec, rsaPair, ed := generated(t, KeyTypeEC), generated(t, KeyTypeRSA), generated(t, KeyTypeED25519)
	ecKey := parseKeyPEM(t, ec.key).(*ecdsa.PrivateKey)
	rsaKey := parseKeyPEM(t, rsaPair.key).(*rsa.PrivateKey)
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pair testPair
		key  []byte
	}{
		{"PKCS#8 EC", ec, ec.key},
		{"PKCS#8 RSA", rsaPair, rsaPair.key},
		{"PKCS#8 Ed25519", ed, ed.key},
		{"PKCS#1 RSA", rsaPair, pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))},
		{"SEC1 EC", ec, pemBlock("EC PRIVATE KEY", sec1)},
		{"SEC1 EC after EC PARAMETERS", ec, append(append([]byte{}, ecParams...), pemBlock("EC PRIVATE KEY", sec1)...)},
		{"CRLF and surrounding space", ec, []byte("\r\n  " + strings.ReplaceAll(string(ec.key), "\n", "\r\n") + "\r\n\r\n")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Inspect(tc.pair.cert, tc.key)
			if err != nil || !info.HasKey {
				t.Fatalf("Inspect: %+v %v", info, err)
			}
			norm, err := NormalizeKeyPEM(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			b, rest := pem.Decode(norm)
			if b == nil || b.Type != "PRIVATE KEY" || len(rest) != 0 {
				t.Fatalf("normalized: %q", norm)
			}
			// The same key as the generated one, and idempotent.
			type privKey interface{ Equal(crypto.PrivateKey) bool }
			if !parseKeyPEM(t, norm).(privKey).Equal(parseKeyPEM(t, tc.pair.key)) {
				t.Error("normalized key differs from the original")
			}
			if again, err := NormalizeKeyPEM(norm); err != nil || !bytes.Equal(again, norm) {
				t.Errorf("not idempotent: %v", err)
			}
			if _, err := tls.X509KeyPair(tc.pair.cert, norm); err != nil {
				t.Error(err)
			}
		})
	}
	for _, bad := range [][]byte{nil, []byte("junk"), ec.cert, ecParams} {
		if _, err := NormalizeKeyPEM(bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("NormalizeKeyPEM(%.20q) = %v", bad, err)
		}
	}
}

// TestHostileRSAKeysRejectedQuickly: x509 validation of an RSA key runs
// modular exponentiations modulo its primes before checking them against the
// modulus; without a size bound a 16 KiB key takes minutes.
func TestHostileRSAKeysRejectedQuickly(t *testing.T) {
	big1 := func(bits int) *big.Int {
		b := make([]byte, bits/8)
		_, _ = rand.Read(b)
		b[0] |= 0x80
		b[len(b)-1] |= 1
		return new(big.Int).SetBytes(b)
	}
	type noCRT struct {
		Version int
		N       *big.Int
		E       int
		D, P, Q *big.Int
	}
	q := big.NewInt(65537)
	p := big1(32768)
	hugeP, err := asn1.Marshal(noCRT{0, new(big.Int).Mul(p, q), 65537, big1(1024), p, q})
	if err != nil {
		t.Fatal(err)
	}
	smallN, err := asn1.Marshal(noCRT{0, big1(2048), 65537, big1(1024), p, q})
	if err != nil {
		t.Fatal(err)
	}
	p8 := func(pkcs1 []byte) []byte {
		der, err := asn1.Marshal(struct {
			Version int
			Algo    struct {
				Algorithm  asn1.ObjectIdentifier
				Parameters asn1.RawValue
			}
			Key []byte
		}{0, struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue
		}{oidRSAEncryption, asn1.NullRawValue}, pkcs1})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	for name, key := range map[string][]byte{
		"PKCS#1 huge modulus": pemBlock("RSA PRIVATE KEY", hugeP),
		"PKCS#1 huge prime":   pemBlock("RSA PRIVATE KEY", smallN),
		"PKCS#8 huge modulus": pemBlock("PRIVATE KEY", p8(hugeP)),
		"PKCS#8 huge prime":   pemBlock("PRIVATE KEY", p8(smallN)),
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			if _, err := NormalizeKeyPEM(key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("accepted: %v", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestSmallRSAKeysRejected(t *testing.T) {
	t.Setenv("GODEBUG", "rsa1024min=0")
	k, err := rsa.GenerateKey(rand.Reader, 512)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(pemBlock("CERTIFICATE", der), nil); !errors.Is(err, ErrInvalidCertificate) {
		t.Errorf("512-bit certificate: %v", err)
	}
	if _, err := NormalizeKeyPEM(pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("512-bit key: %v", err)
	}
}

func TestSelfSignedUnchanged(t *testing.T) {
	certPEM, keyPEM, err := SelfSigned([]string{"localhost", "", "192.0.2.9"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Inspect(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if info.KeyType != KeyTypeEC || info.Subject != "CN=Gatehouse Self-signed Certificate,O=Gatehouse" ||
		strings.Join(info.SANs, " ") != "localhost 192.0.2.9" {
		t.Errorf("%+v", info)
	}
	cert, _ := x509.ParseCertificate(derOf(t, certPEM))
	if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("usage %v %v", cert.KeyUsage, cert.ExtKeyUsage)
	}
}

// TestOpenSSLMadeKeypairs checks keypairs made by another implementation.
func TestOpenSSLMadeKeypairs(t *testing.T) {
	needOpenSSL(t)
	tests := []struct {
		name     string
		genKey   []string // writes key.pem
		wantType KeyType
		wantErr  error // for the certificate
	}{
		{"ecparam -genkey (EC PARAMETERS + SEC1)", []string{"ecparam", "-name", "prime256v1", "-genkey", "-out", "key.pem"}, KeyTypeEC, nil},
		{"P-384 PKCS#8", []string{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "key.pem"}, KeyTypeEC, nil},
		{"RSA PKCS#1", []string{"genrsa", "-traditional", "-out", "key.pem", "2048"}, KeyTypeRSA, nil},
		{"Ed25519", []string{"genpkey", "-algorithm", "ED25519", "-out", "key.pem"}, KeyTypeED25519, nil},
		{"Ed448 unsupported", []string{"genpkey", "-algorithm", "ED448", "-out", "key.pem"}, "", ErrInvalidCertificate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opensslIn(t, dir, tc.genKey...)
			opensslIn(t, dir, "req", "-new", "-x509", "-key", "key.pem", "-subj", "/CN=openssl.example/O=Test", "-days", "30", "-out", "cert.pem")
			certPEM, keyPEM := readFile(t, filepath.Join(dir, "cert.pem")), readFile(t, filepath.Join(dir, "key.pem"))
			info, err := Inspect(certPEM, keyPEM)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Inspect: %v, want %v", err, tc.wantErr)
				}
				if _, err := NormalizeKeyPEM(keyPEM); !errors.Is(err, ErrInvalidKey) {
					t.Errorf("NormalizeKeyPEM: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.KeyType != tc.wantType || !info.HasKey || info.Subject != "CN=openssl.example,O=Test" {
				t.Errorf("%+v", info)
			}
			checkOpenSSLFingerprints(t, filepath.Join(dir, "cert.pem"), info)
			norm, err := NormalizeKeyPEM(keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "norm.pem"), norm)
			if a, b := opensslIn(t, dir, "pkey", "-in", "key.pem", "-pubout"), opensslIn(t, dir, "pkey", "-in", "norm.pem", "-pubout"); a != b {
				t.Error("normalized key differs")
			}
		})
	}
}

func checkOpenSSLFingerprints(t *testing.T, certFile string, info *Info) {
	t.Helper()
	for alg, want := range map[string]string{"-sha256": info.FingerprintSHA256, "-sha1": info.FingerprintSHA1} {
		out := openssl(t, "x509", "-in", certFile, "-noout", "-fingerprint", alg)
		// "sha256 Fingerprint=AB:CD:..." (OpenSSL 1.1 writes "SHA256").
		_, got, ok := strings.Cut(strings.TrimSpace(out), "=")
		if !ok || !strings.EqualFold(got, want) {
			t.Errorf("openssl %s fingerprint %q, ours %q", alg, out, want)
		}
	}
}

// needOpenSSL skips the test when openssl is not installed, unless CI=true.
func needOpenSSL(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but openssl is not installed: %v", err)
		}
		t.Skip("openssl not installed")
	}
}

func openssl(t *testing.T, args ...string) string {
	t.Helper()
	return opensslIn(t, "", args...)
}

func opensslIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	needOpenSSL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
