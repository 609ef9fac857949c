package expression_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/policy/expression"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The policy's result carries what its expression logged, under the
// policy's name (authentik's log_messages), also when the expression
// fails afterwards; an expression that logs nothing has no log.
func TestEvaluateLog(t *testing.T) {
	st, alice := benchStore()
	e := &expression.Evaluator{Store: st}
	for _, tc := range []struct {
		name, src string
		fails     bool
		want      []policy.LogEntry
	}{
		{name: "silent", src: `return True`},
		{name: "logger and print", src: `ak_logger.warning("odd user", username=request.user.username)
print("seen", request.user.username)
return True`, want: []policy.LogEntry{
			{Level: "warning", Logger: "log-policy", Event: "odd user", Attributes: map[string]any{"username": "alice"}},
			{Level: "info", Logger: "log-policy", Event: "seen alice"},
		}},
		{name: "failing after a log", src: `ak_logger.info("before")
return 1 // 0`, fails: true, want: []policy.LogEntry{
			{Level: "info", Logger: "log-policy", Event: "before"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &store.Policy{Name: "log-policy", Type: expression.Type, Settings: store.Attributes{"expression": tc.src}}
			res, err := e.Evaluate(context.Background(), p, policy.Request{User: alice})
			if (err != nil) != tc.fails {
				t.Fatalf("Evaluate: %v", err)
			}
			if diff := cmp.Diff(tc.want, res.Log, cmpopts.IgnoreFields(policy.LogEntry{}, "Time")); diff != "" {
				t.Errorf("Log (-want +got):\n%s", diff)
			}
			for _, l := range res.Log {
				if l.Time.IsZero() {
					t.Errorf("%q has no time", l.Event)
				}
			}
		})
	}
}
