// Package session manages browser sessions: an opaque random cookie whose
// SHA-256 keys a durable row in the store (so a database dump holds no live
// cookie), anonymous until a flow logs a user in, rotated at login against
// session fixation, and ended at logout.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// Cookie names, as authentik's.
const (
	CookieName = "authentik_session"
	CSRFCookie = "authentik_csrf"
)

// AnonymousAge is how long a session without a user lives (authentik's
// sessions.unauthenticated_age).
const AnonymousAge = 24 * time.Hour

// Manager creates, loads, saves and ends sessions.
type Manager struct {
	Store store.Sessions
	Now   func() time.Time
	// OnEnd, when set, runs before a signed-in session is deleted (its
	// OAuth2 grants are deleted with it): back-channel logout.
	OnEnd func(ctx context.Context, s *store.Session)
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

// Key is the stored key of a cookie value.
func Key(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return hex.EncodeToString(sum[:])
}

func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Load returns the request's live session, or nil.
func (m *Manager) Load(ctx context.Context, r *http.Request) (*store.Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" || len(c.Value) > 256 {
		return nil, nil
	}
	s, err := m.Store.SessionByKey(ctx, Key(c.Value), m.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return s, err
}

// Start makes an anonymous session and sets its cookies. The session is
// stored by its first Save (Stored tells), so a request that ends up
// keeping nothing in it (a flow that denies access) writes nothing, and
// one that does writes once.
func (m *Manager) Start(w http.ResponseWriter, r *http.Request) *store.Session {
	cookie := newSecret()
	now := m.now()
	s := &store.Session{Key: Key(cookie), Data: json.RawMessage(`{}`), LastIP: clientIP(r),
		LastUserAgent: truncate(r.UserAgent(), 512), LastUsed: now, Expires: now.Add(AnonymousAge)}
	setCookies(w, r, cookie, time.Time{})
	return s
}

// Stored tells whether s was saved to the store (Start and Login return
// sessions that are not, until their first Save).
func Stored(s *store.Session) bool { return s.UUID != uuid.Nil }

// Login gives the session to user under a new key (the old cookie stops
// working at once), alive for duration (0: until the browser closes, kept
// 24 hours on the server). The new session is stored by its first Save, so
// the caller saves it (with whatever else it changes) before answering.
func (m *Manager) Login(ctx context.Context, w http.ResponseWriter, r *http.Request, s *store.Session, userPK int64, duration time.Duration) (*store.Session, error) {
	if m.OnEnd != nil && s.UserPK != nil {
		m.OnEnd(ctx, s) // the old signed-in session ends here
	}
	if Stored(s) {
		if err := m.Store.DeleteSession(ctx, s.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	cookie := newSecret()
	now := m.now()
	n := *s
	n.Key, n.UUID = Key(cookie), [16]byte{}
	n.UserPK = &userPK
	n.LastUsed, n.Created = now, now // Created is the login time (OIDC auth_time)
	cookieExpiry := time.Time{}
	if duration > 0 {
		n.Expires = now.Add(duration)
		cookieExpiry = n.Expires
	} else {
		n.Expires = now.Add(AnonymousAge)
	}
	setCookies(w, r, cookie, cookieExpiry)
	return &n, nil
}

// EndUserSessions ends every session of a user (terminate_other_sessions,
// a deleted user), running OnEnd for each first, as End does.
func (m *Manager) EndUserSessions(ctx context.Context, userPK int64) (int, error) {
	if m.OnEnd != nil {
		sessions, err := m.Store.UserSessions(ctx, userPK, m.now())
		if err != nil {
			return 0, err
		}
		for _, s := range sessions {
			m.OnEnd(ctx, s)
		}
	}
	return m.Store.DeleteUserSessions(ctx, userPK)
}

// End deletes the session and its cookie.
func (m *Manager) End(ctx context.Context, w http.ResponseWriter, r *http.Request, s *store.Session) error {
	if s != nil && Stored(s) {
		if m.OnEnd != nil && s.UserPK != nil {
			m.OnEnd(ctx, s)
		}
		if err := m.Store.DeleteSession(ctx, s.Key); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	return nil
}

// Save writes the session's data, storing the session first if it is not
// (Stored).
func (m *Manager) Save(ctx context.Context, s *store.Session) error {
	s.LastUsed = m.now()
	if !Stored(s) {
		return m.Store.CreateSession(ctx, s)
	}
	return m.Store.UpdateSession(ctx, s)
}

// Get decodes one key of the session's data into v; false when absent.
func Get(s *store.Session, key string, v any) bool {
	raw, ok := lookup(s.Data, key)
	return ok && json.Unmarshal(raw, v) == nil
}

// Set stores v under key in the session's data (nil deletes it).
func Set(s *store.Session, key string, v any) error {
	var raw json.RawMessage
	if v != nil {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return err
		}
	}
	data, err := replace(s.Data, key, raw)
	if err != nil {
		return err
	}
	s.Data = data
	return nil
}

func setCookies(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	c := &http.Cookie{Name: CookieName, Value: value, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode}
	if !expires.IsZero() {
		c.Expires = expires
	}
	http.SetCookie(w, c)
	// The CSRF cookie is readable by the page's script, which repeats it in
	// the X-authentik-CSRF header of unsafe API calls.
	if _, err := r.Cookie(CSRFCookie); err != nil {
		http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: newSecret(), Path: "/", Secure: r.TLS != nil,
			SameSite: http.SameSiteLaxMode})
	}
}

// clientIP is the router's idea of the client (trusted proxies resolved).
func clientIP(r *http.Request) string {
	if ip := web.ClientIP(r.Context()); ip.IsValid() {
		return ip.String()
	}
	return r.RemoteAddr
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
