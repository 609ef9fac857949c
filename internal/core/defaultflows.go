package core

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Default flow slugs, as authentik's.
const (
	DefaultAuthenticationFlow  = "default-authentication-flow"
	DefaultInvalidationFlow    = "default-invalidation-flow"
	DefaultRecoveryFlow        = "default-recovery-flow"
	DefaultUserSettingsFlow    = "default-user-settings-flow"
	DefaultPasswordChangeFlow  = "default-password-change"
	DefaultEnrollmentFlow      = "default-enrollment-flow"
	DefaultExplicitConsentFlow = "default-provider-authorization-explicit-consent"
	DefaultImplicitConsentFlow = "default-provider-authorization-implicit-consent"
	DefaultProviderLogoutFlow  = "default-provider-invalidation-flow"
	DefaultSourceAuthFlow      = "default-source-authentication"
	DefaultSourceEnrollFlow    = "default-source-enrollment"
	DefaultSourcePreAuthFlow   = "default-source-pre-authentication"

	DefaultAuthenticatorStaticSetupFlow   = "default-authenticator-static-setup"
	DefaultAuthenticatorTOTPSetupFlow     = "default-authenticator-totp-setup"
	DefaultAuthenticatorWebAuthnSetupFlow = "default-authenticator-webauthn-setup"
)

// ownFlow, as a default stage's configure_flow, names the flow the stage
// is bound in (authentik's `configure_flow: !KeyOf flow`).
const ownFlow = "<own flow>"

type defaultStage struct {
	name, typ string
	settings  store.Attributes
	order     int
	// policies bound to this stage binding (re-evaluated when reached).
	policies []defaultPolicy
}

type defaultPolicy struct {
	name, typ string
	settings  store.Attributes
}

type defaultFlow struct {
	flow     store.Flow
	stages   []defaultStage
	policies []defaultPolicy // bound to the flow
}

// InitialSetupFlow is the out-of-box flow that sets akadmin's email and password.
const InitialSetupFlow = "initial-setup"

// The initial-setup policies, in authentik's expression language. The flow
// disables itself: once akadmin has a password, password-usable fails.
var (
	oobePasswordUsable = defaultPolicy{"default-oobe-password-usable", "expression", store.Attributes{"expression": `# This policy ensures that the setup flow can only be
# executed when the admin user doesn't have a password set
akadmin = ak_user_by(username="akadmin")
return akadmin != None and not akadmin.has_usable_password()
`}}
	oobePrefillUser = defaultPolicy{"default-oobe-prefill-user", "expression", store.Attributes{"expression": `# This policy sets the user for the currently running flow
# by injecting "pending_user"
akadmin = ak_user_by(username="akadmin")
context["flow_plan"].context["pending_user"] = akadmin
return True
`}}
)

// The source flows' policies. authentik's if-sso policies are
// `return ak_is_sso_flow`, which Gatehouse expressions do not have yet;
// ak_is_sso_flow is authentik's request.context.get("is_sso", False), which
// they can read. No source sets is_sso yet, so both flows are not
// applicable, as in authentik for a flow reached without a source.
func sourceIfSSO(name string) defaultPolicy {
	return defaultPolicy{name, "expression", store.Attributes{"expression": `# This policy ensures that this flow can only be used when the user
# is in a SSO Flow (meaning they come from an external IdP)
return context.get("is_sso", False)
`}}
}

var sourceEnrollmentIfUsername = defaultPolicy{"default-source-enrollment-if-username", "expression", store.Attributes{"expression": `# Check if we've not been given a username by the external IdP
# and trigger the enrollment flow
return 'username' not in context.get('prompt_data', {})
`}}

// userSettingsField is a user settings prompt prefilled, as in authentik,
// from the user by a guarded expression (the prompt stage runs the guard's
// body; see internal/stage/prompt).
func userSettingsField(key, label, typ string, order int, value string) map[string]any {
	return map[string]any{"field_key": key, "label": label, "type": typ, "required": true, "order": order,
		"placeholder": label, "initial_value": "try:\n    return " + value + "\nexcept:\n    return ''\n",
		"initial_value_expression": true}
}

// passwordFields are the password and password_repeat prompts, ordered from order.
func passwordFields(order int) []any {
	return []any{
		map[string]any{"field_key": "password", "label": "Password", "type": "password", "required": true, "order": order, "placeholder": "Password"},
		map[string]any{"field_key": "password_repeat", "label": "Password (repeat)", "type": "password", "required": true, "order": order + 1, "placeholder": "Password (repeat)"},
	}
}

// defaultFlows mirror authentik's default blueprints (blueprints/default)
// and its two-stage enrollment example, for the stages that exist so far.
// "authentik" in titles reads "Gatehouse".
var defaultFlows = []defaultFlow{
	{
		flow: store.Flow{Slug: DefaultAuthenticationFlow, Name: "Welcome to Gatehouse!", Title: "Welcome to Gatehouse!",
			Designation: store.DesignationAuthentication},
		stages: []defaultStage{
			{"default-authentication-identification", "identification", store.Attributes{"user_fields": []any{"email", "username"}}, 10, nil},
			{"default-authentication-password", "password", store.Attributes{"failed_attempts_before_cancel": 5}, 20, nil},
			// A user without a device logs in with the password alone
			// (not_configured_action skip), as with authentik's default.
			{"default-authentication-mfa-validation", "authenticator_validate", store.Attributes{
				"device_classes":        []any{"static", "totp", "webauthn", "email", "sms"},
				"not_configured_action": "skip", "last_auth_threshold": "seconds=0",
				"webauthn_user_verification": "preferred"}, 30, nil},
			{"default-authentication-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 100, nil},
		},
	},
	// The authenticator setup flows, run from the user settings while
	// signed in; each stage's configure_flow is its flow, so that the user
	// settings list it (authentik's blueprints do the same).
	{
		flow: store.Flow{Slug: DefaultAuthenticatorStaticSetupFlow, Name: DefaultAuthenticatorStaticSetupFlow,
			Title: "Setup Static OTP Tokens", Designation: store.DesignationStageConfiguration, Authentication: "require_authenticated"},
		stages: []defaultStage{
			{DefaultAuthenticatorStaticSetupFlow, "authenticator_static", store.Attributes{"token_count": 6, "friendly_name": "Static tokens", "configure_flow": ownFlow}, 0, nil},
		},
	},
	{
		flow: store.Flow{Slug: DefaultAuthenticatorTOTPSetupFlow, Name: DefaultAuthenticatorTOTPSetupFlow,
			Title: "Set up Two-Factor authentication", Designation: store.DesignationStageConfiguration, Authentication: "require_authenticated"},
		stages: []defaultStage{
			{DefaultAuthenticatorTOTPSetupFlow, "authenticator_totp", store.Attributes{"digits": 6, "friendly_name": "TOTP Device", "configure_flow": ownFlow}, 0, nil},
		},
	},
	{
		flow: store.Flow{Slug: DefaultAuthenticatorWebAuthnSetupFlow, Name: DefaultAuthenticatorWebAuthnSetupFlow,
			Title: "Setup WebAuthn", Designation: store.DesignationStageConfiguration, Authentication: "require_authenticated"},
		stages: []defaultStage{
			{DefaultAuthenticatorWebAuthnSetupFlow, "authenticator_webauthn", store.Attributes{"friendly_name": "WebAuthn device", "configure_flow": ownFlow}, 0, nil},
		},
	},
	{
		flow: store.Flow{Slug: DefaultInvalidationFlow, Name: "Logout", Title: "Default Invalidation Flow",
			Designation: store.DesignationInvalidation},
		stages: []defaultStage{{"default-invalidation-logout", "user_logout", store.Attributes{}, 0, nil}},
	},
	{
		// authentik's example recovery blueprint: identify, prove the
		// address by its email link, set a new password, sign in.
		flow: store.Flow{Slug: DefaultRecoveryFlow, Name: "Default recovery flow", Title: "Reset your password",
			Designation: store.DesignationRecovery, Authentication: "require_unauthenticated"},
		stages: []defaultStage{
			{"default-recovery-identification", "identification", store.Attributes{"user_fields": []any{"email", "username"}}, 10, nil},
			{"default-recovery-email", "email", store.Attributes{"subject": "Password reset", "token_expiry": "minutes=30",
				"template": "email/password_reset.html"}, 20, nil},
			{"default-recovery-field-password", "prompt", store.Attributes{"fields": passwordFields(0)}, 30, nil},
			{"default-recovery-user-write", "user_write", store.Attributes{"user_creation_mode": "never_create"}, 40, nil},
			{"default-recovery-user-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 100, nil},
		},
	},
	{
		// Consent is remembered for consent_expire_in (the default, four weeks).
		flow: store.Flow{Slug: DefaultExplicitConsentFlow, Name: "Authorize Application", Title: "Redirecting to %(app)s",
			Designation: store.DesignationAuthorization, Authentication: "require_authenticated"},
		stages: []defaultStage{
			{"default-provider-authorization-consent", "consent", store.Attributes{"mode": "expiring", "consent_expire_in": "weeks=4"}, 0, nil},
		},
	},
	{
		// No stages: the provider lets the user through at once.
		flow: store.Flow{Slug: DefaultImplicitConsentFlow, Name: "Authorize Application", Title: "Redirecting to %(app)s",
			Designation: store.DesignationAuthorization, Authentication: "require_authenticated"},
	},
	{
		// No stages: the provider ends its own session and shows the title.
		flow: store.Flow{Slug: DefaultProviderLogoutFlow, Name: "Logout", Title: "You've logged out of %(app)s.",
			Designation: store.DesignationInvalidation, Authentication: "none"},
	},
	{
		flow: store.Flow{Slug: DefaultSourceAuthFlow, Name: "Welcome to Gatehouse!", Title: "Welcome to Gatehouse!",
			Designation: store.DesignationAuthentication, Authentication: "require_unauthenticated"},
		policies: []defaultPolicy{sourceIfSSO("default-source-authentication-if-sso")},
		stages: []defaultStage{
			{"default-source-authentication-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 0, nil},
		},
	},
	{
		// The prompt runs only when the source gave no username.
		flow: store.Flow{Slug: DefaultSourceEnrollFlow, Name: "Welcome to Gatehouse! Please select a username.",
			Title: "Welcome to Gatehouse! Please select a username.", Designation: store.DesignationEnrollment, Authentication: "none"},
		policies: []defaultPolicy{sourceIfSSO("default-source-enrollment-if-sso")},
		stages: []defaultStage{
			{"default-source-enrollment-prompt", "prompt", store.Attributes{"fields": []any{
				map[string]any{"field_key": "username", "label": "Username", "type": "text", "required": true, "order": 100, "placeholder": "Username"},
			}}, 0, []defaultPolicy{sourceEnrollmentIfUsername}},
			{"default-source-enrollment-write", "user_write", store.Attributes{"user_creation_mode": "always_create"}, 1, nil},
			{"default-source-enrollment-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 2, nil},
		},
	},
	{
		// No stages: sources run it before sending the user to the provider.
		flow: store.Flow{Slug: DefaultSourcePreAuthFlow, Name: "Pre-Authentication", Title: "Pre-authentication",
			Designation: store.DesignationStageConfiguration, Authentication: "none"},
	},
	{
		// authentik also gives the prompt stage a validation policy that
		// refuses changes of name, email and username the system settings
		// (default_user_change_*) do not allow; prompt stages have no
		// validation policies yet, and that policy is Python.
		flow: store.Flow{Slug: DefaultUserSettingsFlow, Name: "User settings", Title: "Update your info",
			Designation: store.DesignationStageConfiguration, Authentication: "require_authenticated"},
		stages: []defaultStage{
			{"default-user-settings", "prompt", store.Attributes{"fields": []any{
				userSettingsField("username", "Username", "username", 200, "user.username"),
				userSettingsField("name", "Name", "text", 201, "user.name"),
				userSettingsField("email", "Email", "email", 202, "user.email"),
				userSettingsField("attributes.settings.locale", "Locale", "ak-locale", 203, `user.attributes.get("settings", {}).get("locale", "")`),
			}}, 20, nil},
			{"default-user-settings-write", "user_write", store.Attributes{"user_creation_mode": "never_create"}, 100, nil},
		},
	},
	{
		// The password policy gates the write: a weak password skips it.
		flow: store.Flow{Slug: DefaultPasswordChangeFlow, Name: "Change Password", Title: "Change password",
			Designation: store.DesignationStageConfiguration, Authentication: "require_authenticated"},
		stages: []defaultStage{
			{"default-password-change-prompt", "prompt", store.Attributes{"fields": passwordFields(300)}, 0, nil},
			{"default-password-change-write", "user_write", store.Attributes{"user_creation_mode": "never_create"}, 1,
				[]defaultPolicy{{"default-password-change-password-policy", "password", store.Attributes{
					"check_static_rules": true, "check_zxcvbn": true, "length_min": 8, "password_field": "password",
					"zxcvbn_score_threshold": 2}}}},
		},
	},
	{
		// authentik's example "Enrollment (2 Stage)" blueprint.
		flow: store.Flow{Slug: DefaultEnrollmentFlow, Name: "Default enrollment Flow", Title: "Welcome to Gatehouse!",
			Designation: store.DesignationEnrollment, Authentication: "require_unauthenticated"},
		stages: []defaultStage{
			{"default-enrollment-prompt-first", "prompt", store.Attributes{"fields": append([]any{
				map[string]any{"field_key": "username", "label": "Username", "type": "username", "required": true, "order": 0, "placeholder": "Username"},
			}, passwordFields(0)...)}, 10, nil},
			{"default-enrollment-prompt-second", "prompt", store.Attributes{"fields": []any{
				map[string]any{"field_key": "name", "label": "Name", "type": "text", "required": true, "order": 0, "placeholder": "Name"},
				map[string]any{"field_key": "email", "label": "Email", "type": "email", "required": true, "order": 1, "placeholder": "Email"},
			}}, 11, nil},
			{"default-enrollment-user-write", "user_write", store.Attributes{"user_creation_mode": "always_create"}, 20, nil},
			{"default-enrollment-user-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 100, nil},
		},
	},
	{
		flow: store.Flow{Slug: InitialSetupFlow, Name: "default-oobe-setup", Title: "Welcome to Gatehouse!",
			Designation: store.DesignationStageConfiguration},
		policies: []defaultPolicy{oobePasswordUsable},
		stages: []defaultStage{
			{"stage-default-oobe-password", "prompt", store.Attributes{"fields": []any{
				map[string]any{"field_key": "oobe-header-text", "label": "oobe-header-text", "type": "static", "order": 100,
					"initial_value": "Welcome to Gatehouse! Please set a password and email address for the default admin user, akadmin."},
				map[string]any{"field_key": "email", "label": "Email", "type": "email", "required": true, "order": 101, "placeholder": "Admin email"},
				map[string]any{"field_key": "password", "label": "Password", "type": "password", "required": true, "order": 300, "placeholder": "Password"},
				map[string]any{"field_key": "password_repeat", "label": "Password (repeat)", "type": "password", "required": true, "order": 301, "placeholder": "Password (repeat)"},
			}}, 10, nil},
			{"default-password-change-write", "user_write", store.Attributes{"user_creation_mode": "never_create"}, 20,
				[]defaultPolicy{oobePrefillUser}},
			{"default-authentication-login", "user_login", store.Attributes{"session_duration": "seconds=0"}, 100, nil},
		},
	},
}

// EnsureDefaultFlows creates the default flows that are missing (a flow that
// exists is never touched) and points the default brand's empty flow fields
// at them. It returns the slugs it created.
func EnsureDefaultFlows(ctx context.Context, st store.Store) ([]string, error) {
	var created []string
	err := st.InTx(ctx, func(tx store.Store) error {
		created = nil
		ids := map[string]uuid.UUID{}
		for _, df := range defaultFlows {
			f, err := tx.FlowBySlug(ctx, df.flow.Slug)
			if err == nil {
				ids[f.Slug] = f.UUID
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			nf := df.flow
			if err := tx.CreateFlow(ctx, &nf); err != nil {
				return fmt.Errorf("create flow %s: %w", nf.Slug, err)
			}
			for _, ds := range df.stages {
				s, err := tx.StageByName(ctx, ds.name)
				if errors.Is(err, store.ErrNotFound) {
					settings := maps.Clone(ds.settings)
					if settings["configure_flow"] == ownFlow {
						settings["configure_flow"] = nf.UUID.String()
					}
					s = &store.Stage{Name: ds.name, Type: ds.typ, Settings: settings}
					err = tx.CreateStage(ctx, s)
				}
				if err != nil {
					return fmt.Errorf("stage %s: %w", ds.name, err)
				}
				b := &store.FlowStageBinding{FlowUUID: nf.UUID, StageUUID: s.UUID, Order: ds.order, ReEvaluatePolicies: true}
				if err := tx.CreateFlowStageBinding(ctx, b); err != nil {
					return fmt.Errorf("bind %s: %w", ds.name, err)
				}
				if err := bindPolicies(ctx, tx, b.UUID, ds.policies); err != nil {
					return err
				}
			}
			if err := bindPolicies(ctx, tx, nf.UUID, df.policies); err != nil {
				return err
			}
			ids[nf.Slug] = nf.UUID
			created = append(created, nf.Slug)
		}
		brands, err := tx.ListBrands(ctx)
		if err != nil {
			return err
		}
		for _, b := range brands {
			if !b.Default {
				continue
			}
			changed := false
			for _, bf := range []struct {
				field **uuid.UUID
				slug  string
			}{
				{&b.FlowAuthentication, DefaultAuthenticationFlow},
				{&b.FlowInvalidation, DefaultInvalidationFlow},
				{&b.FlowRecovery, DefaultRecoveryFlow},
				{&b.FlowUserSettings, DefaultUserSettingsFlow},
			} {
				if *bf.field == nil && slices.Contains(created, bf.slug) {
					id := ids[bf.slug]
					*bf.field, changed = &id, true
				}
			}
			if changed {
				return tx.UpdateBrand(ctx, b)
			}
		}
		return nil
	})
	return created, err
}

// bindPolicies creates (or reuses, by name) each policy and binds it to target.
func bindPolicies(ctx context.Context, tx store.Store, target uuid.UUID, ps []defaultPolicy) error {
	for i, dp := range ps {
		p, err := tx.PolicyByName(ctx, dp.name)
		if errors.Is(err, store.ErrNotFound) {
			p = &store.Policy{Name: dp.name, Type: dp.typ, Settings: dp.settings}
			err = tx.CreatePolicy(ctx, p)
		}
		if err != nil {
			return fmt.Errorf("policy %s: %w", dp.name, err)
		}
		if err := tx.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: target, PolicyUUID: &p.UUID, Order: i,
			Enabled: true, Timeout: 30}); err != nil {
			return fmt.Errorf("bind policy %s: %w", dp.name, err)
		}
	}
	return nil
}
