// Package authenticatorsms is authentik's SMS authenticator setup stage
// with its "generic" provider: a one-time code is POSTed as JSON to an
// HTTP webhook (the SMS gateway), the user types it back, and an SMS device
// is saved. authentik's other provider, twilio, is a vendor SDK and is
// refused.
//
// The exchange (ak-stage-authenticator-sms):
//
//	Enter ─ the user has an SMS device ─> done (one device per user, as authentik)
//	      ├ prompt_data.phone known ────> unconfirmed device, code sent ─> {phone_number_required: false}
//	      └ otherwise ──────────────────> unconfirmed device ───────────> {phone_number_required: true}
//	Submit {phone_number} ─> E.164 checked, unused for this stage, code sent (once a minute per device)
//	Submit {}             ─> the code sent again (same limit)
//	Submit {code}         ─> checked (5 tries, 10 minutes, once) ─> device confirmed; with
//	                         verify_only only a hash of the number is kept (it cannot get codes later)
//
// The webhook body is authentik's default {"From", "To", "Body", "Message"}
// or what the stage's mapping returns: a Starlark expression (package
// internal/expr) seeing user, device (.phone_number, .name), token and
// stage (.name, .from_number), that returns a dict.
package authenticatorsms

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/gatehouse-idp/gatehouse/internal/expr"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa/sidechannel"
	"github.com/gatehouse-idp/gatehouse/internal/policy/expression"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "authenticator_sms"
	ModelName = "authentik_stages_authenticator_sms.authenticatorsmsstage"
	Component = "ak-stage-authenticator-sms"
)

// DeviceName is the name a new device gets (authentik's).
const DeviceName = "SMS Device"

// CodeExpiry is how long an SMS code is valid (authentik's SideChannelDevice
// default of 10 minutes; the SMS stage has no setting for it).
const CodeExpiry = 10 * time.Minute

// Settings are authentik's AuthenticatorSMSStage fields. For the generic
// provider, account_sid is the webhook URL, auth the basic-auth user name
// or the bearer token, auth_password the basic-auth password (authentik's
// meaning of these fields).
type Settings struct {
	Provider     string `json:"provider"`
	FromNumber   string `json:"from_number"`
	AccountSID   string `json:"account_sid"`
	Auth         string `json:"auth"`
	AuthPassword string `json:"auth_password"`
	AuthType     string `json:"auth_type"`
	VerifyOnly   bool   `json:"verify_only"`
	// Mapping is the body expression: a property mapping's UUID
	// (authentik's foreign key to a webhook mapping) or the expression's
	// source itself.
	Mapping       *string `json:"mapping"`
	FriendlyName  *string `json:"friendly_name"`
	ConfigureFlow *string `json:"configure_flow"`
}

// Challenge is ak-stage-authenticator-sms.
type Challenge struct {
	flow.Base
	PhoneNumberRequired bool `json:"phone_number_required"`
	// PhoneNumber is where the code went, masked ("+*******4567").
	PhoneNumber string `json:"phone_number,omitempty"`
}

// Stage implements flow.Stage.
type Stage struct {
	s       Settings
	webhook *url.URL
	// mappingID or program: the stage's body mapping, if any.
	mappingID uuid.UUID
	program   *expr.Program
	// Timeout bounds one webhook call (10 s).
	Timeout time.Duration
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

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) { return Parse(attrs) }

// Parse is New with the concrete type (the validate stage sends codes with
// the settings of the stage that made the device).
func Parse(attrs store.Attributes) (*Stage, error) {
	s := Settings{Provider: "generic", AuthType: "basic"}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	switch s.Provider {
	case "generic":
	case "twilio":
		return nil, fmt.Errorf("authenticator_sms: provider twilio is not supported (it needs Twilio's SDK); use generic with a webhook to your SMS gateway")
	default:
		return nil, fmt.Errorf("authenticator_sms: provider must be generic")
	}
	if s.AuthType != "basic" && s.AuthType != "bearer" {
		return nil, fmt.Errorf("authenticator_sms: auth_type must be basic or bearer")
	}
	u, err := url.Parse(s.AccountSID)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("authenticator_sms: account_sid must be the webhook's http(s) URL for the generic provider")
	}
	if strings.TrimSpace(s.FromNumber) == "" || len(s.FromNumber) > 100 {
		return nil, fmt.Errorf("authenticator_sms: from_number is required (at most 100 characters)")
	}
	if s.ConfigureFlow != nil && *s.ConfigureFlow != "" {
		if _, err := uuid.Parse(*s.ConfigureFlow); err != nil {
			return nil, fmt.Errorf("authenticator_sms: configure_flow must be a flow's UUID")
		}
	}
	st := &Stage{s: s, webhook: u, Timeout: 10 * time.Second}
	if s.Mapping != nil && strings.TrimSpace(*s.Mapping) != "" {
		if id, err := uuid.Parse(strings.TrimSpace(*s.Mapping)); err == nil {
			st.mappingID = id
		} else if st.program, err = program(*s.Mapping); err != nil {
			return nil, fmt.Errorf("authenticator_sms: mapping: %w", err)
		}
	}
	return st, nil
}

// mappingVars are the names a mapping sees besides request and context
// (authentik's mapping.evaluate(user=, device=, token=, stage=)).
var mappingVars = []string{"user", "device", "token", "stage"}

// programs caches compiled mappings by source: stages are built per request.
var programs = struct {
	sync.Mutex
	m map[[32]byte]*expr.Program
}{m: map[[32]byte]*expr.Program{}}

func program(src string) (*expr.Program, error) {
	key := sha256.Sum256([]byte(src))
	programs.Lock()
	defer programs.Unlock()
	if p, ok := programs.m[key]; ok {
		return p, nil
	}
	p, err := expr.CompileOptions("sms mapping", src, expr.Options{Vars: mappingVars})
	if err != nil {
		return nil, err
	}
	if len(programs.m) >= 64 {
		clear(programs.m)
	}
	programs.m[key] = p
	return p, nil
}

// stateDevice is the plan state key holding the unconfirmed device's key.
const stateDevice = "device"

// user is the pending user, or else the signed-in one (a setup flow run
// from the user settings).
func user(ctx context.Context, r *flow.Run) (*store.User, error) { return stage.DeviceUser(ctx, r) }

// device loads the unconfirmed device this run made, or nil.
func device(ctx context.Context, r *flow.Run, u *store.User) (*store.AuthenticatorDevice, error) {
	return stage.PendingDevice(ctx, r, u, stateDevice, store.DeviceSMS)
}

// PhoneNumber is an SMS device's number ("hash:..." for verify_only).
func PhoneNumber(d *store.AuthenticatorDevice) string {
	s, _ := d.Data["phone_number"].(string)
	return s
}

// IsHashed reports whether d keeps only a hash of its number (verify_only):
// it cannot be sent codes, so it does not count for validation.
func IsHashed(d *store.AuthenticatorDevice) bool { return strings.HasPrefix(PhoneNumber(d), "hash:") }

// HashPhoneNumber is authentik's hash_phone_number: "hash:" + SHA-256 hex.
func HashPhoneNumber(n string) string {
	sum := sha256.Sum256([]byte(n))
	return "hash:" + hex.EncodeToString(sum[:])
}

// Mask keeps the last four digits of a number.
func Mask(n string) string {
	if len(n) <= 4 {
		return strings.Repeat("*", len(n))
	}
	return n[:1] + strings.Repeat("*", len(n)-5) + n[len(n)-4:]
}

// NormalizePhone reads a number typed by a person into E.164 form
// (ITU-T E.164: "+", a country code not starting with 0, at most 15 digits
// in all; at least 7 here). Spaces, dots, hyphens and parentheses are dropped; "00" in
// front is read as "+".
func NormalizePhone(s string) (string, error) {
	if len(s) > 64 {
		return "", errors.New("too long")
	}
	var b strings.Builder
	for i, c := range strings.TrimSpace(s) {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == '+' && i == 0:
			b.WriteRune(c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", errors.New("not a phone number")
		}
	}
	n := b.String()
	if strings.HasPrefix(n, "00") {
		n = "+" + n[2:]
	}
	// At least 7 digits: the shortest numbers in use (Niue's, +683 and 4).
	if len(n) < 8 || len(n) > 16 || n[0] != '+' || n[1] == '0' {
		return "", errors.New("not an E.164 number")
	}
	return n, nil
}

func (st *Stage) challenge(u *store.User, d *store.AuthenticatorDevice) *Challenge {
	c := &Challenge{Base: flow.Base{Component: Component, PendingUser: u.Username}, PhoneNumberRequired: true}
	if d != nil && PhoneNumber(d) != "" {
		c.PhoneNumberRequired, c.PhoneNumber = false, Mask(PhoneNumber(d))
	}
	return c
}

// taken reports whether n (or its hash) is a confirmed device of this stage
// already, for any user (authentik's unique stage + phone_number).
func taken(ctx context.Context, r *flow.Run, n string) (bool, error) {
	h := HashPhoneNumber(n)
	stageID := r.Stage.UUID.String()
	const page = 500
	for off := 0; ; off += page {
		ds, total, err := r.Store().ListDevices(ctx, store.DeviceFilter{Type: store.DeviceSMS, ConfirmedOnly: true,
			Ordering: "pk", Page: store.Page{Offset: off, Limit: page}})
		if err != nil {
			return false, err
		}
		for _, d := range ds {
			if p := PhoneNumber(d); (p == n || p == h) && d.Data["stage"] == stageID {
				return true, nil
			}
		}
		if off+page >= total || len(ds) == 0 {
			return false, nil
		}
	}
}

// Enter skips a user who has an SMS device, else makes the unconfirmed
// device and sends the first code when the number is known.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	u, err := user(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Done: true}, nil // authentik: no pending user, continue
	}
	d, err := device(ctx, r, u)
	if err != nil {
		return flow.Step{}, err
	}
	if d != nil {
		return flow.Step{Challenge: st.challenge(u, d)}, nil
	}
	if _, n, err := r.Store().ListDevices(ctx, store.DeviceFilter{UserPK: u.PK, Type: store.DeviceSMS, ConfirmedOnly: true,
		Page: store.Page{Limit: 1}}); err != nil {
		return flow.Step{}, err
	} else if n > 0 {
		return flow.Step{Done: true}, nil
	}
	phone := ""
	if p, ok := r.Plan.Context.PromptData["phone"].(string); ok {
		if n, err := NormalizePhone(p); err == nil {
			if t, err := taken(ctx, r, n); err != nil {
				return flow.Step{}, err
			} else if !t {
				phone = n
			}
		}
	}
	lastSent, err := st.dropStale(ctx, r, u)
	if err != nil {
		return flow.Step{}, err
	}
	d = &store.AuthenticatorDevice{UserPK: u.PK, Type: store.DeviceSMS, Name: DeviceName,
		Data: store.Attributes{"phone_number": phone, "stage": r.Stage.UUID.String()}}
	sidechannel.KeepThrottle(d.Data, lastSent)
	if err := r.Store().CreateDevice(ctx, d); err != nil {
		return flow.Step{}, err
	}
	r.State()[stateDevice] = float64(d.PK)
	c := st.challenge(u, d)
	if phone != "" {
		if err := st.Deliver(ctx, r, u, d); err != nil {
			return userError(c, "non_field_errors", err)
		}
	}
	return flow.Step{Challenge: c}, nil
}

// dropStale deletes the unconfirmed devices of abandoned runs (see
// stage.DropStale).
func (st *Stage) dropStale(ctx context.Context, r *flow.Run, u *store.User) (time.Time, error) {
	return stage.DropStale(ctx, r, u, store.DeviceSMS, sidechannel.LastSent)
}

func present(resp flow.Response, key string) bool { return stage.Present(resp, key) }

// Submit handles a number, a request to send again, or the code.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	u, err := user(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Done: true}, nil
	}
	d, err := device(ctx, r, u)
	if err != nil {
		return flow.Step{}, err
	}
	if d == nil {
		delete(r.State(), stateDevice)
		return st.Enter(ctx, r)
	}
	c := st.challenge(u, d)
	switch {
	case present(resp, "code"):
		if PhoneNumber(d) == "" {
			return flow.Invalid(c, "phone_number", "Enter your phone number first.", "required"), nil
		}
		code, err := sidechannel.ParseCode(resp["code"])
		if err == nil {
			err = sidechannel.Verify(ctx, r.Store(), r.Executor.Secrets, d, code, r.Now())
		}
		if err != nil {
			return userError(c, "code", err)
		}
		if t, err := taken(ctx, r, PhoneNumber(d)); err != nil {
			return flow.Step{}, err
		} else if t {
			return flow.Invalid(c, "phone_number", "Invalid phone number.", "unique"), nil
		}
		d.Confirmed = true
		if st.s.VerifyOnly {
			d.Data["phone_number"] = HashPhoneNumber(PhoneNumber(d))
		}
		if err := r.Store().UpdateDevice(ctx, d); err != nil {
			return flow.Step{}, err
		}
		delete(r.State(), stateDevice)
		stage.DeviceCreated(ctx, r, u, "authentik_stages_authenticator_sms", "smsdevice", d)
		r.Log.Info("sms device confirmed", "user", u.PK, "device", d.PK, "verify_only", st.s.VerifyOnly)
		return flow.Step{Done: true}, nil
	case present(resp, "phone_number"):
		var raw string
		if json.Unmarshal(resp["phone_number"], &raw) != nil {
			return flow.Invalid(c, "phone_number", "Enter a phone number in international form, such as +44 20 7946 0958.", "invalid"), nil
		}
		n, err := NormalizePhone(raw)
		if err != nil {
			return flow.Invalid(c, "phone_number", "Enter a phone number in international form, such as +44 20 7946 0958.", "invalid"), nil
		}
		if t, err := taken(ctx, r, n); err != nil {
			return flow.Step{}, err
		} else if t {
			// authentik's answer: it does not say whose number it is.
			return flow.Invalid(c, "phone_number", "Invalid phone number.", "unique"), nil
		}
		if n != PhoneNumber(d) {
			if err := sidechannel.Retarget(ctx, r.Store(), d, func(a store.Attributes) { a["phone_number"] = n }); err != nil {
				return userError(c, "phone_number", err)
			}
		}
		c = st.challenge(u, d)
		if err := st.Deliver(ctx, r, u, d); err != nil {
			return userError(c, "non_field_errors", err)
		}
		return flow.Step{Challenge: c}, nil
	default:
		if PhoneNumber(d) == "" {
			return flow.Invalid(c, "phone_number", "Enter your phone number.", "required"), nil
		}
		if err := st.Deliver(ctx, r, u, d); err != nil {
			return userError(c, "non_field_errors", err)
		}
		return flow.Step{Challenge: c}, nil
	}
}

func userError(c flow.Challenge, field string, err error) (flow.Step, error) {
	if msg, ok := sidechannel.UserMessage(err); ok {
		return flow.Invalid(c, field, msg, sidechannel.ErrorCode(err)), nil
	}
	var de *DeliveryError
	if errors.As(err, &de) {
		return flow.Invalid(c, "non_field_errors", de.Error(), "delivery_failed"), nil
	}
	return flow.Step{}, err
}

// DeliveryError is an SMS that could not be sent: Reason is for the user
// (no secret, no URL), Cause for the log.
type DeliveryError struct {
	Reason string
	Cause  error
}

func (e *DeliveryError) Error() string {
	return "The text message with your code could not be sent (" + e.Reason + "); try again later or ask your administrator."
}

func (e *DeliveryError) Unwrap() error { return e.Cause }

// Deliver makes a new code for device d of user u and sends it through the
// webhook. Within a minute of the last code it is a
// *sidechannel.ThrottledError; a failed call is a *DeliveryError (and the
// code is withdrawn, so that asking again works at once).
func (st *Stage) Deliver(ctx context.Context, r *flow.Run, u *store.User, d *store.AuthenticatorDevice) error {
	phone := PhoneNumber(d)
	if phone == "" || IsHashed(d) {
		return errors.New("sms device without a usable number")
	}
	code, err := sidechannel.Issue(ctx, r.Store(), r.Executor.Secrets, d, r.Now(), CodeExpiry, st.Rand)
	if err != nil {
		return err
	}
	if err := st.send(ctx, r, u, d, code); err != nil {
		if werr := sidechannel.Withdraw(ctx, r.Store(), d); werr != nil {
			r.Log.Error("withdrawing an unsent code", "device", d.PK, "error", werr)
		}
		// Only the webhook's host is logged: its path or query may hold a key.
		r.Log.Warn("sending an sms code failed", "stage", st.stageName(r), "webhook_host", st.webhook.Host, "device", d.PK, "error", err)
		if r.Executor.Events != nil {
			r.Executor.Events.Record(ctx, r.Request, "configuration_error", u, map[string]any{
				"message": "Sending an SMS code failed: " + err.Error(), "stage": st.stageName(r)})
		}
		return err
	}
	return nil
}

// client posts to webhooks: no redirects (a redirect could carry the
// credentials elsewhere), no cookies.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send POSTs the body to the webhook.
func (st *Stage) send(ctx context.Context, r *flow.Run, u *store.User, d *store.AuthenticatorDevice, code string) error {
	body, err := st.body(ctx, r, u, d, code)
	if err != nil {
		return &DeliveryError{Reason: "the stage's mapping failed", Cause: err}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return &DeliveryError{Reason: "the stage's mapping returned a value that is not JSON", Cause: err}
	}
	ctx, cancel := context.WithTimeout(ctx, st.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.webhook.String(), bytes.NewReader(b))
	if err != nil {
		return &DeliveryError{Reason: "the webhook URL is not usable", Cause: errors.New("building the request")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "gatehouse")
	if st.s.AuthType == "bearer" {
		req.Header.Set("Authorization", "Bearer "+st.s.Auth)
	} else if st.s.Auth != "" || st.s.AuthPassword != "" {
		req.SetBasicAuth(st.s.Auth, st.s.AuthPassword)
	}
	resp, err := client.Do(req)
	if err != nil {
		reason := "the SMS gateway could not be reached"
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			reason = "the SMS gateway did not answer in time"
		}
		// url.Error holds the URL: keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &DeliveryError{Reason: reason, Cause: err}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &DeliveryError{Reason: fmt.Sprintf("the SMS gateway answered %d", resp.StatusCode),
			Cause: fmt.Errorf("webhook status %d", resp.StatusCode)}
	}
	return nil
}

// Message is the text of authentik's default body's "Message".
func Message(code string) string { return "Use this code to authenticate in Gatehouse: " + code }

// body is the webhook's JSON body: the mapping's dict, or authentik's
// default.
func (st *Stage) body(ctx context.Context, r *flow.Run, u *store.User, d *store.AuthenticatorDevice, code string) (any, error) {
	p := st.program
	if st.mappingID != uuid.Nil {
		m, err := r.Store().PropertyMappingByUUID(ctx, st.mappingID)
		if err != nil {
			return nil, fmt.Errorf("mapping %s: %w", st.mappingID, err)
		}
		if p, err = program(m.Expression); err != nil {
			return nil, fmt.Errorf("mapping %q: %w", m.Name, err)
		}
	}
	if p == nil {
		return map[string]any{"From": st.s.FromNumber, "To": PhoneNumber(d), "Body": code, "Message": Message(code)}, nil
	}
	eu, err := expression.User(ctx, r.Store(), u)
	if err != nil {
		return nil, err
	}
	dev := starlarkstruct.FromStringDict(starlark.String("SMSDevice"), starlark.StringDict{
		"pk": starlark.MakeInt64(d.PK), "name": starlark.String(d.Name),
		"phone_number": starlark.String(PhoneNumber(d)), "confirmed": starlark.Bool(d.Confirmed)})
	stg := starlarkstruct.FromStringDict(starlark.String("AuthenticatorSMSStage"), starlark.StringDict{
		"name": starlark.String(st.stageName(r)), "from_number": starlark.String(st.s.FromNumber),
		"provider": starlark.String(st.s.Provider), "verify_only": starlark.Bool(st.s.VerifyOnly)})
	dev.Freeze()
	stg.Freeze()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := p.Run(ctx, expr.Env{Request: expr.Request{User: eu}, Logger: r.Log,
		Vars: map[string]any{"user": eu, "device": dev, "token": code, "stage": stg}})
	if err != nil {
		return nil, err
	}
	m, ok := res.Value.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the mapping returned %T, not a dict", res.Value)
	}
	return m, nil
}

// ForDevice is the setup stage that made d, whose webhook sends d's codes.
func ForDevice(ctx context.Context, st store.Store, d *store.AuthenticatorDevice) (*Stage, *store.Stage, error) {
	id, err := uuid.Parse(fmt.Sprint(d.Data["stage"]))
	if err != nil {
		return nil, nil, store.ErrNotFound
	}
	s, err := st.StageByUUID(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if s.Type != Type {
		return nil, nil, store.ErrNotFound
	}
	p, err := Parse(s.Settings)
	if err != nil {
		return nil, nil, err
	}
	p.name = s.Name
	return p, s, nil
}
