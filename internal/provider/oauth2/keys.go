package oauth2

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	gcrypto "github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// signingKey is a provider's parsed signing key.
type signingKey struct {
	alg    jose.SignatureAlgorithm
	kid    string
	signer crypto.Signer
	// public is the JWK published in the JWKS (nil for HS256).
	public *jose.JSONWebKey
}

// keyCache keeps parsed keypairs by uuid and fingerprint: parsing a PEM key
// and opening its seal costs more than signing with it. It also holds the
// rest of the Server's key state: encryption keys (jwe.go), what the
// rotation bookkeeping has recorded (rotation.go), and the back-channel
// logout sender (backchannel.go), which belongs in a Server field of its
// own once server.go gets one.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]*signingKey

	enc      encKeyCache
	rotation rotationState
	logout   logoutSender
}

// minHMACSecret is the shortest client secret HS256 may be keyed with.
const minHMACSecret = 32

// errNoKey: the provider has no usable signing key.
var errNoKey = errors.New("no signing key")

// keyPair loads and parses keypair id (cached by its fingerprint, so a
// replaced key is picked up).
func (s *Server) keyPair(ctx context.Context, id uuid.UUID) (*signingKey, error) {
	kp, err := s.Store.KeyPairByUUID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", id, err)
	}
	cacheKey := id.String() + "/" + kp.FingerprintSHA256
	s.keys.mu.Lock()
	k := s.keys.keys[cacheKey]
	s.keys.mu.Unlock()
	if k != nil {
		return k, nil
	}
	if kp.KeySealed == "" {
		return nil, fmt.Errorf("keypair %s has no private key: %w", kp.Name, errNoKey)
	}
	pemKey, err := s.KeySealer.Open(kp.KeySealed)
	if err != nil {
		return nil, fmt.Errorf("keypair %s: %w", kp.Name, err)
	}
	signer, err := gcrypto.ParseSigner(pemKey)
	if err != nil {
		return nil, fmt.Errorf("keypair %s: %w", kp.Name, err)
	}
	k = &signingKey{signer: signer, kid: kp.KID}
	if k.kid == "" {
		k.kid = kp.FingerprintSHA256
	}
	switch pub := signer.Public().(type) {
	case *rsa.PublicKey:
		k.alg = jose.RS256
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			k.alg = jose.ES256
		case elliptic.P384():
			k.alg = jose.ES384
		case elliptic.P521():
			k.alg = jose.ES512
		default:
			return nil, fmt.Errorf("keypair %s: unsupported curve", kp.Name)
		}
	case ed25519.PublicKey:
		k.alg = jose.EdDSA
	default:
		return nil, fmt.Errorf("keypair %s: unsupported key type %T", kp.Name, pub)
	}
	k.public = &jose.JSONWebKey{Key: signer.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
	s.keys.mu.Lock()
	if s.keys.keys == nil {
		s.keys.keys = map[string]*signingKey{}
	}
	s.keys.keys[cacheKey] = k
	s.keys.mu.Unlock()
	return k, nil
}

// providerKey is the key the provider signs with: its keypair, or HS256
// with the client secret (authentik's behaviour without a key). A public
// client has no secret to sign with, so it needs a keypair. Every use of
// the key goes through here, which is where a changed key is noticed and
// the previous one kept for the JWKS (rotation.go).
func (s *Server) providerKey(ctx context.Context, p *store.OAuth2Provider) (*signingKey, error) {
	k, err := s.currentKey(ctx, p)
	switch {
	case err == nil:
		s.noteSigningKey(ctx, p, k)
	case errors.Is(err, errNoKey):
		// Nothing can be signed with the old key any more either.
		s.noteSigningKey(ctx, p, nil)
	}
	return k, err
}

func (s *Server) currentKey(ctx context.Context, p *store.OAuth2Provider) (*signingKey, error) {
	if p.SigningKey != nil {
		return s.keyPair(ctx, *p.SigningKey)
	}
	if p.ClientSecret == "" || p.ClientType != "confidential" {
		return nil, fmt.Errorf("provider %s: a public client needs a signing key: %w", p.Provider.Name, errNoKey)
	}
	if len(p.ClientSecret) < minHMACSecret {
		// RFC 7518 §3.2: an HS256 key has at least 256 bits.
		return nil, fmt.Errorf("provider %s: a client secret under %d bytes cannot key HS256; set a signing key: %w",
			p.Provider.Name, minHMACSecret, errNoKey)
	}
	return &signingKey{alg: jose.HS256}, nil
}

// sign serializes claims as a JWS of type typ.
func (k *signingKey) sign(p *store.OAuth2Provider, typ string, claims map[string]any) (string, error) {
	var key any = []byte(p.ClientSecret)
	if k.signer != nil {
		key = jose.JSONWebKey{Key: k.signer, KeyID: k.kid, Algorithm: string(k.alg)}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: key},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", err
	}
	payload, err := marshalClaims(claims)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// halfHash is at_hash / c_hash (OIDC Core §3.1.3.6, §3.3.2.11): the left
// half of the hash of v with the hash function of the signing algorithm.
func halfHash(alg jose.SignatureAlgorithm, v string) string {
	var h hash.Hash
	switch alg {
	case jose.RS384, jose.ES384, jose.HS384, jose.PS384:
		h = sha512.New384()
	case jose.RS512, jose.ES512, jose.HS512, jose.PS512, jose.EdDSA:
		h = sha512.New()
	default:
		h = sha256.New()
	}
	h.Write([]byte(v))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// verifyIDTokenHint checks an id_token_hint was signed by the provider's
// key, or by a previous key the JWKS still publishes (rotation.go); its
// expiry does not matter (RP-Initiated Logout §2). It returns the claims.
func (s *Server) verifyIDTokenHint(ctx context.Context, p *store.OAuth2Provider, token string) (map[string]any, error) {
	k, err := s.providerKey(ctx, p)
	if err != nil && !errors.Is(err, errNoKey) {
		return nil, err
	}
	// An ID token may also be encrypted (jwe.go): the hint comes back as
	// the client got it.
	if strings.Count(token, ".") == 4 {
		if token, err = s.decryptIDTokenHint(ctx, p, token); err != nil {
			return nil, err
		}
	}
	var keys []jose.JSONWebKey
	current := ""
	if k != nil && k.public != nil {
		keys, current = append(keys, *k.public), k.kid
	}
	keys = append(keys, retiredKeys(p, current, s.now())...)
	algs := []jose.SignatureAlgorithm{}
	for _, pk := range keys {
		algs = append(algs, jose.SignatureAlgorithm(pk.Algorithm))
	}
	if k != nil && k.signer == nil {
		algs = append(algs, jose.HS256)
	}
	obj, err := jose.ParseSignedCompact(token, algs)
	if err != nil {
		return nil, err
	}
	if len(obj.Signatures) != 1 {
		return nil, errors.New("id_token_hint: not a compact JWS")
	}
	h := obj.Signatures[0].Header
	var key any
	if h.Algorithm == string(jose.HS256) {
		if k == nil || k.signer != nil {
			return nil, errors.New("id_token_hint: HS256 while the provider signs with a keypair")
		}
		key = []byte(p.ClientSecret)
	} else {
		for _, pk := range keys {
			if pk.KeyID == h.KeyID && pk.Algorithm == h.Algorithm {
				key = pk.Key
				break
			}
		}
		if key == nil {
			return nil, fmt.Errorf("id_token_hint: unknown key %q", h.KeyID)
		}
	}
	payload, err := obj.Verify(key)
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := unmarshalClaims(payload, &claims); err != nil {
		return nil, err
	}
	return claims, nil
}
