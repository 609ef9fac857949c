package notify

import (
	"context"
	"fmt"

	"github.com/gatehouse-idp/gatehouse/internal/policy/eventmatcher"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// interest is what the rules can match, as far as can be told without
// evaluating them: nothing (no rule has a binding), events of some actions
// (every enabled binding is an event matcher with an action, as in the
// default rules), or any event. Recording an event that no rule can match
// then enqueues nothing: a login costs no dispatch while the only rules
// watch configuration errors.
type interest struct {
	any     bool
	actions map[string]bool
}

func (i interest) wants(action string) bool { return i.any || i.actions[action] }

// interested reports whether a rule may match an event with this action,
// from a cache of ruleCacheTTL (Invalidate drops it).
func (s *Service) interested(ctx context.Context, action string) bool {
	now := s.now()
	s.mu.Lock()
	if !s.checked.IsZero() && now.Sub(s.checked) < ruleCacheTTL {
		in := s.interest
		s.mu.Unlock()
		return in.wants(action)
	}
	s.mu.Unlock()
	in, err := s.readInterest(ctx)
	if err != nil {
		s.log().Error("notification rules: reading", "error", err)
		return true // let the worker find out
	}
	s.mu.Lock()
	s.interest, s.checked = in, now
	s.mu.Unlock()
	return in.wants(action)
}

// readInterest reads the rules' bindings. A rule matches when any of its
// bindings passes ("any" mode); a binding can only pass for an event whose
// action its event matcher names, unless it is negated, binds a user or a
// group, or another policy type (then any event may match).
func (s *Service) readInterest(ctx context.Context) (interest, error) {
	in := interest{actions: map[string]bool{}}
	rules, _, err := s.Store.ListNotificationRules(ctx, store.ListOptions{Page: store.Page{Limit: maxRules}})
	if err != nil {
		return in, err
	}
	for _, r := range rules {
		bs, err := s.Store.PolicyBindings(ctx, r.UUID)
		if err != nil {
			return in, fmt.Errorf("bindings of rule %s: %w", r.Name, err)
		}
		for _, b := range bs {
			if !b.Enabled {
				continue
			}
			if b.Negate || b.PolicyUUID == nil {
				return interest{any: true}, nil
			}
			p, err := s.Store.PolicyByUUID(ctx, *b.PolicyUUID)
			if err != nil {
				return in, fmt.Errorf("policy of rule %s: %w", r.Name, err)
			}
			action, _ := p.Settings["action"].(string)
			if p.Type != eventmatcher.Type || action == "" {
				return interest{any: true}, nil
			}
			in.actions[action] = true
		}
	}
	return in, nil
}
