// Package dummy is authentik's dummy policy: a fixed result after a random
// wait, for testing flows and timeouts.
package dummy

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Evaluator implements policy.Evaluator. Settings: result (bool),
// wait_min and wait_max (seconds).
type Evaluator struct{}

var _ policy.Evaluator = Evaluator{}

// Evaluate waits, then returns the configured result.
func (Evaluator) Evaluate(ctx context.Context, p *store.Policy, _ policy.Request) (policy.Result, error) {
	result, _ := p.Settings["result"].(bool)
	lo, _ := p.Settings["wait_min"].(float64)
	hi, _ := p.Settings["wait_max"].(float64)
	if hi > lo && hi > 0 {
		wait := lo + rand.Float64()*(hi-lo)
		select {
		case <-ctx.Done():
			return policy.Result{}, ctx.Err()
		case <-time.After(time.Duration(wait * float64(time.Second))):
		}
	}
	return policy.Result{Passing: result}, nil
}
