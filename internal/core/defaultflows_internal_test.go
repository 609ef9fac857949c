package core

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Flows share a stage or a policy by name (the initial setup reuses the
// password change flow's write stage, for one), and whichever flow is
// created first makes it: a name must mean one thing throughout the table.
func TestDefaultFlowNamesAgree(t *testing.T) {
	type def struct {
		typ      string
		settings any
	}
	stages, policies := map[string]def{}, map[string]def{}
	same := func(kind string, seen map[string]def, name string, d def) {
		if prev, ok := seen[name]; ok {
			if diff := cmp.Diff(prev, d, cmp.AllowUnexported(def{})); diff != "" {
				t.Errorf("%s %s is defined twice, differently (-first +second):\n%s", kind, name, diff)
			}
			return
		}
		seen[name] = d
	}
	for _, df := range defaultFlows {
		for _, p := range df.policies {
			same("policy", policies, p.name, def{p.typ, p.settings})
		}
		for _, s := range df.stages {
			same("stage", stages, s.name, def{s.typ, s.settings})
			for _, p := range s.policies {
				same("policy", policies, p.name, def{p.typ, p.settings})
			}
		}
	}
}
