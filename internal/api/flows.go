package api

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"sort"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewFlow      = "authentik_flows.view_flow"
	permAddFlow       = "authentik_flows.add_flow"
	permChangeFlow    = "authentik_flows.change_flow"
	permDeleteFlow    = "authentik_flows.delete_flow"
	permViewBinding   = "authentik_flows.view_flowstagebinding"
	permAddBinding    = "authentik_flows.add_flowstagebinding"
	permChangeBinding = "authentik_flows.change_flowstagebinding"
	permDeleteBinding = "authentik_flows.delete_flowstagebinding"
	permViewStage     = "authentik_flows.view_stage"
	permAddStage      = "authentik_flows.add_stage"
	permChangeStage   = "authentik_flows.change_stage"
	permDeleteStage   = "authentik_flows.delete_stage"
)

// Flow is authentik's Flow serializer.
type Flow struct {
	PK                uuid.UUID   `json:"pk"`
	PolicyBindingPtr  uuid.UUID   `json:"policybindingmodel_ptr_id"`
	Name              string      `json:"name"`
	Slug              string      `json:"slug"`
	Title             string      `json:"title"`
	Designation       string      `json:"designation" enum:"authentication,authorization,invalidation,enrollment,unenrollment,recovery,stage_configuration"`
	Background        string      `json:"background"`
	Stages            []uuid.UUID `json:"stages"`
	Policies          []uuid.UUID `json:"policies"`
	PolicyEngineMode  string      `json:"policy_engine_mode" enum:"all,any"`
	CompatibilityMode bool        `json:"compatibility_mode"`
	Layout            string      `json:"layout"`
	DeniedAction      string      `json:"denied_action" enum:"message_continue,message,continue"`
	Authentication    string      `json:"authentication" enum:"none,require_authenticated,require_unauthenticated,require_superuser,require_redirect,require_outpost"`
	ExportURL         string      `json:"export_url"`
}

// FlowRequest creates, replaces or (all optional) patches a flow.
type FlowRequest struct {
	Name              *string `json:"name,omitempty" minLength:"1" maxLength:"250"`
	Slug              *string `json:"slug,omitempty" minLength:"1" maxLength:"50"`
	Title             *string `json:"title,omitempty" maxLength:"250"`
	Designation       *string `json:"designation,omitempty" enum:"authentication,authorization,invalidation,enrollment,unenrollment,recovery,stage_configuration"`
	Background        *string `json:"background,omitempty" maxLength:"2000"`
	PolicyEngineMode  *string `json:"policy_engine_mode,omitempty" enum:"all,any"`
	CompatibilityMode *bool   `json:"compatibility_mode,omitempty"`
	Layout            *string `json:"layout,omitempty" enum:"stacked,content_left,content_right,sidebar_left,sidebar_right,sidebar_left_frame_background,sidebar_right_frame_background"`
	DeniedAction      *string `json:"denied_action,omitempty" enum:"message_continue,message,continue"`
	Authentication    *string `json:"authentication,omitempty" enum:"none,require_authenticated,require_unauthenticated,require_superuser,require_redirect,require_outpost"`
}

// StageInfo is authentik's base Stage serializer.
type StageInfo struct {
	PK            uuid.UUID      `json:"pk"`
	Name          string         `json:"name"`
	Component     string         `json:"component"`
	VerboseName   string         `json:"verbose_name"`
	MetaModelName string         `json:"meta_model_name"`
	Type          string         `json:"type"`
	Settings      map[string]any `json:"settings"`
}

// MarshalJSON repeats the settings at the top level, as authentik's
// per-type serializers give them.
func (s StageInfo) MarshalJSON() ([]byte, error) {
	type plain StageInfo
	return flatten(plain(s), s.Settings)
}

// TransformSchema allows the type's fields beside the common ones.
func (StageInfo) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.AdditionalProperties = true
	return s
}

// FlowStageBinding is authentik's serializer.
type FlowStageBinding struct {
	PK                    uuid.UUID `json:"pk"`
	PolicyBindingPtr      uuid.UUID `json:"policybindingmodel_ptr_id"`
	Target                uuid.UUID `json:"target"`
	Stage                 uuid.UUID `json:"stage"`
	StageObj              StageInfo `json:"stage_obj"`
	EvaluateOnPlan        bool      `json:"evaluate_on_plan"`
	ReEvaluatePolicies    bool      `json:"re_evaluate_policies"`
	Order                 int       `json:"order"`
	PolicyEngineMode      string    `json:"policy_engine_mode" enum:"all,any"`
	InvalidResponseAction string    `json:"invalid_response_action" enum:"retry,restart,restart_with_context"`
}

// FlowStageBindingRequest creates or patches a binding.
type FlowStageBindingRequest struct {
	Target                *uuid.UUID `json:"target,omitempty"`
	Stage                 *uuid.UUID `json:"stage,omitempty"`
	EvaluateOnPlan        *bool      `json:"evaluate_on_plan,omitempty"`
	ReEvaluatePolicies    *bool      `json:"re_evaluate_policies,omitempty"`
	Order                 *int       `json:"order,omitempty" minimum:"-2147483648" maximum:"2147483647"`
	PolicyEngineMode      *string    `json:"policy_engine_mode,omitempty" enum:"all,any"`
	InvalidResponseAction *string    `json:"invalid_response_action,omitempty" enum:"retry,restart,restart_with_context"`
}

// StageRequest creates or patches a stage of one type: name plus the type's
// settings (authentik's field names).
type StageRequest struct {
	typedRequest
}

// FlowSlugInput is a flow slug path parameter (exported: huma only sees
// exported embedded structs).
type FlowSlugInput struct {
	Slug string `path:"slug" maxLength:"50"`
}

type flowListInput struct {
	ListParams
	Designation string `query:"designation" enum:"authentication,authorization,invalidation,enrollment,unenrollment,recovery,stage_configuration,"`
}

type bindingListInput struct {
	ListParams
	Target string `query:"target" doc:"Only this flow's bindings (uuid)"`
}

type stageListInput struct {
	ListParams
	Type string `query:"type" maxLength:"100"`
}

// IDInput is a uuid path parameter.
type IDInput struct {
	ID uuid.UUID `path:"id"`
}

// TypeInput is a stage or policy type path parameter.
type TypeInput struct {
	Type string `path:"type" maxLength:"100"`
}

type listOf[T any] struct {
	Body struct {
		Pagination   Pagination   `json:"pagination"`
		Results      []T          `json:"results"`
		Autocomplete Autocomplete `json:"autocomplete"`
	}
}

var flowSlugPattern = regexp.MustCompile(`^[-a-zA-Z0-9_]+$`)

func (a *API) registerFlows() {
	const tag = "flows"
	huma.Register(a.huma, op(http.MethodGet, "/flows/instances/", "flows_instances_list", tag, "List flows", 200), a.listFlows)
	huma.Register(a.huma, op(http.MethodPost, "/flows/instances/", "flows_instances_create", tag, "Create a flow", 201), a.createFlow)
	huma.Register(a.huma, op(http.MethodGet, "/flows/instances/{slug}/", "flows_instances_retrieve", tag, "Get a flow", 200, 404), a.getFlow)
	huma.Register(a.huma, op(http.MethodPatch, "/flows/instances/{slug}/", "flows_instances_partial_update", tag, "Update a flow", 200, 404), a.patchFlow)
	huma.Register(a.huma, op(http.MethodDelete, "/flows/instances/{slug}/", "flows_instances_destroy", tag, "Delete a flow", 204, 404), a.deleteFlow)
	huma.Register(a.huma, op(http.MethodGet, "/flows/bindings/", "flows_bindings_list", tag, "List flow-stage bindings", 200), a.listBindings)
	huma.Register(a.huma, op(http.MethodPost, "/flows/bindings/", "flows_bindings_create", tag, "Bind a stage to a flow", 201), a.createBinding)
	huma.Register(a.huma, op(http.MethodGet, "/flows/bindings/{id}/", "flows_bindings_retrieve", tag, "Get a binding", 200, 404), a.getBinding)
	huma.Register(a.huma, op(http.MethodPatch, "/flows/bindings/{id}/", "flows_bindings_partial_update", tag, "Update a binding", 200, 404), a.patchBinding)
	huma.Register(a.huma, op(http.MethodDelete, "/flows/bindings/{id}/", "flows_bindings_destroy", tag, "Delete a binding", 204, 404), a.deleteBinding)
	huma.Register(a.huma, op(http.MethodGet, "/stages/all/", "stages_all_list", "stages", "List stages of every type", 200), a.listStages)
	huma.Register(a.huma, op(http.MethodGet, "/stages/all/{id}/", "stages_all_retrieve", "stages", "Get a stage", 200, 404), a.getStage)
	huma.Register(a.huma, op(http.MethodDelete, "/stages/all/{id}/", "stages_all_destroy", "stages", "Delete a stage", 204, 404), a.deleteStage)
	huma.Register(a.huma, op(http.MethodPost, "/stages/{type}/", "stages_create", "stages", "Create a stage of a type (identification, password, user_login, ...)", 201, 404), a.createStage)
	huma.Register(a.huma, op(http.MethodPatch, "/stages/{type}/{id}/", "stages_partial_update", "stages", "Update a stage", 200, 404), a.patchStage)
}

func flowOut(f *store.Flow, bindings []*store.FlowStageBinding) *Flow {
	o := &Flow{PK: f.UUID, PolicyBindingPtr: f.UUID, Name: f.Name, Slug: f.Slug, Title: f.Title, Designation: f.Designation,
		Background: f.Background, Stages: []uuid.UUID{}, Policies: []uuid.UUID{}, PolicyEngineMode: f.PolicyEngineMode,
		CompatibilityMode: f.CompatibilityMode, Layout: f.Layout, DeniedAction: f.DeniedAction, Authentication: f.Authentication,
		ExportURL: Prefix + "/flows/instances/" + f.Slug + "/export/"}
	for _, b := range bindings {
		o.Stages = append(o.Stages, b.StageUUID)
	}
	return o
}

func (a *API) flow(ctx context.Context, f *store.Flow) (*Flow, error) {
	bs, err := a.Store.FlowStageBindings(ctx, f.UUID)
	if err != nil {
		return nil, a.storeError(err)
	}
	return flowOut(f, bs), nil
}

func (a *API) listFlows(ctx context.Context, in *flowListInput) (*listOf[*Flow], error) {
	only, err := a.visible(ctx, permViewFlow)
	if err != nil {
		return nil, err
	}
	fs, total, err := a.Store.ListFlows(ctx, in.Designation, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[*Flow]{}
	out.Body.Results = []*Flow{}
	for _, f := range fs {
		o, err := a.flow(ctx, f)
		if err != nil {
			return nil, err
		}
		out.Body.Results = append(out.Body.Results, o)
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, total, len(fs)), Autocomplete{}
	return out, nil
}

func applyFlow(f *store.Flow, r FlowRequest) error {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&f.Name, r.Name)
	set(&f.Slug, r.Slug)
	set(&f.Title, r.Title)
	set(&f.Designation, r.Designation)
	set(&f.Background, r.Background)
	set(&f.PolicyEngineMode, r.PolicyEngineMode)
	set(&f.Layout, r.Layout)
	set(&f.DeniedAction, r.DeniedAction)
	set(&f.Authentication, r.Authentication)
	if r.CompatibilityMode != nil {
		f.CompatibilityMode = *r.CompatibilityMode
	}
	if !flowSlugPattern.MatchString(f.Slug) {
		return fieldError("slug", "Enter a valid slug consisting of letters, numbers, underscores or hyphens.")
	}
	return nil
}

func (a *API) createFlow(ctx context.Context, in *struct{ Body FlowRequest }) (*struct{ Body *Flow }, error) {
	if _, err := a.require(ctx, permAddFlow, ""); err != nil {
		return nil, err
	}
	for field, v := range map[string]*string{"name": in.Body.Name, "slug": in.Body.Slug, "title": in.Body.Title, "designation": in.Body.Designation} {
		if v == nil {
			return nil, fieldError(field, "This field is required.")
		}
	}
	f := &store.Flow{}
	if err := applyFlow(f, in.Body); err != nil {
		return nil, err
	}
	if err := a.Store.CreateFlow(ctx, f); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_flows", "flow", f.UUID.String(), f.Slug}, nil)
	return &struct{ Body *Flow }{Body: flowOut(f, nil)}, nil
}

func (a *API) loadFlow(ctx context.Context, perm, slug string) (*store.Flow, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	f, err := a.Store.FlowBySlug(ctx, slug)
	if err != nil {
		return nil, a.storeError(err)
	}
	return f, a.check(ctx, perm, permViewFlow, f.UUID.String())
}

func (a *API) getFlow(ctx context.Context, in *FlowSlugInput) (*struct{ Body *Flow }, error) {
	f, err := a.loadFlow(ctx, permViewFlow, in.Slug)
	if err != nil {
		return nil, err
	}
	o, err := a.flow(ctx, f)
	return &struct{ Body *Flow }{Body: o}, err
}

func (a *API) patchFlow(ctx context.Context, in *struct {
	FlowSlugInput
	Body FlowRequest
}) (*struct{ Body *Flow }, error) {
	f, err := a.loadFlow(ctx, permChangeFlow, in.Slug)
	if err != nil {
		return nil, err
	}
	before, err := a.flow(ctx, f)
	if err != nil {
		return nil, err
	}
	if err := applyFlow(f, in.Body); err != nil {
		return nil, err
	}
	if err := a.Store.UpdateFlow(ctx, f); err != nil {
		return nil, a.storeError(err)
	}
	after, err := a.flow(ctx, f)
	if err != nil {
		return nil, err
	}
	if d := diff(before, after); len(d) > 0 {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_flows", "flow", f.UUID.String(), f.Slug}, map[string]any{"diff": d})
	}
	return &struct{ Body *Flow }{Body: after}, nil
}

func (a *API) deleteFlow(ctx context.Context, in *FlowSlugInput) (*noContent, error) {
	f, err := a.loadFlow(ctx, permDeleteFlow, in.Slug)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteFlow(ctx, f.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_flows", "flow", f.UUID.String(), f.Slug}, nil)
	return &noContent{}, nil
}

// secretSettings are write-only stage fields (authentik's write_only
// serializer fields): accepted, never shown. auth and auth_password are
// the SMS stage's webhook credentials, password an email stage's SMTP one.
var secretSettings = map[string]bool{"private_key": true, "secret": true, "auth": true, "auth_password": true, "password": true}

// stageInfo describes a stored stage.
func (a *API) stageInfo(s *store.Stage) StageInfo {
	settings := map[string]any{}
	for k, v := range s.Settings {
		if !secretSettings[k] {
			settings[k] = v
		}
	}
	model := s.Type
	if t, ok := stageall.Lookup(s.Type); ok {
		model = t.ModelName
	}
	return StageInfo{PK: s.UUID, Name: s.Name, Type: s.Type, Settings: settings, Component: "ak-stage-" + s.Type + "-form",
		VerboseName: s.Type + " stage", MetaModelName: model}
}

func (a *API) bindingOut(ctx context.Context, b *store.FlowStageBinding) (*FlowStageBinding, error) {
	st, err := a.Store.StageByUUID(ctx, b.StageUUID)
	if err != nil {
		return nil, a.storeError(err)
	}
	return &FlowStageBinding{PK: b.UUID, PolicyBindingPtr: b.UUID, Target: b.FlowUUID, Stage: b.StageUUID,
		StageObj: a.stageInfo(st), EvaluateOnPlan: b.EvaluateOnPlan, ReEvaluatePolicies: b.ReEvaluatePolicies,
		Order: b.Order, PolicyEngineMode: b.PolicyEngineMode, InvalidResponseAction: b.InvalidResponseAction}, nil
}

func (a *API) listBindings(ctx context.Context, in *bindingListInput) (*listOf[*FlowStageBinding], error) {
	if _, err := a.require(ctx, permViewBinding, ""); err != nil {
		return nil, err
	}
	var flows []uuid.UUID
	if in.Target != "" {
		id, err := uuid.Parse(in.Target)
		if err != nil {
			return nil, fieldError("target", "Must be a valid UUID.")
		}
		flows = []uuid.UUID{id}
	} else {
		fs, _, err := a.Store.ListFlows(ctx, "", store.ListOptions{Page: store.Page{Limit: 10000}})
		if err != nil {
			return nil, a.storeError(err)
		}
		for _, f := range fs {
			flows = append(flows, f.UUID)
		}
	}
	var all []*store.FlowStageBinding
	for _, f := range flows {
		bs, err := a.Store.FlowStageBindings(ctx, f)
		if err != nil {
			return nil, a.storeError(err)
		}
		all = append(all, bs...)
	}
	if in.Ordering != "" && in.Ordering != "order" {
		return nil, fieldError("ordering", "cannot order by "+in.Ordering)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Order < all[j].Order })
	from, to := in.window(len(all))
	out := &listOf[*FlowStageBinding]{}
	out.Body.Results = []*FlowStageBinding{}
	for _, b := range all[from:to] {
		o, err := a.bindingOut(ctx, b)
		if err != nil {
			return nil, err
		}
		out.Body.Results = append(out.Body.Results, o)
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, len(all), to-from), Autocomplete{}
	return out, nil
}

func applyBinding(b *store.FlowStageBinding, r FlowStageBindingRequest) {
	if r.Target != nil {
		b.FlowUUID = *r.Target
	}
	if r.Stage != nil {
		b.StageUUID = *r.Stage
	}
	if r.EvaluateOnPlan != nil {
		b.EvaluateOnPlan = *r.EvaluateOnPlan
	}
	if r.ReEvaluatePolicies != nil {
		b.ReEvaluatePolicies = *r.ReEvaluatePolicies
	}
	if r.Order != nil {
		b.Order = *r.Order
	}
	if r.PolicyEngineMode != nil {
		b.PolicyEngineMode = *r.PolicyEngineMode
	}
	if r.InvalidResponseAction != nil {
		b.InvalidResponseAction = *r.InvalidResponseAction
	}
}

func (a *API) createBinding(ctx context.Context, in *struct{ Body FlowStageBindingRequest }) (*struct{ Body *FlowStageBinding }, error) {
	if _, err := a.require(ctx, permAddBinding, ""); err != nil {
		return nil, err
	}
	r := in.Body
	if r.Target == nil || r.Stage == nil || r.Order == nil {
		return nil, fieldError("non_field_errors", "target, stage and order are required.")
	}
	b := &store.FlowStageBinding{ReEvaluatePolicies: true}
	applyBinding(b, r)
	if err := a.Store.CreateFlowStageBinding(ctx, b); err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return nil, fieldError("non_field_errors", "The flow or the stage does not exist, or a value is invalid.")
		}
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_flows", "flowstagebinding", b.UUID.String(), ""}, nil)
	o, err := a.bindingOut(ctx, b)
	return &struct{ Body *FlowStageBinding }{Body: o}, err
}

func (a *API) loadBinding(ctx context.Context, perm string, id uuid.UUID) (*store.FlowStageBinding, error) {
	if err := a.check(ctx, perm, permViewBinding, id.String()); err != nil {
		return nil, err
	}
	b, err := a.Store.FlowStageBindingByUUID(ctx, id)
	return b, a.storeError(err)
}

func (a *API) getBinding(ctx context.Context, in *IDInput) (*struct{ Body *FlowStageBinding }, error) {
	b, err := a.loadBinding(ctx, permViewBinding, in.ID)
	if err != nil {
		return nil, err
	}
	o, err := a.bindingOut(ctx, b)
	return &struct{ Body *FlowStageBinding }{Body: o}, err
}

func (a *API) patchBinding(ctx context.Context, in *struct {
	IDInput
	Body FlowStageBindingRequest
}) (*struct{ Body *FlowStageBinding }, error) {
	b, err := a.loadBinding(ctx, permChangeBinding, in.ID)
	if err != nil {
		return nil, err
	}
	applyBinding(b, in.Body)
	if err := a.Store.UpdateFlowStageBinding(ctx, b); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelUpdated, modelRef{"authentik_flows", "flowstagebinding", b.UUID.String(), ""}, nil)
	o, err := a.bindingOut(ctx, b)
	return &struct{ Body *FlowStageBinding }{Body: o}, err
}

func (a *API) deleteBinding(ctx context.Context, in *IDInput) (*noContent, error) {
	b, err := a.loadBinding(ctx, permDeleteBinding, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteFlowStageBinding(ctx, b.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_flows", "flowstagebinding", b.UUID.String(), ""}, nil)
	return &noContent{}, nil
}

func (a *API) listStages(ctx context.Context, in *stageListInput) (*listOf[StageInfo], error) {
	only, err := a.visible(ctx, permViewStage)
	if err != nil {
		return nil, err
	}
	ss, total, err := a.Store.ListStages(ctx, in.Type, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[StageInfo]{}
	out.Body.Results = []StageInfo{}
	for _, s := range ss {
		out.Body.Results = append(out.Body.Results, a.stageInfo(s))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, total, len(ss)), Autocomplete{}
	return out, nil
}

func (a *API) loadStage(ctx context.Context, perm string, id uuid.UUID) (*store.Stage, error) {
	if err := a.check(ctx, perm, permViewStage, id.String()); err != nil {
		return nil, err
	}
	s, err := a.Store.StageByUUID(ctx, id)
	return s, a.storeError(err)
}

func (a *API) getStage(ctx context.Context, in *IDInput) (*struct{ Body StageInfo }, error) {
	s, err := a.loadStage(ctx, permViewStage, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body StageInfo }{Body: a.stageInfo(s)}, nil
}

func (a *API) deleteStage(ctx context.Context, in *IDInput) (*noContent, error) {
	s, err := a.loadStage(ctx, permDeleteStage, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteStage(ctx, s.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_flows", "stage", s.UUID.String(), s.Name}, nil)
	return &noContent{}, nil
}

// validStage checks the settings with the stage type's own constructor and
// returns the canonical type name.
func validStage(typ string, settings map[string]any) (string, error) {
	t, ok := stageall.Lookup(typ)
	if !ok {
		return "", detailError(http.StatusNotFound, "Unknown stage type "+typ+".")
	}
	if hasNUL(settings) {
		return "", fieldError("settings", "Null characters are not allowed.")
	}
	if _, err := t.New(settings); err != nil {
		return "", fieldError("settings", err.Error())
	}
	return t.Name, nil
}

func (a *API) createStage(ctx context.Context, in *struct {
	TypeInput
	Body StageRequest
}) (*struct{ Body StageInfo }, error) {
	if _, err := a.require(ctx, permAddStage, ""); err != nil {
		return nil, err
	}
	if in.Body.Name == nil {
		return nil, fieldError("name", "This field is required.")
	}
	settings := in.Body.merged()
	typ, err := validStage(in.Type, settings)
	if err != nil {
		return nil, err
	}
	s := &store.Stage{Name: *in.Body.Name, Type: typ, Settings: settings}
	if err := a.Store.CreateStage(ctx, s); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_flows", "stage", s.UUID.String(), s.Name}, nil)
	return &struct{ Body StageInfo }{Body: a.stageInfo(s)}, nil
}

func (a *API) patchStage(ctx context.Context, in *struct {
	TypeInput
	IDInput
	Body StageRequest
}) (*struct{ Body StageInfo }, error) {
	s, err := a.loadStage(ctx, permChangeStage, in.ID)
	if err != nil {
		return nil, err
	}
	if t, ok := stageall.Lookup(in.Type); !ok || t.Name != s.Type {
		return nil, errNotFound
	}
	if in.Body.Name != nil {
		s.Name = *in.Body.Name
	}
	// Write-only secrets the client could not see are kept unless replaced.
	if settings := in.Body.patched(s.Settings, secretSettings); settings != nil {
		if _, err := validStage(s.Type, settings); err != nil {
			return nil, err
		}
		s.Settings = settings
	}
	if err := a.Store.UpdateStage(ctx, s); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelUpdated, modelRef{"authentik_flows", "stage", s.UUID.String(), s.Name}, nil)
	return &struct{ Body StageInfo }{Body: a.stageInfo(s)}, nil
}
