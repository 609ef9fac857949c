// Package email is authentik's email stage: it mails the pending user a
// link holding a single-use, expiring verification token that carries the
// flow plan, and waits. Opening the link (in any browser) resumes the flow
// after this stage (see flow.Executor's flow_token handling). Recovery and
// account-verification flows are built with it.
package email

import (
	"context"
	"fmt"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogin"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "email"
	ModelName = "authentik_stages_email.emailstage"
)

// Settings are authentik's email stage fields. Gatehouse always uses the
// global email.* settings (use_global_settings). Template names a built-in
// template (email/password_reset.html, email/account_confirmation.html) or
// any file under email.template_dir; the name is checked when the stage is
// saved, the file when a message is sent.
type Settings struct {
	UseGlobalSettings     bool   `json:"use_global_settings"`
	TokenExpiry           string `json:"token_expiry"`
	Subject               string `json:"subject"`
	Template              string `json:"template"`
	ActivateUserOnSuccess bool   `json:"activate_user_on_success"`
	// At most RecoveryMaxAttempts unused links per user within
	// RecoveryCacheTimeout: nobody can flood an address with mail.
	RecoveryMaxAttempts  int    `json:"recovery_max_attempts"`
	RecoveryCacheTimeout string `json:"recovery_cache_timeout"`
}

// Challenge is ak-stage-email ("check your inbox").
type Challenge struct {
	flow.Base
}

// Stage implements flow.Stage.
type Stage struct {
	s      Settings
	expiry time.Duration
	window time.Duration
}

var _ flow.Stage = (*Stage)(nil)

// resendAfter bounds how often one flow can send the mail again.
const resendAfter = 30 * time.Second

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{UseGlobalSettings: true, TokenExpiry: "minutes=30", Subject: "Gatehouse", Template: "email/password_reset.html",
		RecoveryMaxAttempts: 5, RecoveryCacheTimeout: "minutes=5"}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	d, err := userlogin.ParseDuration(s.TokenExpiry)
	if err != nil || d <= 0 || d > 30*24*time.Hour {
		return nil, fmt.Errorf("email: token_expiry must be a duration such as minutes=30 (at most 30 days)")
	}
	if err := mail.ValidTemplateName(s.Template); err != nil {
		return nil, fmt.Errorf("email: template: %w", err)
	}
	w, err := userlogin.ParseDuration(s.RecoveryCacheTimeout)
	if err != nil || w <= 0 || s.RecoveryMaxAttempts < 1 {
		return nil, fmt.Errorf("email: recovery_max_attempts must be at least 1 and recovery_cache_timeout a duration such as minutes=5")
	}
	return &Stage{s: s, expiry: d, window: w}, nil
}

func challenge() flow.Step {
	return flow.Step{Challenge: &Challenge{Base: flow.Base{Component: "ak-stage-email"}}}
}

// Enter passes when the flow was resumed from the link; otherwise it sends
// the mail once and shows the challenge.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	if r.Plan.Context.IsRestored {
		r.Plan.Context.IsRestored = false
		if st.s.ActivateUserOnSuccess {
			u, err := r.PendingUser(ctx)
			if err != nil {
				return flow.Step{}, err
			}
			if u != nil && !u.IsActive {
				u.IsActive = true
				if err := r.Store().UpdateUser(ctx, u); err != nil {
					return flow.Step{}, err
				}
			}
		}
		return flow.Step{Done: true}, nil
	}
	if _, sent := r.State()["sent"]; !sent {
		if err := st.send(ctx, r); err != nil {
			return flow.Step{}, err
		}
	}
	return challenge(), nil
}

// Submit sends the mail again (the "send again" button), at most every 30 s.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	last, _ := r.State()["sent"].(float64)
	if r.Now().Sub(time.Unix(int64(last), 0)) < resendAfter {
		return flow.Invalid(&Challenge{Base: flow.Base{Component: "ak-stage-email"}}, "non_field_errors",
			"An email was sent a moment ago; please wait before asking again.", "throttled"), nil
	}
	if err := st.send(ctx, r); err != nil {
		return flow.Step{}, err
	}
	return challenge(), nil
}

// send mails the link to the pending user. Without a pending user or an
// address (an unknown username with pretend_user_exists) nothing is sent,
// and the page looks the same, so it does not reveal who has an account.
func (st *Stage) send(ctx context.Context, r *flow.Run) error {
	r.State()["sent"] = float64(r.Now().Unix())
	// The link points at the host the request came to only when that host
	// is a brand's domain: the Host header is the client's to choose. This
	// is checked before the user is, so a misconfiguration answers known and
	// unknown users alike.
	brands, err := r.Store().ListBrands(ctx)
	if err != nil {
		return err
	}
	if !core.HostOfBrand(brands, r.Request.Host) {
		return fmt.Errorf("email stage %q: host %q is not a brand's domain; set the brand's domain to the address users reach Gatehouse at, so email links can point there",
			r.Stage.Name, r.Request.Host)
	}
	// A missing or broken template fails for every user alike, before the
	// user is looked at.
	if err := r.Executor.MailTemplates.Check(st.s.Template); err != nil {
		return st.configError(ctx, r, err)
	}
	u, err := r.PendingUser(ctx)
	if err != nil {
		return err
	}
	if u == nil || u.Email == "" {
		r.Log.Info("email stage: no pending user with an address, nothing sent", "flow", r.Flow.Slug)
		return nil
	}
	if r.Executor.Mail == nil {
		return fmt.Errorf("email stage %q: no mail sender configured (email.*)", r.Stage.Name)
	}
	if n, err := st.recentLinks(ctx, r, u.PK); err != nil {
		return err
	} else if n >= st.s.RecoveryMaxAttempts {
		r.Log.Warn("email stage: too many links asked for, nothing sent", "flow", r.Flow.Slug, "user", u.PK, "links", n)
		return nil
	}
	link := flow.NewLink(web.Scheme(r.Request.Context())+"://"+r.Request.Host, r.Flow.Slug)
	expires := r.Now().Add(st.expiry)
	title := ""
	if b := core.MatchBrand(brands, r.Request.Host); b != nil {
		title = b.BrandingTitle
	}
	msg, err := st.Compose(r.Executor.MailTemplates, u, link.URL, st.expiry, expires, title)
	if err != nil {
		return st.configError(ctx, r, err)
	}
	tok, err := link.Token(r.Plan, u.PK, fmt.Sprintf("%s%s-%d-%s", linkPrefix, r.Stage.Name, u.PK, link.Key[:8]),
		"Email link of flow "+r.Flow.Slug, expires)
	if err != nil {
		return err
	}
	if err := r.Store().CreateToken(ctx, tok); err != nil {
		return err
	}
	if err := r.Executor.Mail.Send(ctx, msg); err != nil {
		_ = r.Store().DeleteToken(ctx, tok.UUID)
		return fmt.Errorf("email stage %q: %w", r.Stage.Name, err)
	}
	r.Executor.Events.Record(ctx, r.Request, "email_sent", u, map[string]any{
		"to": u.Email, "subject": st.s.Subject, "template": st.s.Template})
	return nil
}

// Compose renders the message the stage mails user: link, valid for valid
// (until expires), with the stage's subject and template (a template that
// cannot be used is a *mail.TemplateError). The recovery_email API sends
// its links with it too.
func (st *Stage) Compose(t *mail.Templates, u *store.User, link string, valid time.Duration, expires time.Time, brandTitle string) (mail.Message, error) {
	data := mail.Data{User: mail.User{Name: u.Name, Username: u.Username, Email: u.Email}, URL: link,
		Expires: int(valid / time.Minute), ExpiresAt: expires, BrandTitle: brandTitle}
	body, err := t.Render(st.s.Template, data)
	if err != nil {
		return mail.Message{}, err
	}
	msg := mail.Message{To: u.Email, Subject: st.s.Subject, Text: body.Text, HTML: body.HTML}
	if u.Name != "" {
		msg.To = (&netmail.Address{Name: u.Name, Address: u.Email}).String()
	}
	return msg, nil
}

// Settings are the stage's settings, defaults filled in.
func (st *Stage) Settings() Settings { return st.s }

// linkPrefix starts the identifier of every email-link token.
const linkPrefix = "ak-email-stage-"

// recentLinks counts the user's unused email links made within the window.
func (st *Stage) recentLinks(ctx context.Context, r *flow.Run, userPK int64) (int, error) {
	toks, err := r.Store().ListTokens(ctx, userPK)
	if err != nil {
		return 0, err
	}
	since, n := r.Now().Add(-st.window), 0
	for _, t := range toks {
		if t.Intent == store.IntentVerification && strings.HasPrefix(t.Identifier, linkPrefix) && t.Created.After(since) {
			n++
		}
	}
	return n, nil
}

// configError records a template that cannot be used as a
// configuration_error event and returns it: the executor logs it and shows
// the flow error page; the administrator finds the template's name and the
// cause in the event.
func (st *Stage) configError(ctx context.Context, r *flow.Run, err error) error {
	err = fmt.Errorf("email stage %q: %w", r.Stage.Name, err)
	if r.Executor.Events != nil {
		r.Executor.Events.Record(ctx, r.Request, "configuration_error", nil, map[string]any{
			"message": err.Error(), "stage": r.Stage.Name, "template": st.s.Template})
	}
	return err
}
