package flow

// Plan context auth_method values (authentik's PLAN_CONTEXT_METHOD) that
// stages other than the one setting them act on.
const (
	// AuthMethodPasskey: the user was identified and authenticated by a
	// passkey (a discoverable WebAuthn credential) in the identification
	// stage. The password and authenticator_validate stages then pass
	// without asking: authentik's default flow skips them with policies on
	// their bindings; here the stages check Context.PasskeyLogin, so any
	// flow gets it without extra policies.
	AuthMethodPasskey = "auth_webauthn_pwl"
)

// PasskeyLogin tells whether the plan's user logged in with a passkey.
func (c *Context) PasskeyLogin() bool { return c.AuthMethod == AuthMethodPasskey }
