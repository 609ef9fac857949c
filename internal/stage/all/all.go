// Package all lists every built-in stage type: adding a stage is writing its
// package and adding it here.
package all

import (
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatoremail"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorsms"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorstatic"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatortotp"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorvalidate"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorwebauthn"
	"github.com/gatehouse-idp/gatehouse/internal/stage/captcha"
	"github.com/gatehouse-idp/gatehouse/internal/stage/consent"
	"github.com/gatehouse-idp/gatehouse/internal/stage/deny"
	"github.com/gatehouse-idp/gatehouse/internal/stage/dummy"
	"github.com/gatehouse-idp/gatehouse/internal/stage/email"
	"github.com/gatehouse-idp/gatehouse/internal/stage/identification"
	"github.com/gatehouse-idp/gatehouse/internal/stage/invitation"
	"github.com/gatehouse-idp/gatehouse/internal/stage/password"
	"github.com/gatehouse-idp/gatehouse/internal/stage/prompt"
	"github.com/gatehouse-idp/gatehouse/internal/stage/redirect"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userdelete"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogin"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogout"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userwrite"
)

// Type is one stage type.
type Type struct {
	Name      string // Gatehouse's type name (stored in stages.type)
	ModelName string // authentik's model name, an alias
	New       flow.Factory
}

// Types lists every built-in stage type.
func Types() []Type {
	return []Type{
		{identification.Type, identification.ModelName, identification.New},
		{password.Type, password.ModelName, password.New},
		{userlogin.Type, userlogin.ModelName, userlogin.New},
		{userlogout.Type, userlogout.ModelName, userlogout.New},
		{deny.Type, deny.ModelName, deny.New},
		{dummy.Type, dummy.ModelName, dummy.New},
		{prompt.Type, prompt.ModelName, prompt.New},
		{userwrite.Type, userwrite.ModelName, userwrite.New},
		{invitation.Type, invitation.ModelName, invitation.New},
		{redirect.Type, redirect.ModelName, redirect.New},
		{captcha.Type, captcha.ModelName, captcha.New},
		{userdelete.Type, userdelete.ModelName, userdelete.New},
		{email.Type, email.ModelName, email.New},
		{consent.Type, consent.ModelName, consent.New},
		{authenticatortotp.Type, authenticatortotp.ModelName, authenticatortotp.New},
		{authenticatorstatic.Type, authenticatorstatic.ModelName, authenticatorstatic.New},
		{authenticatorvalidate.Type, authenticatorvalidate.ModelName, authenticatorvalidate.New},
		{authenticatoremail.Type, authenticatoremail.ModelName, authenticatoremail.New},
		{authenticatorsms.Type, authenticatorsms.ModelName, authenticatorsms.New},
		{authenticatorwebauthn.Type, authenticatorwebauthn.ModelName, authenticatorwebauthn.New},
	}
}

// Lookup finds a type by name or authentik model name.
func Lookup(name string) (Type, bool) {
	for _, t := range Types() {
		if t.Name == name || t.ModelName == name {
			return t, true
		}
	}
	return Type{}, false
}

// Registry returns the stage registry, keyed by Gatehouse type and by
// authentik model name.
func Registry() flow.Registry {
	r := flow.Registry{}
	for _, t := range Types() {
		r[t.Name], r[t.ModelName] = t.New, t.New
	}
	return r
}
