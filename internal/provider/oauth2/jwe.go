package oauth2

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Encrypted ID tokens.
//
// With an encryption_key, the provider's ID tokens are nested JWTs (RFC
// 7519 §5.2, §11.2; OIDC Core §10.2 and §16.14: signed first, then
// encrypted): the signed ID token is the plaintext of a JWE (RFC 7516)
// compact serialization with "cty": "JWT", encrypted to the public key of
// the encryption keypair, whose kid the JWE header carries. An RSA key
// uses RSA-OAEP-256 with A256CBC-HS512 (RFC 7518 §4.3, §5.2.5; authentik's
// choice); an ECDSA key ECDH-ES+A256KW with A256GCM (RFC 7518 §4.6, §5.3).
// The relying party decrypts with the keypair's private key, which the
// admin gives it.

// Algorithms the discovery document lists (OIDC Discovery §3,
// id_token_encryption_alg_values_supported / _enc_values_supported); a
// provider uses the pair of its encryption key's type.
var (
	idTokenEncryptionAlgs = []string{string(jose.RSA_OAEP_256), string(jose.ECDH_ES_A256KW)}
	idTokenEncryptionEncs = []string{string(jose.A256CBC_HS512), string(jose.A256GCM)}
)

// encryptionKey is the public half of a provider's encryption keypair.
type encryptionKey struct {
	kid string
	alg jose.KeyAlgorithm
	enc jose.ContentEncryption
	pub crypto.PublicKey
}

// encKeyCache keeps encryption keys by keypair uuid for configTTL: the
// token endpoint issues many ID tokens, the keypair rarely changes.
type encKeyCache struct {
	mu sync.Mutex
	m  map[uuid.UUID]encKeyEntry
}

type encKeyEntry struct {
	k      *encryptionKey
	loaded time.Time
}

// errEncryptionKey: the encryption keypair cannot encrypt (no certificate,
// an unsupported key type). The ID token is then not issued at all rather
// than issued in clear.
var errEncryptionKey = errors.New("unusable encryption key")

// encryptionKey loads the public key of keypair id from its certificate
// (the private key is not needed to encrypt).
func (s *Server) encryptionKey(ctx context.Context, id uuid.UUID) (*encryptionKey, error) {
	now := s.now()
	c := &s.keys.enc
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Sub(e.loaded) < configTTL {
		return e.k, nil
	}
	kp, err := s.Store.KeyPairByUUID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("encryption key %s: %w", id, err)
	}
	k, err := parseEncryptionKey(kp)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[uuid.UUID]encKeyEntry{}
	}
	c.m[id] = encKeyEntry{k: k, loaded: now}
	c.mu.Unlock()
	return k, nil
}

func parseEncryptionKey(kp *store.CertificateKeyPair) (*encryptionKey, error) {
	block, _ := pem.Decode([]byte(kp.CertificateData))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("keypair %s: no certificate: %w", kp.Name, errEncryptionKey)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keypair %s: %v: %w", kp.Name, err, errEncryptionKey)
	}
	k := &encryptionKey{kid: kp.KID, pub: cert.PublicKey}
	if k.kid == "" {
		k.kid = kp.FingerprintSHA256
	}
	switch cert.PublicKey.(type) {
	case *rsa.PublicKey:
		k.alg, k.enc = jose.RSA_OAEP_256, jose.A256CBC_HS512
	case *ecdsa.PublicKey:
		k.alg, k.enc = jose.ECDH_ES_A256KW, jose.A256GCM
	default:
		return nil, fmt.Errorf("keypair %s: cannot encrypt to a %T key: %w", kp.Name, cert.PublicKey, errEncryptionKey)
	}
	return k, nil
}

// jwk is the key as the JWKS publishes it ("use": "enc", as authentik).
func (k *encryptionKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.pub, KeyID: k.kid, Algorithm: string(k.alg), Use: "enc"}
}

// encrypt wraps a signed JWT in a JWE (RFC 7519 §5.2: cty "JWT").
func (k *encryptionKey) encrypt(signed string) (string, error) {
	enc, err := jose.NewEncrypter(k.enc, jose.Recipient{Algorithm: k.alg, Key: k.pub, KeyID: k.kid},
		(&jose.EncrypterOptions{}).WithContentType("JWT"))
	if err != nil {
		return "", err
	}
	obj, err := enc.Encrypt([]byte(signed))
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// encryptIDToken encrypts a signed ID token when the provider has an
// encryption key (called by issue for every response that carries one:
// the token endpoint and the authorization response fragments alike).
func (s *Server) encryptIDToken(ctx context.Context, p *store.OAuth2Provider, signed string) (string, error) {
	if p.EncryptionKey == nil {
		return signed, nil
	}
	k, err := s.encryptionKey(ctx, *p.EncryptionKey)
	if err != nil {
		return "", err
	}
	return k.encrypt(signed)
}

// decryptIDTokenHint opens an encrypted ID token sent back as an
// id_token_hint with the encryption keypair's private key. RP-Initiated
// Logout §2 has the RP send the signed token, or one re-encrypted to the
// OP; an RP that sends back what it got is accepted too.
func (s *Server) decryptIDTokenHint(ctx context.Context, p *store.OAuth2Provider, token string) (string, error) {
	if p.EncryptionKey == nil {
		return "", errors.New("id_token_hint: encrypted, but the provider has no encryption key")
	}
	k, err := s.encryptionKey(ctx, *p.EncryptionKey)
	if err != nil {
		return "", err
	}
	obj, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{k.alg}, []jose.ContentEncryption{k.enc})
	if err != nil {
		return "", err
	}
	priv, err := s.keyPair(ctx, *p.EncryptionKey)
	if err != nil {
		return "", err
	}
	plain, err := obj.Decrypt(priv.signer)
	if err != nil {
		return "", err
	}
	return string(plain), nil
}
