// Package redirect is authentik's redirect stage: it ends the flow by sending
// the user to a URL or into another flow.
package redirect

import (
	"context"
	"fmt"
	"net/url"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "redirect"
	ModelName = "authentik_stages_redirect.redirectstage"
)

// Stage implements flow.Stage. Settings: mode "static" with target_static (a
// URL), or mode "flow" with target_flow (a flow slug). authentik's
// keep_context is not supported yet: the target flow starts afresh.
type Stage struct {
	Mode         string `json:"mode"`
	TargetStatic string `json:"target_static"`
	TargetFlow   string `json:"target_flow"`
}

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := &Stage{Mode: "static"}
	if err := stage.Decode(attrs, s); err != nil {
		return nil, err
	}
	switch s.Mode {
	case "static":
		u, err := url.Parse(s.TargetStatic)
		if err != nil || s.TargetStatic == "" || (u.Scheme != "http" && u.Scheme != "https" && flow.SafeNext(s.TargetStatic) == "") {
			return nil, fmt.Errorf("redirect: target_static must be an http(s) URL or a path on this site")
		}
	case "flow":
		if s.TargetFlow == "" {
			return nil, fmt.Errorf("redirect: target_flow (a flow slug) is required in flow mode")
		}
	default:
		return nil, fmt.Errorf("redirect: mode must be static or flow")
	}
	return s, nil
}

// Enter ends the flow with the redirect.
func (s *Stage) Enter(context.Context, *flow.Run) (flow.Step, error) {
	if s.Mode == "flow" {
		return flow.Step{RedirectTo: "/if/flow/" + url.PathEscape(s.TargetFlow) + "/"}, nil
	}
	return flow.Step{RedirectTo: s.TargetStatic}, nil
}

// Submit is never called: the stage has no challenge.
func (s *Stage) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	return s.Enter(ctx, r)
}
