package adminui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
)

// typedKind is what the stage and policy pages differ in; their list,
// create, edit and delete pages are the same code.
type typedKind struct {
	Kind, Plural  string // stage, stages
	Title, Titles string // Stage, Stages
	API           string // /stages/: all/ lists, {type}/ creates, {type}/{id}/ updates
	Forms         map[string][]settingField
	Types         []string
	Notice        string // the done= prefix
}

// typeNames are a registry's type names.
func typeNames[T any](ts []T, name func(T) string) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, name(t))
	}
	return out
}

var (
	stageKind = &typedKind{Kind: "stage", Plural: "stages", Title: "Stage", Titles: "Stages", API: "/stages/", Forms: stageForms,
		Types: typeNames(stageall.Types(), func(t stageall.Type) string { return t.Name })}
	policyKind = &typedKind{Kind: "policy", Plural: "policies", Title: "Policy", Titles: "Policies", API: "/policies/", Forms: policyForms,
		Types: typeNames(policyall.Types(policyall.Deps{}), func(t policyall.Type) string { return t.Name })}
)

func init() {
	for _, k := range []*typedKind{stageKind, policyKind} {
		for _, n := range []string{"created", "saved", "deleted"} {
			notices[k.Kind+"-"+n] = "The " + k.Kind + " was " + n + "."
		}
	}
}

// typedObj is a stage or policy as the API's all/ endpoints give it.
type typedObj struct {
	PK               string         `json:"pk"`
	Name             string         `json:"name"`
	Type             string         `json:"type"`
	VerboseName      string         `json:"verbose_name"`
	ExecutionLogging bool           `json:"execution_logging"`
	Settings         map[string]any `json:"settings"`
}

type typedListData struct {
	K     *typedKind
	Query string
	Type  string
	Items []typedObj
	Pager pager
}

func (u *UI) typedList(k *typedKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := typedListData{K: k, Query: query(r, "q"), Type: query(r, "type")}
		q := url.Values{"ordering": {"name"}}
		if d.Query != "" {
			q.Set("search", d.Query)
		}
		if !slices.Contains(k.Types, d.Type) {
			d.Type = ""
		} else {
			q.Set("type", d.Type)
		}
		var err error
		if d.Items, d.Pager, err = listPage[typedObj](u, r, k.API+"all/", q); err != nil {
			u.fail(w, r, err)
			return
		}
		u.render(w, r, "typed-list", page{Title: k.Titles, Section: k.Plural, Notice: noticeOf(r), Data: d})
	}
}

// loadRefs reads the stages and flows a form's selects need.
func (u *UI) loadRefs(r *http.Request, spec []settingField) (refs, error) {
	var rf refs
	need := func(kinds ...string) bool {
		return slices.ContainsFunc(spec, func(s settingField) bool { return slices.Contains(kinds, s.Kind) })
	}
	if need("stage") {
		var out struct {
			Results []typedObj `json:"results"`
		}
		if err := u.do(r, http.MethodGet, "/stages/all/?ordering=name&page_size=100", nil, &out); err != nil && !forbidden(err) {
			return rf, err
		}
		for _, s := range out.Results {
			rf.Stages = append(rf.Stages, choice{Value: s.PK, Label: s.Name + " (" + s.Type + ")"})
		}
	}
	if need("flow-uuid", "flow-slug") {
		var out struct {
			Results []struct{ PK, Slug, Name string } `json:"results"`
		}
		if err := u.do(r, http.MethodGet, "/flows/instances/?ordering=slug&page_size=100", nil, &out); err != nil && !forbidden(err) {
			return rf, err
		}
		rf.Flows = out.Results
	}
	return rf, nil
}

// typedFormPage renders a stage's or policy's form (status 400 when it
// carries errors).
func (u *UI) typedFormPage(w http.ResponseWriter, r *http.Request, k *typedKind, f typedForm, settings map[string]any, notice string) {
	spec, typed := k.Forms[f.Type]
	if !typed {
		spec = nil
	}
	rf, err := u.loadRefs(r, spec)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	fillForm(&f, spec, settings, rf)
	if spec != nil && f.Fields == nil {
		f.Fields = []formField{} // a type without settings: no JSON editor either
	}
	title := "New " + f.Type + " " + k.Kind
	if f.ID != "" {
		title = "Edit " + f.Name
	}
	if len(f.Errors) > 0 {
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "typed-form", page{Title: title, Section: k.Plural, Notice: notice, Data: struct {
		K *typedKind
		F typedForm
	}{k, f}})
}

type typePick struct {
	K     *typedKind
	Types []string
}

// Described reports whether a type has a form of its own (else the JSON
// editor).
func (p typePick) Described(typ string) bool {
	_, ok := p.K.Forms[typ]
	return ok
}

func (u *UI) typedNew(k *typedKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		typ := r.URL.Query().Get("type")
		if !slices.Contains(k.Types, typ) {
			u.render(w, r, "typed-pick", page{Title: "New " + k.Kind, Section: k.Plural, Data: typePick{K: k, Types: k.Types}})
			return
		}
		u.typedFormPage(w, r, k, typedForm{Kind: k.Kind, Type: typ}, map[string]any{}, "")
	}
}

// body is a create or update request: name, the settings (flat, one field
// each, for a described type; the whole object for the JSON editor, which
// replaces them) and a policy's execution logging.
// An empty text or select leaves a setting that is not set alone (the
// type's default applies); one that is set, it clears.
func (k *typedKind) body(f typedForm, settings, old map[string]any, described bool) map[string]any {
	b := map[string]any{"name": f.Name}
	if described {
		for key, v := range settings {
			if (v == nil || v == "") && old[key] == nil {
				continue
			}
			b[key] = v
		}
	} else {
		b["settings"] = settings
	}
	if k.Kind == "policy" {
		b["execution_logging"] = f.Exec
	}
	return b
}

func (u *UI) typedCreate(k *typedKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		typ := r.URL.Query().Get("type")
		if !slices.Contains(k.Types, typ) {
			u.fail(w, r, &apiError{Status: http.StatusNotFound})
			return
		}
		f := typedForm{Kind: k.Kind, Type: typ, Name: strings.TrimSpace(r.PostForm.Get("name")), Exec: r.PostForm.Get("execution_logging") == "on"}
		spec, described := k.Forms[typ]
		settings, errs := readSettings(r, specOf(spec, described))
		if len(errs) > 0 {
			f.Errors = errs
			u.typedFormPage(w, r, k, f, settings, "")
			return
		}
		var created typedObj
		err := u.do(r, http.MethodPost, k.API+url.PathEscape(typ)+"/", k.body(f, settings, nil, described), &created)
		if !u.submitted(w, r, err, func(errs map[string][]string) {
			f.Errors = errs
			u.typedFormPage(w, r, k, f, settings, "")
		}) {
			return
		}
		back(w, r, Prefix+k.Plural+"/"+url.PathEscape(created.PK)+"/", k.Kind+"-created")
	}
}

// specOf is nil (the JSON editor) for a type without a form.
func specOf(spec []settingField, described bool) []settingField {
	if !described {
		return nil
	}
	if spec == nil {
		return []settingField{}
	}
	return spec
}

// loadTyped reads the {id} object.
func (u *UI) loadTyped(w http.ResponseWriter, r *http.Request, k *typedKind) (*typedObj, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, false
	}
	var o typedObj
	if err := u.do(r, http.MethodGet, k.API+"all/"+id.String()+"/", nil, &o); err != nil {
		u.fail(w, r, err)
		return nil, false
	}
	return &o, true
}

func (u *UI) typedEdit(k *typedKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, ok := u.loadTyped(w, r, k)
		if !ok {
			return
		}
		f := typedForm{Kind: k.Kind, ID: o.PK, Type: o.Type, Name: o.Name, Exec: o.ExecutionLogging}
		u.typedFormPage(w, r, k, f, o.Settings, noticeOf(r))
	}
}

func (u *UI) typedSave(k *typedKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, ok := u.loadTyped(w, r, k)
		if !ok {
			return
		}
		f := typedForm{Kind: k.Kind, ID: o.PK, Type: o.Type, Name: strings.TrimSpace(r.PostForm.Get("name")),
			Exec: r.PostForm.Get("execution_logging") == "on"}
		spec, described := k.Forms[o.Type]
		settings, errs := readSettings(r, specOf(spec, described))
		if len(errs) > 0 {
			f.Errors = errs
			u.typedFormPage(w, r, k, f, o.Settings, "")
			return
		}
		err := u.do(r, http.MethodPatch, k.API+url.PathEscape(o.Type)+"/"+url.PathEscape(o.PK)+"/", k.body(f, settings, o.Settings, described), nil)
		if !u.submitted(w, r, err, func(errs map[string][]string) {
			f.Errors = errs
			u.typedFormPage(w, r, k, f, settings, "")
		}) {
			return
		}
		back(w, r, Prefix+k.Plural+"/"+url.PathEscape(o.PK)+"/", k.Kind+"-saved")
	}
}

func (u *UI) typedConfirmDelete(k *typedKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		o, ok := u.loadTyped(w, r, k)
		if !ok {
			return
		}
		u.render(w, r, "confirm", page{Title: "Delete " + k.Kind, Section: k.Plural, Data: confirmation{
			Heading: "Delete the " + k.Kind + " “" + o.Name + "”?",
			Text:    "Its bindings are deleted with it. This cannot be undone.",
			Action:  r.URL.Path, Button: "Delete " + k.Kind, Back: Prefix + k.Plural + "/" + url.PathEscape(o.PK) + "/"}})
	}
}

func (u *UI) typedDelete(k *typedKind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u.deleteByID(w, r, k.API+"all/", Prefix+k.Plural+"/", k.Kind+"-deleted")
	}
}
