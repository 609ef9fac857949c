// Package authenticatorvalidate is authentik's authenticator_validate
// stage: the second factor of a login. It offers the user's confirmed
// devices, one challenge per device class, and passes when a class's
// Validate accepts the answer (a TOTP or recovery code, an email or SMS
// code, a WebAuthn assertion).
//
//	Enter ─ passwordless WebAuthn login already (auth_webauthn_pwl) ──> done
//	  │
//	  ├─ no device of an offered class ─> not_configured_action:
//	  │      skip ─> done; deny ─> access denied;
//	  │      configure ─ one stage ─> inserted after this one, done
//	  │                └ several ──> choice (configuration_stages) ─ selected_stage ─> inserted, done
//	  ├─ this browser validated a device within last_auth_threshold ─> done
//	  └─> device_challenges
//	        ├─ selected_challenge ─> the class is remembered (email/SMS send their code now)
//	        └─ code / webauthn ─> Class.Validate ─┬─ ok ─> auth_mfa, done
//	                                              └─ wrong ─> response_errors; the 5th ─> restart
//
// Device classes live in their own files (class_*.go) and register
// themselves; a class is offered when it is registered and listed in
// device_classes.
package authenticatorvalidate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogin"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "authenticator_validate"
	ModelName = "authentik_stages_authenticator_validate.authenticatorvalidatestage"
)

// not_configured_action values.
const (
	ActionSkip      = "skip"
	ActionDeny      = "deny"
	ActionConfigure = "configure"
)

// MaxFailedAttempts wrong answers restart the flow (brute-force
// protection, with the reputation lowered at each).
const MaxFailedAttempts = 5

// DeviceChallenge is one entry of device_challenges (authentik's).
type DeviceChallenge struct {
	DeviceClass string         `json:"device_class"`
	DeviceUID   string         `json:"device_uid"`
	Challenge   map[string]any `json:"challenge"`
	LastUsed    *time.Time     `json:"last_used"`
}

// ConfigurationStage is one entry of configuration_stages (authentik's
// SelectableStage).
type ConfigurationStage struct {
	PK            string `json:"pk"`
	Name          string `json:"name"`
	VerboseName   string `json:"verbose_name"`
	MetaModelName string `json:"meta_model_name"`
}

// Challenge is ak-stage-authenticator-validate.
type Challenge struct {
	flow.Base
	DeviceChallenges    []DeviceChallenge    `json:"device_challenges"`
	ConfigurationStages []ConfigurationStage `json:"configuration_stages"`
	// SelectedChallenge is the class the user picked (selected_challenge),
	// echoed so that a page without script knows which input to show; an
	// email or SMS class's challenge then says where the code went.
	SelectedChallenge *DeviceChallenge `json:"selected_challenge,omitempty"`
}

// Stage implements flow.Stage.
type Stage struct {
	s         Settings
	threshold time.Duration
	configure []uuid.UUID
}

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{DeviceClasses: slices.Clone(store.DeviceTypes), NotConfiguredAction: ActionSkip,
		LastAuthThreshold: "seconds=0", WebAuthnUserVerification: "preferred"}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	for _, c := range s.DeviceClasses {
		// duo is authentik's, which Gatehouse does not have: accepted so
		// that authentik blueprints import, never offered.
		if !slices.Contains(store.DeviceTypes, c) && c != "duo" {
			return nil, fmt.Errorf("authenticator_validate: device_classes: unknown class %q (one of %s)", c, strings.Join(store.DeviceTypes, ", "))
		}
	}
	st := &Stage{s: s}
	switch s.NotConfiguredAction {
	case ActionSkip, ActionDeny:
	case ActionConfigure:
		if len(s.ConfigurationStages) == 0 {
			return nil, fmt.Errorf("authenticator_validate: not_configured_action configure needs configuration_stages")
		}
	default:
		return nil, fmt.Errorf("authenticator_validate: not_configured_action must be skip, deny or configure")
	}
	for _, c := range s.ConfigurationStages {
		id, err := uuid.Parse(c)
		if err != nil {
			return nil, fmt.Errorf("authenticator_validate: configuration_stages: %q is not a stage UUID", c)
		}
		st.configure = append(st.configure, id)
	}
	switch s.WebAuthnUserVerification {
	case "required", "preferred", "discouraged":
	default:
		return nil, fmt.Errorf("authenticator_validate: webauthn_user_verification must be required, preferred or discouraged")
	}
	d, err := userlogin.ParseDuration(s.LastAuthThreshold)
	if err != nil {
		return nil, fmt.Errorf("authenticator_validate: last_auth_threshold: %w", err)
	}
	st.threshold = d
	return st, nil
}

// Stage state keys.
const (
	stateFailed   = "failed_attempts"
	stateSelected = "selected_class"
	// stateSelectedData is what an email or SMS class's Challenge said
	// when it sent the code (the masked address).
	stateSelectedData = "selected_challenge"
	stateConfigure    = "configuring"
)

// sendsOnSelect are the classes whose Challenge sends something (a code by
// email or SMS): it runs only when the user picks the class, never just
// because the page was shown.
var sendsOnSelect = map[string]bool{store.DeviceEmail: true, store.DeviceSMS: true}

// classOrder is the order classes are offered and tried in.
var classOrder = []string{store.DeviceWebAuthn, store.DeviceTOTP, store.DeviceEmail, store.DeviceSMS, store.DeviceStatic}

// offered groups the user's confirmed devices by the classes this stage
// offers (registered and in device_classes), in classOrder.
func (st *Stage) offered(ctx context.Context, r *flow.Run, userPK int64) (map[string][]*store.AuthenticatorDevice, []string, error) {
	devices, err := r.Store().UserDevices(ctx, userPK)
	if err != nil {
		return nil, nil, err
	}
	by := map[string][]*store.AuthenticatorDevice{}
	for _, d := range devices {
		if _, ok := classes[d.Type]; ok && slices.Contains(st.s.DeviceClasses, d.Type) {
			by[d.Type] = append(by[d.Type], d)
		}
	}
	var order []string
	for _, c := range classOrder {
		if len(by[c]) > 0 {
			order = append(order, c)
		}
	}
	return by, order, nil
}

// user is the user whose devices are checked: the pending user, else the
// signed-in one.
func user(ctx context.Context, r *flow.Run) (*store.User, error) { return stage.DeviceUser(ctx, r) }

// userPK is user's pk without loading the user (0: none), so that a login
// without devices costs one query here.
func userPK(r *flow.Run) int64 {
	if pk := r.Plan.Context.PendingUserPK; pk != nil {
		return *pk
	}
	if r.User != nil {
		return r.User.PK
	}
	return 0
}

// Enter decides whether the stage asks anything, and what.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	// A passkey login (identification's webauthn_stage) proved possession
	// of a device already: authentik's default flow skips this stage then
	// with a policy on the binding; here the stage knows it itself.
	if r.Plan.Context.PasskeyLogin() {
		return flow.Step{Done: true}, nil
	}
	pk := userPK(r)
	if pk == 0 {
		return flow.Step{Deny: "No user to validate."}, nil
	}
	by, order, err := st.offered(ctx, r, pk)
	if err != nil {
		return flow.Step{}, err
	}
	if len(order) == 0 {
		return st.notConfigured(ctx, r)
	}
	u, err := user(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "No user to validate."}, nil
	}
	if st.threshold > 0 && st.recentlyValidated(r, u, by) {
		return flow.Step{Done: true}, nil
	}
	c, err := st.challenge(ctx, r, u, by, order)
	if err != nil {
		return flow.Step{}, err
	}
	return flow.Step{Challenge: c}, nil
}

// notConfigured applies not_configured_action for a user without devices.
func (st *Stage) notConfigured(ctx context.Context, r *flow.Run) (flow.Step, error) {
	switch st.s.NotConfiguredAction {
	case ActionDeny:
		return flow.Step{Deny: "No (allowed) MFA authenticator configured."}, nil
	case ActionConfigure:
		if len(st.configure) == 1 {
			r.InsertNext(st.configure[0])
			return flow.Step{Done: true}, nil
		}
		stages, err := st.configurationStages(ctx, r)
		if err != nil {
			return flow.Step{}, err
		}
		r.State()[stateConfigure] = true
		return flow.Step{Challenge: st.base(ctx, r, &Challenge{DeviceChallenges: []DeviceChallenge{}, ConfigurationStages: stages})}, nil
	}
	return flow.Step{Done: true}, nil
}

// verboseNames are authentik's names of the setup stage models.
var verboseNames = map[string]string{
	"authenticator_totp":     "TOTP Authenticator Setup Stage",
	"authenticator_static":   "Static Authenticator Setup Stage",
	"authenticator_webauthn": "WebAuthn Authenticator Setup Stage",
	"authenticator_email":    "Email Authenticator Setup Stage",
	"authenticator_sms":      "SMS Authenticator Setup Stage",
}

// configurationStages describes configuration_stages; stages that no
// longer exist are left out.
func (st *Stage) configurationStages(ctx context.Context, r *flow.Run) ([]ConfigurationStage, error) {
	out := []ConfigurationStage{}
	for _, id := range st.configure {
		s, err := r.Store().StageByUUID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		verbose := verboseNames[s.Type]
		if verbose == "" {
			verbose = s.Type
		}
		// authentik's model name: authentik_stages_<type>.<type without
		// underscores>stage, which holds for every stage type.
		model := "authentik_stages_" + s.Type + "." + strings.ReplaceAll(s.Type, "_", "") + "stage"
		out = append(out, ConfigurationStage{PK: s.UUID.String(), Name: s.Name, VerboseName: verbose, MetaModelName: model})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("authenticator_validate %q: none of its configuration_stages exists", r.Stage.Name)
	}
	return out, nil
}

// base fills what every challenge of the stage has.
func (st *Stage) base(ctx context.Context, r *flow.Run, c *Challenge) *Challenge {
	c.Component = "ak-stage-authenticator-validate"
	if c.ConfigurationStages == nil {
		c.ConfigurationStages = []ConfigurationStage{}
	}
	if u, err := user(ctx, r); err == nil && u != nil {
		c.PendingUser = u.Username
	}
	return c
}

// challenge lists the device challenges: one per offered class, for the
// class's most recently used device.
func (st *Stage) challenge(ctx context.Context, r *flow.Run, u *store.User, by map[string][]*store.AuthenticatorDevice, order []string) (*Challenge, error) {
	c := &Challenge{DeviceChallenges: []DeviceChallenge{}}
	selected, _ := r.State()[stateSelected].(string)
	for _, class := range order {
		dc := DeviceChallenge{DeviceClass: class, DeviceUID: fmt.Sprint(by[class][0].PK), LastUsed: by[class][0].LastUsed,
			Challenge: map[string]any{}}
		if !sendsOnSelect[class] {
			ch, err := classes[class].Challenge(ctx, r, u, by[class], &st.s)
			if err != nil {
				return nil, fmt.Errorf("%s challenge: %w", class, err)
			}
			if ch != nil {
				dc.Challenge = ch
			}
		}
		c.DeviceChallenges = append(c.DeviceChallenges, dc)
		if class == selected {
			if data, ok := r.State()[stateSelectedData].(map[string]any); ok && sendsOnSelect[class] {
				dc.Challenge = data // where the code went
			}
			sel := dc
			c.SelectedChallenge = &sel
		}
	}
	return st.base(ctx, r, c), nil
}

// Submit takes a choice of configuration stage, a choice of device class,
// or an answer (code, webauthn).
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	if configuring, _ := r.State()[stateConfigure].(bool); configuring {
		return st.submitConfigure(ctx, r, resp)
	}
	if r.Plan.Context.PasskeyLogin() {
		return flow.Step{Done: true}, nil
	}
	u, err := user(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "No user to validate."}, nil
	}
	by, order, err := st.offered(ctx, r, u.PK)
	if err != nil {
		return flow.Step{}, err
	}
	if len(order) == 0 { // the devices went away meanwhile
		return st.notConfigured(ctx, r)
	}
	invalid := func(field, msg, code string) (flow.Step, error) {
		c, err := st.challenge(ctx, r, u, by, order)
		if err != nil {
			return flow.Step{}, err
		}
		return flow.Invalid(c, field, msg, code), nil
	}

	state := r.State()
	if raw, ok := resp["selected_challenge"]; ok && string(raw) != "null" {
		class, ok := selectedClass(raw)
		if !ok || !slices.Contains(order, class) {
			return invalid("selected_challenge", "This device cannot be used here.", "invalid")
		}
		state[stateSelected] = class
		delete(state, stateSelectedData)
		if sendsOnSelect[class] {
			data, err := classes[class].Challenge(ctx, r, u, by[class], &st.s)
			if data != nil {
				state[stateSelectedData] = data
			}
			if err != nil {
				var ue *UserError
				if errors.As(err, &ue) {
					return invalid(field(ue.Field, "selected_challenge"), ue.Message, orInvalid(ue.Code))
				}
				return flow.Step{}, fmt.Errorf("%s challenge: %w", class, err)
			}
		}
	}

	// Which classes the answer is for: a WebAuthn assertion is WebAuthn's;
	// a code is the selected class's, or else every code class's in turn
	// (an API client may send a TOTP or recovery code without picking).
	var candidates []string
	switch {
	case present(resp, "webauthn"):
		candidates = []string{store.DeviceWebAuthn}
	case present(resp, "code"):
		if sel, _ := state[stateSelected].(string); sel != "" && sel != store.DeviceWebAuthn && slices.Contains(order, sel) {
			candidates = []string{sel}
		} else {
			for _, c := range order {
				if c != store.DeviceWebAuthn {
					candidates = append(candidates, c)
				}
			}
		}
	default:
		// No answer: a class was picked (a form may post an empty code
		// with it), or nothing was sent. Neither counts as a failure.
		if _, picked := resp["selected_challenge"]; picked {
			c, err := st.challenge(ctx, r, u, by, order)
			if err != nil {
				return flow.Step{}, err
			}
			return flow.Step{Challenge: c}, nil
		}
		if _, ok := resp["code"]; ok {
			return invalid("code", "Please enter a code.", "required")
		}
		return invalid("non_field_errors", "Enter a code or use one of your devices.", "required")
	}
	if len(candidates) == 0 || !slices.Contains(order, candidates[0]) {
		return invalid(field("", "non_field_errors"), "None of your devices can answer this.", "invalid")
	}

	var failure *UserError
	for _, class := range candidates {
		d, err := classes[class].Validate(ctx, r, u, by[class], resp, &st.s)
		var ue *UserError
		if errors.As(err, &ue) {
			// When several classes tried the code, the one that could
			// read it has the telling answer ("Invalid code." beats "must
			// be 6 digits" for a recovery code).
			if failure == nil || formatError(failure) && !formatError(ue) {
				failure = ue
			}
			continue
		} else if err != nil {
			return flow.Step{}, fmt.Errorf("%s validation: %w", class, err)
		}
		return st.passed(ctx, r, u, class, d), nil
	}

	// A wrong answer: counted, and it lowers the reputation of the
	// username from this address as a wrong password does.
	r.Executor.Events.Record(ctx, r.Request, "login_failed", u, map[string]any{
		"username": u.Username, "stage": r.Stage.Name, "mfa_device_class": candidates[0]})
	identifier := r.Plan.Context.PendingUserIdentifier
	if identifier == "" {
		identifier = u.Username
	}
	r.AdjustReputation(ctx, identifier, -1)
	failed, _ := state[stateFailed].(float64)
	failed++
	state[stateFailed] = failed
	if int(failed) >= MaxFailedAttempts {
		return flow.Step{Restart: true}, nil
	}
	return invalid(field(failure.Field, "code"), failure.Message, orInvalid(failure.Code))
}

// submitConfigure takes the setup stage the user picked.
func (st *Stage) submitConfigure(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	pick := resp.String("selected_stage")
	for _, id := range st.configure {
		if pick != "" && id.String() == pick {
			delete(r.State(), stateConfigure)
			r.InsertNext(id)
			return flow.Step{Done: true}, nil
		}
	}
	stages, err := st.configurationStages(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	c := st.base(ctx, r, &Challenge{DeviceChallenges: []DeviceChallenge{}, ConfigurationStages: stages})
	return flow.Invalid(c, "selected_stage", "Select one of the listed stages.", "invalid"), nil
}

// AuthWebAuthnPasswordless is the plan's auth_method after a passkey
// login; AuthMFA after this stage passed.
const (
	AuthWebAuthnPasswordless = flow.AuthMethodPasskey
	AuthMFA                  = "auth_mfa"
)

// deviceModels name the device models in auth_method_args' mfa_devices,
// as authentik does.
var deviceModels = map[string][2]string{
	store.DeviceTOTP:     {"otp_totp", "totpdevice"},
	store.DeviceStatic:   {"otp_static", "staticdevice"},
	store.DeviceWebAuthn: {"authentik_stages_authenticator_webauthn", "webauthndevice"},
	store.DeviceEmail:    {"authentik_stages_authenticator_email", "emaildevice"},
	store.DeviceSMS:      {"authentik_stages_authenticator_sms", "smsdevice"},
}

// passed records the successful validation in the plan (auth_method
// auth_mfa, the device in auth_method_args' mfa_devices, for the login
// event and the OIDC amr claim) and, with a last_auth_threshold, in a
// cookie.
func (st *Stage) passed(ctx context.Context, r *flow.Run, u *store.User, class string, d *store.AuthenticatorDevice) flow.Step {
	pc := &r.Plan.Context
	if pc.AuthMethod != AuthWebAuthnPasswordless { // a class may have made it a passkey login
		pc.AuthMethod = AuthMFA
	}
	if pc.AuthMethodArgs == nil {
		pc.AuthMethodArgs = map[string]any{}
	}
	list, _ := pc.AuthMethodArgs["mfa_devices"].([]any)
	m := deviceModels[class]
	pc.AuthMethodArgs["mfa_devices"] = append(list, map[string]any{"pk": d.PK, "app": m[0], "model_name": m[1]})
	state := r.State()
	delete(state, stateFailed)
	delete(state, stateSelected)
	delete(state, stateSelectedData)
	if st.threshold > 0 {
		st.remember(r, u, d)
	}
	return flow.Step{Done: true}
}

// mfaCookie remembers, per browser, which device last passed this stage
// and when (authentik's authentik_mfa cookie): last_auth_threshold skips
// the stage for the same user in the same browser. It is sealed
// (flow.Executor.Secrets), so it cannot be forged or read.
const mfaCookie = "authentik_mfa"

type remembered struct {
	Kind   string `json:"k"` // "mfa-cookie": not another sealed value
	Stage  string `json:"s"`
	User   int64  `json:"u"`
	Device int64  `json:"d"`
	At     int64  `json:"t"`
}

func (st *Stage) remember(r *flow.Run, u *store.User, d *store.AuthenticatorDevice) {
	if r.Executor.Secrets == nil || r.Writer == nil {
		return
	}
	raw, _ := json.Marshal(remembered{Kind: "mfa-cookie", Stage: r.Stage.UUID.String(), User: u.PK, Device: d.PK, At: r.Now().Unix()})
	v, err := r.Executor.Secrets.Seal(raw)
	if err != nil {
		r.Log.Error("sealing the MFA cookie", "error", err)
		return
	}
	http.SetCookie(r.Writer, &http.Cookie{Name: mfaCookie, Value: v, Path: "/", HttpOnly: true, Secure: r.Request.TLS != nil,
		SameSite: http.SameSiteLaxMode, Expires: r.Now().Add(st.threshold)})
}

// recentlyValidated reads the cookie: this user passed this stage in this
// browser within last_auth_threshold, with a device still theirs and of an
// offered class.
func (st *Stage) recentlyValidated(r *flow.Run, u *store.User, by map[string][]*store.AuthenticatorDevice) bool {
	if r.Executor.Secrets == nil {
		return false
	}
	c, err := r.Request.Cookie(mfaCookie)
	if err != nil {
		return false
	}
	raw, err := r.Executor.Secrets.Open(c.Value)
	if err != nil {
		return false
	}
	var m remembered
	if json.Unmarshal(raw, &m) != nil || m.Kind != "mfa-cookie" || m.User != u.PK || m.Stage != r.Stage.UUID.String() {
		return false
	}
	at := time.Unix(m.At, 0)
	if now := r.Now(); at.After(now) || now.Sub(at) > st.threshold {
		return false
	}
	for _, ds := range by {
		for _, d := range ds {
			if d.PK == m.Device {
				return true
			}
		}
	}
	return false
}

// selectedClass reads selected_challenge: authentik's device challenge
// object ({"device_class": ...}) or, for form posts, the class name.
func selectedClass(raw json.RawMessage) (string, bool) {
	var dc struct {
		DeviceClass string `json:"device_class"`
	}
	if json.Unmarshal(raw, &dc) == nil && dc.DeviceClass != "" {
		return dc.DeviceClass, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		if json.Unmarshal([]byte(s), &dc) == nil && dc.DeviceClass != "" {
			return dc.DeviceClass, true // a JSON object sent as a string
		}
		return s, true
	}
	return "", false
}

// present tells whether a response field is there and not null or "".
func present(resp flow.Response, key string) bool {
	raw, ok := resp[key]
	if !ok {
		return false
	}
	v := strings.TrimSpace(string(raw))
	return v != "null" && v != `""` && v != "{}"
}

// formatError tells a code that no device of the class could have made
// (wrong length or characters, or none) from a wrong one.
func formatError(e *UserError) bool { return e.Code == "format" || e.Code == "required" }

func field(f, fallback string) string {
	if f == "" {
		return fallback
	}
	return f
}

func orInvalid(code string) string {
	if code == "" {
		return "invalid"
	}
	return code
}
