package oauth2

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// OpenID Connect Back-Channel Logout 1.0.
//
// When a session ends, every provider that issued tokens in it and has
// logout_method "backchannel" and a logout_uri gets a logout token (§2.4),
// POSTed as logout_token=... (§2.5), so that the relying party ends its own
// session for that sid. At RP-initiated logout (endSession) the client's
// grants of the session end, so its provider is told the same way; the
// others are told when the Gatehouse session itself ends (SessionEnded).
//
//	session ends ──SessionEnded (before the delete: grants cascade)──▶
//	    grants of the session, by provider ──▶ logout token signed now ──▶
//	    task oauth2_backchannel_logout (Server.Queue; retried with backoff
//	    by the worker) ──POST logout_uri──▶ 200/204
//	    (no queue: a bounded goroutine, one attempt, failures logged)

// Back-channel logout parameters.
const (
	// backchannelEvent is the events member of a logout token (§2.4).
	backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenValidity: §2.4 asks for a short exp; it covers the
	// queue's retries (about 5, 10, 20, 40 s apart).
	logoutTokenValidity = 5 * time.Minute
	// BackchannelTask is the queue task that delivers one logout token.
	BackchannelTask = "oauth2_backchannel_logout"
	// backchannelAttempts bounds its runs.
	backchannelAttempts = 5
	// backchannelTimeout bounds one POST to a relying party.
	backchannelTimeout = 10 * time.Second
	// backchannelConcurrency is how many POSTs run at once, and
	// backchannelQueue how many may wait (more are dropped and logged).
	backchannelConcurrency = 8
	backchannelQueue       = 256
	// sessionTokenLimit bounds the tokens read to find a session's grants.
	sessionTokenLimit = 2000
	// notifiedTTL is how long a grant is remembered as notified, so that
	// end-session followed by the session's end tells a client once.
	notifiedTTL = 10 * time.Minute
)

// tokenDataIssuer is the key of store.OAuth2Token.Data that holds the
// issuer the token was issued under (claims.go's issue).
const tokenDataIssuer = "iss"

// logoutSender delivers logout tokens.
//
// Without a queue (Server.Queue), delivery runs in goroutines with bounded
// concurrency and no retries; with one, each delivery is a task.
type logoutSender struct {
	once    sync.Once
	client  *http.Client
	slots   chan struct{} // running POSTs
	pending chan struct{} // running and waiting POSTs
	wg      sync.WaitGroup

	mu       sync.Mutex
	notified map[uuid.UUID]time.Time // grant → when its provider was told
}

func (l *logoutSender) init() {
	l.once.Do(func() {
		l.client = logoutClient()
		l.slots = make(chan struct{}, backchannelConcurrency)
		l.pending = make(chan struct{}, backchannelQueue)
		l.notified = map[uuid.UUID]time.Time{}
	})
}

// claim marks grants notified and reports whether any was not yet.
func (l *logoutSender) claim(grants []uuid.UUID, now time.Time) bool {
	l.init()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.notified) > 4*backchannelQueue {
		for g, t := range l.notified {
			if now.Sub(t) > notifiedTTL {
				delete(l.notified, g)
			}
		}
	}
	fresh := false
	for _, g := range grants {
		if t, ok := l.notified[g]; !ok || now.Sub(t) > notifiedTTL {
			fresh = true
		}
		l.notified[g] = now
	}
	return fresh
}

// wait blocks until every queued delivery is done (tests).
func (l *logoutSender) wait() { l.wg.Wait() }

// logoutNotice is one logout token for one relying party.
type logoutNotice struct {
	provider int64
	clientID string
	uri      string
	token    string
}

// SessionEnded sends the back-channel logout tokens of a session that is
// ending: to every provider with logout_method "backchannel" and a
// logout_uri that has grants in it. Call it before the session is
// deleted, since deleting it deletes its grants (session.Manager.End).
// The tokens are made before it returns; they are delivered in the
// background.
func (s *Server) SessionEnded(ctx context.Context, sess *store.Session) {
	s.backchannelLogout(ctx, nil, sess, nil)
}

// backchannelLogout notifies the providers with grants in sess (only
// provider only, when set). r, when there is one, gives the issuer of
// tokens issued before issue() recorded it.
func (s *Server) backchannelLogout(ctx context.Context, r *http.Request, sess *store.Session, only *int64) {
	if sess == nil || sess.UserPK == nil || s.Store == nil {
		return
	}
	notices, err := s.logoutNotices(ctx, r, sess, only)
	if err != nil {
		s.log().Error("back-channel logout: finding the session's grants", "session", sess.UUID, "error", err)
	}
	for _, n := range notices {
		s.deliverLogout(ctx, n)
	}
}

// sessionGrants are a provider's grants in the session, and the issuer
// their tokens were issued under.
type sessionGrants struct {
	grants []uuid.UUID
	iss    string
}

// sessionProviders finds the grants issued in sess, by provider (only
// that provider, when set).
func (s *Server) sessionProviders(ctx context.Context, sess *store.Session, only *int64) (map[int64]*sessionGrants, error) {
	byProvider := map[int64]*sessionGrants{}
	const page = 500
	for off := 0; off < sessionTokenLimit; off += page {
		toks, grants, _, err := s.Store.ListOAuth2Tokens(ctx, store.OAuth2TokenFilter{UserPK: sess.UserPK, ProviderPK: only},
			store.Page{Offset: off, Limit: page})
		if err != nil {
			return nil, err
		}
		for i, g := range grants {
			if g.SessionUUID == nil || *g.SessionUUID != sess.UUID {
				continue
			}
			sg := byProvider[g.ProviderPK]
			if sg == nil {
				sg = &sessionGrants{}
				byProvider[g.ProviderPK] = sg
			}
			if !slices.Contains(sg.grants, g.UUID) {
				sg.grants = append(sg.grants, g.UUID)
			}
			if iss, _ := toks[i].Data[tokenDataIssuer].(string); iss != "" && sg.iss == "" {
				sg.iss = iss
			}
		}
		if len(toks) < page {
			break
		}
	}
	return byProvider, nil
}

func (s *Server) logoutNotices(ctx context.Context, r *http.Request, sess *store.Session, only *int64) ([]logoutNotice, error) {
	byProvider, err := s.sessionProviders(ctx, sess, only)
	if err != nil {
		return nil, err
	}
	if len(byProvider) == 0 {
		return nil, nil
	}
	user, err := s.Store.UserByPK(ctx, *sess.UserPK)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []logoutNotice
	for _, pk := range slices.Sorted(maps.Keys(byProvider)) {
		sg := byProvider[pk]
		cfg, err := s.byProviderPK(ctx, pk)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return out, err
		}
		p := cfg.p
		if p.LogoutMethod != "backchannel" || p.LogoutURI == "" {
			continue
		}
		log := s.log().With("provider", pk, "client_id", p.ClientID)
		iss := sg.iss
		if iss == "" && r != nil {
			iss = issuer(r, p, cfg.app)
		}
		if iss == "" {
			log.Warn("back-channel logout: no issuer recorded for the session's tokens; not sent")
			continue
		}
		if cfg.keyErr != nil {
			log.Warn("back-channel logout: the provider cannot sign", "error", cfg.keyErr)
			continue
		}
		if !s.keys.logout.claim(sg.grants, now) {
			continue
		}
		// §2.4: iss, aud, iat, exp, jti, events, sub and sid as in the ID
		// token; never a nonce. §2.4 also has it explicitly typed
		// logout+jwt (RFC 8725 §3.11).
		claims := map[string]any{"iss": iss, "sub": s.subject(p, user), "aud": p.ClientID, "iat": now.Unix(),
			"exp": now.Add(logoutTokenValidity).Unix(), "jti": uuid.NewString(), "sid": sidOf(sess.UUID),
			"events": map[string]any{backchannelEvent: map[string]any{}}}
		tok, err := cfg.key.sign(p, "logout+jwt", claims)
		if err != nil {
			log.Error("back-channel logout: signing the logout token", "error", err)
			continue
		}
		out = append(out, logoutNotice{provider: pk, clientID: p.ClientID, uri: p.LogoutURI, token: tok})
	}
	return out, nil
}

// logoutTask is the argument of a BackchannelTask.
type logoutTask struct {
	Provider int64  `json:"provider"`
	ClientID string `json:"client_id"`
	URI      string `json:"uri"`
	Token    string `json:"logout_token"`
}

// deliverLogout sends n (§2.5): as a queue task when there is a queue,
// else in a goroutine.
func (s *Server) deliverLogout(ctx context.Context, n logoutNotice) {
	log := s.log().With("provider", n.provider, "client_id", n.clientID)
	if s.Queue != nil {
		args, _ := json.Marshal(logoutTask{Provider: n.provider, ClientID: n.clientID, URI: n.uri, Token: n.token})
		_, err := s.Queue.Enqueue(context.WithoutCancel(ctx), queue.Task{Name: BackchannelTask, Args: args,
			MaxAttempts: backchannelAttempts, Timeout: backchannelTimeout + 5*time.Second})
		if err == nil {
			return
		}
		log.Error("back-channel logout: enqueueing failed; sending once now", "error", err)
	}
	l := &s.keys.logout
	l.init()
	select {
	case l.pending <- struct{}{}:
	default:
		log.Error("back-channel logout: too many deliveries waiting; not sent")
		return
	}
	ctx = context.WithoutCancel(ctx) // the request that ended the session is over long before
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer func() { <-l.pending }()
		l.slots <- struct{}{}
		defer func() { <-l.slots }()
		if err := l.post(ctx, n); err != nil {
			log.Warn("back-channel logout: delivery failed", "logout_uri", n.uri, "error", err)
			return
		}
		log.Info("back-channel logout sent", "logout_uri", n.uri)
	}()
}

// errLogoutStatus: the relying party did not answer 200 (or 204).
var errLogoutStatus = errors.New("unexpected status")

func (l *logoutSender) post(ctx context.Context, n logoutNotice) error {
	return postLogout(ctx, l.client, n.uri, n.token)
}

// BackchannelHandler runs BackchannelTask in the worker: the POST of the
// logout token, retried by the queue when the relying party cannot be
// reached or answers 5xx, 408 or 429. Another answer (400: it refused the
// token) is final: sending it again would not change it.
func BackchannelHandler(log *slog.Logger) queue.Handler {
	client := logoutClient()
	return func(ctx context.Context, j *queue.Job) error {
		var t logoutTask
		if err := json.Unmarshal(j.Args, &t); err != nil || t.URI == "" || t.Token == "" {
			log.Error("back-channel logout: a task without a URI or token", "task", j.ID)
			return nil // a malformed task never gets better
		}
		l := log.With("provider", t.Provider, "client_id", t.ClientID, "logout_uri", t.URI, "attempt", j.Attempt)
		err := postLogout(ctx, client, t.URI, t.Token)
		var status *logoutStatusError
		switch {
		case err == nil:
			l.Info("back-channel logout sent")
			return nil
		case errors.As(err, &status) && status.code < 500 && status.code != http.StatusRequestTimeout &&
			status.code != http.StatusTooManyRequests:
			l.Warn("back-channel logout refused by the relying party", "status", status.code)
			return nil
		}
		l.Warn("back-channel logout: delivery failed; retried", "error", err)
		return err
	}
}

// logoutClient is the HTTP client of deliveries: the registered
// logout_uri, redirects not followed (§2.5 has the RP answer 200, or 400).
func logoutClient() *http.Client {
	return &http.Client{Timeout: backchannelTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// logoutStatusError is an answer other than 200/204.
type logoutStatusError struct{ code int }

func (e *logoutStatusError) Error() string { return fmt.Sprintf("%v %d", errLogoutStatus, e.code) }
func (e *logoutStatusError) Unwrap() error { return errLogoutStatus }

// postLogout POSTs logout_token to uri (§2.5).
func postLogout(ctx context.Context, client *http.Client, uri, token string) error {
	ctx, cancel := context.WithTimeout(ctx, backchannelTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri,
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	// §2.8: 200 on success; 204 is common and as good.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return &logoutStatusError{code: resp.StatusCode}
	}
	return nil
}
