package oauth2

import (
	"slices"
	"testing"
)

// How a session logged in maps to RFC 8176 amr values: an MFA login
// (authenticator_validate after the password) says so.
func TestAMROf(t *testing.T) {
	for method, want := range map[string][]string{
		"password":          {"pwd"},
		"auth_mfa":          {"pwd", "mfa"},
		"auth_webauthn_pwl": {"user"},
		"":                  {},
	} {
		if got := amrOf(method); !slices.Equal(got, want) {
			t.Errorf("amrOf(%q) = %v, want %v", method, got, want)
		}
	}
}
