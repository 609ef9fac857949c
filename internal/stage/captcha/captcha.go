// Package captcha is authentik's captcha stage, provider-agnostic: the page
// loads the provider's script (js_url) with the site key, and the response
// token is verified server-side against the provider's siteverify endpoint
// (api_url; reCAPTCHA, hCaptcha and Turnstile share its protocol: a form POST
// of secret, response and remoteip, answered with JSON {success, score}).
package captcha

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "captcha"
	ModelName = "authentik_stages_captcha.captchastage"
)

// Settings are authentik's captcha stage fields.
type Settings struct {
	PublicKey         string  `json:"public_key"`
	PrivateKey        string  `json:"private_key"`
	JSURL             string  `json:"js_url"`
	APIURL            string  `json:"api_url"`
	Interactive       bool    `json:"interactive"`
	ScoreMinThreshold float64 `json:"score_min_threshold"`
	ScoreMaxThreshold float64 `json:"score_max_threshold"`
	ErrorOnInvalid    bool    `json:"error_on_invalid_score"`
}

// Challenge is ak-stage-captcha.
type Challenge struct {
	flow.Base
	SiteKey     string `json:"site_key"`
	JSURL       string `json:"js_url"`
	Interactive bool   `json:"interactive"`
}

// Stage implements flow.Stage.
type Stage struct {
	s    Settings
	http *http.Client
}

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{JSURL: "https://www.recaptcha.net/recaptcha/api.js",
		APIURL: "https://www.recaptcha.net/recaptcha/api/siteverify", ScoreMinThreshold: 0.5, ScoreMaxThreshold: 1}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	if s.PublicKey == "" || s.PrivateKey == "" {
		return nil, fmt.Errorf("captcha: public_key and private_key are required")
	}
	if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("captcha: api_url must be an http(s) URL")
	}
	if s.ScoreMinThreshold > s.ScoreMaxThreshold {
		return nil, fmt.Errorf("captcha: score_min_threshold must not exceed score_max_threshold")
	}
	return &Stage{s: s, http: &http.Client{Timeout: 10 * time.Second}}, nil
}

func (st *Stage) challenge() *Challenge {
	return &Challenge{Base: flow.Base{Component: "ak-stage-captcha"}, SiteKey: st.s.PublicKey, JSURL: st.s.JSURL,
		Interactive: st.s.Interactive}
}

// Enter shows the challenge.
func (st *Stage) Enter(context.Context, *flow.Run) (flow.Step, error) {
	return flow.Step{Challenge: st.challenge()}, nil
}

// Embedded is the captcha an identification stage shows with its form
// (authentik's captcha_stage in the identification challenge).
type Embedded struct {
	PK          string `json:"pk"`
	SiteKey     string `json:"site_key"`
	JSURL       string `json:"js_url"`
	Interactive bool   `json:"interactive"`
}

// Embed describes the stage for an identification challenge.
func (st *Stage) Embed(pk string) *Embedded {
	return &Embedded{PK: pk, SiteKey: st.s.PublicKey, JSURL: st.s.JSURL, Interactive: st.s.Interactive}
}

// Submit verifies the token with the provider.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	msg, deny, err := st.Check(ctx, r, resp.String("token"))
	switch {
	case err != nil:
		return flow.Step{}, err
	case deny:
		return flow.Step{Deny: msg}, nil
	case msg != "":
		return flow.Invalid(st.challenge(), "token", msg, "invalid"), nil
	}
	return flow.Step{Done: true}, nil
}

// Check verifies a token with the provider's siteverify endpoint. msg is
// what to tell the user when it is refused ("" when it passes); deny says
// the flow must end (a score out of range without error_on_invalid_score).
func (st *Stage) Check(ctx context.Context, r *flow.Run, tok string) (msg string, deny bool, err error) {
	if tok == "" || len(tok) > 8192 {
		return "Please complete the captcha.", false, nil
	}
	form := url.Values{"secret": {st.s.PrivateKey}, "response": {tok}}
	if ip := web.ClientIP(ctx); ip.IsValid() {
		form.Set("remoteip", ip.String())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.s.APIURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := st.http.Do(req)
	if err != nil {
		r.Log.Warn("captcha verification failed", "error", err)
		return "The captcha could not be verified; please try again.", false, nil
	}
	defer res.Body.Close()
	var out struct {
		Success bool     `json:"success"`
		Score   *float64 `json:"score"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&out) != nil || !out.Success {
		return "Invalid captcha response.", false, nil
	}
	if out.Score != nil && (*out.Score < st.s.ScoreMinThreshold || *out.Score > st.s.ScoreMaxThreshold) {
		if st.s.ErrorOnInvalid {
			return "Invalid captcha response. Retrying may solve this issue.", false, nil
		}
		return "Invalid captcha response.", true, nil
	}
	return "", false, nil
}
