// Package reputation is authentik's reputation policy. Failed logins lower a
// score per username and per client IP, successful ones raise it (see
// flow.Run.AdjustReputation); the policy passes when the summed score is at
// or below its threshold, as authentik's does: bind it negated to block
// clients with a bad reputation, or as is to add a stage (a captcha) for them.
package reputation

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "reputation"
	ModelName = "authentik_policies_reputation.reputationpolicy"
)

// Store is what the policy reads.
type Store interface {
	ReputationScore(ctx context.Context, identifier, ip string, now time.Time) (int, error)
}

// Evaluator implements policy.Evaluator.
type Evaluator struct{ Store Store }

var _ policy.Evaluator = Evaluator{}

type settings struct {
	checkIP, checkUsername bool
	threshold              int
}

func parse(s store.Attributes) (settings, error) {
	out := settings{checkIP: true, checkUsername: true, threshold: -5}
	for key, dst := range map[string]*bool{"check_ip": &out.checkIP, "check_username": &out.checkUsername} {
		if v, ok := s[key]; ok {
			b, isBool := v.(bool)
			if !isBool {
				return out, fmt.Errorf("%s must be true or false", key)
			}
			*dst = b
		}
	}
	if v, ok := s["threshold"]; ok {
		f, isNum := v.(float64)
		if !isNum || f != float64(int(f)) {
			return out, fmt.Errorf("threshold must be a whole number")
		}
		out.threshold = int(f)
	}
	if !out.checkIP && !out.checkUsername {
		return out, fmt.Errorf("check_ip or check_username must be on")
	}
	return out, nil
}

// Validate checks settings at save time.
func Validate(s store.Attributes) error { _, err := parse(s); return err }

// Evaluate sums the request's reputation.
func (e Evaluator) Evaluate(ctx context.Context, p *store.Policy, req policy.Request) (policy.Result, error) {
	st, err := parse(p.Settings)
	if err != nil {
		return policy.Result{}, err
	}
	var identifier, ip string
	if st.checkUsername {
		if req.User != nil {
			identifier = req.User.Username
		} else if id, ok := req.Context["pending_user_identifier"].(string); ok {
			identifier = id
		}
	}
	if st.checkIP {
		ip = req.ClientIP
	}
	score, err := e.Store.ReputationScore(ctx, identifier, ip, time.Now())
	if err != nil {
		return policy.Result{}, err
	}
	return policy.Result{Passing: score <= st.threshold}, nil
}
