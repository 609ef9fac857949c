package adminui

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/web/apicall"
)

// The flow page: the flow's settings, its stage bindings in order (add one
// of an existing stage, change the order, edit a binding's options, delete
// one), the policy bindings of the flow and of each stage binding, and the
// structure view, an SVG drawn here from the same bindings. Flows are
// created, edited, deleted, exported (the API's blueprint YAML) and
// imported (uploaded to the API's import) on pages of their own.

func init() {
	for k, v := range map[string]string{"flow-created": "The flow was created.", "flow-saved": "The flow was saved.",
		"flow-deleted": "The flow was deleted.", "stage-bound": "The stage was bound to the flow.",
		"stage-binding-saved": "The stage binding was saved.", "stage-unbound": "The stage binding was deleted.",
		"order-saved": "The order was saved."} {
		notices[k] = v
	}
}

// Choices of a flow's fields (the API's enums).
var (
	flowDesignations   = []string{"authentication", "authorization", "invalidation", "enrollment", "unenrollment", "recovery", "stage_configuration"}
	flowAuthentication = []string{"none", "require_authenticated", "require_unauthenticated", "require_superuser", "require_redirect", "require_outpost"}
	flowDeniedActions  = []string{"message_continue", "message", "continue"}
	flowLayouts        = []string{"stacked", "content_left", "content_right", "sidebar_left", "sidebar_right"}
	engineModes        = []string{"any", "all"}
	invalidResponse    = []string{"retry", "restart", "restart_with_context"}
)

// flowDetail is the API's Flow.
type flowDetail struct {
	flow
	PolicyEngineMode  string `json:"policy_engine_mode"`
	CompatibilityMode bool   `json:"compatibility_mode"`
	Layout            string `json:"layout"`
	DeniedAction      string `json:"denied_action"`
	Authentication    string `json:"authentication"`
}

// stageBinding is the API's FlowStageBinding.
type stageBinding struct {
	PK                    string   `json:"pk"`
	Target                string   `json:"target"`
	Stage                 string   `json:"stage"`
	StageObj              typedObj `json:"stage_obj"`
	EvaluateOnPlan        bool     `json:"evaluate_on_plan"`
	ReEvaluatePolicies    bool     `json:"re_evaluate_policies"`
	Order                 int      `json:"order"`
	PolicyEngineMode      string   `json:"policy_engine_mode"`
	InvalidResponseAction string   `json:"invalid_response_action"`
	// Policies are its policy bindings (filled in for the flow page).
	Policies []policyBinding `json:"-"`
}

// loadFlow reads the {slug} flow.
func (u *UI) loadFlow(w http.ResponseWriter, r *http.Request) (*flowDetail, bool) {
	slug := chi.URLParam(r, "slug")
	if slug == "" || len(slug) > 50 {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, false
	}
	var f flowDetail
	if err := u.do(r, http.MethodGet, "/flows/instances/"+url.PathEscape(slug)+"/", nil, &f); err != nil {
		u.fail(w, r, err)
		return nil, false
	}
	return &f, true
}

// loadStageBinding reads the {slug} flow (loadFlow) and its {id} stage
// binding; a binding of another flow is not found.
func (u *UI) loadStageBinding(w http.ResponseWriter, r *http.Request) (*flowDetail, *stageBinding, bool) {
	f, ok := u.loadFlow(w, r)
	if !ok {
		return nil, nil, false
	}
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, nil, false
	}
	var b stageBinding
	if err := u.do(r, http.MethodGet, "/flows/bindings/"+id.String()+"/", nil, &b); err != nil {
		u.fail(w, r, err)
		return nil, nil, false
	}
	if b.Target != f.PK {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, nil, false
	}
	return f, &b, true
}

type flowPageData struct {
	Flow     *flowDetail
	Bindings []stageBinding
	Policies []policyBinding
	Stages   []choice
	Add      struct {
		Stage, Order string
		Errors       map[string][]string
	}
	Diagram diagram
}

func (u *UI) flowPage(w http.ResponseWriter, r *http.Request) {
	f, ok := u.loadFlow(w, r)
	if !ok {
		return
	}
	u.renderFlowPage(w, r, f, "", "", nil)
}

// renderFlowPage renders the flow page; stage, order and errs are the add
// form's when it is shown again.
func (u *UI) renderFlowPage(w http.ResponseWriter, r *http.Request, f *flowDetail, stage, order string, errs map[string][]string) {
	d := flowPageData{Flow: f}
	var out struct {
		Results []stageBinding `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/flows/bindings/?"+url.Values{"target": {f.PK}, "ordering": {"order"},
		"page_size": {strconv.Itoa(maxPageSize)}}.Encode(), nil, &out); err != nil {
		u.fail(w, r, err)
		return
	}
	d.Bindings = out.Results
	var err error
	if d.Policies, err = u.policyBindingsOf(r, f.PK); err != nil && !forbidden(err) {
		u.fail(w, r, err)
		return
	}
	for i := range d.Bindings {
		if d.Bindings[i].Policies, err = u.policyBindingsOf(r, d.Bindings[i].PK); err != nil && !forbidden(err) {
			u.fail(w, r, err)
			return
		}
	}
	rf, err := u.loadRefs(r, []settingField{{Kind: "stage"}})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	for _, c := range rf.Stages {
		c.On = c.Value == stage
		d.Stages = append(d.Stages, c)
	}
	d.Add.Stage, d.Add.Order, d.Add.Errors = stage, order, errs
	if d.Add.Order == "" {
		next := 10
		for _, b := range d.Bindings {
			next = max(next, b.Order+10)
		}
		d.Add.Order = strconv.Itoa(next)
	}
	d.Diagram = flowDiagram(f, d.Policies, d.Bindings)
	if len(errs) > 0 {
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "flow", page{Title: f.Name, Section: "flows", Notice: noticeOf(r), Data: d})
}

// bindStage adds a binding of an existing stage.
func (u *UI) bindStage(w http.ResponseWriter, r *http.Request) {
	f, ok := u.loadFlow(w, r)
	if !ok {
		return
	}
	stage, order := r.PostForm.Get("stage"), r.PostForm.Get("order")
	errs := map[string][]string{}
	n := formInt(r, "order", errs)
	if _, err := uuid.Parse(stage); err != nil {
		errs["stage"] = []string{"Choose a stage."}
	}
	if len(errs) == 0 {
		err := u.do(r, http.MethodPost, "/flows/bindings/", map[string]any{"target": f.PK, "stage": stage, "order": n}, nil)
		if fe, ok := formErrors(err); ok {
			errs = fe
		} else if err != nil {
			u.fail(w, r, err)
			return
		}
	}
	if len(errs) > 0 {
		u.renderFlowPage(w, r, f, stage, order, errs)
		return
	}
	back(w, r, Prefix+"flows/"+url.PathEscape(f.Slug)+"/", "stage-bound")
}

// saveOrder changes one stage binding's order (the flow page's rows).
func (u *UI) saveOrder(w http.ResponseWriter, r *http.Request) {
	f, b, ok := u.loadStageBinding(w, r)
	if !ok {
		return
	}
	errs := map[string][]string{}
	n := formInt(r, "order", errs)
	if len(errs) == 0 {
		err := u.do(r, http.MethodPatch, "/flows/bindings/"+url.PathEscape(b.PK)+"/", map[string]any{"order": n}, nil)
		if fe, ok := formErrors(err); ok {
			errs = fe
		} else if err != nil {
			u.fail(w, r, err)
			return
		}
	}
	if len(errs) > 0 {
		u.renderFlowPage(w, r, f, "", "", map[string][]string{"non_field_errors": flatErrors(errs)})
		return
	}
	back(w, r, Prefix+"flows/"+url.PathEscape(f.Slug)+"/", "order-saved")
}

type stageBindingData struct {
	Flow           *flowDetail
	Binding        *stageBinding
	Errors         map[string][]string
	Modes, Invalid []string
}

func (u *UI) stageBindingPage(w http.ResponseWriter, r *http.Request) {
	f, b, ok := u.loadStageBinding(w, r)
	if !ok {
		return
	}
	u.render(w, r, "stage-binding", page{Title: "Binding of " + b.StageObj.Name, Section: "flows", Notice: noticeOf(r),
		Data: stageBindingData{Flow: f, Binding: b, Modes: engineModes, Invalid: invalidResponse}})
}

func (u *UI) saveStageBinding(w http.ResponseWriter, r *http.Request) {
	f, b, ok := u.loadStageBinding(w, r)
	if !ok {
		return
	}
	errs := map[string][]string{}
	b.Order = formInt(r, "order", errs)
	b.EvaluateOnPlan = r.PostForm.Get("evaluate_on_plan") == "on"
	b.ReEvaluatePolicies = r.PostForm.Get("re_evaluate_policies") == "on"
	b.PolicyEngineMode = r.PostForm.Get("policy_engine_mode")
	b.InvalidResponseAction = r.PostForm.Get("invalid_response_action")
	if len(errs) == 0 {
		err := u.do(r, http.MethodPatch, "/flows/bindings/"+url.PathEscape(b.PK)+"/", map[string]any{"order": b.Order,
			"evaluate_on_plan": b.EvaluateOnPlan, "re_evaluate_policies": b.ReEvaluatePolicies,
			"policy_engine_mode": b.PolicyEngineMode, "invalid_response_action": b.InvalidResponseAction}, nil)
		if fe, ok := formErrors(err); ok {
			errs = fe
		} else if err != nil {
			u.fail(w, r, err)
			return
		}
	}
	if len(errs) > 0 {
		w.WriteHeader(http.StatusBadRequest)
		u.render(w, r, "stage-binding", page{Title: "Binding of " + b.StageObj.Name, Section: "flows",
			Data: stageBindingData{Flow: f, Binding: b, Errors: errs, Modes: engineModes, Invalid: invalidResponse}})
		return
	}
	back(w, r, Prefix+"flows/"+url.PathEscape(f.Slug)+"/", "stage-binding-saved")
}

func (u *UI) confirmUnbindStage(w http.ResponseWriter, r *http.Request) {
	f, b, ok := u.loadStageBinding(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete stage binding", Section: "flows", Data: confirmation{
		Heading: "Remove the stage “" + b.StageObj.Name + "” from the flow “" + f.Name + "”?",
		Text:    "The stage itself is kept; the binding's policy bindings are deleted.",
		Action:  r.URL.Path, Button: "Remove stage", Back: Prefix + "flows/" + url.PathEscape(f.Slug) + "/"}})
}

func (u *UI) unbindStage(w http.ResponseWriter, r *http.Request) {
	f, b, ok := u.loadStageBinding(w, r)
	if !ok {
		return
	}
	if err := u.do(r, http.MethodDelete, "/flows/bindings/"+url.PathEscape(b.PK)+"/", nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"flows/"+url.PathEscape(f.Slug)+"/", "stage-unbound")
}

// flowForm is the flow create and edit form.
type flowForm struct {
	Old *flowDetail // nil when new
	F   flowDetail
	// Choices of the selects.
	Designations, Authentication, DeniedActions, Layouts, Modes []string
	Errors                                                      map[string][]string
}

func (u *UI) renderFlowForm(w http.ResponseWriter, r *http.Request, f flowForm) {
	f.Designations, f.Authentication, f.DeniedActions, f.Layouts, f.Modes = flowDesignations, flowAuthentication, flowDeniedActions, flowLayouts, engineModes
	title := "New flow"
	if f.Old != nil {
		title = "Edit " + f.Old.Name
	}
	if len(f.Errors) > 0 {
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "flow-form", page{Title: title, Section: "flows", Data: f})
}

func (u *UI) newFlow(w http.ResponseWriter, r *http.Request) {
	u.renderFlowForm(w, r, flowForm{F: flowDetail{flow: flow{Designation: "authentication"}, PolicyEngineMode: "any",
		Authentication: "none", DeniedAction: "message_continue", Layout: "stacked"}})
}

// readFlowForm reads the posted flow fields.
func readFlowForm(r *http.Request) (flowDetail, map[string]any) {
	pf := r.PostForm
	f := flowDetail{flow: flow{Name: strings.TrimSpace(pf.Get("name")), Slug: strings.TrimSpace(pf.Get("slug")),
		Title: pf.Get("title"), Designation: pf.Get("designation")}, PolicyEngineMode: pf.Get("policy_engine_mode"),
		Authentication: pf.Get("authentication"), DeniedAction: pf.Get("denied_action"), Layout: pf.Get("layout"),
		CompatibilityMode: pf.Get("compatibility_mode") == "on"}
	return f, map[string]any{"name": f.Name, "slug": f.Slug, "title": f.Title, "designation": f.Designation,
		"policy_engine_mode": f.PolicyEngineMode, "authentication": f.Authentication, "denied_action": f.DeniedAction,
		"layout": f.Layout, "compatibility_mode": f.CompatibilityMode}
}

func (u *UI) createFlow(w http.ResponseWriter, r *http.Request) {
	f, body := readFlowForm(r)
	var created flowDetail
	err := u.do(r, http.MethodPost, "/flows/instances/", body, &created)
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		u.renderFlowForm(w, r, flowForm{F: f, Errors: errs})
	}) {
		return
	}
	back(w, r, Prefix+"flows/"+url.PathEscape(created.Slug)+"/", "flow-created")
}

func (u *UI) editFlow(w http.ResponseWriter, r *http.Request) {
	f, ok := u.loadFlow(w, r)
	if !ok {
		return
	}
	u.renderFlowForm(w, r, flowForm{Old: f, F: *f})
}

func (u *UI) saveFlow(w http.ResponseWriter, r *http.Request) {
	old, ok := u.loadFlow(w, r)
	if !ok {
		return
	}
	f, body := readFlowForm(r)
	var saved flowDetail
	err := u.do(r, http.MethodPatch, "/flows/instances/"+url.PathEscape(old.Slug)+"/", body, &saved)
	if !u.submitted(w, r, err, func(errs map[string][]string) {
		u.renderFlowForm(w, r, flowForm{Old: old, F: f, Errors: errs})
	}) {
		return
	}
	back(w, r, Prefix+"flows/"+url.PathEscape(saved.Slug)+"/", "flow-saved")
}

func (u *UI) confirmDeleteFlow(w http.ResponseWriter, r *http.Request) {
	f, ok := u.loadFlow(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete flow", Section: "flows", Data: confirmation{
		Heading: "Delete the flow “" + f.Name + "”?",
		Text:    "Its stage bindings and policy bindings are deleted; the stages are kept. Anything that uses the flow (a brand, a provider, a stage) stops working until another flow is set.",
		Action:  r.URL.Path, Button: "Delete flow", Back: Prefix + "flows/" + url.PathEscape(f.Slug) + "/"}})
}

func (u *UI) deleteFlow(w http.ResponseWriter, r *http.Request) {
	f, ok := u.loadFlow(w, r)
	if !ok {
		return
	}
	if err := u.do(r, http.MethodDelete, "/flows/instances/"+url.PathEscape(f.Slug)+"/", nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, Prefix+"flows/", "flow-deleted")
}

// exportFlow downloads the API's blueprint of the flow.
func (u *UI) exportFlow(w http.ResponseWriter, r *http.Request) {
	f, ok := u.loadFlow(w, r)
	if !ok {
		return
	}
	status, body, err := apicall.CallRaw(u.API, r, http.MethodGet, "/flows/instances/"+url.PathEscape(f.Slug)+"/export/", "", nil)
	if err == nil && status != http.StatusOK {
		err = &apiError{Status: status}
	}
	if err != nil {
		u.fail(w, r, err)
		return
	}
	// The API's slugs are letters, digits, - and _; anything else is dropped.
	name := strings.Map(func(c rune) rune {
		if c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return c
		}
		return -1
	}, f.Slug)
	h := w.Header()
	h.Set("Content-Type", "application/x-yaml")
	h.Set("Content-Disposition", `attachment; filename="`+name+`.yaml"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(body)
}

// importLog is one line of an import's log.
type importLog struct {
	LogLevel string `json:"log_level"`
	Event    string `json:"event"`
}

type importData struct {
	Clear   bool
	Done    bool
	Success bool
	Logs    []importLog
	Errors  map[string][]string
}

func (u *UI) importForm(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "flow-import", page{Title: "Import a flow", Section: "flows", Data: importData{}})
}

// importFlow sends the uploaded blueprint to the API's import and shows its
// log.
func (u *UI) importFlow(w http.ResponseWriter, r *http.Request) {
	d := importData{Clear: r.PostForm.Get("clear") == "on"}
	status, body, err := u.forwardUpload(r, "/flows/instances/import/", d.Clear)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var res struct {
		Logs    []importLog `json:"logs"`
		Success bool        `json:"success"`
	}
	switch {
	case status == http.StatusOK:
		d.Done = true
		_ = json.Unmarshal(body, &res)
	case status == http.StatusBadRequest && json.Unmarshal(body, &res) == nil && res.Logs != nil:
		d.Done = true
	default:
		if e := decodeError(status, body); e != nil {
			if errs, ok := formErrors(e); ok {
				d.Errors = errs
			} else {
				u.fail(w, r, e)
				return
			}
		}
	}
	d.Success, d.Logs = res.Success, res.Logs
	if !d.Success {
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "flow-import", page{Title: "Import a flow", Section: "flows", Data: d})
}
