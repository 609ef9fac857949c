package adminui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

// Policy bindings gate an application, a flow or a flow's stage binding
// (authentik's PolicyBindingModel): each binds a policy, a group or a user,
// in order, evaluated in the target's policy engine mode. One page per
// target lists them, adds one, changes one's order and switches, and
// deletes one after asking.

func init() {
	notices["binding-added"] = "The policy binding was added."
	notices["binding-saved"] = "The policy binding was saved."
	notices["binding-deleted"] = "The policy binding was deleted."
}

// crumb is one breadcrumb link.
type crumb struct{ Href, Label string }

// bindingTarget is what policy bindings are bound to.
type bindingTarget struct {
	UUID    string
	Title   string // the page's title
	Section string
	Base    string // the bindings page (ends in /policies/)
	Crumbs  []crumb
	// Mode is the target's policy engine mode.
	Mode string
}

// targetResolver finds the target of a request, or answers it.
type targetResolver func(w http.ResponseWriter, r *http.Request) (*bindingTarget, bool)

// appTarget is the {slug} application.
func (u *UI) appTarget(w http.ResponseWriter, r *http.Request) (*bindingTarget, bool) {
	app, ok := u.loadApp(w, r)
	if !ok {
		return nil, false
	}
	base := Prefix + "applications/" + url.PathEscape(app.Slug) + "/"
	return &bindingTarget{UUID: app.PK, Title: "Policies of " + app.Name, Section: "applications", Base: base + "policies/",
		Mode: app.PolicyEngineMode, Crumbs: []crumb{{Prefix + "applications/", "Applications"}, {base, app.Name}}}, true
}

// flowTarget is the {slug} flow.
func (u *UI) flowTarget(w http.ResponseWriter, r *http.Request) (*bindingTarget, bool) {
	f, ok := u.loadFlow(w, r)
	if !ok {
		return nil, false
	}
	base := Prefix + "flows/" + url.PathEscape(f.Slug) + "/"
	return &bindingTarget{UUID: f.PK, Title: "Policies of the flow " + f.Name, Section: "flows", Base: base + "policies/",
		Mode: f.PolicyEngineMode, Crumbs: []crumb{{Prefix + "flows/", "Flows"}, {base, f.Name}}}, true
}

// stageBindingTarget is the {id} stage binding of the {slug} flow.
func (u *UI) stageBindingTarget(w http.ResponseWriter, r *http.Request) (*bindingTarget, bool) {
	f, b, ok := u.loadStageBinding(w, r)
	if !ok {
		return nil, false
	}
	base := Prefix + "flows/" + url.PathEscape(f.Slug) + "/"
	return &bindingTarget{UUID: b.PK, Title: "Policies of the stage " + b.StageObj.Name + " in " + f.Name, Section: "flows",
		Base: base + "bindings/" + url.PathEscape(b.PK) + "/policies/", Mode: b.PolicyEngineMode,
		Crumbs: []crumb{{Prefix + "flows/", "Flows"}, {base, f.Name}, {base + "bindings/" + url.PathEscape(b.PK) + "/", "Stage " + b.StageObj.Name}}}, true
}

// policyBinding is the API's PolicyBinding, with what it binds named.
type policyBinding struct {
	PK            string  `json:"pk"`
	Policy        *string `json:"policy"`
	Group         *string `json:"group"`
	User          *int64  `json:"user"`
	Negate        bool    `json:"negate"`
	Enabled       bool    `json:"enabled"`
	Order         int     `json:"order"`
	Timeout       int     `json:"timeout"`
	FailureResult bool    `json:"failure_result"`
	// Kind (policy, group, user), Label and Href are filled in here.
	Kind, Label, Href string
}

// bindingForm is the add form's values and errors.
type bindingForm struct {
	Policy, Group, Username string
	Order, Timeout          string
	Negate                  bool
	Errors                  map[string][]string
}

type bindingsData struct {
	Target   *bindingTarget
	Bindings []policyBinding
	Policies []choice
	Groups   []choice
	Form     bindingForm
}

// policyBindingsOf lists a target's bindings, named.
func (u *UI) policyBindingsOf(r *http.Request, target string) ([]policyBinding, error) {
	var out struct {
		Results []policyBinding `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/policies/bindings/?"+url.Values{"target": {target}, "ordering": {"order"},
		"page_size": {strconv.Itoa(maxPageSize)}}.Encode(), nil, &out); err != nil {
		return nil, err
	}
	for i := range out.Results {
		b := &out.Results[i]
		switch {
		case b.Policy != nil:
			var p typedObj
			b.Kind, b.Label, b.Href = "policy", *b.Policy, Prefix+"policies/"+url.PathEscape(*b.Policy)+"/"
			if err := u.do(r, http.MethodGet, "/policies/all/"+url.PathEscape(*b.Policy)+"/", nil, &p); err == nil {
				b.Label = p.Name + " (" + p.Type + ")"
			} else if !forbidden(err) {
				return nil, err
			}
		case b.Group != nil:
			var g struct {
				Name string `json:"name"`
			}
			b.Kind, b.Label, b.Href = "group", *b.Group, Prefix+"groups/"+url.PathEscape(*b.Group)+"/"
			if err := u.do(r, http.MethodGet, "/core/groups/"+url.PathEscape(*b.Group)+"/", nil, &g); err == nil {
				b.Label = g.Name
			} else if !forbidden(err) {
				return nil, err
			}
		case b.User != nil:
			var us user
			b.Kind, b.Label, b.Href = "user", strconv.FormatInt(*b.User, 10), fmt.Sprintf("%susers/%d/", Prefix, *b.User)
			if err := u.do(r, http.MethodGet, fmt.Sprintf("/core/users/%d/", *b.User), nil, &us); err == nil {
				b.Label = us.Username
			} else if !forbidden(err) {
				return nil, err
			}
		}
	}
	return out.Results, nil
}

// bindingChoices are the policies and groups the add form offers.
func (u *UI) bindingChoices(r *http.Request, d *bindingsData) error {
	var ps struct {
		Results []typedObj `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/policies/all/?ordering=name&page_size=100", nil, &ps); err != nil && !forbidden(err) {
		return err
	}
	for _, p := range ps.Results {
		d.Policies = append(d.Policies, choice{Value: p.PK, Label: p.Name + " (" + p.Type + ")", On: p.PK == d.Form.Policy})
	}
	var gs struct {
		Results []struct {
			PK   string `json:"pk"`
			Name string `json:"name"`
		} `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/core/groups/?ordering=name&page_size=100", nil, &gs); err != nil && !forbidden(err) {
		return err
	}
	for _, g := range gs.Results {
		d.Groups = append(d.Groups, choice{Value: g.PK, Label: g.Name, On: g.PK == d.Form.Group})
	}
	return nil
}

// bindingsPage renders a target's bindings page.
func (u *UI) bindingsPage(w http.ResponseWriter, r *http.Request, t *bindingTarget, form bindingForm) {
	d := bindingsData{Target: t, Form: form}
	var err error
	if d.Bindings, err = u.policyBindingsOf(r, t.UUID); err != nil {
		u.fail(w, r, err)
		return
	}
	if d.Form.Order == "" {
		next := 0
		for _, b := range d.Bindings {
			next = max(next, b.Order+10)
		}
		d.Form.Order = strconv.Itoa(next)
	}
	if d.Form.Timeout == "" {
		d.Form.Timeout = "30"
	}
	if err := u.bindingChoices(r, &d); err != nil {
		u.fail(w, r, err)
		return
	}
	if len(form.Errors) > 0 {
		w.WriteHeader(http.StatusBadRequest)
	}
	u.render(w, r, "policy-bindings", page{Title: t.Title, Section: t.Section, Notice: noticeOf(r), Data: d})
}

func (u *UI) policyBindings(resolve targetResolver) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if t, ok := resolve(w, r); ok {
			u.bindingsPage(w, r, t, bindingForm{})
		}
	}
}

// formInt reads a whole number a form field holds; bad is its error.
func formInt(r *http.Request, name string, errs map[string][]string) int {
	n, err := strconv.Atoi(strings.TrimSpace(r.PostForm.Get(name)))
	if err != nil {
		errs[name] = append(errs[name], "Enter a whole number.")
	}
	return n
}

func (u *UI) addPolicyBinding(resolve targetResolver) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := resolve(w, r)
		if !ok {
			return
		}
		f := bindingForm{Policy: r.PostForm.Get("policy"), Group: r.PostForm.Get("group"),
			Username: strings.TrimSpace(r.PostForm.Get("username")), Order: r.PostForm.Get("order"),
			Timeout: r.PostForm.Get("timeout"), Negate: r.PostForm.Get("negate") == "on"}
		errs := map[string][]string{}
		body := map[string]any{"target": t.UUID, "negate": f.Negate, "enabled": true,
			"order": formInt(r, "order", errs), "timeout": formInt(r, "timeout", errs)}
		set := 0
		if f.Policy != "" {
			body["policy"], set = f.Policy, set+1
		}
		if f.Group != "" {
			body["group"], set = f.Group, set+1
		}
		if f.Username != "" {
			pk, err := u.userByName(r, f.Username)
			if fe, ok := formErrors(err); ok {
				errs["username"] = fe["username"]
			} else if err != nil {
				u.fail(w, r, err)
				return
			}
			body["user"], set = pk, set+1
		}
		if set != 1 {
			errs["non_field_errors"] = append(errs["non_field_errors"], "Choose exactly one: a policy, a group or a user.")
		}
		var err error
		if len(errs) == 0 {
			err = u.do(r, http.MethodPost, "/policies/bindings/", body, nil)
			if fe, ok := formErrors(err); ok {
				errs, err = fe, nil
			}
		}
		if err != nil {
			u.fail(w, r, err)
			return
		}
		if len(errs) > 0 {
			f.Errors = errs
			u.bindingsPage(w, r, t, f)
			return
		}
		back(w, r, t.Base, "binding-added")
	}
}

// targetBinding reads the {pb} policy binding, which must be the target's.
func (u *UI) targetBinding(w http.ResponseWriter, r *http.Request, t *bindingTarget) (*policyBinding, bool) {
	id, err := uuid.Parse(chi.URLParam(r, "pb"))
	if err != nil {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, false
	}
	var b struct {
		policyBinding
		Target string `json:"target"`
	}
	if err := u.do(r, http.MethodGet, "/policies/bindings/"+id.String()+"/", nil, &b); err != nil {
		u.fail(w, r, err)
		return nil, false
	}
	if b.Target != t.UUID {
		u.fail(w, r, &apiError{Status: http.StatusNotFound})
		return nil, false
	}
	return &b.policyBinding, true
}

// savePolicyBinding changes a binding's order and switches.
func (u *UI) savePolicyBinding(resolve targetResolver) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := resolve(w, r)
		if !ok {
			return
		}
		b, ok := u.targetBinding(w, r, t)
		if !ok {
			return
		}
		errs := map[string][]string{}
		body := map[string]any{"order": formInt(r, "order", errs), "timeout": formInt(r, "timeout", errs),
			"enabled": r.PostForm.Get("enabled") == "on", "negate": r.PostForm.Get("negate") == "on",
			"failure_result": r.PostForm.Get("failure_result") == "on"}
		var err error
		if len(errs) == 0 {
			err = u.do(r, http.MethodPatch, "/policies/bindings/"+url.PathEscape(b.PK)+"/", body, nil)
			if fe, ok := formErrors(err); ok {
				errs, err = fe, nil
			}
		}
		if err != nil {
			u.fail(w, r, err)
			return
		}
		if len(errs) > 0 {
			u.bindingsPage(w, r, t, bindingForm{Errors: map[string][]string{"non_field_errors": flatErrors(errs)}})
			return
		}
		back(w, r, t.Base, "binding-saved")
	}
}

// flatErrors lists field errors as "field: message".
func flatErrors(errs map[string][]string) []string {
	var out []string
	for k, v := range errs {
		for _, m := range v {
			if k == "non_field_errors" {
				out = append(out, m)
			} else {
				out = append(out, k+": "+m)
			}
		}
	}
	return out
}

func (u *UI) confirmDeletePolicyBinding(resolve targetResolver) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := resolve(w, r)
		if !ok {
			return
		}
		if _, ok := u.targetBinding(w, r, t); !ok {
			return
		}
		u.render(w, r, "confirm", page{Title: "Delete policy binding", Section: t.Section, Data: confirmation{
			Heading: "Delete this policy binding?", Text: "The policy, group or user itself is kept; it no longer gates this object.",
			Action: r.URL.Path, Button: "Delete binding", Back: t.Base}})
	}
}

func (u *UI) deletePolicyBinding(resolve targetResolver) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := resolve(w, r)
		if !ok {
			return
		}
		b, ok := u.targetBinding(w, r, t)
		if !ok {
			return
		}
		if err := u.do(r, http.MethodDelete, "/policies/bindings/"+url.PathEscape(b.PK)+"/", nil, nil); err != nil {
			u.fail(w, r, err)
			return
		}
		back(w, r, t.Base, "binding-deleted")
	}
}

// mountBindings adds a target's policy binding routes below base (a chi
// pattern ending in /policies/).
func (u *UI) mountBindings(r chi.Router, base string, resolve targetResolver) {
	r.Get(base, u.policyBindings(resolve))
	r.Post(base, u.addPolicyBinding(resolve))
	r.Post(base+"{pb}/", u.savePolicyBinding(resolve))
	r.Get(base+"{pb}/delete/", u.confirmDeletePolicyBinding(resolve))
	r.Post(base+"{pb}/delete/", u.deletePolicyBinding(resolve))
}
