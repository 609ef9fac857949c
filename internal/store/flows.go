package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Flow designations, authentication requirements and modes (authentik's values).
const (
	DesignationAuthentication     = "authentication"
	DesignationAuthorization      = "authorization"
	DesignationInvalidation       = "invalidation"
	DesignationEnrollment         = "enrollment"
	DesignationUnenrollment       = "unenrollment"
	DesignationRecovery           = "recovery"
	DesignationStageConfiguration = "stage_configuration"
)

// Flow is an ordered list of stages, gated by policies.
type Flow struct {
	UUID              uuid.UUID `bun:"uuid,pk"`
	Slug              string
	Name              string
	Title             string
	Designation       string
	PolicyEngineMode  string
	CompatibilityMode bool
	DeniedAction      string
	Layout            string
	Background        string
	// Authentication is the requirement on the user: none,
	// require_authenticated, require_unauthenticated, require_superuser,
	// require_redirect, require_outpost.
	Authentication string
}

// Stage is one step of a flow; Type selects the implementation (registry in
// internal/stage/all), Settings holds its type-specific fields.
type Stage struct {
	UUID     uuid.UUID `bun:"uuid,pk"`
	Name     string
	Type     string
	Settings Attributes
}

// FlowStageBinding places a stage in a flow. Note authentik's default for
// ReEvaluatePolicies is true: callers set it (Go's zero value is false).
type FlowStageBinding struct {
	UUID                  uuid.UUID `bun:"uuid,pk"`
	FlowUUID              uuid.UUID `bun:"flow_uuid"`
	StageUUID             uuid.UUID `bun:"stage_uuid"`
	Order                 int       `bun:"order"`
	EvaluateOnPlan        bool
	ReEvaluatePolicies    bool `bun:"re_evaluate_policies"`
	PolicyEngineMode      string
	InvalidResponseAction string
}

// Flows is the flow aggregate: flows, stages and their bindings.
type Flows interface {
	CreateFlow(ctx context.Context, f *Flow) error
	FlowBySlug(ctx context.Context, slug string) (*Flow, error)
	FlowByUUID(ctx context.Context, id uuid.UUID) (*Flow, error)
	UpdateFlow(ctx context.Context, f *Flow) error
	DeleteFlow(ctx context.Context, id uuid.UUID) error
	// ListFlows: Search on slug, name, title; Ordering slug, name, designation.
	ListFlows(ctx context.Context, designation string, o ListOptions) ([]*Flow, int, error)

	CreateStage(ctx context.Context, s *Stage) error
	StageByUUID(ctx context.Context, id uuid.UUID) (*Stage, error)
	StageByName(ctx context.Context, name string) (*Stage, error)
	UpdateStage(ctx context.Context, s *Stage) error
	DeleteStage(ctx context.Context, id uuid.UUID) error
	// ListStages: typ filters when set; Search on name; Ordering name, type.
	ListStages(ctx context.Context, typ string, o ListOptions) ([]*Stage, int, error)

	CreateFlowStageBinding(ctx context.Context, b *FlowStageBinding) error
	FlowStageBindingByUUID(ctx context.Context, id uuid.UUID) (*FlowStageBinding, error)
	UpdateFlowStageBinding(ctx context.Context, b *FlowStageBinding) error
	DeleteFlowStageBinding(ctx context.Context, id uuid.UUID) error
	// FlowStageBindings lists a flow's bindings by order.
	FlowStageBindings(ctx context.Context, flow uuid.UUID) ([]*FlowStageBinding, error)
}

// Policy is a reusable rule; Type selects the implementation, Settings its fields.
type Policy struct {
	UUID             uuid.UUID `bun:"uuid,pk"`
	Name             string
	Type             string
	ExecutionLogging bool
	Settings         Attributes
}

// PolicyBinding gates a target (flow, flow-stage binding, application) with
// exactly one of a policy, a group (membership, inherited down the tree) or
// a user. authentik's default for Enabled is true: callers set it.
type PolicyBinding struct {
	UUID          uuid.UUID  `bun:"uuid,pk"`
	TargetUUID    uuid.UUID  `bun:"target_uuid"`
	PolicyUUID    *uuid.UUID `bun:"policy_uuid"`
	GroupUUID     *uuid.UUID `bun:"group_uuid"`
	UserPK        *int64     `bun:"user_pk"`
	Negate        bool
	Enabled       bool
	Order         int `bun:"order"`
	Timeout       int // seconds
	FailureResult bool
}

// Policies is the policy aggregate with bindings.
type Policies interface {
	CreatePolicy(ctx context.Context, p *Policy) error
	PolicyByUUID(ctx context.Context, id uuid.UUID) (*Policy, error)
	PolicyByName(ctx context.Context, name string) (*Policy, error)
	UpdatePolicy(ctx context.Context, p *Policy) error
	DeletePolicy(ctx context.Context, id uuid.UUID) error
	ListPolicies(ctx context.Context, typ string, o ListOptions) ([]*Policy, int, error)

	// CreatePolicyBinding rejects a binding that is not exactly one of
	// policy, group or user with ErrInvalid.
	CreatePolicyBinding(ctx context.Context, b *PolicyBinding) error
	PolicyBindingByUUID(ctx context.Context, id uuid.UUID) (*PolicyBinding, error)
	UpdatePolicyBinding(ctx context.Context, b *PolicyBinding) error
	DeletePolicyBinding(ctx context.Context, id uuid.UUID) error
	// PolicyBindings lists a target's bindings by order.
	PolicyBindings(ctx context.Context, target uuid.UUID) ([]*PolicyBinding, error)
}

// Reputation is the login reputation aggregate.
type Reputation interface {
	// AdjustReputation adds delta to the (identifier, ip) score, clamped to
	// [lower, upper], and pushes its expiry to expires.
	AdjustReputation(ctx context.Context, identifier, ip string, delta, lower, upper int, now, expires time.Time) error
	// ReputationScore sums the live scores of the identifier's records, the
	// IP's records, or both (a record matching either counts once).
	ReputationScore(ctx context.Context, identifier, ip string, now time.Time) (int, error)
	DeleteExpiredReputation(ctx context.Context, now time.Time) (int, error)
}

// Invitation lets someone run an enrollment flow (link: /if/flow/<slug>/?itoken=<uuid>).
type Invitation struct {
	UUID        uuid.UUID `bun:"uuid,pk"`
	Name        string
	Expires     *time.Time
	FixedData   Attributes
	CreatedByPK *int64 `bun:"created_by_pk"`
	SingleUse   bool
	FlowUUID    *uuid.UUID `bun:"flow_uuid"`
}

// Invitations is the invitation aggregate.
type Invitations interface {
	CreateInvitation(ctx context.Context, i *Invitation) error
	InvitationByUUID(ctx context.Context, id uuid.UUID) (*Invitation, error)
	UpdateInvitation(ctx context.Context, i *Invitation) error
	DeleteInvitation(ctx context.Context, id uuid.UUID) error
	ListInvitations(ctx context.Context, o ListOptions) ([]*Invitation, int, error)
}

// UserConsent records that a user agreed to an application's access
// (authentik's UserConsent). Expires nil means permanent.
type UserConsent struct {
	UUID            uuid.UUID `bun:"uuid,pk"`
	UserPK          int64     `bun:"user_pk"`
	ApplicationUUID uuid.UUID `bun:"application_uuid"`
	Expires         *time.Time
	Permissions     string
}

// Consents is the consent aggregate.
type Consents interface {
	// Consent returns the user's consent to the application (ErrNotFound if none).
	Consent(ctx context.Context, userPK int64, app uuid.UUID) (*UserConsent, error)
	// SaveConsent creates or replaces the user's consent to c.ApplicationUUID.
	SaveConsent(ctx context.Context, c *UserConsent) error
	// UserConsents lists a user's consents that have not expired, by
	// application.
	UserConsents(ctx context.Context, userPK int64, now time.Time) ([]*UserConsent, error)
	// ConsentByUUID returns one consent, expired or not (ErrNotFound if none).
	ConsentByUUID(ctx context.Context, id uuid.UUID) (*UserConsent, error)
	// DeleteConsent revokes one consent (ErrNotFound if none).
	DeleteConsent(ctx context.Context, id uuid.UUID) error
}
