package blueprint_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
)

// FuzzApply applies arbitrary blueprints, in dry runs, to a bootstrapped
// instance with the default flows: whatever the values (wrong types,
// dangling references, odd states), Apply returns a result or an error and
// never panics, and errors from entries are *blueprint.Error.
func FuzzApply(f *testing.F) {
	for _, name := range []string{"authentication-flow.yaml", "templated.yaml", "default-authentication-flow.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range []string{
		"version: 1\nentries:\n- {model: authentik_core.user, identifiers: {username: [1]}, attrs: {groups: {a: b}, type: x}}\n",
		"version: 1\nentries:\n- {model: authentik_flows.flowstagebinding, identifiers: {target: 1, stage: null, order: 1.5}}\n",
		"version: 1\nentries:\n- {model: authentik_policies.policybinding, state: absent, identifiers: {pk: abc, target: !Find [authentik_core.application, [slug, x]]}}\n",
		"version: 1\nentries:\n- {model: authentik_stages_prompt.promptstage, identifiers: {name: p}, attrs: {fields: [1, {a: b}, [x]]}}\n",
		"version: 1\nentries:\n- {model: authentik_providers_oauth2.oauth2provider, identifiers: {name: p}, attrs: {redirect_uris: \"a\\nb\", property_mappings: [x]}}\n",
		"version: 1\nentries:\n- {model: authentik_brands.brand, identifiers: {domain: d, default: true}, attrs: {attributes: [], flow_authentication: !Find [authentik_flows.flow, [slug__iexact, DEFAULT-AUTHENTICATION-FLOW]]}}\n",
	} {
		f.Add([]byte(seed))
	}
	st := bootstrapped(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		bp, err := blueprint.Parse(data)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = blueprint.Apply(ctx, st, bp, blueprint.Options{DryRun: true, Limits: blueprint.Limits{MaxNodes: 10000}})
		var be *blueprint.Error
		if err != nil && !errors.As(err, &be) && ctx.Err() == nil {
			t.Errorf("error without an entry: %v", err)
		}
	})
}
