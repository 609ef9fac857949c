package blueprint_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// bigBlueprint has n*10 entries: per unit a group, a flow with an
// identification, a password and a login stage, their three bindings, an
// expression policy and its binding to the password stage's binding.
func bigBlueprint(n int) string {
	var b strings.Builder
	b.WriteString("version: 1\nmetadata: {name: Benchmark}\nentries:\n")
	for i := range n {
		fmt.Fprintf(&b, `
  - model: authentik_core.group
    identifiers: {name: bench-group-%[1]d}
    attrs: {attributes: {unit: %[1]d}}
  - model: authentik_flows.flow
    id: flow-%[1]d
    identifiers: {slug: bench-flow-%[1]d}
    attrs: {name: Bench %[1]d, title: Bench %[1]d, designation: authentication}
  - model: authentik_stages_identification.identificationstage
    id: ident-%[1]d
    identifiers: {name: bench-ident-%[1]d}
    attrs: {user_fields: [username, email]}
  - model: authentik_stages_password.passwordstage
    id: password-%[1]d
    identifiers: {name: bench-password-%[1]d}
    attrs: {backends: [authentik.core.auth.InbuiltBackend], failed_attempts_before_cancel: 5}
  - model: authentik_stages_user_login.userloginstage
    id: login-%[1]d
    identifiers: {name: bench-login-%[1]d}
    attrs: {session_duration: seconds=0}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow-%[1]d, stage: !KeyOf ident-%[1]d, order: 10}
  - model: authentik_flows.flowstagebinding
    id: password-binding-%[1]d
    identifiers: {target: !KeyOf flow-%[1]d, stage: !KeyOf password-%[1]d, order: 20}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow-%[1]d, stage: !KeyOf login-%[1]d, order: 100}
  - model: authentik_policies_expression.expressionpolicy
    id: policy-%[1]d
    identifiers: {name: bench-policy-%[1]d}
    attrs: {expression: "return context.get('auth_method', 'password') == 'password'"}
  - model: authentik_policies.policybinding
    identifiers: {target: !KeyOf password-binding-%[1]d, policy: !KeyOf policy-%[1]d, order: 0}
`, i)
	}
	return b.String()
}

// engines runs fn on a fresh migrated store of each engine (PostgreSQL when
// GATEHOUSE_TEST_POSTGRES_URL is set).
func engines(b *testing.B, fn func(b *testing.B, open func() store.Store)) {
	b.Run("sqlite", func(b *testing.B) {
		fn(b, func() store.Store { return openStore(b) })
	})
	b.Run("postgres", func(b *testing.B) {
		if testenv.CI() {
			b.Skip("benchmarks only on demand") // keep CI's benchmark smoke runs short
		}
		fn(b, func() store.Store {
			ctx := context.Background()
			st, err := sqlstore.OpenPostgres(ctx, testenv.PostgresDB(b), sqlstore.Options{MaxConns: 4})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			if _, err := st.Migrate(ctx, nil); err != nil {
				b.Fatal(err)
			}
			return st
		})
	})
}

// BenchmarkApply1000 applies a 1,000-entry blueprint to an empty instance
// (issue: <= 2 s on SQLite and PostgreSQL).
func BenchmarkApply1000(b *testing.B) {
	bp := parse(b, bigBlueprint(100))
	engines(b, func(b *testing.B, open func() store.Store) {
		for b.Loop() {
			b.StopTimer()
			st := open()
			b.StartTimer()
			res, err := blueprint.Apply(context.Background(), st, bp, blueprint.Options{})
			if err != nil || res.Created != 1000 {
				b.Fatalf("%+v %v", countsOf(res), err)
			}
		}
	})
}

// BenchmarkReapply1000 applies the same blueprint again: nothing changes
// (issue: <= 300 ms).
func BenchmarkReapply1000(b *testing.B) {
	bp := parse(b, bigBlueprint(100))
	engines(b, func(b *testing.B, open func() store.Store) {
		st := open()
		if _, err := blueprint.Apply(context.Background(), st, bp, blueprint.Options{}); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			res, err := blueprint.Apply(context.Background(), st, bp, blueprint.Options{})
			if err != nil || res.Unchanged != 1000 {
				b.Fatalf("%+v %v", countsOf(res), err)
			}
		}
	})
}
