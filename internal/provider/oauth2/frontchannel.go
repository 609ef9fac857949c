package oauth2

import (
	"context"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// OpenID Connect Front-Channel Logout 1.0.
//
// At RP-initiated logout (endSession), every provider with grants in the
// session whose logout_method is "frontchannel" and that has a logout_uri
// is told through the browser: the page Gatehouse answers with holds an
// iframe per relying party, src = logout_uri?iss=...&sid=... (§2, with
// the session parameters of §3 always sent), and then moves on to the
// invalidation flow or the post_logout_redirect_uri.
//
//	GET end-session ──▶ page: <iframe src=rp1/logout?iss&sid> <iframe ...>
//	    ──meta refresh (2 s) or "Continue"──▶ invalidation flow / redirect
//
// Sessions ended elsewhere (Gatehouse's own logout, an admin ending a
// session) reach only back-channel relying parties: a front channel needs
// the user's browser on a page Gatehouse renders at that moment.

// frontchannelDelay is how long the page waits for the iframes before it
// moves on, in seconds.
const frontchannelDelay = 2

// frontchannelURLs are the iframe URLs for the front-channel relying
// parties of sess.
func (s *Server) frontchannelURLs(ctx context.Context, r *http.Request, sess *store.Session) ([]string, error) {
	if sess == nil || sess.UserPK == nil {
		return nil, nil
	}
	byProvider, err := s.sessionProviders(ctx, sess, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, pk := range slices.Sorted(maps.Keys(byProvider)) {
		cfg, err := s.byProviderPK(ctx, pk)
		if err != nil {
			continue
		}
		p := cfg.p
		if p.LogoutMethod != "frontchannel" || p.LogoutURI == "" {
			continue
		}
		u, err := url.Parse(p.LogoutURI)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			s.log().Warn("front-channel logout: logout_uri is not an http(s) URL", "provider", pk)
			continue
		}
		iss := byProvider[pk].iss
		if iss == "" {
			iss = issuer(r, p, cfg.app)
		}
		// §2: iss and sid as query parameters, added to any the RP
		// registered.
		q := u.Query()
		q.Set("iss", iss)
		q.Set("sid", sidOf(sess.UUID))
		u.RawQuery = q.Encode()
		out = append(out, u.String())
	}
	return out, nil
}

// frontchannelPage renders the iframes, then moves on to next.
func frontchannelPage(w http.ResponseWriter, urls []string, next string) {
	origins := map[string]bool{}
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil {
			origins[u.Scheme+"://"+u.Host] = true
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-src "+
		strings.Join(slices.Sorted(maps.Keys(origins)), " ")+"; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	_ = frontchannelTmpl.Execute(w, map[string]any{"URLs": urls, "Next": next, "Delay": frontchannelDelay})
}

var frontchannelTmpl = template.Must(template.New("f").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Signing out</title>
<meta http-equiv="refresh" content="{{.Delay}};url={{.Next}}">
<style>body{font-family:system-ui,sans-serif;background:#f2f2f5;display:flex;justify-content:center;padding-top:10vh}
main{background:#fff;border-radius:8px;padding:2rem 2.5rem;max-width:32rem;box-shadow:0 1px 4px #0002}h1{font-size:1.3rem}
iframe{display:none}</style>
</head><body><main><h1>Signing out</h1><p>Signing you out of your applications&hellip;</p>
<p><a href="{{.Next}}">Continue</a></p>
{{range .URLs}}<iframe src="{{.}}" title="logout" sandbox="allow-same-origin allow-scripts"></iframe>
{{end}}</main></body></html>`))
