package flowui

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage/captcha"
	"github.com/gatehouse-idp/gatehouse/internal/stage/identification"
)

// The captcha stage's page loads the provider's script (the stage's
// js_url) and renders its widget in the form. Turnstile, hCaptcha and
// reCAPTCHA v2 each look for their own class on a div with data-sitekey and,
// once solved, put the token in a hidden field of the enclosing form
// (cf-turnstile-response, h-captcha-response, g-recaptcha-response): the
// page needs no script of ours, and captchaToken hands that field on as
// the stage's token. Score-only captchas (reCAPTCHA v3) need a script to
// call execute, and are not supported by this page.

// captchaFields are the providers' token fields, in the order tried.
var captchaFields = []string{"cf-turnstile-response", "h-captcha-response", "g-recaptcha-response"}

// captchaToken hands a provider's field on as the captcha stage's token
// and as the identification stage's captcha_token, where the form has
// none of its own.
func captchaToken(resp flow.Response, form url.Values) {
	for _, f := range captchaFields {
		if form.Get(f) == "" {
			continue
		}
		for _, k := range []string{"token", "captcha_token"} {
			if _, ok := resp[k]; !ok {
				resp[k] = resp[f]
			}
		}
		return
	}
}

// captchaHosts are the hosts a provider's widget loads frames, styles and
// requests from besides its script's, by the script's host (the providers'
// CSP documentation).
var captchaHosts = map[string][]string{
	"www.google.com":            {"https://www.google.com", "https://www.gstatic.com"},
	"www.recaptcha.net":         {"https://www.recaptcha.net", "https://www.gstatic.com", "https://www.gstatic.cn"},
	"js.hcaptcha.com":           {"https://hcaptcha.com", "https://*.hcaptcha.com"},
	"hcaptcha.com":              {"https://hcaptcha.com", "https://*.hcaptcha.com"},
	"challenges.cloudflare.com": {"https://challenges.cloudflare.com"},
}

// captchaSources are the CSP sources a captcha challenge needs: the
// script's origin and its provider's other hosts. Nil when the challenge
// is not a captcha or its js_url is not an absolute http(s) URL.
func captchaSources(c flow.Challenge) []string {
	var js string
	switch c := c.(type) {
	case *captcha.Challenge:
		js = c.JSURL
	case *identification.Challenge:
		if c.CaptchaStage == nil {
			return nil
		}
		js = c.CaptchaStage.JSURL
	default:
		return nil
	}
	u, err := url.Parse(js)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsAny(u.Host, " ;'\"") {
		return nil
	}
	out := []string{u.Scheme + "://" + u.Host}
	for _, h := range captchaHosts[u.Hostname()] {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
