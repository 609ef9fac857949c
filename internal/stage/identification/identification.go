// Package identification is authentik's identification stage: it asks for a
// username or email (and, optionally, the password inline) and sets the
// plan's pending user.
//
// With webauthn_stage set (an authenticator_validate stage whose webauthn
// settings apply), the challenge also carries passkey_challenge: options for
// a discoverable-credential assertion (W3C WebAuthn L3 §7.2 with an empty
// allowCredentials), which the browser answers with a passkey, offered by a
// button or in the username field's autofill (conditional mediation). A
// response with "passkey" instead of uid_field identifies the user by the
// credential and its user handle and authenticates them: the plan gets the
// pending user and auth_method auth_webauthn_pwl (flow.AuthMethodPasskey),
// and the password and authenticator_validate stages later in the flow pass
// without asking (flow.Context.PasskeyLogin). A user with only a passkey and
// no password logs in this way.
package identification

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa/webauthn"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorvalidate"
	"github.com/gatehouse-idp/gatehouse/internal/stage/captcha"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "identification"
	ModelName = "authentik_stages_identification.identificationstage"
)

// Settings are authentik's identification stage fields.
type Settings struct {
	UserFields              []string   `json:"user_fields"`
	CaseInsensitiveMatching *bool      `json:"case_insensitive_matching"`
	PretendUserExists       *bool      `json:"pretend_user_exists"`
	ShowMatchedUser         *bool      `json:"show_matched_user"`
	PasswordStage           *uuid.UUID `json:"password_stage"`
	EnrollmentFlow          string     `json:"enrollment_flow"`
	RecoveryFlow            string     `json:"recovery_flow"`
	PasswordlessFlow        string     `json:"passwordless_flow"`
	// WebAuthnStage is an authenticator_validate stage (UUID) whose
	// webauthn settings (user verification, allowed device types, hints)
	// apply to passkey logins; set, it enables them.
	WebAuthnStage *uuid.UUID `json:"webauthn_stage"`
	// CaptchaStage is a captcha stage (UUID) whose captcha the form shows;
	// its token (captcha_token) is verified before the user is looked up.
	CaptchaStage *uuid.UUID `json:"captcha_stage"`
}

// Challenge is ak-stage-identification.
type Challenge struct {
	flow.Base
	UserFields        []string `json:"user_fields"`
	PasswordFields    bool     `json:"password_fields"`
	AllowShowPassword bool     `json:"allow_show_password"`
	FlowDesignation   string   `json:"flow_designation"`
	PrimaryAction     string   `json:"primary_action"`
	EnrollURL         string   `json:"enroll_url,omitempty"`
	RecoveryURL       string   `json:"recovery_url,omitempty"`
	PasswordlessURL   string   `json:"passwordless_url,omitempty"`
	Sources           []any    `json:"sources"`
	ShowSourceLabels  bool     `json:"show_source_labels"`
	// PasskeyChallenge is PublicKeyCredentialRequestOptions JSON for a
	// passkey login (null when webauthn_stage is not set).
	PasskeyChallenge map[string]any `json:"passkey_challenge"`
	// CaptchaStage is the captcha to solve with the form (null without
	// captcha_stage).
	CaptchaStage *captcha.Embedded `json:"captcha_stage"`
}

// Stage implements flow.Stage.
type Stage struct{ s Settings }

var _ flow.Stage = (*Stage)(nil)

// New builds the stage from its settings.
func New(attrs store.Attributes) (flow.Stage, error) {
	var s Settings
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	if len(s.UserFields) == 0 {
		s.UserFields = []string{"email", "username"}
	}
	for _, f := range s.UserFields {
		if f != "email" && f != "username" && f != "upn" {
			return nil, errors.New("identification: user_fields must be email, username or upn")
		}
	}
	return &Stage{s: s}, nil
}

func on(b *bool) bool { return b == nil || *b }

func (st *Stage) challenge(ctx context.Context, r *flow.Run) (*Challenge, error) {
	c := &Challenge{Base: flow.Base{Component: "ak-stage-identification"}, UserFields: st.s.UserFields,
		PasswordFields: st.s.PasswordStage != nil, FlowDesignation: r.Flow.Designation, PrimaryAction: "Log in",
		Sources: []any{}}
	if st.s.EnrollmentFlow != "" {
		c.EnrollURL = "/if/flow/" + st.s.EnrollmentFlow + "/"
	}
	if st.s.RecoveryFlow != "" {
		c.RecoveryURL = "/if/flow/" + st.s.RecoveryFlow + "/"
	}
	if st.s.PasswordlessFlow != "" {
		c.PasswordlessURL = "/if/flow/" + st.s.PasswordlessFlow + "/"
	}
	pc, err := st.passkeyChallenge(ctx, r)
	if err != nil {
		return nil, err
	}
	c.PasskeyChallenge = pc
	if cs, err := st.captcha(ctx, r); err != nil {
		return nil, err
	} else if cs != nil {
		c.CaptchaStage = cs.Embed(st.s.CaptchaStage.String())
	}
	return c, nil
}

// captcha loads the captcha_stage, or nil when there is none.
func (st *Stage) captcha(ctx context.Context, r *flow.Run) (*captcha.Stage, error) {
	if st.s.CaptchaStage == nil {
		return nil, nil
	}
	cs, err := r.Store().StageByUUID(ctx, *st.s.CaptchaStage)
	if errors.Is(err, store.ErrNotFound) {
		// A captcha that was deleted must not open the door: refuse.
		return nil, fmt.Errorf("identification %q: captcha_stage %s does not exist", r.Stage.Name, st.s.CaptchaStage)
	} else if err != nil {
		return nil, err
	}
	if cs.Type != captcha.Type && cs.Type != captcha.ModelName {
		return nil, fmt.Errorf("identification %q: captcha_stage %q is a %s stage, not captcha", r.Stage.Name, cs.Name, cs.Type)
	}
	s, err := captcha.New(cs.Settings)
	if err != nil {
		return nil, err
	}
	return s.(*captcha.Stage), nil
}

// invalid is the challenge with an error on field.
func (st *Stage) invalid(ctx context.Context, r *flow.Run, field, msg, code string) (flow.Step, error) {
	c, err := st.challenge(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	return flow.Invalid(c, field, msg, code), nil
}

// Enter shows the challenge.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	c, err := st.challenge(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	return flow.Step{Challenge: c}, nil
}

// statePasskey holds the session data of the passkey assertion offered.
const statePasskey = "passkey_session"

// passkeySettings loads the webauthn_stage's settings; ok is false when
// passkeys are off (no webauthn_stage, or it no longer exists).
func (st *Stage) passkeySettings(ctx context.Context, r *flow.Run) (webauthn.Login, bool, error) {
	if st.s.WebAuthnStage == nil {
		return webauthn.Login{}, false, nil
	}
	vs, err := r.Store().StageByUUID(ctx, *st.s.WebAuthnStage)
	if errors.Is(err, store.ErrNotFound) {
		r.Log.Warn("identification: webauthn_stage does not exist; passkeys are off", "stage", r.Stage.Name)
		return webauthn.Login{}, false, nil
	} else if err != nil {
		return webauthn.Login{}, false, err
	}
	if vs.Type != authenticatorvalidate.Type && vs.Type != authenticatorvalidate.ModelName {
		return webauthn.Login{}, false, fmt.Errorf("identification %q: webauthn_stage %q is a %s stage, not authenticator_validate",
			r.Stage.Name, vs.Name, vs.Type)
	}
	s := authenticatorvalidate.Settings{WebAuthnUserVerification: webauthn.Preferred}
	if err := stage.Decode(vs.Settings, &s); err != nil {
		return webauthn.Login{}, false, err
	}
	return webauthn.Login{UserVerification: s.WebAuthnUserVerification, Hints: s.WebAuthnHints,
		AllowedAAGUIDs: s.WebAuthnAllowedDeviceTypes}, true, nil
}

// passkeyChallenge starts a discoverable-credential assertion when
// passkeys are on (nil otherwise, or when the page is at an IP address).
func (st *Stage) passkeyChallenge(ctx context.Context, r *flow.Run) (map[string]any, error) {
	login, on, err := st.passkeySettings(ctx, r)
	if err != nil || !on {
		return nil, err
	}
	opts, pending := webauthn.PendingOptions(r, statePasskey)
	if !pending {
		rp, err := webauthn.ForRun(ctx, r)
		if errors.Is(err, webauthn.ErrNoDomain) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		var session []byte
		if opts, session, err = rp.BeginDiscoverableLogin(login); err != nil {
			return nil, err
		}
		webauthn.SaveCeremony(r, statePasskey, opts, session)
	}
	var m map[string]any
	if err := json.Unmarshal(opts, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// submitPasskey logs the user in with a passkey.
func (st *Stage) submitPasskey(ctx context.Context, r *flow.Run, raw json.RawMessage) (flow.Step, error) {
	login, on, err := st.passkeySettings(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if !on {
		return st.invalid(ctx, r, "passkey", "Passkeys cannot be used here.", "invalid")
	}
	rp, err := webauthn.ForRun(ctx, r)
	if errors.Is(err, webauthn.ErrNoDomain) {
		return st.invalid(ctx, r, "passkey", webauthn.ErrNoDomain.Message, "invalid")
	} else if err != nil {
		return flow.Step{}, err
	}
	session := webauthn.LoadSession(r, statePasskey)
	webauthn.DropSession(r, statePasskey) // answered once; a new challenge is shown after a failure
	u, d, err := rp.FinishDiscoverableLogin(ctx, r.Store(), r.Store().UserByPK, session, raw, login, r.Now())
	var we *webauthn.Error
	if errors.As(err, &we) {
		r.Log.Info("passkey login refused", "reason", we.Error())
		r.Executor.Events.Record(ctx, r.Request, "login_failed", nil, map[string]any{"stage": r.Stage.Name, "passkey": true})
		return st.invalid(ctx, r, "passkey", we.Message, we.Code)
	} else if err != nil {
		return flow.Step{}, err
	}
	pk := u.PK
	pc := &r.Plan.Context
	pc.PendingUserPK = &pk
	pc.PendingUserIdentifier = u.Username
	pc.AuthMethod = flow.AuthMethodPasskey
	pc.AuthMethodArgs = map[string]any{
		"device":      map[string]any{"pk": d.PK, "app": "authentik_stages_authenticator_webauthn", "model_name": "webauthndevice", "name": d.Name},
		"device_type": d.Data[webauthn.KeyDeviceType],
	}
	return flow.Step{Done: true}, nil
}

// find looks the identifier up in the configured fields.
func (st *Stage) find(ctx context.Context, r *flow.Run, uid string) (*store.User, error) {
	for _, field := range st.s.UserFields {
		var (
			u   *store.User
			err error
		)
		switch field {
		case "username":
			u, err = r.Store().UserByUsername(ctx, uid)
			if errors.Is(err, store.ErrNotFound) && on(st.s.CaseInsensitiveMatching) && strings.ToLower(uid) != uid {
				u, err = r.Store().UserByUsername(ctx, strings.ToLower(uid))
			}
		case "email":
			if !strings.Contains(uid, "@") {
				continue
			}
			var us []*store.User
			us, _, err = r.Store().ListUsers(ctx, store.UserFilter{Email: uid, Page: store.Page{Limit: 2}})
			if err == nil && len(us) == 1 {
				u = us[0]
			} else if err == nil {
				err = store.ErrNotFound
			}
		default:
			continue
		}
		if err == nil {
			return u, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return nil, nil
}

// Submit identifies the user.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	if raw, ok := resp["passkey"]; ok && strings.TrimSpace(string(raw)) != "null" && strings.TrimSpace(string(raw)) != `""` {
		return st.submitPasskey(ctx, r, raw)
	}
	uid := strings.TrimSpace(resp.String("uid_field"))
	if uid == "" || len(uid) > 254 {
		return st.invalid(ctx, r, "uid_field", "This field is required.", "required")
	}
	// The captcha first: nothing is looked up for a bot.
	if cs, err := st.captcha(ctx, r); err != nil {
		return flow.Step{}, err
	} else if cs != nil {
		msg, deny, err := cs.Check(ctx, r, resp.String("captcha_token"))
		switch {
		case err != nil:
			return flow.Step{}, err
		case deny:
			return flow.Step{Deny: msg}, nil
		case msg != "":
			return st.invalid(ctx, r, "captcha_token", msg, "invalid")
		}
	}
	u, err := st.find(ctx, r, uid)
	if err != nil {
		return flow.Step{}, err
	}
	if u != nil && !u.IsActive {
		u = nil
	}
	r.Plan.Context.PendingUserIdentifier = uid
	if u == nil {
		r.Executor.Events.Record(ctx, r.Request, "login_failed", nil, map[string]any{"username": uid, "stage": r.Stage.Name})
		r.AdjustReputation(ctx, uid, -1)
		if !on(st.s.PretendUserExists) {
			return st.invalid(ctx, r, "uid_field", "Failed to authenticate.", "invalid")
		}
		// Go on as if the user existed: the password stage fails the same way
		// for unknown and known users, in the same time.
		r.Plan.Context.PendingUserPK = nil
		if st.s.PasswordStage != nil {
			_, _ = core.CheckPassword(ctx, r.Store(), nil, resp.String("password"), nil)
			return st.invalid(ctx, r, "password", "Failed to authenticate.", "invalid")
		}
		return flow.Step{Done: true}, nil
	}
	if st.s.PasswordStage != nil {
		ok, err := core.CheckPassword(ctx, r.Store(), u, resp.String("password"), r.Log)
		if err != nil {
			return flow.Step{}, err
		}
		if !ok {
			r.Executor.Events.Record(ctx, r.Request, "login_failed", u, map[string]any{"username": uid, "stage": r.Stage.Name})
			r.AdjustReputation(ctx, uid, -1)
			return st.invalid(ctx, r, "password", "Failed to authenticate.", "invalid")
		}
		r.Plan.Context.AuthMethod = "password"
	}
	pk := u.PK
	r.Plan.Context.PendingUserPK = &pk
	return flow.Step{Done: true}, nil
}
