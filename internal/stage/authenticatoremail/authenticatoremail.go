// Package authenticatoremail is authentik's email authenticator setup
// stage: it confirms an address of the user (theirs, the prompt's "email",
// or one they type) with a one-time code sent to it, then saves an email
// device, which the authenticator_validate stage later sends codes to.
//
// The exchange (ak-stage-authenticator-email):
//
//	Enter ─ address known ─> unconfirmed device, code sent ─> {email: "a***@x", email_required: false}
//	      └ no address ─────> unconfirmed device ───────────> {email: null, email_required: true}
//	Submit {email}    ─> address checked, code sent to it (at most once a minute per device)
//	Submit {}         ─> the code sent again (same limit)
//	Submit {code}     ─> checked (5 tries, expiry token_expiry, once) ─> device confirmed, stage done
//
// The pending code lives hashed in the unconfirmed device (package
// internal/mfa/sidechannel); the plan only remembers the device's key.
package authenticatoremail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/mfa/sidechannel"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogin"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "authenticator_email"
	ModelName = "authentik_stages_authenticator_email.authenticatoremailstage"
	Component = "ak-stage-authenticator-email"
)

// Template is the default message template (authentik's built-in
// email/email_otp.html); a stage's template may name any file under
// email.template_dir instead.
const Template = mail.TemplateEmailOTP

// DeviceName is the name a new device gets (authentik's).
const DeviceName = "Email Device"

// Settings are authentik's AuthenticatorEmailStage fields. Without
// use_global_settings the stage's own SMTP fields are used.
type Settings struct {
	UseGlobalSettings bool   `json:"use_global_settings"`
	Host              string `json:"host"`
	Port              int    `json:"port"`
	Username          string `json:"username"`
	Password          string `json:"password"`
	UseTLS            bool   `json:"use_tls"`
	UseSSL            bool   `json:"use_ssl"`
	Timeout           int    `json:"timeout"`
	FromAddress       string `json:"from_address"`
	// TokenExpiry is how long a code is valid: authentik's timedelta
	// string ("minutes=30"); a bare number is minutes (authentik before
	// 2025.2).
	TokenExpiry   Expiry  `json:"token_expiry"`
	Subject       string  `json:"subject"`
	Template      string  `json:"template"`
	FriendlyName  *string `json:"friendly_name"`
	ConfigureFlow *string `json:"configure_flow"`
}

// Expiry is a timedelta string or a number of minutes.
type Expiry string

// UnmarshalJSON accepts "minutes=30" or 30.
func (e *Expiry) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*e = Expiry(s)
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("token_expiry must be a string such as minutes=30")
	}
	*e = Expiry(fmt.Sprintf("minutes=%d", n))
	return nil
}

// Challenge is ak-stage-authenticator-email.
type Challenge struct {
	flow.Base
	// Email is the address the code went to, masked; nil when none is known.
	Email *string `json:"email"`
	// EmailRequired asks the user for an address.
	EmailRequired bool `json:"email_required"`
}

// Stage implements flow.Stage.
type Stage struct {
	s      Settings
	expiry time.Duration
	// Rand is the randomness of codes (nil: crypto/rand).
	Rand io.Reader
	// name is the stage's name when it runs outside its own flow (the
	// validate stage sending a code); else the run's stage's.
	name string
}

var _ flow.Stage = (*Stage)(nil)

func (st *Stage) stageName(r *flow.Run) string {
	if st.name != "" {
		return st.name
	}
	return r.Stage.Name
}

// maxExpiry bounds token_expiry: a code is for now, not for next week.
const maxExpiry = 24 * time.Hour

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) { return Parse(attrs) }

// Parse is New with the concrete type (the validate stage sends codes with
// the settings of the stage that made the device).
func Parse(attrs store.Attributes) (*Stage, error) {
	s := Settings{Host: "localhost", Port: 25, Timeout: 10, FromAddress: "system@authentik.local",
		TokenExpiry: "minutes=30", Subject: "Gatehouse", Template: Template}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	d, err := userlogin.ParseDuration(string(s.TokenExpiry))
	if err != nil || d < time.Minute || d > maxExpiry {
		return nil, fmt.Errorf("authenticator_email: token_expiry must be a duration such as minutes=30, from a minute to a day")
	}
	if err := mail.ValidTemplateName(s.Template); err != nil {
		return nil, fmt.Errorf("authenticator_email: template: %w", err)
	}
	if strings.ContainsAny(s.Subject, "\r\n") || len(s.Subject) > 250 {
		return nil, fmt.Errorf("authenticator_email: subject must be one line of at most 250 characters")
	}
	if s.ConfigureFlow != nil && *s.ConfigureFlow != "" {
		if _, err := uuid.Parse(*s.ConfigureFlow); err != nil {
			return nil, fmt.Errorf("authenticator_email: configure_flow must be a flow's UUID")
		}
	}
	if !s.UseGlobalSettings {
		switch {
		case s.Host == "" || strings.ContainsAny(s.Host, " /\r\n"):
			return nil, fmt.Errorf("authenticator_email: host must be a host name or address")
		case s.Port < 1 || s.Port > 65535:
			return nil, fmt.Errorf("authenticator_email: port must be from 1 to 65535")
		case s.UseTLS && s.UseSSL:
			return nil, fmt.Errorf("authenticator_email: use_tls and use_ssl cannot both be set")
		case s.Timeout < 1 || s.Timeout > 600:
			return nil, fmt.Errorf("authenticator_email: timeout must be from 1 to 600 seconds")
		}
		if _, err := netmail.ParseAddress(s.FromAddress); err != nil {
			return nil, fmt.Errorf("authenticator_email: from_address must be an email address")
		}
	}
	return &Stage{s: s, expiry: d}, nil
}

// Expiry is how long a code is valid.
func (st *Stage) Expiry() time.Duration { return st.expiry }

// stateDevice is the plan state key holding the unconfirmed device's key.
const stateDevice = "device"

// user is the pending user, or else the signed-in one (a setup flow run
// from the user settings).
func user(ctx context.Context, r *flow.Run) (*store.User, error) { return stage.DeviceUser(ctx, r) }

// device loads the unconfirmed device this run made, or nil.
func device(ctx context.Context, r *flow.Run, u *store.User) (*store.AuthenticatorDevice, error) {
	return stage.PendingDevice(ctx, r, u, stateDevice, store.DeviceEmail)
}

// Address is an email device's address.
func Address(d *store.AuthenticatorDevice) string {
	s, _ := d.Data["email"].(string)
	return s
}

// Mask shows enough of an address to recognise it: "a****@example.com".
func Mask(addr string) string {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || local == "" {
		return "****"
	}
	return local[:1] + strings.Repeat("*", max(len(local)-1, 3)) + "@" + domain
}

func (st *Stage) challenge(u *store.User, d *store.AuthenticatorDevice) *Challenge {
	c := &Challenge{Base: flow.Base{Component: Component, PendingUser: u.Username}, EmailRequired: true}
	if addr := Address(d); addr != "" {
		m := Mask(addr)
		c.Email, c.EmailRequired = &m, false
	}
	return c
}

// taken reports whether addr is already a confirmed email device of u.
func taken(ctx context.Context, r *flow.Run, u *store.User, addr string) (bool, error) {
	ds, _, err := r.Store().ListDevices(ctx, store.DeviceFilter{UserPK: u.PK, Type: store.DeviceEmail, ConfirmedOnly: true,
		Page: store.Page{Limit: 1000}})
	if err != nil {
		return false, err
	}
	for _, d := range ds {
		if strings.EqualFold(Address(d), addr) {
			return true, nil
		}
	}
	return false, nil
}

// Enter makes the unconfirmed device and, when the address is known, sends
// the first code.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	u, err := user(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "There is no user to set up an email device for."}, nil
	}
	d, err := device(ctx, r, u)
	if err != nil {
		return flow.Step{}, err
	}
	if d != nil {
		return flow.Step{Challenge: st.challenge(u, d)}, nil
	}
	addr := u.Email
	if addr == "" {
		addr, _ = r.Plan.Context.PromptData["email"].(string)
	}
	if _, err := parseAddress(addr); err != nil {
		addr = ""
	}
	if addr != "" {
		if t, err := taken(ctx, r, u, addr); err != nil {
			return flow.Step{}, err
		} else if t {
			addr = "" // ask for another one
		}
	}
	lastSent, err := st.dropStale(ctx, r, u)
	if err != nil {
		return flow.Step{}, err
	}
	d = &store.AuthenticatorDevice{UserPK: u.PK, Type: store.DeviceEmail, Name: DeviceName,
		Data: store.Attributes{"email": addr, "stage": r.Stage.UUID.String()}}
	sidechannel.KeepThrottle(d.Data, lastSent)
	if err := r.Store().CreateDevice(ctx, d); err != nil {
		return flow.Step{}, err
	}
	r.State()[stateDevice] = float64(d.PK)
	c := st.challenge(u, d)
	if addr != "" {
		if err := st.Deliver(ctx, r, u, d); err != nil {
			return st.userError(r, c, "non_field_errors", err)
		}
	}
	return flow.Step{Challenge: c}, nil
}

// dropStale deletes the unconfirmed devices of abandoned runs (see
// stage.DropStale).
func (st *Stage) dropStale(ctx context.Context, r *flow.Run, u *store.User) (time.Time, error) {
	return stage.DropStale(ctx, r, u, store.DeviceEmail, sidechannel.LastSent)
}

func present(resp flow.Response, key string) bool { return stage.Present(resp, key) }

// Submit handles an address, a request to send again, or the code.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	u, err := user(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "There is no user to set up an email device for."}, nil
	}
	d, err := device(ctx, r, u)
	if err != nil {
		return flow.Step{}, err
	}
	if d == nil { // the device went away (another tab, an admin): start again
		delete(r.State(), stateDevice)
		return st.Enter(ctx, r)
	}
	c := st.challenge(u, d)
	switch {
	case present(resp, "code"):
		if Address(d) == "" {
			return flow.Invalid(c, "email", "Enter your email address first.", "required"), nil
		}
		code, err := sidechannel.ParseCode(resp["code"])
		if err == nil {
			err = sidechannel.Verify(ctx, r.Store(), r.Executor.Secrets, d, code, r.Now())
		}
		if err != nil {
			return st.userError(r, c, "code", err)
		}
		if t, err := taken(ctx, r, u, Address(d)); err != nil {
			return flow.Step{}, err
		} else if t { // confirmed in another run meanwhile
			return flow.Invalid(c, "email", "This address is already one of your email devices.", "unique"), nil
		}
		d.Confirmed = true
		if err := r.Store().UpdateDevice(ctx, d); err != nil {
			return flow.Step{}, err
		}
		delete(r.State(), stateDevice)
		stage.DeviceCreated(ctx, r, u, "authentik_stages_authenticator_email", "emaildevice", d)
		r.Log.Info("email device confirmed", "user", u.PK, "device", d.PK)
		return flow.Step{Done: true}, nil
	case present(resp, "email"):
		var raw string
		if json.Unmarshal(resp["email"], &raw) != nil {
			return flow.Invalid(c, "email", "Enter a valid email address.", "invalid"), nil
		}
		addr, err := parseAddress(raw)
		if err != nil {
			return flow.Invalid(c, "email", "Enter a valid email address.", "invalid"), nil
		}
		if t, err := taken(ctx, r, u, addr); err != nil {
			return flow.Step{}, err
		} else if t {
			return flow.Invalid(c, "email", "This address is already one of your email devices.", "unique"), nil
		}
		if !strings.EqualFold(addr, Address(d)) {
			if err := sidechannel.Retarget(ctx, r.Store(), d, func(a store.Attributes) { a["email"] = addr }); err != nil {
				return st.userError(r, c, "email", err)
			}
		}
		c = st.challenge(u, d)
		if err := st.Deliver(ctx, r, u, d); err != nil {
			return st.userError(r, c, "non_field_errors", err)
		}
		return flow.Step{Challenge: c}, nil
	default: // send again
		if Address(d) == "" {
			return flow.Invalid(c, "email", "Enter your email address.", "required"), nil
		}
		if err := st.Deliver(ctx, r, u, d); err != nil {
			return st.userError(r, c, "non_field_errors", err)
		}
		return flow.Step{Challenge: c}, nil
	}
}

// userError shows a sidechannel or delivery error on field; anything else
// is an internal failure.
func (st *Stage) userError(r *flow.Run, c *Challenge, field string, err error) (flow.Step, error) {
	if msg, ok := sidechannel.UserMessage(err); ok {
		return flow.Invalid(c, field, msg, sidechannel.ErrorCode(err)), nil
	}
	var de *DeliveryError
	if errors.As(err, &de) {
		return flow.Invalid(c, "non_field_errors", de.Error(), "delivery_failed"), nil
	}
	return flow.Step{}, err
}

// maxAddress is RFC 5321's limit on a path (4.5.3.1.3).
const maxAddress = 254

// parseAddress accepts a bare address (no display name, one line).
func parseAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxAddress || strings.ContainsAny(s, "\r\n<>") {
		return "", errors.New("not an address")
	}
	a, err := netmail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", errors.New("not an address")
	}
	return s, nil
}

// DeliveryError is a message that could not be sent; its text is for the
// user, the cause for the log.
type DeliveryError struct{ Cause error }

func (e *DeliveryError) Error() string {
	return "The email with your code could not be sent; try again later or ask your administrator."
}

func (e *DeliveryError) Unwrap() error { return e.Cause }

// Deliver makes a new code for device d of user u and mails it to the
// device's address. Within a minute of the last code it is a
// *sidechannel.ThrottledError; a failure to send is a *DeliveryError (and
// the code is withdrawn, so that asking again works at once).
func (st *Stage) Deliver(ctx context.Context, r *flow.Run, u *store.User, d *store.AuthenticatorDevice) error {
	addr := Address(d)
	if addr == "" {
		return errors.New("email device without an address")
	}
	m, err := st.mailer(r)
	if err != nil {
		st.configError(ctx, r, u, err)
		return &DeliveryError{Cause: err}
	}
	// A missing or broken template is found before a code is made.
	if err := r.Executor.MailTemplates.Check(st.s.Template); err != nil {
		r.Log.Error("email template cannot be used", "stage", st.stageName(r), "template", st.s.Template, "error", err)
		st.configError(ctx, r, u, err)
		return &DeliveryError{Cause: err}
	}
	code, err := sidechannel.Issue(ctx, r.Store(), r.Executor.Secrets, d, r.Now(), st.expiry, st.Rand)
	if err != nil {
		return err
	}
	body, err := r.Executor.MailTemplates.Render(st.s.Template, st.data(ctx, r, u, code))
	if err != nil {
		if werr := sidechannel.Withdraw(ctx, r.Store(), d); werr != nil {
			r.Log.Error("withdrawing an unsent code", "device", d.PK, "error", werr)
		}
		r.Log.Error("email template cannot be used", "stage", st.stageName(r), "template", st.s.Template, "error", err)
		st.configError(ctx, r, u, err)
		return &DeliveryError{Cause: err}
	}
	msg := mail.Message{To: addr, Subject: st.s.Subject, Text: body.Text, HTML: body.HTML}
	if u.Name != "" {
		msg.To = (&netmail.Address{Name: u.Name, Address: addr}).String()
	}
	if err := m.Send(ctx, msg); err != nil {
		if werr := sidechannel.Withdraw(ctx, r.Store(), d); werr != nil {
			r.Log.Error("withdrawing an unsent code", "device", d.PK, "error", werr)
		}
		// The error names the SMTP server and step, never the password.
		r.Log.Warn("sending an email code failed", "stage", st.stageName(r), "device", d.PK, "error", err)
		st.configError(ctx, r, u, err)
		return &DeliveryError{Cause: err}
	}
	if r.Executor.Events != nil {
		r.Executor.Events.Record(ctx, r.Request, "email_sent", u, map[string]any{
			"to": addr, "subject": st.s.Subject, "template": st.s.Template})
	}
	return nil
}

func (st *Stage) configError(ctx context.Context, r *flow.Run, u *store.User, err error) {
	if r.Executor.Events != nil {
		r.Executor.Events.Record(ctx, r.Request, "configuration_error", u, map[string]any{
			"message": "Sending an email code failed: " + err.Error(), "stage": st.stageName(r)})
	}
}

// mailer is the global sender or one for the stage's own SMTP settings:
// through the executor's outbox when it has one (the message is queued and
// the worker delivers it), else directly.
func (st *Stage) mailer(r *flow.Run) (flow.Mailer, error) {
	if st.s.UseGlobalSettings {
		if r.Executor.Mail == nil {
			return nil, errors.New("no global mail settings (email.*) are configured")
		}
		return r.Executor.Mail, nil
	}
	cfg := config.Email{Host: st.s.Host, Port: st.s.Port, Username: st.s.Username,
		Password: config.Secret(st.s.Password), UseTLS: st.s.UseTLS, UseSSL: st.s.UseSSL, Timeout: st.s.Timeout,
		From: st.s.FromAddress}
	if o, ok := r.Executor.Mail.(*mail.Outbox); ok {
		return o.Via(cfg), nil
	}
	return &mail.Sender{Config: cfg}, nil
}

// data is what the template sees: the user, the code, its expiry, the
// brand of the request's host.
func (st *Stage) data(ctx context.Context, r *flow.Run, u *store.User, code string) mail.Data {
	d := mail.Data{User: mail.User{Name: u.Name, Username: u.Username, Email: u.Email}, Code: code,
		Expires: int(st.expiry / time.Minute), ExpiresAt: r.Now().Add(st.expiry)}
	if brands, err := r.Store().ListBrands(ctx); err == nil {
		if b := core.MatchBrand(brands, r.Request.Host); b != nil {
			d.BrandTitle = b.BrandingTitle
		}
	} else {
		r.Log.Warn("listing brands for an email code", "error", err)
	}
	return d
}

// ForDevice is the setup stage that made d (its settings send d's codes);
// when that stage is gone, a stage with the global mail settings.
func ForDevice(ctx context.Context, st store.Store, d *store.AuthenticatorDevice) (*Stage, error) {
	if id, err := uuid.Parse(fmt.Sprint(d.Data["stage"])); err == nil {
		s, err := st.StageByUUID(ctx, id)
		if err == nil && s.Type == Type {
			p, err := Parse(s.Settings)
			if err != nil {
				return nil, err
			}
			p.name = s.Name
			return p, nil
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	p, err := Parse(store.Attributes{"use_global_settings": true})
	if err != nil {
		return nil, err
	}
	p.name = "(global email settings)"
	return p, nil
}
