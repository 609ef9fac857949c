package blueprint

import (
	"slices"
	"strings"
)

// EnvPolicy decides which environment variables !Env may read. authentik
// lets a blueprint read any variable; Gatehouse does not, because a
// blueprint can come from a less trusted place (an API upload, an OCI
// registry) than the process environment, which holds the secret key and
// the database password.
//
// A name is allowed when it is in Allow, or when it starts with one of
// Prefixes and does not look like a secret. A name looks like a secret when
// one of its words (split at "_") is PASSWORD, PASSWD, PASS, SECRET, KEY,
// TOKEN, CREDENTIAL(S) or PRIVATE, whatever the case: GATEHOUSE_SECRET_KEY,
// AUTHENTIK_POSTGRESQL__PASSWORD, SMTP_API_KEY. Only Allow lets those
// through. The zero EnvPolicy allows nothing.
type EnvPolicy struct {
	// Prefixes of names that may be read, like "BLUEPRINT_".
	Prefixes []string
	// Allow lists exact names that may be read, secret-looking or not.
	Allow []string
}

// DefaultEnvPolicy allows the variables authentik's bootstrap blueprint
// reads (AUTHENTIK_BOOTSTRAP_EMAIL, _PASSWORD and _TOKEN) under both the
// AUTHENTIK_ and GATEHOUSE_ prefixes, and nothing else.
func DefaultEnvPolicy() EnvPolicy {
	var allow []string
	for _, p := range []string{"AUTHENTIK_", "GATEHOUSE_"} {
		for _, n := range []string{"BOOTSTRAP_EMAIL", "BOOTSTRAP_PASSWORD", "BOOTSTRAP_TOKEN"} {
			allow = append(allow, p+n)
		}
	}
	return EnvPolicy{Allow: allow}
}

// secretWords are the name parts that mark a variable as a secret.
var secretWords = []string{"PASSWORD", "PASSWD", "PASS", "SECRET", "KEY", "TOKEN", "CREDENTIAL", "CREDENTIALS", "PRIVATE"}

// Allowed reports whether !Env may read the variable.
func (p EnvPolicy) Allowed(name string) bool {
	if name == "" || strings.ContainsAny(name, "=\x00") {
		return false
	}
	if slices.Contains(p.Allow, name) {
		return true
	}
	if looksSecret(name) {
		return false
	}
	for _, pre := range p.Prefixes {
		if strings.HasPrefix(name, pre) {
			return true
		}
	}
	return false
}

func looksSecret(name string) bool {
	for _, w := range strings.FieldsFunc(strings.ToUpper(name), func(r rune) bool {
		return r == '_' || r == '-' || r == '.'
	}) {
		if slices.Contains(secretWords, w) {
			return true
		}
	}
	return false
}
