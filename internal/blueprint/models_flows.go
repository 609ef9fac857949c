package blueprint

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/google/uuid"

	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The flow models: flows, their stage bindings, policy bindings, every
// stage and policy type of stage/all and policy/all, and authentik's
// prompts (kept inline in Gatehouse's prompt stages).

func flowKind() model {
	return &kind[store.Flow]{
		name: "authentik_flows.flow", perm: "authentik_flows.flow",
		key: []string{"slug"},
		fields: []field[store.Flow]{
			strField("name", func(o *store.Flow) *string { return &o.Name }, notEmpty, maxLen(250)),
			strField("slug", func(o *store.Flow) *string { return &o.Slug }, slug, maxLen(50)),
			nullStrField("title", func(o *store.Flow) *string { return &o.Title }, maxLen(250)),
			strField("designation", func(o *store.Flow) *string { return &o.Designation },
				oneOf(store.DesignationAuthentication, store.DesignationAuthorization, store.DesignationInvalidation,
					store.DesignationEnrollment, store.DesignationUnenrollment, store.DesignationRecovery,
					store.DesignationStageConfiguration)),
			nullStrField("background", func(o *store.Flow) *string { return &o.Background }, maxLen(2000)),
			strField("policy_engine_mode", func(o *store.Flow) *string { return &o.PolicyEngineMode }, oneOf("all", "any")),
			boolField("compatibility_mode", func(o *store.Flow) *bool { return &o.CompatibilityMode }),
			strField("layout", func(o *store.Flow) *string { return &o.Layout }, oneOf("stacked", "content_left",
				"content_right", "sidebar_left", "sidebar_right", "sidebar_left_frame_background", "sidebar_right_frame_background")),
			strField("denied_action", func(o *store.Flow) *string { return &o.DeniedAction },
				oneOf("message_continue", "message", "continue")),
			strField("authentication", func(o *store.Flow) *string { return &o.Authentication }, oneOf("none",
				"require_authenticated", "require_unauthenticated", "require_superuser", "require_redirect", "require_outpost")),
		},
		newObj: func() *store.Flow {
			return &store.Flow{PolicyEngineMode: "any", DeniedAction: "message_continue", Layout: "stacked", Authentication: "none"}
		},
		pk:    func(o *store.Flow) any { return o.UUID.String() },
		setPK: func(o *store.Flow, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*store.Flow, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			return e.st.FlowByUUID(e.ctx, id)
		},
		lookup: func(e *env, ids map[string]any) ([]*store.Flow, bool, error) {
			if s, ok := stringID(ids, "slug"); ok {
				return one(e.st.FlowBySlug(e.ctx, s))
			}
			return nil, false, nil
		},
		list: listFlows,
		check: func(_ *env, o *store.Flow) error {
			switch {
			case o.Name == "":
				return &fieldError{"name", errors.New("is required")}
			case o.Slug == "":
				return &fieldError{"slug", errors.New("is required")}
			case o.Designation == "":
				return &fieldError{"designation", errors.New("is required")}
			}
			return nil
		},
		create: func(e *env, o *store.Flow) error { return e.st.CreateFlow(e.ctx, o) },
		update: func(e *env, o *store.Flow) error { return e.st.UpdateFlow(e.ctx, o) },
		remove: func(e *env, o *store.Flow) error {
			e.forget() // its bindings and policy bindings go with it
			return e.st.DeleteFlow(e.ctx, o.UUID)
		},
	}
}

func listFlows(e *env) ([]*store.Flow, error) {
	return listAll(func(p store.Page) ([]*store.Flow, int, error) {
		return e.st.ListFlows(e.ctx, "", store.ListOptions{Ordering: "slug", Page: p})
	})
}

func allFlowStageBindings(e *env) ([]*store.FlowStageBinding, error) {
	fs, err := listFlows(e)
	if err != nil {
		return nil, err
	}
	var out []*store.FlowStageBinding
	for _, f := range fs {
		bs, err := e.st.FlowStageBindings(e.ctx, f.UUID)
		if err != nil {
			return nil, err
		}
		out = append(out, bs...)
	}
	return out, nil
}

func flowStageBindingKind() model {
	type B = store.FlowStageBinding
	return &kind[B]{
		name: "authentik_flows.flowstagebinding", perm: "authentik_flows.flowstagebinding",
		key: []string{"target", "stage", "order"},
		fields: []field[B]{
			uuidField("target", refFlow, func(o *B) *uuid.UUID { return &o.FlowUUID }),
			uuidField("stage", refStage, func(o *B) *uuid.UUID { return &o.StageUUID }),
			boolField("evaluate_on_plan", func(o *B) *bool { return &o.EvaluateOnPlan }),
			boolField("re_evaluate_policies", func(o *B) *bool { return &o.ReEvaluatePolicies }),
			intField("order", func(o *B) *int { return &o.Order }, math.MinInt32, math.MaxInt32),
			strField("policy_engine_mode", func(o *B) *string { return &o.PolicyEngineMode }, oneOf("all", "any")),
			strField("invalid_response_action", func(o *B) *string { return &o.InvalidResponseAction },
				oneOf("retry", "restart", "restart_with_context")),
		},
		newObj: func() *B {
			return &B{ReEvaluatePolicies: true, PolicyEngineMode: "any", InvalidResponseAction: "retry"}
		},
		pk:    func(o *B) any { return o.UUID.String() },
		setPK: func(o *B, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*B, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			return e.st.FlowStageBindingByUUID(e.ctx, id)
		},
		lookup: func(e *env, ids map[string]any) ([]*B, bool, error) {
			if id, ok := uuidID(ids, "target"); ok {
				bs, err := cached(e.stageBindings, id, func() ([]*B, error) { return e.st.FlowStageBindings(e.ctx, id) })
				return bs, true, err
			}
			return nil, false, nil
		},
		list: allFlowStageBindings,
		check: func(_ *env, o *B) error {
			if o.FlowUUID == uuid.Nil {
				return &fieldError{"target", errors.New("is required")}
			}
			if o.StageUUID == uuid.Nil {
				return &fieldError{"stage", errors.New("is required")}
			}
			return nil
		},
		create: func(e *env, o *B) error {
			if err := e.st.CreateFlowStageBinding(e.ctx, o); err != nil {
				return err
			}
			remember(e.stageBindings, o.FlowUUID, o)
			return nil
		},
		update: func(e *env, o *B) error { e.forget(); return e.st.UpdateFlowStageBinding(e.ctx, o) },
		remove: func(e *env, o *B) error {
			e.forget() // its policy bindings go with it
			return e.st.DeleteFlowStageBinding(e.ctx, o.UUID)
		},
	}
}

// bindingTargets lists every object policies can be bound to: flows, flow
// stage bindings and applications.
func bindingTargets(e *env) ([]uuid.UUID, error) {
	var out []uuid.UUID
	fs, err := listFlows(e)
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		out = append(out, f.UUID)
		bs, err := e.st.FlowStageBindings(e.ctx, f.UUID)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			out = append(out, b.UUID)
		}
	}
	as, err := listAll(func(p store.Page) ([]*store.Application, int, error) {
		return e.st.ListApplications(e.ctx, store.ListOptions{Ordering: "slug", Page: p})
	})
	for _, a := range as {
		out = append(out, a.UUID)
	}
	if err != nil {
		return nil, err
	}
	rules, err := listNotificationRules(e)
	for _, r := range rules {
		out = append(out, r.UUID)
	}
	return out, err
}

func policyBindingKind() model {
	type B = store.PolicyBinding
	return &kind[B]{
		name: "authentik_policies.policybinding", perm: "authentik_policies.policybinding",
		key: []string{"target", "order", "policy", "group", "user"},
		fields: []field[B]{
			optUUIDField("policy", refPolicy, func(o *B) **uuid.UUID { return &o.PolicyUUID }),
			optUUIDField("group", refGroup, func(o *B) **uuid.UUID { return &o.GroupUUID }),
			optInt64Field("user", refUser, func(o *B) **int64 { return &o.UserPK }),
			uuidField("target", refBindingTarget, func(o *B) *uuid.UUID { return &o.TargetUUID }),
			boolField("negate", func(o *B) *bool { return &o.Negate }),
			boolField("enabled", func(o *B) *bool { return &o.Enabled }),
			intField("order", func(o *B) *int { return &o.Order }, math.MinInt32, math.MaxInt32),
			intField("timeout", func(o *B) *int { return &o.Timeout }, 0, 3600),
			boolField("failure_result", func(o *B) *bool { return &o.FailureResult }),
		},
		newObj: func() *B { return &B{Enabled: true, Timeout: 30} },
		pk:     func(o *B) any { return o.UUID.String() },
		setPK:  func(o *B, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*B, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			return e.st.PolicyBindingByUUID(e.ctx, id)
		},
		lookup: func(e *env, ids map[string]any) ([]*B, bool, error) {
			if id, ok := uuidID(ids, "target"); ok {
				bs, err := cached(e.policyBindings, id, func() ([]*B, error) { return e.st.PolicyBindings(e.ctx, id) })
				return bs, true, err
			}
			return nil, false, nil
		},
		list: func(e *env) ([]*B, error) {
			targets, err := bindingTargets(e)
			if err != nil {
				return nil, err
			}
			var out []*B
			for _, t := range targets {
				bs, err := e.st.PolicyBindings(e.ctx, t)
				if err != nil {
					return nil, err
				}
				out = append(out, bs...)
			}
			return out, nil
		},
		check: func(_ *env, o *B) error {
			n := 0
			for _, set := range []bool{o.PolicyUUID != nil, o.GroupUUID != nil, o.UserPK != nil} {
				if set {
					n++
				}
			}
			if n != 1 {
				return &fieldError{"policy", errors.New("a binding names exactly one of policy, group or user")}
			}
			if o.TargetUUID == uuid.Nil {
				return &fieldError{"target", errors.New("is required")}
			}
			return nil
		},
		create: func(e *env, o *B) error {
			if err := e.st.CreatePolicyBinding(e.ctx, o); err != nil {
				return err
			}
			remember(e.policyBindings, o.TargetUUID, o)
			return nil
		},
		update: func(e *env, o *B) error { e.forget(); return e.st.UpdatePolicyBinding(e.ctx, o) },
		remove: func(e *env, o *B) error { e.forget(); return e.st.DeletePolicyBinding(e.ctx, o.UUID) },
	}
}

// setting is an authentik field of a stage or policy type. Gatehouse keeps
// a stage's or policy's fields in its settings, as the admin API does.
type setting struct {
	name   string
	ref    refKind
	list   bool // a list of references
	secret bool // exported only with secrets
	// convert turns an older authentik form of the value into the current
	// one (what authentik's own migrations did to stored values).
	convert func(any) any
}

// minutes converts authentik's former integer minutes (email stage
// token_expiry before 2024.x) to its timedelta text.
func minutes(v any) any {
	if n, ok := v.(int); ok {
		return fmt.Sprintf("minutes=%d", n)
	}
	return v
}

// stageSettings are the fields of authentik's stage serializers (besides
// name), by model. A stage type of stage/all missing here accepts any
// field (its constructor still checks the settings); listing it makes
// unknown fields errors.
var stageSettings = map[string][]setting{
	"authentik_stages_identification.identificationstage": {
		{name: "user_fields"}, {name: "password_stage", ref: refStage}, {name: "captcha_stage", ref: refStage},
		{name: "webauthn_stage", ref: refStage}, {name: "case_insensitive_matching"}, {name: "show_matched_user"},
		{name: "enrollment_flow", ref: refFlowSlug}, {name: "recovery_flow", ref: refFlowSlug},
		{name: "passwordless_flow", ref: refFlowSlug}, {name: "sources"}, {name: "show_source_labels"},
		{name: "pretend_user_exists"}, {name: "enable_remember_me"},
	},
	"authentik_stages_password.passwordstage": {
		{name: "backends"}, {name: "configure_flow", ref: refFlow}, {name: "failed_attempts_before_cancel"},
		{name: "allow_show_password"},
	},
	"authentik_stages_user_login.userloginstage": {
		{name: "session_duration"}, {name: "terminate_other_sessions"}, {name: "remember_me_offset"},
		{name: "network_binding"}, {name: "geoip_binding"},
	},
	"authentik_stages_user_logout.userlogoutstage": {},
	"authentik_stages_user_delete.userdeletestage": {},
	"authentik_stages_deny.denystage":              {{name: "deny_message"}},
	"authentik_stages_dummy.dummystage":            {{name: "throw_error"}},
	"authentik_stages_prompt.promptstage": {
		{name: "fields", ref: refPrompt, list: true}, {name: "validation_policies", ref: refPolicy, list: true},
	},
	"authentik_stages_user_write.userwritestage": {
		{name: "user_creation_mode"}, {name: "create_users_as_inactive"}, {name: "create_users_group", ref: refGroup},
		{name: "user_type"}, {name: "user_path_template"}, {name: "can_create_users"},
	},
	"authentik_stages_invitation.invitationstage": {{name: "continue_flow_without_invitation"}},
	"authentik_stages_redirect.redirectstage": {
		{name: "keep_context"}, {name: "mode"}, {name: "target_static"}, {name: "target_flow", ref: refFlowSlug},
	},
	"authentik_stages_captcha.captchastage": {
		{name: "public_key"}, {name: "private_key", secret: true}, {name: "secret", secret: true}, {name: "js_url"}, {name: "api_url"},
		{name: "interactive"}, {name: "score_min_threshold"}, {name: "score_max_threshold"},
		{name: "error_on_invalid_score"},
	},
	"authentik_stages_email.emailstage": {
		{name: "use_global_settings"}, {name: "host"}, {name: "port"}, {name: "username"},
		{name: "password", secret: true}, {name: "use_tls"}, {name: "use_ssl"}, {name: "timeout"},
		{name: "from_address"}, {name: "token_expiry", convert: minutes}, {name: "subject"}, {name: "template"},
		{name: "activate_user_on_success"}, {name: "recovery_max_attempts"}, {name: "recovery_cache_timeout"},
	},
	"authentik_stages_consent.consentstage": {{name: "mode"}, {name: "consent_expire_in"}},
	"authentik_stages_authenticator_totp.authenticatortotpstage": {
		{name: "digits"}, {name: "friendly_name"}, {name: "configure_flow", ref: refFlow},
	},
	"authentik_stages_authenticator_static.authenticatorstaticstage": {
		{name: "token_count"}, {name: "token_length"}, {name: "friendly_name"}, {name: "configure_flow", ref: refFlow},
	},
	"authentik_stages_authenticator_webauthn.authenticatorwebauthnstage": {
		{name: "user_verification"}, {name: "resident_key_requirement"}, {name: "authenticator_attachment"},
		{name: "device_type_restrictions"}, {name: "prevent_duplicate_devices"}, {name: "max_attempts"}, {name: "hints"},
		{name: "friendly_name"}, {name: "configure_flow", ref: refFlow},
	},
	"authentik_stages_authenticator_email.authenticatoremailstage": {
		{name: "use_global_settings"}, {name: "host"}, {name: "port"}, {name: "username"},
		{name: "password", secret: true}, {name: "use_tls"}, {name: "use_ssl"}, {name: "timeout"},
		{name: "from_address"}, {name: "token_expiry", convert: minutes}, {name: "subject"}, {name: "template"},
		{name: "friendly_name"}, {name: "configure_flow", ref: refFlow},
	},
	"authentik_stages_authenticator_sms.authenticatorsmsstage": {
		{name: "provider"}, {name: "from_number"}, {name: "account_sid"}, {name: "auth", secret: true},
		{name: "auth_password", secret: true}, {name: "auth_type"}, {name: "verify_only"}, {name: "mapping"},
		{name: "friendly_name"}, {name: "configure_flow", ref: refFlow},
	},
	"authentik_stages_authenticator_validate.authenticatorvalidatestage": {
		{name: "device_classes"}, {name: "not_configured_action"}, {name: "configuration_stages", ref: refStage, list: true},
		{name: "last_auth_threshold"}, {name: "webauthn_user_verification"}, {name: "webauthn_allowed_device_types"},
		{name: "webauthn_hints"},
	},
}

// policySettings are the fields of authentik's policy serializers (besides
// name and execution_logging), by model; the same rule as stageSettings.
var policySettings = map[string][]setting{
	"authentik_policies_dummy.dummypolicy": {{name: "result"}, {name: "wait_min"}, {name: "wait_max"}},
	"authentik_policies_password.passwordpolicy": {
		{name: "password_field"}, {name: "amount_digits"}, {name: "amount_uppercase"}, {name: "amount_lowercase"},
		{name: "amount_symbols"}, {name: "length_min"}, {name: "symbol_charset"}, {name: "error_message"},
		{name: "check_static_rules"}, {name: "check_have_i_been_pwned"}, {name: "check_zxcvbn"},
		{name: "hibp_allowed_count"}, {name: "zxcvbn_score_threshold"},
	},
	"authentik_policies_expression.expressionpolicy":      {{name: "expression"}},
	"authentik_policies_reputation.reputationpolicy":      {{name: "check_ip"}, {name: "check_username"}, {name: "threshold"}},
	"authentik_policies_expiry.passwordexpirypolicy":      {{name: "days"}, {name: "deny_only"}},
	"authentik_policies_event_matcher.eventmatcherpolicy": {{name: "action"}, {name: "client_ip"}, {name: "app"}, {name: "model"}},
}

// settingField keeps an authentik field in a settings map.
func settingField[T any](s setting, settings func(*T) *store.Attributes) field[T] {
	get := func(o *T) any {
		m := *settings(o)
		if m == nil {
			return nil
		}
		return normalize(m[s.name])
	}
	return field[T]{name: s.name, ref: s.ref, secret: s.secret, omitNull: true, get: get,
		set: func(e *env, o *T, v any) error {
			if *settings(o) == nil {
				*settings(o) = store.Attributes{}
			}
			val, err := settingValue(e, s, v)
			if err != nil {
				return err
			}
			// Null is the field's default: the stage or policy reads an
			// absent setting the same way.
			if val == nil {
				delete(*settings(o), s.name)
				return nil
			}
			(*settings(o))[s.name] = val
			return nil
		}}
}

// settingValue converts a setting's blueprint value to what Gatehouse's
// stage or policy reads.
func settingValue(e *env, s setting, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s.convert != nil {
		v = s.convert(v)
	}
	if s.list {
		list, err := asList(v)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(list))
		for i, x := range list {
			y, err := settingValue(e, setting{name: s.name, ref: s.ref}, x)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out = append(out, y)
		}
		return out, nil
	}
	switch s.ref {
	case refNone:
		return normalize(v), nil
	case refFlowSlug:
		// authentik names the flow by its pk; Gatehouse's stages by its slug.
		if str, ok := v.(string); ok && str == "" {
			return "", nil
		}
		if id, err := asUUID(v); err == nil {
			f, err := e.st.FlowByUUID(e.ctx, id)
			if err != nil {
				return nil, fmt.Errorf("flow %s: %w", id, err)
			}
			return f.Slug, nil
		}
		return asString(v)
	case refPrompt:
		return promptField(e, v)
	default:
		id, err := asUUID(v)
		if err != nil {
			return nil, err
		}
		return id.String(), nil
	}
}

func settingsFields[T any](specs []setting, settings func(*T) *store.Attributes) []field[T] {
	out := make([]field[T], 0, len(specs))
	for _, s := range specs {
		out = append(out, settingField(s, settings))
	}
	return out
}

// stageKinds are the stage types of stage/all, by authentik model name.
func stageKinds() []model {
	var out []model
	for _, t := range stageall.Types() {
		out = append(out, stageKind(t))
	}
	return out
}

func stageKind(t stageall.Type) model {
	type S = store.Stage
	settings := func(o *S) *store.Attributes { return &o.Settings }
	specs, listed := stageSettings[t.ModelName]
	k := &kind[S]{
		name: t.ModelName, perm: "authentik_flows.stage",
		key:     []string{"name"},
		fields:  append([]field[S]{strField("name", func(o *S) *string { return &o.Name }, notEmpty, maxLen(250))}, settingsFields(specs, settings)...),
		open:    !listed,
		ignored: []string{"flow_set"},
		newObj:  func() *S { return &S{Type: t.Name, Settings: store.Attributes{}} },
		pk:      func(o *S) any { return o.UUID.String() },
		setPK:   func(o *S, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*S, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			s, err := e.st.StageByUUID(e.ctx, id)
			if err == nil && s.Type != t.Name {
				return nil, errNoPK // another type's stage: not an object of this model
			}
			return s, err
		},
		lookup: func(e *env, ids map[string]any) ([]*S, bool, error) {
			name, ok := stringID(ids, "name")
			if !ok {
				return nil, false, nil
			}
			s, err := e.st.StageByName(e.ctx, name)
			if err == nil && s.Type != t.Name {
				return nil, true, &fieldError{"name", fmt.Errorf("stage %q exists already and is of type %s (stage names are unique)", name, s.Type)}
			}
			return one(s, err)
		},
		list: func(e *env) ([]*S, error) {
			return listAll(func(p store.Page) ([]*S, int, error) {
				return e.st.ListStages(e.ctx, t.Name, store.ListOptions{Ordering: "name", Page: p})
			})
		},
		check: func(_ *env, o *S) error {
			if _, err := t.New(o.Settings); err != nil {
				return &fieldError{"attrs", err}
			}
			return nil
		},
		create: func(e *env, o *S) error { return e.st.CreateStage(e.ctx, o) },
		update: func(e *env, o *S) error { return e.st.UpdateStage(e.ctx, o) },
		remove: func(e *env, o *S) error { return e.st.DeleteStage(e.ctx, o.UUID) },
	}
	if !listed {
		k.extra = func(o *S) store.Attributes {
			if o.Settings == nil {
				o.Settings = store.Attributes{}
			}
			return o.Settings
		}
	}
	return k
}

// policyKinds are the policy types of policy/all, by authentik model name.
func policyKinds() []model {
	var out []model
	for _, t := range policyall.Types(policyall.Deps{}) {
		out = append(out, policyKind(t))
	}
	return out
}

func policyKind(t policyall.Type) model {
	type P = store.Policy
	settings := func(o *P) *store.Attributes { return &o.Settings }
	specs, listed := policySettings[t.ModelName]
	fields := []field[P]{
		strField("name", func(o *P) *string { return &o.Name }, notEmpty, maxLen(250)),
		boolField("execution_logging", func(o *P) *bool { return &o.ExecutionLogging }),
	}
	k := &kind[P]{
		name: t.ModelName, perm: "authentik_policies.policy",
		key:     []string{"name"},
		fields:  append(fields, settingsFields(specs, settings)...),
		open:    !listed,
		ignored: []string{"bound_to"},
		newObj:  func() *P { return &P{Type: t.Name, Settings: store.Attributes{}} },
		pk:      func(o *P) any { return o.UUID.String() },
		setPK:   func(o *P, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK: func(e *env, pk any) (*P, error) {
			id, err := asUUID(pk)
			if err != nil {
				return nil, errNoPK
			}
			p, err := e.st.PolicyByUUID(e.ctx, id)
			if err == nil && p.Type != t.Name {
				return nil, errNoPK
			}
			return p, err
		},
		lookup: func(e *env, ids map[string]any) ([]*P, bool, error) {
			name, ok := stringID(ids, "name")
			if !ok {
				return nil, false, nil
			}
			p, err := e.st.PolicyByName(e.ctx, name)
			if err == nil && p.Type != t.Name {
				return nil, true, &fieldError{"name", fmt.Errorf("policy %q exists already and is of type %s (policy names are unique)", name, p.Type)}
			}
			return one(p, err)
		},
		list: func(e *env) ([]*P, error) {
			return listAll(func(p store.Page) ([]*P, int, error) {
				return e.st.ListPolicies(e.ctx, t.Name, store.ListOptions{Ordering: "name", Page: p})
			})
		},
		check: func(_ *env, o *P) error {
			if t.Validate != nil {
				if err := t.Validate(o.Settings); err != nil {
					return &fieldError{"attrs", err}
				}
			}
			return nil
		},
		create: func(e *env, o *P) error { return e.st.CreatePolicy(e.ctx, o) },
		update: func(e *env, o *P) error { return e.st.UpdatePolicy(e.ctx, o) },
		remove: func(e *env, o *P) error { return e.st.DeletePolicy(e.ctx, o.UUID) },
	}
	if !listed {
		k.extra = func(o *P) store.Attributes {
			if o.Settings == nil {
				o.Settings = store.Attributes{}
			}
			return o.Settings
		}
	}
	return k
}

// Prompts. authentik keeps each prompt field as an object that prompt
// stages list; Gatehouse keeps the fields inside the stage. An
// authentik_stages_prompt.prompt entry is therefore not written anywhere:
// it gets a primary key derived from its identifiers, and a prompt stage of
// the same blueprint that lists that key (with !KeyOf) gets the field
// inline. A prompt stage's fields may also be given inline, in Gatehouse's
// form (what exports write).

const promptModelName = "authentik_stages_prompt.prompt"

// promptFields are authentik's Prompt fields, and their defaults.
var promptFields = map[string]any{
	"name": nil, "field_key": nil, "label": nil, "type": nil, "required": true, "placeholder": "",
	"initial_value": "", "order": 0, "sub_text": "", "placeholder_expression": false, "initial_value_expression": false,
}

// inlineFieldKeys are the keys of a field inside a Gatehouse prompt stage.
var inlineFieldKeys = []string{"field_key", "label", "type", "required", "placeholder", "initial_value", "order",
	"sub_text", "choices", "placeholder_expression", "initial_value_expression"}

// promptNamespace derives the primary keys of prompt entries.
var promptNamespace = uuid.MustParse("6f9d8c3e-2b1a-4c55-9a7e-0d3c1b2a4e5f")

type promptModel struct{}

func promptKind() model { return promptModel{} }

func (promptModel) Name() string      { return promptModelName }
func (promptModel) permModel() string { return "" }

func (promptModel) field(name string) (known, ignored bool) {
	if name == "promptstage_set" {
		return true, true
	}
	_, ok := promptFields[name]
	return ok, false
}

func (promptModel) apply(e *env, state State, ids, attrs map[string]any) (Action, any, error) {
	raw, err := json.Marshal(normalize(ids))
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(raw)
	pk := uuid.NewSHA1(promptNamespace, sum[:]).String()
	if state == StateAbsent {
		return ActionUnchanged, nil, nil
	}
	data := map[string]any{}
	for k, v := range promptFields {
		if v != nil {
			data[k] = v
		}
	}
	for k, v := range attrs {
		data[k] = v
	}
	for k, v := range ids {
		if k != "pk" {
			data[k] = v
		}
	}
	delete(data, "promptstage_set")
	field, err := inlineField(data)
	if err != nil {
		return "", nil, err
	}
	if e.imp != nil {
		e.imp.prompts[pk] = field
		if name, ok := data["name"].(string); ok {
			e.imp.promptNames[name] = pk
		}
	}
	return ActionInlined, pk, nil
}

// find finds prompts of the blueprint being applied, by name or pk.
func (promptModel) find(e *env, filters []Filter) (any, map[string]any, error) {
	if e.imp == nil || len(filters) != 1 {
		return nil, nil, nil
	}
	switch f := filters[0]; f.Field {
	case "name":
		if name, ok := f.Value.(string); ok {
			if pk, ok := e.imp.promptNames[name]; ok {
				return pk, e.imp.prompts[pk], nil
			}
		}
	case "pk":
		if pk, ok := f.Value.(string); ok {
			if p, ok := e.imp.prompts[pk]; ok {
				return pk, p, nil
			}
		}
	}
	e.warn("", "Gatehouse keeps prompts inside prompt stages: only prompts of this blueprint can be found")
	return nil, nil, nil
}

func (promptModel) export(*env) ([]exported, error) { return nil, nil }
func (promptModel) bulk(bool)                       {}

// inlineField checks a prompt field and returns it in Gatehouse's form.
func inlineField(data map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range data {
		switch {
		case k == "name":
			continue
		case !slices.Contains(inlineFieldKeys, k):
			return nil, &fieldError{k, errors.New("unknown field of a prompt")}
		}
		out[k] = normalize(v)
	}
	for _, k := range []string{"field_key", "label", "type"} {
		if s, ok := out[k].(string); !ok || s == "" {
			return nil, &fieldError{k, errors.New("is required (a string)")}
		}
	}
	return out, nil
}

// promptField is one element of a prompt stage's fields: the primary key
// of a prompt entry of this blueprint, or a field given inline.
func promptField(e *env, v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		return inlineField(v)
	case string:
		if e.imp != nil {
			if f, ok := e.imp.prompts[v]; ok {
				return f, nil
			}
		}
		return nil, fmt.Errorf("prompt %s is not a prompt entry of this blueprint (Gatehouse keeps prompts inside their stage: "+
			"list the prompt entries' !KeyOf, or the fields inline)", v)
	}
	return nil, fmt.Errorf("must be a prompt's primary key or a field, not %s", typeName(v))
}

// checkRefs checks that a reference (or each of a list) names an object.
func (e *env) checkRefs(ref refKind, v any) error {
	if list, ok := v.([]any); ok {
		for i, x := range list {
			if err := e.checkRef(ref, x); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	}
	return e.checkRef(ref, v)
}

func (e *env) checkRef(ref refKind, v any) error {
	if v == nil || v == "" {
		return nil
	}
	if e.imp != nil && e.imp.known[knownKey(ref, v)] {
		return nil // an object this blueprint made or found
	}
	var err error
	switch ref {
	case refFlowSlug:
		s, _ := v.(string)
		if _, err := e.st.FlowBySlug(e.ctx, s); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no flow has slug %q", s)
		} else if err != nil {
			return err
		}
		return nil
	case refUser, refProvider:
		n, cerr := asInt64(v)
		if cerr != nil {
			return cerr
		}
		if ref == refUser {
			_, err = e.st.UserByPK(e.ctx, n)
		} else {
			_, err = e.st.ProviderByPK(e.ctx, n)
		}
	case refPrompt, refNone:
		return nil
	default:
		id, cerr := asUUID(v)
		if cerr != nil {
			return cerr
		}
		switch ref {
		case refFlow:
			_, err = e.st.FlowByUUID(e.ctx, id)
		case refStage:
			_, err = e.st.StageByUUID(e.ctx, id)
		case refPolicy:
			_, err = e.st.PolicyByUUID(e.ctx, id)
		case refGroup:
			_, err = e.st.GroupByUUID(e.ctx, id)
		case refRole:
			_, err = e.st.RoleByUUID(e.ctx, id)
		case refApplication:
			_, err = applicationByUUID(e, id)
		case refKeyPair:
			_, err = e.st.KeyPairByUUID(e.ctx, id)
		case refPropertyMapping:
			_, err = e.st.PropertyMappingByUUID(e.ctx, id)
		case refTransport:
			_, err = e.st.NotificationTransportByUUID(e.ctx, id)
		case refBindingTarget:
			if _, err = e.st.FlowByUUID(e.ctx, id); errors.Is(err, store.ErrNotFound) {
				if _, err = e.st.FlowStageBindingByUUID(e.ctx, id); errors.Is(err, store.ErrNotFound) {
					if _, err = applicationByUUID(e, id); errors.Is(err, store.ErrNotFound) {
						if _, err = e.st.NotificationRuleByUUID(e.ctx, id); errors.Is(err, store.ErrNotFound) {
							return fmt.Errorf("no flow, flow-stage binding, application or notification rule has pk %s", id)
						}
					}
				}
			}
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no %s has pk %v", refNames[ref], v)
	}
	return err
}

var refNames = map[refKind]string{
	refFlow: "flow", refFlowSlug: "flow", refStage: "stage", refPolicy: "policy", refGroup: "group", refUser: "user",
	refRole: "role", refApplication: "application", refProvider: "provider", refKeyPair: "certificate-key pair",
	refPropertyMapping: "property mapping", refBindingTarget: "policy binding target", refPrompt: "prompt",
	refTransport: "notification transport",
}

// knownRef is an object an entry made or found, as references of a kind
// see it.
type knownRef struct {
	ref refKind
	pk  string
}

func knownKey(ref refKind, pk any) knownRef { return knownRef{ref, fmt.Sprint(pk)} }

// refKindsOf are the kinds of reference that can point at a model's objects.
func refKindsOf(model string) []refKind {
	switch {
	case model == "authentik_flows.flow":
		return []refKind{refFlow, refBindingTarget}
	case model == "authentik_flows.flowstagebinding":
		return []refKind{refBindingTarget}
	case model == "authentik_core.application":
		return []refKind{refApplication, refBindingTarget}
	case model == modelNotificationRule:
		return []refKind{refBindingTarget}
	case model == modelNotificationTransport:
		return []refKind{refTransport}
	case model == "authentik_core.group":
		return []refKind{refGroup}
	case model == "authentik_core.user":
		return []refKind{refUser}
	case model == "authentik_rbac.role":
		return []refKind{refRole}
	case model == "authentik_crypto.certificatekeypair":
		return []refKind{refKeyPair}
	case model == "authentik_providers_oauth2.oauth2provider":
		return []refKind{refProvider}
	case model == "authentik_providers_oauth2.scopemapping":
		return []refKind{refPropertyMapping}
	case model == promptModelName, model == "authentik_stages_invitation.invitation":
		return nil
	case strings.HasPrefix(model, "authentik_stages_"):
		return []refKind{refStage}
	case strings.HasPrefix(model, "authentik_policies_"):
		return []refKind{refPolicy}
	}
	return nil
}
