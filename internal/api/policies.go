package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewPolicy          = "authentik_policies.view_policy"
	permAddPolicy           = "authentik_policies.add_policy"
	permChangePolicy        = "authentik_policies.change_policy"
	permDeletePolicy        = "authentik_policies.delete_policy"
	permViewPolicyBinding   = "authentik_policies.view_policybinding"
	permAddPolicyBinding    = "authentik_policies.add_policybinding"
	permChangePolicyBinding = "authentik_policies.change_policybinding"
	permDeletePolicyBinding = "authentik_policies.delete_policybinding"
)

// PolicyInfo is authentik's base Policy serializer, with the type's settings.
type PolicyInfo struct {
	PK               uuid.UUID      `json:"pk"`
	Name             string         `json:"name"`
	ExecutionLogging bool           `json:"execution_logging"`
	Component        string         `json:"component"`
	VerboseName      string         `json:"verbose_name"`
	MetaModelName    string         `json:"meta_model_name"`
	Type             string         `json:"type"`
	Settings         map[string]any `json:"settings"`
}

// MarshalJSON repeats the settings at the top level, as authentik's
// per-type serializers give them.
func (p PolicyInfo) MarshalJSON() ([]byte, error) {
	type plain PolicyInfo
	return flatten(plain(p), p.Settings)
}

// TransformSchema allows the type's fields beside the common ones.
func (PolicyInfo) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.AdditionalProperties = true
	return s
}

// PolicyRequest creates or patches a policy of one type.
type PolicyRequest struct {
	Name             *string        `json:"name,omitempty" minLength:"1" maxLength:"250"`
	ExecutionLogging *bool          `json:"execution_logging,omitempty"`
	Settings         map[string]any `json:"settings,omitempty" doc:"The policy type's fields, as authentik names them; they may also be sent at the top level, as authentik's serializers take them"`
	// Flat are the type's fields sent at the top level.
	Flat map[string]any `json:"-"`
}

// UnmarshalJSON implements json.Unmarshaler: top-level fields other than
// the request's own are the type's (authentik's flat serializers).
func (r *PolicyRequest) UnmarshalJSON(b []byte) error {
	type plain PolicyRequest
	flat, err := unmarshalTyped(b, map[string]bool{"name": true, "settings": true, "execution_logging": true},
		func(b []byte) error { return json.Unmarshal(b, (*plain)(r)) })
	r.Flat = flat
	return err
}

// TransformSchema lets the schema say that other fields are allowed.
func (PolicyRequest) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.AdditionalProperties = true
	return s
}

func (r *PolicyRequest) typed() *typedRequest {
	return &typedRequest{Name: r.Name, Settings: r.Settings, Flat: r.Flat}
}

// PolicyBinding is authentik's PolicyBinding serializer.
type PolicyBinding struct {
	PK            uuid.UUID  `json:"pk"`
	Policy        *uuid.UUID `json:"policy" nullable:"true"`
	Group         *uuid.UUID `json:"group" nullable:"true"`
	User          *int64     `json:"user" nullable:"true"`
	Target        uuid.UUID  `json:"target"`
	Negate        bool       `json:"negate"`
	Enabled       bool       `json:"enabled"`
	Order         int        `json:"order"`
	Timeout       int        `json:"timeout"`
	FailureResult bool       `json:"failure_result"`
}

// PolicyBindingRequest creates or patches a binding.
type PolicyBindingRequest struct {
	Policy        *uuid.UUID `json:"policy,omitempty"`
	Group         *uuid.UUID `json:"group,omitempty"`
	User          *int64     `json:"user,omitempty"`
	Target        *uuid.UUID `json:"target,omitempty"`
	Negate        *bool      `json:"negate,omitempty"`
	Enabled       *bool      `json:"enabled,omitempty"`
	Order         *int       `json:"order,omitempty" minimum:"-2147483648" maximum:"2147483647"`
	Timeout       *int       `json:"timeout,omitempty" minimum:"1" maximum:"3600"`
	FailureResult *bool      `json:"failure_result,omitempty"`
}

type policyListInput struct {
	ListParams
	Type string `query:"type" maxLength:"100"`
}

type policyBindingListInput struct {
	ListParams
	Target string `query:"target" doc:"Only the bindings of this flow, flow-stage binding or application (uuid)"`
}

// PolicyTestResult is authentik's answer to policies/all/{id}/test/.
type PolicyTestResult struct {
	Passing  bool     `json:"passing"`
	Messages []string `json:"messages"`
	// LogMessages is what the policy logged while it ran (an expression's
	// ak_logger and print lines).
	LogMessages []LogEvent `json:"log_messages"`
}

// LogEvent is one logged line (authentik's LogEventSerializer; its
// log_level choices are structlog's level names).
type LogEvent struct {
	Timestamp  time.Time      `json:"timestamp"`
	LogLevel   string         `json:"log_level" enum:"critical,exception,error,warn,warning,info,debug,notset"`
	Logger     string         `json:"logger"`
	Event      string         `json:"event"`
	Attributes map[string]any `json:"attributes"`
}

func logEvents(log []policy.LogEntry) []LogEvent {
	out := make([]LogEvent, 0, len(log))
	for _, l := range log {
		attrs := map[string]any{}
		for k, v := range l.Attributes {
			attrs[k] = jsonSafe(v)
		}
		out = append(out, LogEvent{Timestamp: l.Time, LogLevel: l.Level, Logger: l.Logger, Event: l.Event, Attributes: attrs})
	}
	return out
}

// jsonSafe makes a logged value encodable as JSON (authentik's
// sanitize_dict): a float that is NaN or infinite becomes its text.
func jsonSafe(v any) any {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return strconv.FormatFloat(v, 'g', -1, 64)
		}
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonSafe(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonSafe(e)
		}
		return out
	}
	return v
}

func (a *API) registerPolicies() {
	const tag = "policies"
	huma.Register(a.huma, op(http.MethodGet, "/policies/all/", "policies_all_list", tag, "List policies of every type", 200), a.listPolicies)
	huma.Register(a.huma, op(http.MethodGet, "/policies/all/{id}/", "policies_all_retrieve", tag, "Get a policy", 200, 404), a.getPolicy)
	huma.Register(a.huma, op(http.MethodDelete, "/policies/all/{id}/", "policies_all_destroy", tag, "Delete a policy", 204, 404), a.deletePolicy)
	huma.Register(a.huma, op(http.MethodPost, "/policies/all/{id}/test/", "policies_all_test_create", tag, "Evaluate a policy for a user (dry run)", 200, 404), a.testPolicy)
	huma.Register(a.huma, op(http.MethodPost, "/policies/{type}/", "policies_create", tag, "Create a policy of a type (expression, password, dummy, ...)", 201, 404), a.createPolicy)
	huma.Register(a.huma, op(http.MethodPatch, "/policies/{type}/{id}/", "policies_partial_update", tag, "Update a policy", 200, 404), a.patchPolicy)
	huma.Register(a.huma, op(http.MethodGet, "/policies/bindings/", "policies_bindings_list", tag, "List policy bindings", 200), a.listPolicyBindings)
	huma.Register(a.huma, op(http.MethodPost, "/policies/bindings/", "policies_bindings_create", tag, "Bind a policy, group or user to a target", 201), a.createPolicyBinding)
	huma.Register(a.huma, op(http.MethodGet, "/policies/bindings/{id}/", "policies_bindings_retrieve", tag, "Get a policy binding", 200, 404), a.getPolicyBinding)
	huma.Register(a.huma, op(http.MethodPatch, "/policies/bindings/{id}/", "policies_bindings_partial_update", tag, "Update a policy binding", 200, 404), a.patchPolicyBinding)
	huma.Register(a.huma, op(http.MethodDelete, "/policies/bindings/{id}/", "policies_bindings_destroy", tag, "Delete a policy binding", 204, 404), a.deletePolicyBinding)
}

func policyInfo(p *store.Policy) PolicyInfo {
	settings := map[string]any(p.Settings)
	if settings == nil {
		settings = map[string]any{}
	}
	model := p.Type
	if t, ok := policyall.Lookup(policyall.Deps{}, p.Type); ok {
		model = t.ModelName
	}
	return PolicyInfo{PK: p.UUID, Name: p.Name, ExecutionLogging: p.ExecutionLogging, Component: "ak-policy-" + p.Type + "-form",
		VerboseName: p.Type + " policy", MetaModelName: model, Type: p.Type, Settings: settings}
}

func (a *API) listPolicies(ctx context.Context, in *policyListInput) (*listOf[PolicyInfo], error) {
	only, err := a.visible(ctx, permViewPolicy)
	if err != nil {
		return nil, err
	}
	ps, total, err := a.Store.ListPolicies(ctx, in.Type, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[PolicyInfo]{}
	out.Body.Results = []PolicyInfo{}
	for _, p := range ps {
		out.Body.Results = append(out.Body.Results, policyInfo(p))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, total, len(ps)), Autocomplete{}
	return out, nil
}

func (a *API) loadPolicy(ctx context.Context, perm string, id uuid.UUID) (*store.Policy, error) {
	if err := a.check(ctx, perm, permViewPolicy, id.String()); err != nil {
		return nil, err
	}
	p, err := a.Store.PolicyByUUID(ctx, id)
	return p, a.storeError(err)
}

func (a *API) getPolicy(ctx context.Context, in *IDInput) (*struct{ Body PolicyInfo }, error) {
	p, err := a.loadPolicy(ctx, permViewPolicy, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body PolicyInfo }{Body: policyInfo(p)}, nil
}

func (a *API) deletePolicy(ctx context.Context, in *IDInput) (*noContent, error) {
	p, err := a.loadPolicy(ctx, permDeletePolicy, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeletePolicy(ctx, p.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_policies", "policy", p.UUID.String(), p.Name}, nil)
	return &noContent{}, nil
}

// validPolicy checks settings with the type's validator and returns the
// canonical type name.
func validPolicy(typ string, settings map[string]any) (string, error) {
	t, ok := policyall.Lookup(policyall.Deps{}, typ)
	if !ok {
		return "", detailError(http.StatusNotFound, "Unknown policy type "+typ+".")
	}
	if hasNUL(settings) {
		return "", fieldError("settings", "Null characters are not allowed.")
	}
	if err := t.Validate(settings); err != nil {
		return "", fieldError("settings", err.Error())
	}
	return t.Name, nil
}

func (a *API) createPolicy(ctx context.Context, in *struct {
	TypeInput
	Body PolicyRequest
}) (*struct{ Body PolicyInfo }, error) {
	if _, err := a.require(ctx, permAddPolicy, ""); err != nil {
		return nil, err
	}
	if in.Body.Name == nil {
		return nil, fieldError("name", "This field is required.")
	}
	settings := in.Body.typed().merged()
	typ, err := validPolicy(in.Type, settings)
	if err != nil {
		return nil, err
	}
	p := &store.Policy{Name: *in.Body.Name, Type: typ, Settings: settings}
	if in.Body.ExecutionLogging != nil {
		p.ExecutionLogging = *in.Body.ExecutionLogging
	}
	if err := a.Store.CreatePolicy(ctx, p); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_policies", "policy", p.UUID.String(), p.Name}, nil)
	return &struct{ Body PolicyInfo }{Body: policyInfo(p)}, nil
}

func (a *API) patchPolicy(ctx context.Context, in *struct {
	TypeInput
	IDInput
	Body PolicyRequest
}) (*struct{ Body PolicyInfo }, error) {
	p, err := a.loadPolicy(ctx, permChangePolicy, in.ID)
	if err != nil {
		return nil, err
	}
	if t, ok := policyall.Lookup(policyall.Deps{}, in.Type); !ok || t.Name != p.Type {
		return nil, errNotFound
	}
	if in.Body.Name != nil {
		p.Name = *in.Body.Name
	}
	if in.Body.ExecutionLogging != nil {
		p.ExecutionLogging = *in.Body.ExecutionLogging
	}
	if settings := in.Body.typed().patched(p.Settings, nil); settings != nil {
		if _, err := validPolicy(p.Type, settings); err != nil {
			return nil, err
		}
		p.Settings = settings
	}
	if err := a.Store.UpdatePolicy(ctx, p); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelUpdated, modelRef{"authentik_policies", "policy", p.UUID.String(), p.Name}, nil)
	return &struct{ Body PolicyInfo }{Body: policyInfo(p)}, nil
}

type policyTestInput struct {
	IDInput
	Body struct {
		User    int64          `json:"user"`
		Context map[string]any `json:"context,omitempty"`
	}
}

// testPolicy dry-runs one policy for a user, as authentik's policy test.
func (a *API) testPolicy(ctx context.Context, in *policyTestInput) (*struct{ Body PolicyTestResult }, error) {
	p, err := a.loadPolicy(ctx, permViewPolicy, in.ID)
	if err != nil {
		return nil, err
	}
	if _, err := a.require(ctx, permViewUser, strconv.FormatInt(in.Body.User, 10)); err != nil {
		return nil, err
	}
	u, err := a.Store.UserByPK(ctx, in.Body.User)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fieldError("user", "User does not exist.")
	} else if err != nil {
		return nil, a.storeError(err)
	}
	t, ok := policyall.Lookup(policyall.Deps{Store: a.Store, Log: a.Log}, p.Type)
	if !ok {
		return nil, fieldError("non_field_errors", "Unknown policy type "+p.Type+".")
	}
	res, err := t.Evaluator.Evaluate(ctx, p, policy.Request{User: u, Context: in.Body.Context})
	out := &struct{ Body PolicyTestResult }{Body: PolicyTestResult{Passing: res.Passing, Messages: res.Messages,
		LogMessages: logEvents(res.Log)}}
	if out.Body.Messages == nil {
		out.Body.Messages = []string{}
	}
	if err != nil {
		out.Body.Passing = false
		out.Body.Messages = append(out.Body.Messages, err.Error())
	}
	return out, nil
}

func policyBindingOut(b *store.PolicyBinding) *PolicyBinding {
	return &PolicyBinding{PK: b.UUID, Policy: b.PolicyUUID, Group: b.GroupUUID, User: b.UserPK, Target: b.TargetUUID,
		Negate: b.Negate, Enabled: b.Enabled, Order: b.Order, Timeout: b.Timeout, FailureResult: b.FailureResult}
}

func (a *API) listPolicyBindings(ctx context.Context, in *policyBindingListInput) (*listOf[*PolicyBinding], error) {
	if _, err := a.require(ctx, permViewPolicyBinding, ""); err != nil {
		return nil, err
	}
	if in.Target == "" {
		return nil, fieldError("target", "List the bindings of one target (?target=<uuid>).")
	}
	id, err := uuid.Parse(in.Target)
	if err != nil {
		return nil, fieldError("target", "Must be a valid UUID.")
	}
	bs, err := a.Store.PolicyBindings(ctx, id)
	if err != nil {
		return nil, a.storeError(err)
	}
	if in.Ordering != "" && in.Ordering != "order" {
		return nil, fieldError("ordering", "cannot order by "+in.Ordering)
	}
	from, to := in.window(len(bs))
	out := &listOf[*PolicyBinding]{}
	out.Body.Results = []*PolicyBinding{}
	for _, b := range bs[from:to] {
		out.Body.Results = append(out.Body.Results, policyBindingOut(b))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, len(bs), to-from), Autocomplete{}
	return out, nil
}

func applyPolicyBinding(b *store.PolicyBinding, r PolicyBindingRequest) {
	if r.Policy != nil {
		b.PolicyUUID = r.Policy
	}
	if r.Group != nil {
		b.GroupUUID = r.Group
	}
	if r.User != nil {
		b.UserPK = r.User
	}
	if r.Target != nil {
		b.TargetUUID = *r.Target
	}
	if r.Negate != nil {
		b.Negate = *r.Negate
	}
	if r.Enabled != nil {
		b.Enabled = *r.Enabled
	}
	if r.Order != nil {
		b.Order = *r.Order
	}
	if r.Timeout != nil {
		b.Timeout = *r.Timeout
	}
	if r.FailureResult != nil {
		b.FailureResult = *r.FailureResult
	}
}

func (a *API) policyBindingError(err error) error {
	if errors.Is(err, store.ErrInvalid) {
		return fieldError("non_field_errors", "A binding targets exactly one existing policy, group or user.")
	}
	return a.storeError(err)
}

func (a *API) createPolicyBinding(ctx context.Context, in *struct{ Body PolicyBindingRequest }) (*struct{ Body *PolicyBinding }, error) {
	if _, err := a.require(ctx, permAddPolicyBinding, ""); err != nil {
		return nil, err
	}
	if in.Body.Target == nil || in.Body.Order == nil {
		return nil, fieldError("non_field_errors", "target and order are required.")
	}
	b := &store.PolicyBinding{Enabled: true, Timeout: 30}
	applyPolicyBinding(b, in.Body)
	if err := a.Store.CreatePolicyBinding(ctx, b); err != nil {
		return nil, a.policyBindingError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_policies", "policybinding", b.UUID.String(), a.bindingName(ctx, b)}, nil)
	return &struct{ Body *PolicyBinding }{Body: policyBindingOut(b)}, nil
}

// bindingName names a binding in events, as authentik's PolicyBinding
// __str__ does with what it binds: "Binding #0 to Policy allow-admins",
// "Group admins" or "User alice" (the target's name is left out: one more
// lookup per target type for a name the event's model pk already finds).
func (a *API) bindingName(ctx context.Context, b *store.PolicyBinding) string {
	name := "?"
	switch {
	case b.PolicyUUID != nil:
		if p, err := a.Store.PolicyByUUID(ctx, *b.PolicyUUID); err == nil {
			name = "Policy " + p.Name
		}
	case b.GroupUUID != nil:
		if g, err := a.Store.GroupByUUID(ctx, *b.GroupUUID); err == nil {
			name = "Group " + g.Name
		}
	case b.UserPK != nil:
		if u, err := a.Store.UserByPK(ctx, *b.UserPK); err == nil {
			name = "User " + u.Username
		}
	}
	return "Binding #" + strconv.Itoa(b.Order) + " to " + name
}

func (a *API) loadPolicyBinding(ctx context.Context, perm string, id uuid.UUID) (*store.PolicyBinding, error) {
	if err := a.check(ctx, perm, permViewPolicyBinding, id.String()); err != nil {
		return nil, err
	}
	b, err := a.Store.PolicyBindingByUUID(ctx, id)
	return b, a.storeError(err)
}

func (a *API) getPolicyBinding(ctx context.Context, in *IDInput) (*struct{ Body *PolicyBinding }, error) {
	b, err := a.loadPolicyBinding(ctx, permViewPolicyBinding, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body *PolicyBinding }{Body: policyBindingOut(b)}, nil
}

func (a *API) patchPolicyBinding(ctx context.Context, in *struct {
	IDInput
	Body PolicyBindingRequest
}) (*struct{ Body *PolicyBinding }, error) {
	b, err := a.loadPolicyBinding(ctx, permChangePolicyBinding, in.ID)
	if err != nil {
		return nil, err
	}
	applyPolicyBinding(b, in.Body)
	if err := a.Store.UpdatePolicyBinding(ctx, b); err != nil {
		return nil, a.policyBindingError(err)
	}
	a.audit(ctx, actionModelUpdated, modelRef{"authentik_policies", "policybinding", b.UUID.String(), a.bindingName(ctx, b)}, nil)
	return &struct{ Body *PolicyBinding }{Body: policyBindingOut(b)}, nil
}

func (a *API) deletePolicyBinding(ctx context.Context, in *IDInput) (*noContent, error) {
	b, err := a.loadPolicyBinding(ctx, permDeletePolicyBinding, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeletePolicyBinding(ctx, b.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_policies", "policybinding", b.UUID.String(), a.bindingName(ctx, b)}, nil)
	return &noContent{}, nil
}
