// Package all lists every built-in policy type: adding a policy type is
// writing its package and adding it here.
package all

import (
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/policy/dummy"
)

// Registry returns the policy registry, keyed by Gatehouse type and by
// authentik model name.
func Registry() policy.Registry {
	r := policy.Registry{}
	for _, p := range []struct {
		typ, model string
		e          policy.Evaluator
	}{
		{"dummy", "authentik_policies_dummy.dummypolicy", dummy.Evaluator{}},
	} {
		r[p.typ], r[p.model] = p.e, p.e
	}
	return r
}
