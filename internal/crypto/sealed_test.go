package crypto

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

const (
	testSecret  = "0123456789abcdef-known-answer"
	testPurpose = "crypto/keypair"
)

func newTestSealer(t testing.TB, secret, purpose string) *Sealer {
	t.Helper()
	s, err := NewSealer(secret, purpose)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var sealedForm = regexp.MustCompile(`^v1:[A-Za-z0-9_-]+$`)

func TestSealerRoundTrip(t *testing.T) {
	s := newTestSealer(t, testSecret, testPurpose)
	big := make([]byte, 64<<10)
	_, _ = rand.Read(big)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"private key", generated(t, KeyTypeEC).key},
		{"64 KiB binary", big},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sealed, err := s.Seal(tc.plaintext)
			if err != nil {
				t.Fatal(err)
			}
			if !sealedForm.MatchString(sealed) {
				t.Errorf("form %.40q", sealed)
			}
			if n := base64.RawURLEncoding.DecodedLen(len(sealed) - 3); n != 12+len(tc.plaintext)+16 {
				t.Errorf("%d bytes sealed, want nonce + plaintext + tag", n)
			}
			got, err := s.Open(sealed)
			if err != nil || !bytes.Equal(got, tc.plaintext) {
				t.Fatalf("Open: %v", err)
			}
			// Another Sealer from the same secret and purpose (another
			// replica) opens it too.
			if got, err := newTestSealer(t, testSecret, testPurpose).Open(sealed); err != nil || !bytes.Equal(got, tc.plaintext) {
				t.Errorf("other replica: %v", err)
			}
			// A random nonce: sealing twice differs.
			again, _ := s.Seal(tc.plaintext)
			if again == sealed {
				t.Error("sealed twice to the same value")
			}
			if strings.Contains(sealed, base64.RawURLEncoding.EncodeToString(tc.plaintext)) && len(tc.plaintext) > 4 {
				t.Error("plaintext visible")
			}
		})
	}
}

// TestSealerKnownAnswer pins the format: a value sealed when this was
// written still opens, and the key derivation matches an independent
// RFC 5869 implementation.
func TestSealerKnownAnswer(t *testing.T) {
	const sealed = "v1:CfRbNLF9Mp4UMRO-50qczMNFk5YRyChTo8HNhUTmYmR-WJRBDBEwrxY7PA"
	got, err := newTestSealer(t, testSecret, testPurpose).Open(sealed)
	if err != nil || string(got) != "known plaintext" {
		t.Fatalf("Open = %q, %v", got, err)
	}

	// HKDF-SHA256 by hand: no salt means HashLen zero bytes (RFC 5869 2.2);
	// 32 bytes is one block of expansion.
	extract := hmac.New(sha256.New, make([]byte, sha256.Size))
	extract.Write([]byte(testSecret))
	prk := extract.Sum(nil)
	expand := hmac.New(sha256.New, prk)
	expand.Write([]byte("gatehouse/" + testPurpose))
	expand.Write([]byte{1})
	key := expand.Sum(nil)

	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, raw[:12], raw[12:], []byte(testPurpose))
	if err != nil || string(plain) != "known plaintext" {
		t.Errorf("independent decryption: %q %v", plain, err)
	}
	if _, err := gcm.Open(nil, raw[:12], raw[12:], nil); err == nil {
		t.Error("the purpose is not bound as additional data")
	}
}

func TestSealerRejects(t *testing.T) {
	s := newTestSealer(t, testSecret, testPurpose)
	sealed, err := s.Seal([]byte("a private key"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(sealed[3:])
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return "v1:" + base64.RawURLEncoding.EncodeToString(b)
	}
	enc := func(b []byte) string { return "v1:" + base64.RawURLEncoding.EncodeToString(b) }

	otherSecret := newTestSealer(t, testSecret+"!", testPurpose)
	otherPurpose := newTestSealer(t, testSecret, "webauthn/secret")

	tests := []struct {
		name   string
		sealer *Sealer
		sealed string
	}{
		{"flipped nonce byte", s, flip(0)},
		{"flipped ciphertext byte", s, flip(12)},
		{"flipped tag byte", s, flip(len(raw) - 1)},
		{"truncated by a byte", s, enc(raw[:len(raw)-1])},
		{"extended by a byte", s, enc(append(bytes.Clone(raw), 0))},
		{"wrong secret", otherSecret, sealed},
		{"wrong purpose", otherPurpose, sealed},
		{"empty", s, ""},
		{"no version", s, sealed[3:]},
		{"unknown version", s, "v2:" + sealed[3:]},
		{"upper-case version", s, "V1:" + sealed[3:]},
		{"long version", s, strings.Repeat("v", 10000) + ":x"},
		{"version only", s, "v1:"},
		{"padded base64", s, sealed + "="},
		{"standard base64 alphabet", s, "v1:" + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 40))},
		{"not base64", s, "v1:***"},
		{"line break", s, sealed[:20] + "\n" + sealed[20:]},
		{"space", s, sealed + " "},
		{"shorter than nonce and tag", s, enc(make([]byte, 27))},
		{"nonce and tag of zeros", s, enc(make([]byte, 28))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.sealer.Open(tc.sealed)
			if !errors.Is(err, ErrSealed) || got != nil {
				t.Fatalf("Open = %q, %v; want ErrSealed", got, err)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
	// The original still opens.
	if _, err := s.Open(sealed); err != nil {
		t.Fatal(err)
	}
}

func TestNewSealerRejects(t *testing.T) {
	for name, args := range map[string][2]string{
		"empty secret":  {"", testPurpose},
		"short secret":  {"fifteen chars!!", testPurpose},
		"empty purpose": {testSecret, ""},
	} {
		if s, err := NewSealer(args[0], args[1]); !errors.Is(err, ErrSealed) || s != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewSealer("sixteen chars!!!", testPurpose); err != nil {
		t.Errorf("16 characters: %v", err)
	}
}

func TestSealerPrintsNoKey(t *testing.T) {
	s := newTestSealer(t, testSecret, testPurpose)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if got := fmt.Sprintf(verb, s); got != "crypto.Sealer(crypto/keypair)" {
			t.Errorf("%s: %q", verb, got)
		}
	}
}
