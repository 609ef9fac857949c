package oauth2

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// logoutReceiver is a relying party's back-channel logout endpoint.
type logoutReceiver struct {
	srv *httptest.Server
	got chan url.Values
}

func newLogoutReceiver(t *testing.T, status int) *logoutReceiver {
	lr := &logoutReceiver{got: make(chan url.Values, 16)}
	lr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("logout request: %s %q", r.Method, r.Header.Get("Content-Type"))
		}
		_ = r.ParseForm()
		lr.got <- r.PostForm
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
	}))
	t.Cleanup(lr.srv.Close)
	return lr
}

// next returns the next logout_token received, failing after a while.
func (lr *logoutReceiver) next(t *testing.T) string {
	t.Helper()
	select {
	case form := <-lr.got:
		return form.Get("logout_token")
	case <-time.After(10 * time.Second):
		t.Fatal("no logout request")
		return ""
	}
}

func (lr *logoutReceiver) none(t *testing.T, h *harness) {
	t.Helper()
	h.s.keys.logout.wait()
	select {
	case form := <-lr.got:
		t.Errorf("unexpected logout request %v", form)
	default:
	}
}

// checkLogoutToken verifies a logout token against the JWKS and checks its
// claims (Back-Channel Logout §2.4) against the ID token of the session.
func checkLogoutToken(t *testing.T, h *harness, token, idToken string) {
	t.Helper()
	set := h.jwks()
	hdr, claims := verifyWith(t, set, token)
	if hdr.ExtraHeaders["typ"] != "logout+jwt" {
		t.Errorf("typ = %v", hdr.ExtraHeaders["typ"])
	}
	_, id := verifyWith(t, set, idToken)
	for _, k := range []string{"iss", "sub", "aud", "sid"} {
		if claims[k] == nil || claims[k] != id[k] {
			t.Errorf("%s = %v, the ID token's %v", k, claims[k], id[k])
		}
	}
	if claims["iss"] != "http://example.com/application/o/app/" || claims["aud"] != hClientID {
		t.Errorf("iss/aud = %v %v", claims["iss"], claims["aud"])
	}
	events, _ := claims["events"].(map[string]any)
	if ev, ok := events[backchannelEvent].(map[string]any); !ok || len(ev) != 0 || len(events) != 1 {
		t.Errorf("events = %v", claims["events"])
	}
	if _, ok := claims["nonce"]; ok {
		t.Error("a logout token has a nonce")
	}
	iat, _ := claims["iat"].(float64)
	exp, _ := claims["exp"].(float64)
	if jti, _ := claims["jti"].(string); jti == "" || exp-iat != logoutTokenValidity.Seconds() {
		t.Errorf("jti/iat/exp = %v %v %v", claims["jti"], iat, exp)
	}
}

// The session ends: the providers with back-channel logout that issued
// tokens in it get a logout token for its sid, once; a provider without a
// logout URI, another session's grants, and a front-channel provider get
// nothing.
func TestBackchannelLogoutOnSessionEnd(t *testing.T) {
	h := newHarness(t)
	clock := h.clock()
	ctx := context.Background()
	lr := newLogoutReceiver(t, http.StatusOK)
	sess, _ := h.login()
	other, _ := h.login()

	// No logout URI yet: nothing is sent.
	h.exchange(sess)
	h.s.SessionEnded(ctx, sess)
	lr.none(t, h)

	h.editProvider(func(p *store.OAuth2Provider) {
		p.LogoutURI, p.LogoutMethod = lr.srv.URL+"/backchannel", "backchannel"
	})
	clock.Advance(configTTL) // the new configuration applies
	sess, _ = h.login()
	idToken := h.exchange(sess)["id_token"].(string)
	h.exchange(sess) // a second grant in the session: still one token
	h.exchange(other)
	h.s.SessionEnded(ctx, sess)
	checkLogoutToken(t, h, lr.next(t), idToken)
	lr.none(t, h)

	// Told once: the session's end reported again sends nothing more.
	h.s.SessionEnded(ctx, sess)
	lr.none(t, h)

	// Front-channel providers are not told through the back channel.
	h.editProvider(func(p *store.OAuth2Provider) { p.LogoutMethod = "frontchannel" })
	clock.Advance(configTTL)
	h.s.SessionEnded(ctx, other)
	lr.none(t, h)
}

// RP-initiated logout tells the client's back-channel endpoint at once,
// with the session's sid, and ends the client's grants of the session.
func TestBackchannelLogoutAtEndSession(t *testing.T) {
	h := newHarness(t)
	lr := newLogoutReceiver(t, http.StatusNoContent)
	h.editProvider(func(p *store.OAuth2Provider) {
		p.LogoutURI, p.LogoutMethod = lr.srv.URL+"/backchannel", "backchannel"
	})
	sess, cookie := h.login()
	out := h.exchange(sess)
	w := h.do(http.MethodGet, "/application/o/app/end-session/?"+url.Values{"id_token_hint": {out["id_token"].(string)}}.Encode(),
		nil, "Cookie", "authentik_session="+cookie)
	if w.Code != http.StatusFound {
		t.Fatalf("end-session = %d %s", w.Code, w.Body)
	}
	checkLogoutToken(t, h, lr.next(t), out["id_token"].(string))
	if tok, _, _, err := h.s.accessGrant(context.Background(), out["access_token"].(string)); err != nil || tok != nil {
		t.Errorf("the session's access token after end-session: %v %v", tok, err)
	}
	// The session ending afterwards does not tell the client again.
	h.s.SessionEnded(context.Background(), sess)
	lr.none(t, h)
}

// A relying party that fails, or cannot be reached, is logged and left:
// the next notice still goes out.
func TestBackchannelLogoutFailures(t *testing.T) {
	h := newHarness(t)
	clock := h.clock()
	var logs bytes.Buffer
	h.s.Log = slog.New(slog.NewTextHandler(&logs, nil))
	lr := newLogoutReceiver(t, http.StatusBadRequest)
	h.editProvider(func(p *store.OAuth2Provider) {
		p.LogoutURI, p.LogoutMethod = lr.srv.URL+"/backchannel", "backchannel"
	})
	sess, _ := h.login()
	h.exchange(sess)
	h.s.SessionEnded(context.Background(), sess)
	if tok := lr.next(t); tok == "" {
		t.Fatal("no logout_token")
	}
	h.s.keys.logout.wait()

	h.editProvider(func(p *store.OAuth2Provider) { p.LogoutURI = "http://127.0.0.1:1/unreachable" })
	clock.Advance(configTTL)
	sess, _ = h.login()
	h.exchange(sess)
	h.s.SessionEnded(context.Background(), sess)
	h.s.keys.logout.wait()
	if got := strings.Count(logs.String(), "back-channel logout: delivery failed"); got != 2 ||
		!strings.Contains(logs.String(), "unexpected status 400") {
		t.Errorf("logs = %s", logs.String())
	}
}

// A logout token is signed with the provider's key of the moment, which
// the JWKS publishes; an HS256 provider signs it with its client secret.
func TestLogoutTokenHS256(t *testing.T) {
	h := newHarness(t)
	lr := newLogoutReceiver(t, http.StatusOK)
	h.editProvider(func(p *store.OAuth2Provider) {
		p.SigningKey = nil
		p.LogoutURI, p.LogoutMethod = lr.srv.URL+"/backchannel", "backchannel"
	})
	sess, _ := h.login()
	h.exchange(sess)
	h.s.SessionEnded(context.Background(), sess)
	obj, err := jose.ParseSignedCompact(lr.next(t), []jose.SignatureAlgorithm{jose.HS256})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := obj.Verify([]byte(hSecret))
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{}
	_ = json.Unmarshal(payload, &claims)
	if claims["sid"] != sidOf(sess.UUID) {
		t.Errorf("claims = %v", claims)
	}
}

// fakeQueue records enqueued tasks.
type fakeQueue struct{ tasks []queue.Task }

func (q *fakeQueue) Enqueue(_ context.Context, t queue.Task) (string, error) {
	q.tasks = append(q.tasks, t)
	return fmt.Sprint(len(q.tasks)), nil
}

// With a queue, a logout token becomes a task; the worker's handler POSTs
// it, is retried (an error) while the relying party fails or cannot be
// reached, and stops on its answer otherwise (400: it refused the token).
func TestBackchannelLogoutQueued(t *testing.T) {
	h := newHarness(t)
	q := &fakeQueue{}
	h.s.Queue = q
	lr := newLogoutReceiver(t, http.StatusOK)
	h.editProvider(func(p *store.OAuth2Provider) {
		p.LogoutURI, p.LogoutMethod = lr.srv.URL+"/backchannel", "backchannel"
	})
	sess, _ := h.login()
	idToken := h.exchange(sess)["id_token"].(string)
	h.s.SessionEnded(context.Background(), sess)
	lr.none(t, h) // nothing sent in process
	if len(q.tasks) != 1 || q.tasks[0].Name != BackchannelTask || q.tasks[0].MaxAttempts != backchannelAttempts {
		t.Fatalf("tasks = %+v", q.tasks)
	}
	handler := BackchannelHandler(slog.New(slog.DiscardHandler))
	job := &queue.Job{ID: "1", Name: BackchannelTask, Args: q.tasks[0].Args, Attempt: 1}
	if err := handler(context.Background(), job); err != nil {
		t.Fatalf("delivery: %v", err)
	}
	checkLogoutToken(t, h, lr.next(t), idToken)

	for status, retried := range map[int]bool{500: true, 503: true, 429: true, 400: false, 404: false} {
		rp := newLogoutReceiver(t, status)
		var args logoutTask
		_ = json.Unmarshal(q.tasks[0].Args, &args)
		args.URI = rp.srv.URL + "/backchannel"
		b, _ := json.Marshal(args)
		err := handler(context.Background(), &queue.Job{ID: "2", Name: BackchannelTask, Args: b, Attempt: 1})
		if (err != nil) != retried {
			t.Errorf("answer %d: error %v, want retried %v", status, err, retried)
		}
		rp.next(t)
	}
	// Unreachable: retried. Malformed: dropped.
	if err := handler(context.Background(), &queue.Job{ID: "3", Args: json.RawMessage(`{"uri":"http://127.0.0.1:1/x","logout_token":"t"}`)}); err == nil {
		t.Error("an unreachable relying party is not retried")
	}
	if err := handler(context.Background(), &queue.Job{ID: "4", Args: json.RawMessage(`{}`)}); err != nil {
		t.Errorf("a malformed task is retried: %v", err)
	}
}
