package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/session"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Stage is one stage type's behaviour. Implementations are stateless; state
// lives in the Run's plan.
type Stage interface {
	// Enter runs when the stage is reached: it returns the challenge to show,
	// or finishes (Done) or denies a stage without interaction.
	Enter(ctx context.Context, r *Run) (Step, error)
	// Submit handles a response to the stage's challenge.
	Submit(ctx context.Context, r *Run, resp Response) (Step, error)
}

// Factory builds a stage from its stored settings.
type Factory func(settings store.Attributes) (Stage, error)

// Registry maps stage types (and authentik model names, as aliases) to factories.
type Registry map[string]Factory

// Step is what a stage says next.
type Step struct {
	Challenge Challenge
	Done      bool
	// Deny ends the flow with an access-denied challenge showing this message.
	Deny string
	// Restart drops the plan and starts the flow again (keeping nothing).
	Restart bool
	// RedirectTo ends the flow with a redirect to this URL (redirect stage).
	RedirectTo string
}

// Errors is a response_errors value: field -> messages.
type Errors map[string][]ErrorDetail

// ErrorDetail is one error, as authentik sends it.
type ErrorDetail struct {
	String string `json:"string"`
	Code   string `json:"code"`
}

// Invalid returns a challenge with errors on one field.
func Invalid(c Challenge, field, msg, code string) Step {
	b := c.ChallengeBase()
	if b.ResponseErrors == nil {
		b.ResponseErrors = Errors{}
	}
	b.ResponseErrors[field] = append(b.ResponseErrors[field], ErrorDetail{String: msg, Code: code})
	return Step{Challenge: c}
}

// Challenge is a stage's question; Base carries the shared fields.
type Challenge interface {
	ChallengeBase() *Base
}

// Base holds the fields every challenge has.
type Base struct {
	Component         string    `json:"component"`
	FlowInfo          *FlowInfo `json:"flow_info,omitempty"`
	ResponseErrors    Errors    `json:"response_errors,omitempty"`
	PendingUser       string    `json:"pending_user,omitempty"`
	PendingUserAvatar string    `json:"pending_user_avatar,omitempty"`
}

// ChallengeBase implements Challenge.
func (b *Base) ChallengeBase() *Base { return b }

// FlowInfo describes the flow to the UI.
type FlowInfo struct {
	Title      string `json:"title"`
	Background string `json:"background"`
	CancelURL  string `json:"cancel_url"`
	Layout     string `json:"layout"`
}

// Response is a challenge response: its JSON fields.
type Response map[string]json.RawMessage

// String returns a string field ("" when absent or not a string).
func (r Response) String(key string) string {
	var s string
	if raw, ok := r[key]; ok {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}

// Bool returns a boolean field.
func (r Response) Bool(key string) bool {
	var b bool
	if raw, ok := r[key]; ok {
		_ = json.Unmarshal(raw, &b)
	}
	return b
}

// Generic challenges the executor sends itself.
type (
	// RedirectChallenge ends a flow (xak-flow-redirect).
	RedirectChallenge struct {
		Base
		To string `json:"to"`
	}
	// AccessDeniedChallenge is ak-stage-access-denied.
	AccessDeniedChallenge struct {
		Base
		ErrorMessage string `json:"error_message,omitempty"`
	}
	// FlowErrorChallenge is ak-stage-flow-error.
	FlowErrorChallenge struct {
		Base
		RequestID string `json:"request_id"`
	}
)

// Plan is a flow execution's state, kept in the session.
type Plan struct {
	FlowUUID uuid.UUID      `json:"flow"`
	FlowSlug string         `json:"flow_slug"`
	Stages   []PlannedStage `json:"stages"`
	// Current is the index of the stage being executed.
	Current int     `json:"current"`
	Context Context `json:"context"`
}

// PlannedStage is one binding of the plan.
type PlannedStage struct {
	BindingUUID           uuid.UUID `json:"binding"`
	StageUUID             uuid.UUID `json:"stage"`
	Reevaluate            bool      `json:"reevaluate,omitempty"`
	PolicyEngineMode      string    `json:"mode,omitempty"`
	InvalidResponseAction string    `json:"invalid_response_action,omitempty"`
	// Builtin names a stage of Executor.Builtins appended by the code that
	// started the plan (Executor.Start), such as a provider's fulfillment
	// stage; it has no binding and no policies.
	Builtin string `json:"builtin,omitempty"`
}

// Context is the typed plan context (authentik's well-known keys).
type Context struct {
	PendingUserPK         *int64         `json:"pending_user,omitempty"`
	PendingUserIdentifier string         `json:"pending_user_identifier,omitempty"`
	PromptData            map[string]any `json:"prompt_data,omitempty"`
	Redirect              string         `json:"redirect,omitempty"`
	Application           string         `json:"application,omitempty"`
	AuthMethod            string         `json:"auth_method,omitempty"`
	AuthMethodArgs        map[string]any `json:"auth_method_args,omitempty"`
	// Query is the query string the flow was started with (?itoken=, ...),
	// first values only.
	Query map[string]string `json:"query,omitempty"`
	// InvitationInEffect names the invitation the flow runs under.
	InvitationInEffect string `json:"invitation_in_effect,omitempty"`
	// StageState holds per-stage state (failed attempts, ...), by stage uuid.
	StageState map[string]map[string]any `json:"stage_state,omitempty"`
	// IsRestored: the plan was resumed from a flow token (an email link was
	// opened); the email stage then passes.
	IsRestored bool `json:"is_restored,omitempty"`
	// ConsentPermissions are what the application asks for (an OAuth2
	// client's scopes), shown and remembered by the consent stage
	// (authentik's consent_permissions).
	ConsentPermissions []Permission `json:"consent_permissions,omitempty"`
	// ForceConsent asks for consent even when it is remembered (OIDC
	// prompt=consent).
	ForceConsent bool `json:"force_consent,omitempty"`
	// Authorization is the request a builtin fulfillment stage completes
	// (an OAuth2 authorization request), encoded by the package that owns it.
	Authorization json.RawMessage `json:"authorization,omitempty"`
}

// Permission is one thing an application asks for: ID is stable (a scope
// name), Name is shown to the user.
type Permission struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SessionAuthMethod is the session data key holding how the user logged in
// ("password", ...), for the amr claims of the tokens issued in the session.
const SessionAuthMethod = "auth_method"

// Run is one request's view of an execution, given to stages.
type Run struct {
	Executor *Executor
	Request  *http.Request
	Writer   http.ResponseWriter
	Session  *store.Session
	Flow     *store.Flow
	Plan     *Plan
	// Stage is the current stage's stored model.
	Stage *store.Stage
	// User is the session's authenticated user, or nil.
	User *store.User
	Log  *slog.Logger

	// reevaluated: the current stage's policies were evaluated by the
	// engine in this request (Executor.current).
	reevaluated bool
}

// Store gives stages the store.
func (r *Run) Store() store.Store { return r.Executor.Store }

// Now is the executor's clock.
func (r *Run) Now() time.Time { return r.Executor.now() }

// PendingUser loads the plan's pending user, or nil.
func (r *Run) PendingUser(ctx context.Context) (*store.User, error) {
	if r.Plan.Context.PendingUserPK == nil {
		return nil, nil
	}
	u, err := r.Executor.Store.UserByPK(ctx, *r.Plan.Context.PendingUserPK)
	if err != nil {
		return nil, fmt.Errorf("pending user: %w", err)
	}
	return u, nil
}

// State returns the current stage's private state map.
func (r *Run) State() map[string]any {
	if r.Plan.Context.StageState == nil {
		r.Plan.Context.StageState = map[string]map[string]any{}
	}
	k := r.Stage.UUID.String()
	if r.Plan.Context.StageState[k] == nil {
		r.Plan.Context.StageState[k] = map[string]any{}
	}
	return r.Plan.Context.StageState[k]
}

// InsertNext puts a stage into the plan right after the current one, with
// no binding and no policies (authentik's plan.insert_stage): the
// authenticator validate stage sends a user without a device through a
// setup stage this way.
func (r *Run) InsertNext(stageUUID uuid.UUID) {
	i := r.Plan.Current + 1
	if i > len(r.Plan.Stages) {
		i = len(r.Plan.Stages)
	}
	r.Plan.Stages = append(r.Plan.Stages[:i], append([]PlannedStage{{StageUUID: stageUUID}}, r.Plan.Stages[i:]...)...)
}

// Login makes user the session's user (rotating the session key).
func (r *Run) Login(ctx context.Context, user *store.User, duration time.Duration) error {
	s, err := r.Executor.Sessions.Login(ctx, r.Writer, r.Request, r.Session, user.PK, duration)
	if err != nil {
		return err
	}
	if err := session.Set(s, SessionAuthMethod, r.Plan.Context.AuthMethod); err != nil {
		return err
	}
	r.Session, r.User = s, user
	return nil
}

// Logout ends the session.
func (r *Run) Logout(ctx context.Context) error {
	if err := r.Executor.Sessions.End(ctx, r.Writer, r.Request, r.Session); err != nil {
		return err
	}
	r.Session, r.User = nil, nil
	return nil
}

// PolicyRequest describes the run to the policy engine.
func (r *Run) PolicyRequest(ctx context.Context) policy.Request {
	u := r.User
	if pu, err := r.PendingUser(ctx); err == nil && pu != nil {
		u = pu
	}
	pc := map[string]any{}
	if r.Plan != nil {
		pc["pending_user_identifier"] = r.Plan.Context.PendingUserIdentifier
		if r.Plan.Context.PromptData != nil {
			pc["prompt_data"] = r.Plan.Context.PromptData
		}
		if r.Plan.Context.Application != "" {
			pc["application"] = r.Plan.Context.Application
		}
	}
	return policy.Request{User: u, ClientIP: clientIP(r.Request), UserAgent: r.Request.UserAgent(),
		Path: r.Request.URL.Path, Context: pc}
}

// Events is what the executor records through (the audit log).
type Events interface {
	Record(ctx context.Context, r *http.Request, action string, user *store.User, context map[string]any)
}

// Reputation limits and lifetime (authentik's reputation_lower_limit,
// reputation_upper_limit and REPUTATION__EXPIRY defaults).
const (
	ReputationLower  = -5
	ReputationUpper  = 5
	ReputationExpiry = 24 * time.Hour
)

// AdjustReputation changes the score of identifier (a username as typed)
// from this client IP: -1 for a failed login, +1 for a successful one.
func (r *Run) AdjustReputation(ctx context.Context, identifier string, delta int) {
	if identifier == "" {
		return
	}
	now := r.Now()
	if err := r.Executor.Store.AdjustReputation(ctx, identifier, clientIP(r.Request), delta,
		ReputationLower, ReputationUpper, now, now.Add(ReputationExpiry)); err != nil {
		r.Log.Error("updating reputation", "error", err)
	}
}
