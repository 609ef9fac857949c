package crypto

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// This file holds the primitives behind authentik's CertificateKeyPair:
// making a self-signed keypair (Generate), checking an uploaded one and
// computing what the API shows about it (Inspect), and bringing an uploaded
// key to one storage format (NormalizeKeyPEM).

// KeyType is the kind of key in a certificate keypair, spelled as authentik
// spells its key_type field.
type KeyType string

// Key types Gatehouse makes and accepts. authentik also knows "ed448", which
// the Go standard library does not implement; such keypairs are rejected.
const (
	KeyTypeRSA     KeyType = "rsa"
	KeyTypeEC      KeyType = "ec"
	KeyTypeED25519 KeyType = "ed25519"
)

// MaxPEMSize bounds each PEM input of Inspect and NormalizeKeyPEM.
const MaxPEMSize = 1 << 20

// Generate defaults and limits.
const (
	DefaultValidity = 365 * 24 * time.Hour
	MaxValidity     = 36525 * 24 * time.Hour // 100 years of 365.25 days
	DefaultRSABits  = 2048
	// maxCommonNameLen is ub-common-name of RFC 5280 (in characters), the
	// limit authentik's generator (python cryptography) enforces too.
	maxCommonNameLen = 64
	maxSANs          = 100
)

// RSA key sizes Inspect and NormalizeKeyPEM accept. Go refuses to use RSA
// keys under 1024 bits, and crypto/tls ignores larger than 8192; the upper
// bound also caps the cost of checking a hostile key, whose validation does
// modular exponentiations cubic in its size.
const (
	minRSABits = 1024
	maxRSABits = 8192
)

// Errors, each returned wrapped with detail; test with errors.Is.
var (
	// ErrInvalidOptions: Generate was given unusable options.
	ErrInvalidOptions = errors.New("invalid certificate options")
	// ErrInvalidCertificate: the certificate input is not a usable PEM
	// certificate (chain).
	ErrInvalidCertificate = errors.New("invalid certificate")
	// ErrInvalidKey: the key input is not a usable, unencrypted PEM private
	// key.
	ErrInvalidKey = errors.New("invalid private key")
	// ErrKeyMismatch: the private key is valid but not the one of the
	// certificate's public key.
	ErrKeyMismatch = errors.New("private key does not match the certificate")
)

// GenerateOptions describe a self-signed certificate to make.
type GenerateOptions struct {
	// CommonName is the subject CN (required, at most 64 characters,
	// surrounding space trimmed).
	CommonName string
	// SubjectAltNames are DNS names (wildcards allowed as the whole leftmost
	// label) or IP addresses.
	SubjectAltNames []string
	// Validity is how long the certificate is valid from Now: default 365
	// days, at most 100 years.
	Validity time.Duration
	// KeyType defaults to "ec" (ECDSA P-256).
	KeyType KeyType
	// RSABits is the RSA modulus size: 2048 (default), 3072 or 4096. It is
	// ignored for other key types.
	RSABits int
	// Now is the issuing time; zero means time.Now(). NotBefore is one minute
	// earlier, to tolerate clock skew.
	Now time.Time
}

// certParams is a validated certificate description shared by Generate and
// SelfSigned.
type certParams struct {
	commonName  string
	dnsNames    []string
	ips         []net.IP
	notBefore   time.Time
	notAfter    time.Time
	keyType     KeyType
	rsaBits     int
	extKeyUsage []x509.ExtKeyUsage
}

// Generate makes a self-signed certificate (PEM "CERTIFICATE") and its
// private key (PKCS#8 PEM "PRIVATE KEY"). The subject is CN=CommonName,
// O=Gatehouse; the certificate is an end-entity certificate for server and
// client authentication. Invalid options give an error wrapping
// ErrInvalidOptions.
func Generate(opts GenerateOptions) (certPEM, keyPEM []byte, err error) {
	p, err := opts.params()
	if err != nil {
		return nil, nil, err
	}
	return issue(p)
}

func (opts GenerateOptions) params() (certParams, error) {
	bad := func(format string, a ...any) (certParams, error) {
		return certParams{}, fmt.Errorf("%w: %s", ErrInvalidOptions, fmt.Sprintf(format, a...))
	}
	p := certParams{
		commonName:  strings.TrimSpace(opts.CommonName),
		keyType:     opts.KeyType,
		rsaBits:     opts.RSABits,
		extKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	switch {
	case p.commonName == "":
		return bad("common name is empty")
	case !utf8.ValidString(p.commonName):
		return bad("common name is not valid UTF-8")
	case utf8.RuneCountInString(p.commonName) > maxCommonNameLen:
		return bad("common name is longer than %d characters", maxCommonNameLen)
	case strings.IndexFunc(p.commonName, unicode.IsControl) >= 0:
		return bad("common name contains control characters")
	}

	switch p.keyType {
	case "":
		p.keyType = KeyTypeEC
	case KeyTypeEC, KeyTypeED25519:
	case KeyTypeRSA:
		switch p.rsaBits {
		case 0:
			p.rsaBits = DefaultRSABits
		case 2048, 3072, 4096:
		default:
			return bad("RSA key size %d: use 2048, 3072 or 4096", p.rsaBits)
		}
	default:
		return bad("unknown key type %s", quoteShort(string(p.keyType)))
	}

	validity := opts.Validity
	switch {
	case validity == 0:
		validity = DefaultValidity
	case validity < 0:
		return bad("validity is negative")
	case validity > MaxValidity:
		return bad("validity is longer than 100 years")
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	p.notBefore = now.Add(-time.Minute)
	p.notAfter = now.Add(validity)

	if len(opts.SubjectAltNames) > maxSANs {
		return bad("more than %d subject alternative names", maxSANs)
	}
	for _, san := range opts.SubjectAltNames {
		san = strings.TrimSpace(san)
		if ip := net.ParseIP(san); ip != nil {
			p.ips = append(p.ips, ip)
			continue
		}
		if err := checkDNSName(san); err != nil {
			return bad("subject alternative name %s: %v", quoteShort(san), err)
		}
		p.dnsNames = append(p.dnsNames, san)
	}
	return p, nil
}

// checkDNSName accepts host names of letters, digits, '-' and '_' in labels
// of 1 to 63 characters, at most 253 in all, with an optional "*" as the
// whole leftmost label. It is deliberately a syntax check only.
func checkDNSName(name string) error {
	if name == "" {
		return errors.New("empty")
	}
	if len(name) > 253 {
		return errors.New("longer than 253 characters")
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 1 {
			continue
		}
		if l == "" {
			return errors.New("empty label")
		}
		if len(l) > 63 {
			return errors.New("label longer than 63 characters")
		}
		for _, c := range []byte(l) {
			ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
			if !ok {
				return errors.New("not a DNS name or IP address")
			}
		}
	}
	return nil
}

// issue makes the key and the self-signed certificate.
func issue(p certParams) (certPEM, keyPEM []byte, err error) {
	var (
		priv     crypto.Signer
		keyUsage = x509.KeyUsageDigitalSignature
	)
	switch p.keyType {
	case KeyTypeEC:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyTypeRSA:
		priv, err = rsa.GenerateKey(rand.Reader, p.rsaBits)
		keyUsage |= x509.KeyUsageKeyEncipherment
	case KeyTypeED25519:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("%w: unknown key type %s", ErrInvalidOptions, quoteShort(string(p.keyType)))
	}
	if err != nil {
		return nil, nil, err
	}
	// 128 random bits, never zero (RFC 5280 wants a positive serial).
	serial, err := rand.Int(rand.Reader, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1)))
	if err != nil {
		return nil, nil, err
	}
	serial.Add(serial, big.NewInt(1))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: p.commonName, Organization: []string{"Gatehouse"}},
		NotBefore:             p.notBefore,
		NotAfter:              p.notAfter,
		KeyUsage:              keyUsage,
		ExtKeyUsage:           p.extKeyUsage,
		BasicConstraintsValid: true,
		DNSNames:              p.dnsNames,
		IPAddresses:           p.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		return nil, nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), nil
}

// Info is what the API shows about a certificate keypair.
type Info struct {
	KeyType   KeyType
	Subject   string // RFC 2253 form, e.g. "CN=idp.example,O=Gatehouse"
	Issuer    string
	NotBefore time.Time
	NotAfter  time.Time
	// FingerprintSHA256 and FingerprintSHA1 are of the DER certificate, in
	// lowercase hex with colons ("ab:cd:..."), as authentik shows them.
	FingerprintSHA256 string
	FingerprintSHA1   string
	// KID is the JWK key ID: lowercase hex of the SHA-256 of the DER
	// certificate, without colons. authentik uses the MD5 of the stored key
	// PEM instead; Gatehouse derives it from the certificate so that it is
	// public data, the same whatever format the key was uploaded in, defined
	// for certificates without a key, and not based on MD5. KIDs therefore
	// differ from those authentik issued for the same keypair.
	KID string
	// SANs are the certificate's DNS names, IP addresses, e-mail addresses
	// and URIs, in that order.
	SANs []string
	// HasKey reports that a private key was given (and matches).
	HasKey bool
}

// Inspect checks a certificate and, when keyPEM is not empty, its private
// key, and describes them.
//
// certPEM holds PEM "CERTIFICATE" blocks: the first is the certificate the
// keypair is about, any further ones are its chain; they must all parse, and
// only the first is described. keyPEM holds one unencrypted private key in
// PKCS#8 ("PRIVATE KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC1 ("EC PRIVATE
// KEY", optionally after the "EC PARAMETERS" block openssl writes), and must
// be the key of the first certificate.
//
// Both inputs may hold nothing but PEM blocks and white space, and at most
// MaxPEMSize bytes. Errors wrap ErrInvalidCertificate, ErrInvalidKey or
// ErrKeyMismatch.
func Inspect(certPEM, keyPEM []byte) (*Info, error) {
	leaf, err := parseCertificateChain(certPEM)
	if err != nil {
		return nil, err
	}
	info := &Info{
		Subject:           leaf.Subject.String(),
		Issuer:            leaf.Issuer.String(),
		NotBefore:         leaf.NotBefore,
		NotAfter:          leaf.NotAfter,
		FingerprintSHA256: colonHex(sha256Sum(leaf.Raw)),
		FingerprintSHA1:   colonHex(sha1Sum(leaf.Raw)),
		KID:               hex.EncodeToString(sha256Sum(leaf.Raw)),
	}
	info.KeyType, err = publicKeyType(leaf.PublicKey)
	if err != nil {
		return nil, err
	}
	info.SANs = append(info.SANs, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		info.SANs = append(info.SANs, ip.String())
	}
	info.SANs = append(info.SANs, leaf.EmailAddresses...)
	for _, u := range leaf.URIs {
		info.SANs = append(info.SANs, u.String())
	}

	if len(keyPEM) <= MaxPEMSize && len(bytes.TrimSpace(keyPEM)) == 0 {
		return info, nil
	}
	priv, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := priv.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		privType, _ := publicKeyType(priv.Public())
		if privType != info.KeyType {
			return nil, fmt.Errorf("%w: the key is %s, the certificate %s", ErrKeyMismatch, privType, info.KeyType)
		}
		return nil, fmt.Errorf("%w: the public keys differ", ErrKeyMismatch)
	}
	info.HasKey = true
	return info, nil
}

// NormalizeKeyPEM re-encodes any private key Inspect accepts as PKCS#8 PEM
// ("PRIVATE KEY"), the form Gatehouse stores. Errors wrap ErrInvalidKey.
func NormalizeKeyPEM(keyPEM []byte) ([]byte, error) {
	priv, err := parsePrivateKeyPEM(keyPEM)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseCertificateChain returns the first certificate of a PEM chain after
// checking that every block is a parseable certificate.
func parseCertificateChain(data []byte) (*x509.Certificate, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidCertificate, fmt.Sprintf(format, a...))
	}
	blocks, err := decodePEM(data)
	if err != nil {
		return nil, bad("%v", err)
	}
	var leaf *x509.Certificate
	for i, b := range blocks {
		where := "certificate"
		if i > 0 {
			where = fmt.Sprintf("chain certificate %d", i)
		}
		if b.Type != "CERTIFICATE" {
			return nil, bad("%s: PEM block type is %s, want \"CERTIFICATE\"", where, quoteShort(b.Type))
		}
		if len(b.Headers) != 0 {
			return nil, bad("%s: PEM block has headers", where)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, bad("%s: %v", where, err)
		}
		if i == 0 {
			leaf = c
		}
	}
	return leaf, nil
}

// ParseSigner parses a keypair's private key (PEM, as NormalizeKeyPEM
// stores it) for signing.
func ParseSigner(keyPEM []byte) (crypto.Signer, error) { return parsePrivateKeyPEM(keyPEM) }

// parsePrivateKeyPEM parses one unencrypted RSA, ECDSA or Ed25519 private key.
func parsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	bad := func(format string, a ...any) (crypto.Signer, error) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidKey, fmt.Sprintf(format, a...))
	}
	blocks, err := decodePEM(data)
	if err != nil {
		return bad("%v", err)
	}
	var key *pem.Block
	for _, b := range blocks {
		switch {
		case b.Type == "EC PARAMETERS":
			// openssl ecparam -genkey writes the curve before the key;
			// the key names its curve again.
			continue
		case b.Type == "ENCRYPTED PRIVATE KEY" || b.Headers["Proc-Type"] != "":
			return bad("encrypted keys are not supported: decrypt it first (openssl pkey -in key.pem -out plain.pem)")
		case b.Type != "PRIVATE KEY" && b.Type != "RSA PRIVATE KEY" && b.Type != "EC PRIVATE KEY":
			return bad("PEM block type is %s, want \"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\"", quoteShort(b.Type))
		case len(b.Headers) != 0:
			return bad("PEM block has headers")
		case key != nil:
			return bad("more than one private key")
		}
		key = b
	}
	if key == nil {
		return bad("no private key")
	}

	var parsed any
	switch key.Type {
	case "PRIVATE KEY":
		if err := checkPKCS8RSASize(key.Bytes); err != nil {
			return bad("%v", err)
		}
		parsed, err = x509.ParsePKCS8PrivateKey(key.Bytes)
	case "RSA PRIVATE KEY":
		if err := checkPKCS1Size(key.Bytes); err != nil {
			return bad("%v", err)
		}
		parsed, err = x509.ParsePKCS1PrivateKey(key.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(key.Bytes)
	}
	if err != nil {
		return bad("%s: %v", key.Type, err)
	}
	switch k := parsed.(type) {
	case *rsa.PrivateKey:
		if n := k.N.BitLen(); n < minRSABits {
			return bad("RSA key of %d bits: at least %d are needed", n, minRSABits)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return bad("unsupported key algorithm %T: use RSA, ECDSA or Ed25519", parsed)
	}
}

// publicKeyType names the kind of a certificate's public key.
func publicKeyType(pub any) (KeyType, error) {
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		if n := pub.N.BitLen(); n < minRSABits || n > maxRSABits {
			return "", fmt.Errorf("%w: RSA key of %d bits: use %d to %d", ErrInvalidCertificate, n, minRSABits, maxRSABits)
		}
		return KeyTypeRSA, nil
	case *ecdsa.PublicKey:
		return KeyTypeEC, nil
	case ed25519.PublicKey:
		return KeyTypeED25519, nil
	case nil:
		return "", fmt.Errorf("%w: unsupported public key algorithm: use RSA, ECDSA or Ed25519", ErrInvalidCertificate)
	default:
		return "", fmt.Errorf("%w: unsupported public key algorithm %T: use RSA, ECDSA or Ed25519", ErrInvalidCertificate, pub)
	}
}

// oidRSAEncryption is the PKCS#8 algorithm of RSA keys (RFC 8017).
var oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

// checkPKCS8RSASize applies checkPKCS1Size to a PKCS#8 RSA key.
func checkPKCS8RSASize(der []byte) error {
	var p8 struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	if _, err := asn1.Unmarshal(der, &p8); err != nil || !p8.Algo.Algorithm.Equal(oidRSAEncryption) {
		return nil // not RSA, or malformed: x509 says which
	}
	return checkPKCS1Size(p8.PrivateKey)
}

// checkPKCS1Size bounds the integers of a PKCS#1 RSA private key before
// x509 validates it: that validation runs modular exponentiations modulo
// the primes, so a small input holding a huge prime (unchecked against the
// modulus until afterwards) could take minutes. Multi-prime keys are refused.
// Input that is not even a DER sequence is left to the x509 parser, which
// rejects it before any arithmetic.
func checkPKCS1Size(der []byte) error {
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(der, &seq); err != nil || seq.Tag != asn1.TagSequence || !seq.IsCompound {
		return nil
	}
	rest := seq.Bytes
	for i := 0; len(rest) > 0; i++ {
		var v asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &v); err != nil {
			return nil
		}
		// version, n, e, d, p, q, dP, dQ, qInv, then otherPrimeInfos.
		if i >= 9 {
			return errors.New("multi-prime RSA keys are not supported")
		}
		if v.Tag == asn1.TagInteger && len(v.Bytes) > maxRSABits/8+1 { // +1: a sign byte
			return fmt.Errorf("RSA key larger than %d bits", maxRSABits)
		}
	}
	return nil
}

var pemBegin = []byte("-----BEGIN ")

// decodePEM splits data into PEM blocks. Unlike pem.Decode it accepts
// nothing but blocks and white space (an optional UTF-8 byte order mark
// first), so text outside the blocks and malformed blocks are errors rather
// than skipped.
func decodePEM(data []byte) ([]*pem.Block, error) {
	if len(data) > MaxPEMSize {
		return nil, fmt.Errorf("input larger than %d bytes", MaxPEMSize)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var blocks []*pem.Block
	for {
		data = bytes.TrimLeft(data, " \t\r\n")
		if len(data) == 0 {
			break
		}
		if !bytes.HasPrefix(data, pemBegin) {
			if len(blocks) == 0 {
				return nil, errors.New("not PEM: input does not start with -----BEGIN")
			}
			return nil, fmt.Errorf("unexpected data after PEM block %d", len(blocks))
		}
		b, rest := pem.Decode(data)
		// pem.Decode skips what it cannot parse; a block found after the
		// one that starts data means that one is malformed.
		if b == nil || bytes.Count(data[:len(data)-len(rest)], pemBegin) != 1 {
			return nil, fmt.Errorf("malformed PEM block %d", len(blocks)+1)
		}
		blocks = append(blocks, b)
		data = rest
	}
	if len(blocks) == 0 {
		return nil, errors.New("empty input")
	}
	return blocks, nil
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func sha1Sum(b []byte) []byte { s := sha1.Sum(b); return s[:] }

// colonHex formats b as lowercase hex pairs joined by colons.
func colonHex(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) * 3)
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(hex.EncodeToString([]byte{c}))
	}
	return sb.String()
}

// quoteShort quotes s for an error message, cut to 40 bytes: inputs may be
// hostile and large.
func quoteShort(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q...", s[:40])
	}
	return fmt.Sprintf("%q", s)
}
