package crypto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
)

// keyWraps are the PEM types FuzzInspect can wrap DER key input in.
var keyWraps = []string{"", "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"}

// FuzzInspect: Inspect never panics, fails only with its sentinels, and
// what it accepts is consistent: the key normalizes and still matches.
//
// Mutating PEM text rarely gives well-formed PEM, so wrap can make the
// inputs DER: bit 0 wraps cert in a CERTIFICATE block, bits 1-2 pick the
// key's block type from keyWraps (0: keyPEM is used as is).
func FuzzInspect(f *testing.F) {
	ec, rsaPair, ed := generated(f, KeyTypeEC), generated(f, KeyTypeRSA), generated(f, KeyTypeED25519)
	ecKey, err := x509.ParsePKCS8PrivateKey(derOf(f, ec.key))
	if err != nil {
		f.Fatal(err)
	}
	sec1, _ := x509.MarshalECPrivateKey(ecKey.(*ecdsa.PrivateKey))
	rsaKey, _ := x509.ParsePKCS8PrivateKey(derOf(f, rsaPair.key))
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaKey.(*rsa.PrivateKey))
	f.Add(ec.cert, ec.key, uint8(0))
	f.Add(rsaPair.cert, rsaPair.key, uint8(0))
	f.Add(ed.cert, ed.key, uint8(0))
	f.Add(ec.cert, pemBlock("EC PRIVATE KEY", sec1), uint8(0))
	f.Add(ec.cert, append(append([]byte{}, ecParams...), pemBlock("EC PRIVATE KEY", sec1)...), uint8(0))
	f.Add(rsaPair.cert, pemBlock("RSA PRIVATE KEY", pkcs1), uint8(0))
	f.Add(append(append([]byte{}, ec.cert...), ed.cert...), ec.key, uint8(0))
	f.Add(ec.cert, ed.key, uint8(0))
	f.Add(ec.cert, []byte(nil), uint8(0))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"), uint8(0))
	f.Add([]byte{}, []byte{}, uint8(0))
	// DER seeds.
	f.Add(derOf(f, ec.cert), derOf(f, ec.key), uint8(1|1<<1))
	f.Add(derOf(f, ed.cert), derOf(f, ed.key), uint8(1|1<<1))
	f.Add(derOf(f, rsaPair.cert), derOf(f, rsaPair.key), uint8(1|1<<1))
	f.Add(derOf(f, rsaPair.cert), pkcs1, uint8(1|2<<1))
	f.Add(derOf(f, ec.cert), sec1, uint8(1|3<<1))

	f.Fuzz(func(t *testing.T, certPEM, keyPEM []byte, wrap uint8) {
		if wrap&1 != 0 {
			certPEM = pemBlock("CERTIFICATE", certPEM)
		}
		if typ := keyWraps[wrap>>1&3]; typ != "" {
			keyPEM = pemBlock(typ, keyPEM)
		}
		info, err := Inspect(certPEM, keyPEM)
		if err != nil {
			if info != nil {
				t.Fatal("info with an error")
			}
			if !errors.Is(err, ErrInvalidCertificate) && !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrKeyMismatch) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		switch info.KeyType {
		case KeyTypeRSA, KeyTypeEC, KeyTypeED25519:
		default:
			t.Fatalf("key type %q", info.KeyType)
		}
		if !fpSHA256.MatchString(info.FingerprintSHA256) || !fpSHA1.MatchString(info.FingerprintSHA1) ||
			info.KID != strings.ReplaceAll(info.FingerprintSHA256, ":", "") {
			t.Fatalf("fingerprints %q %q %q", info.FingerprintSHA256, info.FingerprintSHA1, info.KID)
		}
		if info.HasKey != (len(bytes.TrimSpace(keyPEM)) != 0) {
			t.Fatalf("HasKey %v for key %q", info.HasKey, keyPEM)
		}
		if !info.HasKey {
			return
		}
		norm, err := NormalizeKeyPEM(keyPEM)
		if err != nil {
			t.Fatalf("accepted key does not normalize: %v", err)
		}
		info2, err := Inspect(certPEM, norm)
		if err != nil || !info2.HasKey || info2.FingerprintSHA256 != info.FingerprintSHA256 {
			t.Fatalf("normalized key: %v", err)
		}
	})
}

// FuzzOpen: Open never panics and fails only with ErrSealed; what opens
// seals and opens again to the same bytes.
func FuzzOpen(f *testing.F) {
	s := newTestSealer(f, testSecret, testPurpose)
	for _, p := range []string{"", "x", "a private key"} {
		v, err := s.Seal([]byte(p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v)
	}
	f.Add("v1:CfRbNLF9Mp4UMRO-50qczMNFk5YRyChTo8HNhUTmYmR-WJRBDBEwrxY7PA")
	f.Add("v2:AAAA")
	f.Add("v1:")
	f.Add(":")
	f.Add("")

	f.Fuzz(func(t *testing.T, sealed string) {
		plain, err := s.Open(sealed)
		if err != nil {
			if plain != nil || !errors.Is(err, ErrSealed) {
				t.Fatalf("Open = %q, %v", plain, err)
			}
			return
		}
		again, err := s.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if p2, err := s.Open(again); err != nil || !bytes.Equal(p2, plain) {
			t.Fatalf("reseal: %v", err)
		}
	})
}
