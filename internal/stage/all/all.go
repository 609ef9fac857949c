// Package all lists every built-in stage type: adding a stage is writing its
// package and adding it here.
package all

import (
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage/deny"
	"github.com/gatehouse-idp/gatehouse/internal/stage/dummy"
	"github.com/gatehouse-idp/gatehouse/internal/stage/identification"
	"github.com/gatehouse-idp/gatehouse/internal/stage/password"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogin"
	"github.com/gatehouse-idp/gatehouse/internal/stage/userlogout"
)

// Registry returns the stage registry, keyed by Gatehouse type and by
// authentik model name.
func Registry() flow.Registry {
	r := flow.Registry{}
	for _, s := range []struct {
		typ, model string
		f          flow.Factory
	}{
		{identification.Type, identification.ModelName, identification.New},
		{password.Type, password.ModelName, password.New},
		{userlogin.Type, userlogin.ModelName, userlogin.New},
		{userlogout.Type, userlogout.ModelName, userlogout.New},
		{deny.Type, deny.ModelName, deny.New},
		{dummy.Type, dummy.ModelName, dummy.New},
	} {
		r[s.typ], r[s.model] = s.f, s.f
	}
	return r
}
