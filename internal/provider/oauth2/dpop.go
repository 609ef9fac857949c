package oauth2

// DPoP: sender-constrained tokens (RFC 9449).
//
//	token request + DPoP proof ──verify (§4.3)──▶ jkt (RFC 7638 thumbprint of the proof key)
//	  ──▶ access token with cnf.jkt (§6.1), token_type "DPoP" (§5)
//	  ──▶ the refresh token of a public client bound to jkt (§5): a refresh
//	      needs a proof with the same key
//	resource request: Authorization: DPoP <token> + proof with ath
//	  ──▶ proof key == cnf.jkt, ath == SHA-256(token) (§7.1); a bound
//	      token as a bearer token is refused (§7.2)
//	RequireDPoPNonce: a proof without a fresh server nonce ──▶ use_dpop_nonce
//	  + DPoP-Nonce (§8 at the token endpoint, §9 at userinfo)
//
// A proof is single use: its jti is remembered for as long as its iat is
// acceptable (§11.1). That memory is per process; see replayCache.

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

const (
	// dpopWindow is how far a proof's iat may be from the server's clock,
	// either way (§4.3 check 11, §11.1); its jti is remembered that long
	// after iat.
	dpopWindow = 60 * time.Second
	// dpopNonceLifetime is how long a server nonce is accepted (§8).
	dpopNonceLifetime = 5 * time.Minute
	// maxProofBytes bounds a proof (an RSA-4096 jwk proof is ~1.5 KiB).
	maxProofBytes = 8 << 10
	// maxJTIBytes bounds a proof's or a client assertion's jti.
	maxJTIBytes = 256
	// minRSABits is the smallest RSA key accepted in a proof or assertion.
	minRSABits = 2048
	// dpopDataKey is where a token row keeps the jkt it is bound to.
	dpopDataKey = "dpop_jkt"
)

// dpopAlgs are the proof algorithms: asymmetric only, never "none" or a
// MAC (§4.3 check 5). Discovery advertises them (§5.1).
var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.PS256, jose.RS256, jose.EdDSA}

func dpopAlgNames() []string {
	out := make([]string, len(dpopAlgs))
	for i, a := range dpopAlgs {
		out[i] = string(a)
	}
	return out
}

// dpopProof is a verified proof.
type dpopProof struct {
	jkt   string // base64url SHA-256 JWK thumbprint of the proof key (RFC 7638 §3)
	jti   string
	iat   time.Time
	ath   string // base64url SHA-256 of the access token, at a resource
	nonce string
}

// proofClaims are the claims of a proof (§4.2).
type proofClaims struct {
	JTI   string   `json:"jti"`
	HTM   string   `json:"htm"`
	HTU   string   `json:"htu"`
	IAT   *float64 `json:"iat"`
	ATH   string   `json:"ath"`
	Nonce string   `json:"nonce"`
}

func invalidProof(format string, args ...any) *Error {
	return oauthErr(http.StatusBadRequest, "invalid_dpop_proof", format, args...)
}

// parseProof verifies a proof for a request of method to uri at now: §4.3
// checks 2 to 11, except the nonce and jti ones, which need server state
// (Server.dpopProof).
func parseProof(raw, method, uri string, now time.Time) (*dpopProof, error) {
	if raw == "" || len(raw) > maxProofBytes {
		return nil, invalidProof("The DPoP proof is empty or too long.")
	}
	obj, err := jose.ParseSignedCompact(raw, dpopAlgs)
	if err != nil || len(obj.Signatures) != 1 {
		return nil, invalidProof("The DPoP proof is not a JWT signed with one of %s.", strings.Join(dpopAlgNames(), ", "))
	}
	h := obj.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, "dpop+jwt") {
		return nil, invalidProof("The DPoP proof's typ is not dpop+jwt.")
	}
	jwk := h.JSONWebKey
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return nil, invalidProof("The DPoP proof has no public jwk header.")
	}
	if err := checkKeyStrength(jwk.Key); err != nil {
		return nil, invalidProof("The DPoP proof key is too weak.")
	}
	payload, err := obj.Verify(jwk.Key)
	if err != nil {
		return nil, invalidProof("The DPoP proof signature does not verify with its jwk.")
	}
	var c proofClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalidProof("The DPoP proof claims are not a JSON object.")
	}
	switch {
	case c.JTI == "" || len(c.JTI) > maxJTIBytes:
		return nil, invalidProof("The DPoP proof has no usable jti.")
	case c.HTM != method:
		return nil, invalidProof("The DPoP proof's htm does not match the request method.")
	case !sameHTU(c.HTU, uri):
		return nil, invalidProof("The DPoP proof's htu does not match the request URI.")
	case c.IAT == nil || math.Abs(*c.IAT-float64(now.Unix())) > dpopWindow.Seconds():
		return nil, invalidProof("The DPoP proof's iat is missing or not within %d seconds of the server's time.", int(dpopWindow.Seconds()))
	}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, invalidProof("The DPoP proof key has no thumbprint.")
	}
	sec, frac := math.Modf(*c.IAT)
	return &dpopProof{jkt: base64.RawURLEncoding.EncodeToString(sum), jti: c.JTI, ath: c.ATH, nonce: c.Nonce,
		iat: time.Unix(int64(sec), int64(frac*1e9)).UTC()}, nil
}

// checkKeyStrength refuses RSA keys under minRSABits (the curve of an EC
// key is checked against the algorithm by the signature check).
func checkKeyStrength(k any) error {
	if rk, ok := k.(*rsa.PublicKey); ok && rk.N.BitLen() < minRSABits {
		return errors.New("rsa key too small")
	}
	return nil
}

// requestURI is the URI a request was sent to, without query and fragment,
// as htu names it (§4.2): the scheme and host the client used (after the
// trusted-proxy middleware) and the path.
func requestURI(r *http.Request) string {
	return web.Scheme(r.Context()) + "://" + r.Host + r.URL.EscapedPath()
}

// sameHTU compares a proof's htu with the request URI after syntax-based
// normalization (RFC 3986 §6.2.2, §6.2.3: case of scheme and host, default
// port, empty path), ignoring query and fragment (§4.3 check 9).
func sameHTU(htu, uri string) bool {
	a, ok1 := normalizeHTU(htu)
	b, ok2 := normalizeHTU(uri)
	return ok1 && ok2 && a == b
}

func normalizeHTU(raw string) (string, bool) {
	if len(raw) > 4096 {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// dpopProof reads and verifies the request's DPoP header (§4.3): nil, nil
// when there is none. The jti is recorded only once every other check has
// passed, so a bad proof cannot use up a client's jti.
func (s *Server) dpopProof(r *http.Request) (*dpopProof, error) {
	vals := r.Header.Values("DPoP")
	if len(vals) == 0 {
		return nil, nil
	}
	if len(vals) > 1 {
		return nil, invalidProof("Send exactly one DPoP header.") // §4.3 check 1
	}
	now := s.now()
	p, err := parseProof(vals[0], r.Method, requestURI(r), now)
	if err != nil {
		return nil, err
	}
	if s.RequireDPoPNonce && !s.validDPoPNonce(p.nonce, now) {
		return nil, oauthErr(http.StatusBadRequest, "use_dpop_nonce", "The DPoP proof must carry the nonce of the DPoP-Nonce header.")
	}
	// §11.1: a proof is accepted once; it is acceptable until iat+window.
	switch err := s.useOnce(r, "dpop\x00"+p.jkt+"\x00"+p.jti, now, p.iat.Add(dpopWindow)); {
	case errors.Is(err, errReplayed):
		return nil, invalidProof("The DPoP proof was already used (jti).")
	case err != nil:
		return nil, err
	}
	return p, nil
}

// dpopNonce makes a server nonce (§8): the time it was made and an HMAC of
// it under the secret key, so any replica sharing the key accepts it and
// nothing is stored.
func (s *Server) dpopNonce(t time.Time) string {
	b := make([]byte, 8, 8+16)
	binary.BigEndian.PutUint64(b, uint64(t.Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, s.dpopNonceMAC(b)...))
}

func (s *Server) dpopNonceMAC(stamp []byte) []byte {
	m := hmac.New(sha256.New, []byte(s.SecretKey))
	m.Write([]byte("gatehouse/oauth2/dpop-nonce\x00"))
	m.Write(stamp)
	return m.Sum(nil)[:16]
}

// validDPoPNonce: n was made by dpopNonce at most dpopNonceLifetime ago.
func (s *Server) validDPoPNonce(n string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 24 || !hmac.Equal(b[8:], s.dpopNonceMAC(b[:8])) {
		return false
	}
	made := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	return !made.After(now.Add(time.Second)) && now.Sub(made) <= dpopNonceLifetime
}

// setDPoPNonce gives the client a fresh nonce (§8.2) when nonces are
// required.
func (s *Server) setDPoPNonce(w http.ResponseWriter) {
	if s.RequireDPoPNonce {
		w.Header().Set("DPoP-Nonce", s.dpopNonce(s.now()))
	}
}

// dpopCtxKey carries the jkt of a token request's verified proof to issue.
type dpopCtxKey struct{}

// withDPoP marks ctx as a token request with a verified proof of key jkt.
func withDPoP(ctx context.Context, jkt string) context.Context {
	return context.WithValue(ctx, dpopCtxKey{}, jkt)
}

// dpopJKT is the jkt of the token request's verified proof ("" without
// one): the tokens issue makes are bound to it (§6.1).
func dpopJKT(ctx context.Context) string {
	v, _ := ctx.Value(dpopCtxKey{}).(string)
	return v
}

// cnfData is the Data of a token row bound to jkt (nil when unbound).
func cnfData(jkt string) store.Attributes {
	if jkt == "" {
		return nil
	}
	return store.Attributes{dpopDataKey: jkt}
}

// boundJKT is the jkt a token row is bound to ("" when it is not).
func boundJKT(t *store.OAuth2Token) string {
	v, _ := t.Data[dpopDataKey].(string)
	return v
}

// checkRefreshBinding: the refresh token of a public client that was
// issued with a DPoP proof may only be used with a proof of the same key
// (§5). A confidential client's refresh tokens are bound by its client
// authentication instead. Other failures are left to refreshExchange.
func (s *Server) checkRefreshBinding(ctx context.Context, c *client, form map[string][]string, proof *dpopProof) error {
	rt := first(form, "refresh_token")
	if c.p.ClientType == "confidential" || rt == "" {
		return nil
	}
	tok, g, err := s.Store.OAuth2TokenByHash(ctx, hashToken(rt))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (tok.Kind != store.OAuth2Refresh || g.ProviderPK != c.p.ProviderPK)) {
		return nil
	} else if err != nil {
		return err
	}
	jkt := boundJKT(tok)
	switch {
	case jkt == "":
		return nil
	case proof == nil:
		return invalidGrant("The refresh token is bound to a DPoP key: send a DPoP proof made with it.")
	case subtle.ConstantTimeCompare([]byte(jkt), []byte(proof.jkt)) != 1:
		return invalidGrant("The refresh token is bound to another DPoP key.")
	}
	return nil
}

// challenge is a failed resource request (RFC 6750 §3, RFC 9449 §7.1).
type challenge struct {
	dpop       bool // the DPoP scheme (else Bearer)
	code, desc string
}

func dpopChallenge(code, desc string) *challenge {
	return &challenge{dpop: true, code: code, desc: desc}
}

// write answers 401 with the scheme's WWW-Authenticate. A DPoP challenge
// names the algorithms (§7.1); a Bearer one is followed by a DPoP
// challenge without error, since both schemes are accepted (§7.2).
func (c *challenge) write(s *Server, w http.ResponseWriter) {
	algs := `algs="` + strings.Join(dpopAlgNames(), " ") + `"`
	if c.dpop {
		w.Header().Set("WWW-Authenticate", `DPoP error="`+c.code+`", error_description="`+c.desc+`", `+algs)
		if c.code == "use_dpop_nonce" {
			w.Header().Set("DPoP-Nonce", s.dpopNonce(s.now()))
		}
	} else {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+c.code+`", error_description="`+c.desc+`"`)
		w.Header().Add("WWW-Authenticate", "DPoP "+algs)
	}
	writeJSON(w, http.StatusUnauthorized, &Error{Code: c.code, Description: c.desc})
}

// checkPresentation checks how a resource request presented the access
// token tok (value token, in the DPoP scheme or not): a bound token needs
// the DPoP scheme and a proof of its key for this request and token
// (§7.1); a bound token sent as a bearer token is refused (§7.2), and so is
// an unbound one in the DPoP scheme (with a Bearer challenge: that is its
// scheme).
func (s *Server) checkPresentation(r *http.Request, token string, dpopScheme bool, tok *store.OAuth2Token) *challenge {
	jkt := boundJKT(tok)
	if !dpopScheme {
		if jkt != "" {
			return dpopChallenge("invalid_token", "The access token is DPoP-bound: send it in the DPoP scheme with a DPoP proof.")
		}
		return nil
	}
	if jkt == "" {
		return &challenge{code: "invalid_token", desc: "The access token is not DPoP-bound: send it in the Bearer scheme."}
	}
	proof, err := s.dpopProof(r)
	var oe *Error
	switch {
	case errors.As(err, &oe):
		return dpopChallenge(oe.Code, oe.Description)
	case err != nil:
		s.log().Error("dpop proof", "error", err)
		return dpopChallenge("invalid_dpop_proof", "The DPoP proof could not be checked.")
	case proof == nil:
		return dpopChallenge("invalid_token", "A DPoP-bound access token needs a DPoP proof.")
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare([]byte(proof.ath), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
		return dpopChallenge("invalid_token", "The DPoP proof's ath does not match the access token.")
	}
	if subtle.ConstantTimeCompare([]byte(proof.jkt), []byte(jkt)) != 1 {
		return dpopChallenge("invalid_token", "The access token is bound to another DPoP key.")
	}
	return nil
}

// replayCache remembers single-use identifiers (DPoP proof and client
// assertion jti) until they expire, in memory; with Server.SharedReplay
// (several replicas on PostgreSQL) useOnce records them in the store too.
type replayCache struct {
	mu    sync.Mutex
	seen  map[[32]byte]time.Time
	swept time.Time
}

// maxReplayEntries bounds the cache (~64 B an entry): past it, new
// identifiers are refused until old ones expire, rather than evicting a
// live one and letting its replay through.
const maxReplayEntries = 1 << 17

var (
	errReplayed = errors.New("identifier already used")
	// errReplayFull is answered 503: too many live identifiers.
	errReplayFull = oauthErr(http.StatusServiceUnavailable, "temporarily_unavailable", "Too many requests; try again shortly.")
)

// useOnce records a single-use identifier until expires: errReplayed if it
// was used. In memory first; with SharedReplay also as a row of the
// sessions table keyed by an HMAC of the identifier, whose primary key
// lets one insert win across every replica (the worker's
// clean_expired_models deletes it once expired).
func (s *Server) useOnce(r *http.Request, key string, now, expires time.Time) error {
	if err := s.replay.use(key, now, expires); err != nil {
		return err
	}
	if !s.SharedReplay {
		return nil
	}
	err := putPending(r.Context(), s.Store, r, s.pendingKey("replay", key), struct{}{}, now, expires)
	if errors.Is(err, store.ErrConflict) {
		return errReplayed
	}
	return err
}

// use records key until expires; errReplayed if it is already recorded
// and unexpired.
func (c *replayCache) use(key string, now, expires time.Time) error {
	k := sha256.Sum256([]byte(key))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[[32]byte]time.Time{}
	}
	if exp, ok := c.seen[k]; ok && now.Before(exp) {
		return errReplayed
	}
	// Expired entries go every minute, or every second while full.
	if since := now.Sub(c.swept); since >= time.Minute || (len(c.seen) >= maxReplayEntries && since >= time.Second) {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		c.swept = now
	}
	if len(c.seen) >= maxReplayEntries {
		return errReplayFull
	}
	c.seen[k] = expires
	return nil
}
