package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Signing key rotation.
//
// A relying party verifies an ID token (and a JWT access token) with the
// key of the token's kid, fetched from the JWKS (RFC 7517 §5), and fetches
// it again when it meets a kid it does not know. OIDC Core §10.1.1: the
// JWK Set "SHOULD retain recently decommissioned signing keys for a
// reasonable period of time to facilitate a smooth transition". When the
// admin gives a provider a new signing_key, tokens signed with the old one
// stay valid until they expire, so the JWKS keeps publishing the old public
// key until then; new tokens are signed with the new key only.
//
// The provider remembers its keys in its free-form settings:
//
//	current_signing_key_kid  the kid of the key it signs with ("" for none/HS256)
//	current_signing_key_jwk  that key's public JWK
//	previous_signing_keys    [{kid, jwk, retired_at, not_after}]
//
// The trigger is the moment the provider's key is loaded to be used
// (providerKey: every token, discovery and JWKS goes through it) and is not
// the one the settings name as current: the settings' current key is then
// retired, with the time it happened. Recording at first use rather than in
// the admin API catches every way a key changes (a PATCH of signing_key, the
// keypair's certificate replaced in place, which changes its kid, the
// keypair deleted, which the database turns into no key), on any server,
// and keeps exactly the keys something may have been signed with: a key set
// and replaced before any server used it is never published. Because the
// current key's public JWK is kept in the settings too, retiring it needs
// nothing from the keypair, which may be gone by then.
//
// A retired key is published until not_after: its retirement plus the
// longest validity of a token it signed (the access token validity, which
// ID tokens share; logout tokens live shorter) plus rotationGrace. The
// grace covers the configuration cache of the other servers, which may
// sign with the old key for up to configTTL after the change, and clock
// skew. Expired entries are pruned on the next load.

// Keys of store.Provider.Settings.
const (
	settingCurrentKID = "current_signing_key_kid"
	settingCurrentJWK = "current_signing_key_jwk"
	settingPrevious   = "previous_signing_keys"
)

// rotationGrace is added to the validity a retired key stays published.
const rotationGrace = 5 * time.Minute

// maxPreviousKeys bounds the history of a provider whose key is changed
// over and over; the oldest entries go first.
const maxPreviousKeys = 16

// retiredKey is one entry of previous_signing_keys.
type retiredKey struct {
	KID       string          `json:"kid"`
	JWK       json.RawMessage `json:"jwk"`
	RetiredAt time.Time       `json:"retired_at"`
	NotAfter  time.Time       `json:"not_after"`
}

// keyHistory is what a provider's settings say about its signing keys.
type keyHistory struct {
	currentKID string
	currentJWK json.RawMessage
	previous   []retiredKey
}

// rotationState remembers, per provider, the key already recorded as
// current and when the history next needs pruning, so that a load with
// nothing to record costs no store access.
type rotationState struct {
	mu   sync.Mutex // serializes the read-modify-write of the settings
	seen sync.Map   // provider pk (int64) → rotationSeen
}

type rotationSeen struct {
	kid     string
	recheck time.Time // the first not_after of the history
}

// readKeyHistory decodes the settings' key history; malformed entries are
// ignored (the settings are free-form and editable).
func readKeyHistory(settings store.Attributes) keyHistory {
	var h keyHistory
	h.currentKID, _ = settings[settingCurrentKID].(string)
	if v, ok := settings[settingCurrentJWK]; ok && v != nil {
		if b, err := json.Marshal(v); err == nil && publicJWK(b) != nil {
			h.currentJWK = b
		}
	}
	if v, ok := settings[settingPrevious]; ok && v != nil {
		b, _ := json.Marshal(v)
		var prev []retiredKey
		if json.Unmarshal(b, &prev) == nil {
			for _, e := range prev {
				if e.KID != "" && publicJWK(e.JWK) != nil {
					h.previous = append(h.previous, e)
				}
			}
		}
	}
	return h
}

// publicJWK parses a stored JWK; nil unless it is a valid public key.
func publicJWK(raw json.RawMessage) *jose.JSONWebKey {
	var k jose.JSONWebKey
	if len(raw) == 0 || k.UnmarshalJSON(raw) != nil || !k.Valid() || !k.IsPublic() {
		return nil
	}
	return &k
}

// asAttribute turns JSON into the generic value a store.Attributes holds.
func asAttribute(raw json.RawMessage) any {
	var v any
	_ = json.Unmarshal(raw, &v)
	return v
}

// tokenValidity is the longest a token signed with the provider's key is
// valid: access and ID tokens share access_token_validity (claims.go).
func tokenValidity(p *store.OAuth2Provider) time.Duration {
	return duration(p.AccessTokenValidity, time.Hour)
}

// publishedUntil is when a retired key leaves the JWKS: its recorded
// not_after, or later if the validity has since been raised.
func publishedUntil(e retiredKey, validity time.Duration) time.Time {
	if t := e.RetiredAt.Add(validity + rotationGrace); t.After(e.NotAfter) {
		return t
	}
	return e.NotAfter
}

// nextPrune is the first time an entry of prev expires (zero: never).
func nextPrune(prev []retiredKey, validity time.Duration) time.Time {
	var t time.Time
	for _, e := range prev {
		if u := publishedUntil(e, validity); t.IsZero() || u.Before(t) {
			t = u
		}
	}
	return t
}

func (r *rotationState) fresh(pk int64, kid string, now time.Time) bool {
	v, ok := r.seen.Load(pk)
	if !ok {
		return false
	}
	seen := v.(rotationSeen)
	return seen.kid == kid && (seen.recheck.IsZero() || now.Before(seen.recheck))
}

// noteSigningKey records k (nil: no asymmetric key) as the provider's
// current signing key, retiring the one the settings named before. It is
// called wherever the provider's key is loaded for use; a failure is
// logged, never fatal to the request.
func (s *Server) noteSigningKey(ctx context.Context, p *store.OAuth2Provider, k *signingKey) {
	if p.Provider == nil || s.Store == nil {
		return
	}
	kid := ""
	if k != nil && k.public != nil {
		kid = k.kid
	}
	now := s.now()
	if s.keys.rotation.fresh(p.ProviderPK, kid, now) {
		return
	}
	validity := tokenValidity(p)
	h := readKeyHistory(p.Provider.Settings)
	if h.currentKID == kid && (kid == "" || h.currentJWK != nil) {
		if next := nextPrune(h.previous, validity); next.IsZero() || now.Before(next) {
			s.keys.rotation.seen.Store(p.ProviderPK, rotationSeen{kid: kid, recheck: next})
			return
		}
	}
	var jwk json.RawMessage
	if kid != "" {
		b, err := k.public.MarshalJSON()
		if err != nil {
			s.log().Warn("signing key: encoding the public key", "provider", p.ProviderPK, "error", err)
			return
		}
		jwk = b
	}
	if err := s.recordSigningKey(ctx, p, kid, jwk, now); err != nil {
		s.log().Warn("signing key: recording the key history", "provider", p.ProviderPK, "error", err)
	}
}

// recordSigningKey is noteSigningKey's write: on the provider as stored
// now, so that two servers noticing the same change, or a change racing a
// load, do not lose an entry.
func (s *Server) recordSigningKey(ctx context.Context, p *store.OAuth2Provider, kid string, jwk json.RawMessage, now time.Time) error {
	r := &s.keys.rotation
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, err := s.Store.OAuth2ProviderByPK(ctx, p.ProviderPK)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if !sameUUID(cur.SigningKey, p.SigningKey) {
		// p is an older configuration than the store's: the load of the
		// newer one records that.
		return nil
	}
	validity := tokenValidity(cur)
	settings := maps.Clone(cur.Provider.Settings)
	if settings == nil {
		settings = store.Attributes{}
	}
	h := readKeyHistory(settings)
	prev := h.previous
	changed := false
	if h.currentKID != kid || (kid != "" && h.currentJWK == nil) {
		if h.currentKID != "" && h.currentKID != kid && h.currentJWK != nil {
			prev = slices.DeleteFunc(prev, func(e retiredKey) bool { return e.KID == h.currentKID })
			prev = append(prev, retiredKey{KID: h.currentKID, JWK: h.currentJWK, RetiredAt: now,
				NotAfter: now.Add(validity + rotationGrace)})
		}
		// A key that comes back is current again, not retired.
		prev = slices.DeleteFunc(prev, func(e retiredKey) bool { return e.KID == kid })
		if kid == "" {
			delete(settings, settingCurrentKID)
			delete(settings, settingCurrentJWK)
		} else {
			settings[settingCurrentKID] = kid
			settings[settingCurrentJWK] = asAttribute(jwk)
		}
		changed = true
	}
	n := len(prev)
	prev = slices.DeleteFunc(prev, func(e retiredKey) bool { return !now.Before(publishedUntil(e, validity)) })
	if len(prev) > maxPreviousKeys {
		prev = prev[len(prev)-maxPreviousKeys:]
	}
	if changed || len(prev) != n {
		if len(prev) == 0 {
			delete(settings, settingPrevious)
		} else {
			b, err := json.Marshal(prev)
			if err != nil {
				return err
			}
			settings[settingPrevious] = asAttribute(b)
		}
		base := *cur.Provider
		base.Settings = settings
		// Only the base provider row: the OAuth2 fields (signing_key above
		// all) stay as the admin last wrote them.
		if err := s.Store.UpdateProvider(ctx, &base); err != nil {
			return err
		}
		if h.currentKID != "" && h.currentKID != kid {
			s.log().Info("signing key changed; the previous one stays in the JWKS until its tokens expire",
				"provider", p.ProviderPK, "kid", kid, "previous_kid", h.currentKID)
		}
	}
	r.seen.Store(p.ProviderPK, rotationSeen{kid: kid, recheck: nextPrune(prev, validity)})
	return nil
}

func sameUUID(a, b *uuid.UUID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// retiredKeys are the public keys the JWKS publishes besides the current
// key (currentKID): the history's live entries and, when p's settings
// predate the key's change (a configuration loaded just before the history
// was written), the key they still name as current.
func retiredKeys(p *store.OAuth2Provider, currentKID string, now time.Time) []jose.JSONWebKey {
	if p.Provider == nil {
		return nil
	}
	validity := tokenValidity(p)
	h := readKeyHistory(p.Provider.Settings)
	var out []jose.JSONWebKey
	have := map[string]bool{currentKID: true}
	add := func(kid string, raw json.RawMessage) {
		if k := publicJWK(raw); k != nil && !have[kid] && k.KeyID == kid {
			have[kid] = true
			out = append(out, *k)
		}
	}
	if h.currentKID != "" {
		add(h.currentKID, h.currentJWK)
	}
	for i := len(h.previous) - 1; i >= 0; i-- { // newest first
		if e := h.previous[i]; now.Before(publishedUntil(e, validity)) {
			add(e.KID, e.JWK)
		}
	}
	return out
}
