package oauth2

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// RP-initiated logout with a front-channel provider in the session: the
// answer is a page with an iframe to its logout_uri carrying iss and sid
// (Front-Channel Logout §2, §3), allowed by the page's CSP, that then moves
// on to the post_logout_redirect_uri. Without front-channel providers the
// answer stays a redirect.
func TestFrontchannelLogout(t *testing.T) {
	h := newHarness(t)
	h.editProvider(func(p *store.OAuth2Provider) {
		p.LogoutURI, p.LogoutMethod = "https://rp.example/logout?x=1", "frontchannel"
		p.RedirectURIs = append(p.RedirectURIs, store.RedirectURI{MatchingMode: "strict", URL: "https://rp.example/bye", Type: "logout"})
	})
	sess, cookie := h.login()
	out := h.exchange(sess)
	endSession := "/application/o/app/end-session/?" + url.Values{"id_token_hint": {out["id_token"].(string)},
		"post_logout_redirect_uri": {"https://rp.example/bye"}, "state": {"s1"}}.Encode()
	w := h.do(http.MethodGet, endSession, nil, "Cookie", "authentik_session="+cookie)
	if w.Code != http.StatusOK {
		t.Fatalf("end-session = %d %s", w.Code, w.Body)
	}
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src https://rp.example;") {
		t.Errorf("CSP = %q", csp)
	}
	body := w.Body.String()
	var frames []string
	for _, m := range regexp.MustCompile(`<iframe src="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		frames = append(frames, html.UnescapeString(m[1]))
	}
	refresh := ""
	if m := regexp.MustCompile(`<meta http-equiv="refresh" content="([^"]*)"`).FindStringSubmatch(body); m != nil {
		refresh = html.UnescapeString(m[1])
	}
	if len(frames) != 1 {
		t.Fatalf("iframes = %v", frames)
	}
	u, err := url.Parse(frames[0])
	if err != nil || u.Host != "rp.example" || u.Path != "/logout" {
		t.Fatalf("iframe src = %q", frames[0])
	}
	_, id := verifyWith(t, h.jwks(), out["id_token"].(string))
	if q := u.Query(); q.Get("x") != "1" || q.Get("iss") != id["iss"] || q.Get("sid") != id["sid"] || q.Get("sid") == "" {
		t.Errorf("iframe query = %v, ID token iss/sid = %v %v", q, id["iss"], id["sid"])
	}
	if !strings.Contains(refresh, "url=https://rp.example/bye?state=s1") {
		t.Errorf("refresh = %q", refresh)
	}

	// A session with no front-channel grants: a plain redirect.
	h.editProvider(func(p *store.OAuth2Provider) { p.LogoutMethod = "backchannel" })
	h.clock().Advance(configTTL)
	sess, cookie = h.login()
	h.exchange(sess)
	w = h.do(http.MethodGet, endSession, nil, "Cookie", "authentik_session="+cookie)
	if w.Code != http.StatusFound {
		t.Errorf("end-session without front-channel = %d", w.Code)
	}
}
