package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// planKey is where the plan lives in the session data.
const planKey = "flow_plan"

// maxResponseBytes bounds a challenge response body.
const maxResponseBytes = 256 << 10

// Executor runs flows. It serves GET and POST on the executor route.
type Executor struct {
	Store    store.Store
	Stages   Registry
	Policies *policy.Engine
	Sessions *session.Manager
	Events   Events
	// Mail sends the email stage's messages; nil when no mail is configured.
	Mail Mailer
	// MailTemplates renders the messages stages send: the built-in
	// templates and those under email.template_dir; nil renders the
	// built-in ones only.
	MailTemplates *mail.Templates
	// Builtins are stages code appends to a plan (Executor.Start), by name.
	Builtins map[string]Stage
	// Secrets seals the secrets stages keep at rest or in the plan (TOTP
	// keys, recovery codes not yet saved); nil when none is configured, and
	// then the stages that need it fail.
	Secrets Sealer
	// Definitions caches flows, stages and bindings between requests; nil
	// reads them from the store on every request.
	Definitions *Definitions
	Log         *slog.Logger
	Now         func() time.Time
}

// Sealer encrypts small secrets (crypto.Sealer).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// Mailer sends one message (mail.Sender).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

func (e *Executor) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

// DeniedError carries an access-denied message out of planning.
type DeniedError struct{ Message string }

func (e DeniedError) Error() string { return e.Message }

// Outcome is what one executor request produced, for a front-end (the JSON
// executor API or the HTML flow UI) to render.
type Outcome struct {
	// Challenge to show; nil with Again or NotFound.
	Challenge Challenge
	// Again: a stage finished; the client should GET the executor again
	// (authentik's 302 to itself).
	Again bool
	// NotFound: no such flow.
	NotFound bool
}

// ServeHTTP is the JSON executor API: GET|POST /api/v3/flows/executor/{slug}/.
func (e *Executor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var resp Response
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes+1))
		if err != nil || len(body) > maxResponseBytes || json.Unmarshal(body, &resp) != nil || resp == nil {
			resp = Response{} // answered as an invalid response to the current stage
			resp["_invalid"] = json.RawMessage("true")
		}
	}
	o := e.Execute(w, r, chi.URLParam(r, "slug"), resp)
	switch {
	case o.NotFound:
		writeJSON(w, http.StatusNotFound, map[string]string{"detail": "Not found."})
	case o.Again:
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
	default:
		writeJSON(w, http.StatusOK, o.Challenge)
	}
}

// Execute runs one step of the flow slug for the request: a GET when resp is
// nil, else the response to the current stage. Session cookies are written
// to w.
func (e *Executor) Execute(w http.ResponseWriter, r *http.Request, slug string, resp Response) Outcome {
	ctx := r.Context()
	flow, err := e.flow(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{NotFound: true}
	} else if err != nil {
		return e.fail(r, nil, err)
	}
	sess, err := e.Sessions.Load(ctx, r)
	if err != nil {
		return e.fail(r, flow, err)
	}
	if sess == nil {
		sess = e.Sessions.Start(w, r) // stored when the plan is
	}
	run := &Run{Executor: e, Request: r, Writer: w, Session: sess, Flow: flow, Log: e.logger()}
	if sess.UserPK != nil {
		if u, err := e.Store.UserByPK(ctx, *sess.UserPK); err == nil && u.IsActive {
			run.User = u
		}
	}
	var plan Plan
	if restored := e.restore(run); restored != nil {
		run.Plan = restored
	} else if session.Get(sess, planKey, &plan) && plan.FlowUUID == flow.UUID {
		run.Plan = &plan
	} else {
		if resp != nil {
			// A response for a plan that no longer exists: start over.
			return Outcome{Again: true}
		}
		p, err := e.plan(ctx, run)
		if err == nil && len(p.Stages) == 0 {
			err = DeniedError{"Flow has no stages to run."}
		}
		var denied DeniedError
		if errors.As(err, &denied) {
			return e.respond(run, &AccessDeniedChallenge{Base: Base{Component: "ak-stage-access-denied"}, ErrorMessage: denied.Message})
		} else if err != nil {
			return e.fail(r, flow, err)
		}
		p.Context.Redirect = nextFromQuery(r)
		p.Context.Query = originalQuery(r)
		run.Plan = p
	}
	if resp != nil {
		return e.post(run, resp)
	}
	return e.advance(run)
}

// Start plans flow f for the request's session (starting one if needed),
// lets seed fill the plan context, appends the builtin stage (when not
// empty) and stores the plan: the flow UI or the executor API then runs it.
// This is how a provider hands a user to its authorization flow and gets
// the result back in its fulfillment stage (authentik's planner.plan with
// an appended stage). Planning denials are DeniedError.
func (e *Executor) Start(w http.ResponseWriter, r *http.Request, f *store.Flow, seed func(*Context), builtin string) error {
	ctx := r.Context()
	sess, err := e.Sessions.Load(ctx, r)
	if err != nil {
		return err
	}
	if sess == nil {
		sess = e.Sessions.Start(w, r) // stored with the plan below
	}
	run := &Run{Executor: e, Request: r, Writer: w, Session: sess, Flow: f, Log: e.logger()}
	if sess.UserPK != nil {
		if u, err := e.Store.UserByPK(ctx, *sess.UserPK); err == nil && u.IsActive {
			run.User = u
		}
	}
	if seed != nil {
		// The seed goes in first, so that flow policies see it too.
		run.Plan = &Plan{FlowUUID: f.UUID, FlowSlug: f.Slug}
		seed(&run.Plan.Context)
	}
	seeded := Context{}
	if run.Plan != nil {
		seeded = run.Plan.Context
	}
	p, err := e.planSeeded(ctx, run, seeded)
	if err != nil {
		return err
	}
	if builtin != "" {
		if _, ok := e.Builtins[builtin]; !ok {
			return fmt.Errorf("no builtin stage %q", builtin)
		}
		p.Stages = append(p.Stages, PlannedStage{Builtin: builtin})
	}
	if len(p.Stages) == 0 {
		return DeniedError{"Flow has no stages to run."}
	}
	run.Plan = p
	e.savePlan(run)
	return nil
}

// FlowTokenParam is the query parameter of an email link: the key of a
// verification token that carries the plan to resume (authentik's
// flow_token).
const FlowTokenParam = "flow_token"

// restore resumes the plan of a flow token from the request's original
// query (?query=flow_token%3D...), in whatever browser opened the link. The
// token is deleted on use (single use); an unknown, expired or foreign
// token is ignored and the flow runs as usual.
func (e *Executor) restore(run *Run) *Plan {
	if run.Request.Method != http.MethodGet {
		return nil
	}
	key := originalQuery(run.Request)[FlowTokenParam]
	if key == "" {
		return nil
	}
	ctx := run.Request.Context()
	tok, err := e.Store.TokenByKeyHash(ctx, core.HashTokenKey(key))
	if err != nil || tok.Intent != store.IntentVerification || tok.FlowPlan == "" || tok.Expired(e.now()) {
		// Debug: the HTML UI keeps ?flow_token= in its address after the
		// link was used, so every later step of that flow lands here.
		run.Log.Debug("flow token not usable", "flow", run.Flow.Slug, "found", err == nil)
		return nil
	}
	var p Plan
	if json.Unmarshal([]byte(tok.FlowPlan), &p) != nil || p.FlowUUID != run.Flow.UUID {
		return nil // a link for another flow does not use the token up
	}
	if err := e.Store.DeleteToken(ctx, tok.UUID); err != nil {
		return nil // used concurrently
	}
	p.Context.IsRestored = true
	return &p
}

func (e *Executor) logger() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.New(slog.DiscardHandler)
}

// plan builds a plan for run.Flow (authentik's FlowPlanner).
func (e *Executor) plan(ctx context.Context, run *Run) (*Plan, error) {
	return e.planSeeded(ctx, run, Context{})
}

// planSeeded builds a plan whose context starts as seed.
func (e *Executor) planSeeded(ctx context.Context, run *Run, seed Context) (*Plan, error) {
	f := run.Flow
	switch f.Authentication {
	case "require_authenticated":
		if run.User == nil {
			return nil, DeniedError{"Flow requires authentication."}
		}
	case "require_unauthenticated":
		if run.User != nil {
			return nil, DeniedError{"Flow requires unauthenticated."}
		}
	case "require_superuser":
		if run.User == nil {
			return nil, DeniedError{"Flow requires a superuser."}
		}
		su, err := e.Store.UserIsSuperuser(ctx, run.User.PK)
		if err != nil {
			return nil, err
		}
		if !su {
			return nil, DeniedError{"Flow requires a superuser."}
		}
	case "require_outpost", "require_redirect":
		return nil, DeniedError{"Flow cannot be executed directly."}
	}
	run.Plan = &Plan{FlowUUID: f.UUID, FlowSlug: f.Slug, Context: seed}
	res, _, err := e.evaluate(ctx, run, f.UUID, f.PolicyEngineMode)
	if err != nil {
		return nil, err
	}
	if res.Passing {
		applyPolicyContext(run.Plan, res.PlanContext)
	}
	if !res.Passing {
		msg := "Flow is not applicable."
		if len(res.Messages) > 0 {
			msg = strings.Join(res.Messages, " ")
		}
		return nil, DeniedError{msg}
	}
	bindings, err := e.stageBindings(ctx, f.UUID)
	if err != nil {
		return nil, err
	}
	for _, b := range bindings {
		if b.EvaluateOnPlan {
			res, _, err := e.evaluate(ctx, run, b.UUID, b.PolicyEngineMode)
			if err != nil {
				return nil, err
			}
			if !res.Passing {
				continue
			}
			applyPolicyContext(run.Plan, res.PlanContext)
		}
		run.Plan.Stages = append(run.Plan.Stages, PlannedStage{BindingUUID: b.UUID, StageUUID: b.StageUUID,
			Reevaluate: b.ReEvaluatePolicies, PolicyEngineMode: b.PolicyEngineMode,
			InvalidResponseAction: b.InvalidResponseAction})
	}
	return run.Plan, nil
}

// current loads the current stage, skipping those whose re-evaluated
// policies fail. It returns nil when the plan is done.
func (e *Executor) current(ctx context.Context, run *Run) (Stage, error) {
	for run.Plan.Current < len(run.Plan.Stages) {
		run.reevaluated = false
		ps := run.Plan.Stages[run.Plan.Current]
		if ps.Builtin != "" {
			b, ok := e.Builtins[ps.Builtin]
			if !ok {
				return nil, fmt.Errorf("no builtin stage %q", ps.Builtin)
			}
			run.Stage = &store.Stage{Name: ps.Builtin, Type: ps.Builtin}
			return b, nil
		}
		st, impl, buildErr := e.stage(ctx, ps.StageUUID)
		if st == nil {
			return nil, fmt.Errorf("stage %s: %w", ps.StageUUID, buildErr)
		}
		run.Stage = st
		if ps.Reevaluate && !run.entered() {
			res, asked, err := e.evaluate(ctx, run, ps.BindingUUID, ps.PolicyEngineMode)
			if err != nil {
				return nil, err
			}
			run.reevaluated = asked
			if !res.Passing {
				run.Plan.Current++
				continue
			}
			applyPolicyContext(run.Plan, res.PlanContext)
		}
		return impl, buildErr
	}
	return nil, nil
}

// entered tells whether the current stage was already shown after its
// policies were evaluated (they are evaluated once, when it is reached).
// Only stages whose policies the engine evaluated are marked: a binding
// without policies has nothing to remember, and its GET writes nothing.
func (r *Run) entered() bool {
	v, _ := r.Plan.Context.StageState[r.Stage.UUID.String()]["_entered"].(bool)
	return v
}

// advance runs stages until one needs the user, or the plan ends.
func (e *Executor) advance(run *Run) Outcome {
	ctx := run.Request.Context()
	for steps := 0; steps < 100; steps++ {
		stage, err := e.current(ctx, run)
		if err != nil {
			return e.fail(run.Request, run.Flow, err)
		}
		if stage == nil {
			return e.finish(run)
		}
		step, err := stage.Enter(ctx, run)
		if err != nil {
			return e.fail(run.Request, run.Flow, err)
		}
		if run.reevaluated {
			run.State()["_entered"] = true
		}
		if o, final := e.handle(run, step); final {
			return o
		}
	}
	return e.fail(run.Request, run.Flow, errors.New("flow does not settle"))
}

// handle acts on a step; final reports whether o is the answer.
func (e *Executor) handle(run *Run, step Step) (o Outcome, final bool) {
	switch {
	case step.Deny != "":
		e.dropPlan(run)
		return e.respond(run, &AccessDeniedChallenge{Base: Base{Component: "ak-stage-access-denied"}, ErrorMessage: step.Deny}), true
	case step.Restart:
		e.dropPlan(run)
		return Outcome{Again: true}, true
	case step.RedirectTo != "":
		e.dropPlan(run)
		return e.respond(run, &RedirectChallenge{Base: Base{Component: "xak-flow-redirect"}, To: step.RedirectTo}), true
	case step.Done:
		run.Plan.Current++
		return Outcome{}, false
	case step.Challenge != nil:
		e.savePlan(run)
		return e.respond(run, step.Challenge), true
	}
	return e.fail(run.Request, run.Flow, errors.New("stage returned an empty step")), true
}

// post handles a challenge response.
func (e *Executor) post(run *Run, resp Response) Outcome {
	ctx := run.Request.Context()
	stage, err := e.current(ctx, run)
	if err != nil {
		return e.fail(run.Request, run.Flow, err)
	}
	if stage == nil {
		return e.finish(run)
	}
	// A response that is not JSON, or answers another stage than the current
	// one (a replayed POST after the plan moved on): show the current
	// challenge with an error; a stage without a challenge just runs.
	_, invalid := resp["_invalid"]
	if invalid || resp.String("component") != "" {
		current, err := stage.Enter(ctx, run)
		if err != nil {
			return e.fail(run.Request, run.Flow, err)
		}
		if current.Challenge == nil {
			if o, final := e.handle(run, current); final {
				return o
			}
			return e.advance(run)
		}
		if want := current.Challenge.ChallengeBase().Component; invalid || resp.String("component") != want {
			msg := "Invalid response: not a JSON object."
			if !invalid {
				msg = "This response is for another step (" + resp.String("component") + "); this step is " + want + "."
			}
			o, _ := e.handle(run, Invalid(current.Challenge, "non_field_errors", msg, "invalid"))
			return o
		}
	}
	step, err := stage.Submit(ctx, run, resp)
	if err != nil {
		return e.fail(run.Request, run.Flow, err)
	}
	if step.Challenge != nil && len(step.Challenge.ChallengeBase().ResponseErrors) > 0 {
		switch run.Plan.Stages[run.Plan.Current].InvalidResponseAction {
		case "restart":
			e.dropPlan(run)
			return Outcome{Again: true}
		case "restart_with_context":
			run.Plan.Current = 0
			run.Plan.Context.StageState = nil
		}
	}
	if step.Done {
		run.Plan.Current++
		e.savePlan(run)
		return Outcome{Again: true}
	}
	o, final := e.handle(run, step)
	if !final {
		return e.advance(run)
	}
	return o
}

// finish ends the plan with a redirect challenge.
func (e *Executor) finish(run *Run) Outcome {
	to := run.Plan.Context.Redirect
	if to == "" {
		to = "/"
	}
	e.dropPlan(run)
	return e.respond(run, &RedirectChallenge{Base: Base{Component: "xak-flow-redirect"}, To: to})
}

func (e *Executor) savePlan(run *Run) { e.storePlan(run, run.Plan) }

func (e *Executor) dropPlan(run *Run) { e.storePlan(run, nil) }

// storePlan writes the plan (nil: none) into the session, storing a
// session started or rotated by this request. A write that would change
// nothing is skipped unless the session's last use is a minute old: most
// GETs re-show a challenge without touching the plan.
func (e *Executor) storePlan(run *Run, p *Plan) {
	if run.Session == nil {
		return
	}
	before := run.Session.Data
	if p != nil {
		// Stages read their state through Run.State, which makes an empty
		// map: an empty state is no state, and not worth a write.
		for k, st := range p.Context.StageState {
			if len(st) == 0 {
				delete(p.Context.StageState, k)
			}
		}
	}
	var err error
	if p == nil {
		err = session.Set(run.Session, planKey, nil)
	} else {
		err = session.Set(run.Session, planKey, p)
	}
	if err != nil {
		e.logger().Error("encoding the flow plan", "error", err)
		return
	}
	if session.Stored(run.Session) && bytes.Equal(before, run.Session.Data) && e.now().Sub(run.Session.LastUsed) < time.Minute {
		return
	}
	if err := e.Sessions.Save(run.Request.Context(), run.Session); err != nil && !errors.Is(err, store.ErrNotFound) {
		e.logger().Error("saving the flow plan", "error", err)
	}
}

// respond returns a challenge with the flow info filled in.
func (e *Executor) respond(run *Run, c Challenge) Outcome {
	b := c.ChallengeBase()
	if b.FlowInfo == nil && run.Flow != nil {
		b.FlowInfo = &FlowInfo{Title: e.title(run), Background: run.Flow.Background, CancelURL: "/flows/-/cancel/",
			Layout: run.Flow.Layout}
	}
	return Outcome{Challenge: c}
}

// title is the flow's title with authentik's "%(app)s" placeholder filled
// with the plan's application name ("" without one).
func (e *Executor) title(run *Run) string {
	t := run.Flow.Title
	if !strings.Contains(t, "%(app)s") {
		return t
	}
	name := ""
	if run.Plan != nil && run.Plan.Context.Application != "" {
		if app, err := e.Store.ApplicationBySlug(run.Request.Context(), run.Plan.Context.Application); err == nil {
			name = app.Name
		}
	}
	return strings.ReplaceAll(t, "%(app)s", name)
}

// fail answers ak-stage-flow-error; the detail goes to the log only.
func (e *Executor) fail(r *http.Request, f *store.Flow, err error) Outcome {
	rid := web.RequestID(r.Context())
	e.logger().Error("flow error", "request_id", rid, "error", err)
	c := &FlowErrorChallenge{Base: Base{Component: "ak-stage-flow-error"}, RequestID: rid}
	if f != nil {
		c.FlowInfo = &FlowInfo{Title: f.Title, Background: f.Background, CancelURL: "/flows/-/cancel/", Layout: f.Layout}
	}
	return Outcome{Challenge: c}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// nextFromQuery takes ?next= from the original query the UI passes as
// ?query=, keeping only same-site relative paths (no open redirect).
func nextFromQuery(r *http.Request) string {
	orig, err := url.ParseQuery(r.URL.Query().Get("query"))
	if err != nil {
		return ""
	}
	return SafeNext(orig.Get("next"))
}

// SafeNext accepts a relative path on this site ("/x", not "//host" or
// "/\host") and rejects everything else.
func SafeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return ""
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return ""
		}
	}
	return next
}

func clientIP(r *http.Request) string {
	if ip := web.ClientIP(r.Context()); ip.IsValid() {
		return ip.String()
	}
	return ""
}

// Cancel drops any flow plan from the session (/flows/-/cancel/).
func Cancel(ctx context.Context, m *session.Manager, s *store.Session) error {
	if err := session.Set(s, planKey, nil); err != nil {
		return err
	}
	return m.Save(ctx, s)
}

// applyPolicyContext takes what policies put in the plan's context
// (authentik's context["flow_plan"].context[...]): the pending user, the
// application (by slug) and the redirect target.
func applyPolicyContext(p *Plan, pc map[string]any) {
	if u, ok := pc["pending_user"].(*store.User); ok && u != nil {
		pk := u.PK
		p.Context.PendingUserPK = &pk
	}
	if app, ok := pc["application"].(string); ok && app != "" {
		p.Context.Application = app // an application slug
	}
	if to, ok := pc["redirect"].(string); ok {
		if next := SafeNext(to); next != "" {
			p.Context.Redirect = next
		}
	}
}

// originalQuery keeps the flow's start query (bounded: 20 keys, 2 KiB values).
func originalQuery(r *http.Request) map[string]string {
	orig, err := url.ParseQuery(r.URL.Query().Get("query"))
	if err != nil || len(orig) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, vs := range orig {
		if len(out) == 20 {
			break
		}
		if len(vs) > 0 && len(k) <= 100 && len(vs[0]) <= 2048 {
			out[k] = vs[0]
		}
	}
	return out
}
