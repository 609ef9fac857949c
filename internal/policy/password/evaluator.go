package password

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Evaluator is the password policy as a policy type: the password comes from
// the flow's prompt data (or context), under Config.PasswordField.
type Evaluator struct {
	// HIBP checks breached passwords when a policy enables it; nil uses the
	// public range API.
	HIBP HIBPChecker
}

var _ policy.Evaluator = Evaluator{}

// ConfigFrom reads a policy's stored settings (authentik's field names).
func ConfigFrom(s store.Attributes) (Config, error) {
	cfg := DefaultConfig()
	raw, err := json.Marshal(s)
	if err != nil {
		return cfg, err
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return cfg, fmt.Errorf("password policy settings: %w", err)
	}
	return cfg, cfg.Validate()
}

// Validate checks settings at save time.
func Validate(s store.Attributes) error {
	_, err := ConfigFrom(s)
	return err
}

// Evaluate checks the password in the request's prompt data.
func (e Evaluator) Evaluate(ctx context.Context, p *store.Policy, req policy.Request) (policy.Result, error) {
	cfg, err := ConfigFrom(p.Settings)
	if err != nil {
		return policy.Result{}, err
	}
	prompt, _ := req.Context["prompt_data"].(map[string]any)
	pw, ok := cfg.Lookup(prompt, req.Context)
	if !ok {
		pw = ""
	}
	var inputs []string
	if req.User != nil {
		inputs = append(inputs, req.User.Username, req.User.Name, req.User.Email)
	}
	var hibp HIBPChecker
	if cfg.CheckHIBP {
		hibp = e.HIBP
		if hibp == nil {
			hibp = &HIBPClient{}
		}
	}
	passing, msgs, err := Check(ctx, cfg, pw, inputs, hibp)
	return policy.Result{Passing: passing, Messages: msgs}, err
}
