package password

import (
	"context"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func TestEvaluatorReadsPromptData(t *testing.T) {
	p := &store.Policy{Name: "pw", Type: "password", Settings: store.Attributes{"length_min": 12.0, "amount_digits": 1.0}}
	if err := Validate(p.Settings); err != nil {
		t.Fatal(err)
	}
	if err := Validate(store.Attributes{"length_min": -1.0}); err == nil {
		t.Error("a negative length was accepted")
	}
	for pw, want := range map[string]bool{"short1": false, "long enough but no digit": false, "long enough with 1 digit": true} {
		r, err := Evaluator{}.Evaluate(context.Background(), p, policy.Request{
			User: &store.User{Username: "alice"}, Context: map[string]any{"prompt_data": map[string]any{"password": pw}}})
		if err != nil || r.Passing != want {
			t.Errorf("%q: passing %v (%v), want %v; messages %v", pw, r.Passing, err, want, r.Messages)
		}
		if !want && len(r.Messages) == 0 {
			t.Errorf("%q: failed without a message", pw)
		}
	}
}
