// Package flow is the engine behind every login: it plans a flow (an ordered
// list of stages gated by policies) for a request, keeps the plan in the
// browser session, and executes it one stage at a time through authentik's
// challenge/response protocol (the flow executor API).
//
// The state machine of one execution:
//
//	GET executor/<slug>/
//	   │
//	   ├─ no plan for this flow in the session ─> plan:
//	   │      check the flow's authentication requirement ─ fails ─> ak-stage-access-denied
//	   │      evaluate the flow's policy bindings ───────── fails ─> ak-stage-access-denied
//	   │      for each stage binding in order: evaluate_on_plan bindings are checked now
//	   │      (dropped when failing); re_evaluate_policies ones are marked
//	   │
//	   └─> current stage ─ re-evaluated and failing ─> skipped, next
//	          │
//	          Enter ─┬─ challenge ─────────────────> JSON challenge (component, flow_info, ...)
//	                 ├─ done (no interaction) ─────> next stage
//	                 └─ deny ───────────────────────> ak-stage-access-denied, plan dropped
//
//	POST executor/<slug>/ (a response)
//	   └─> current stage Submit ─┬─ errors ────────> same challenge with response_errors
//	                             │                   (or restart, per invalid_response_action)
//	                             ├─ done ──────────> 302 to GET (the next stage)
//	                             └─ deny ──────────> ak-stage-access-denied
//
//	no stage left ─> xak-flow-redirect to the plan's redirect, ?next= (same-site only) or "/"
//
// Stages implement Stage and are listed in internal/stage/all; the executor
// owns what they share: plan state, policy re-evaluation, error rendering
// and the wire format.
package flow
