package adminui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/web/apicall"
)

// form is a form page declared in Go and drawn by the "form" template: its
// fields carry the values typed and the API's 400 messages at them, so a
// refused write shows the form again as it was sent.
type form struct {
	ID     string // the form element's id; the submit button is ID-submit
	Crumbs []crumb
	Intro  string
	Action string
	Submit string
	Cancel string
	Danger bool // the submit button is a destructive one
	Fields []field
	Errors []string // messages that belong to no field
}

// (crumb, a breadcrumb link, is declared in policybindings.go.)

// field is one form control. Kind is text (the default), password,
// number, url, datetime-local, textarea, checkbox (Value "on" when
// checked), select or multi (a multiple select; Values).
type field struct {
	Name, Label, Kind, Value, Help string
	Values                         []string
	Required                       bool
	Max                            int
	Options                        []option
	Errors                         []string
}

// option is a select's choice; Group names its optgroup (consecutive
// options with the same group share one).
type option struct{ Value, Label, Group string }

// Selected is whether a select shows the option chosen.
func (f field) Selected(v string) bool {
	if f.Kind == "multi" {
		for _, s := range f.Values {
			if s == v {
				return true
			}
		}
		return false
	}
	return f.Value == v
}

// Size is the rows a multiple select shows: its options, 4 to 12.
func (f field) Size() int { return min(max(len(f.Options)+len(f.Groups())-1, 4), 12) }

// Groups are the options by optgroup, in order.
func (f field) Groups() []optionGroup {
	var gs []optionGroup
	for _, o := range f.Options {
		if len(gs) == 0 || gs[len(gs)-1].Label != o.Group {
			gs = append(gs, optionGroup{Label: o.Group})
		}
		gs[len(gs)-1].Options = append(gs[len(gs)-1].Options, o)
	}
	return gs
}

type optionGroup struct {
	Label   string
	Options []option
}

// field is the field named name (nil when there is none).
func (f *form) field(name string) *field {
	for i := range f.Fields {
		if f.Fields[i].Name == name {
			return &f.Fields[i]
		}
	}
	return nil
}

// read takes the posted values into the fields.
func (f *form) read(r *http.Request) {
	for i := range f.Fields {
		fl := &f.Fields[i]
		switch fl.Kind {
		case "checkbox":
			fl.Value = ""
			if r.PostForm.Get(fl.Name) != "" {
				fl.Value = "on"
			}
		case "multi":
			fl.Values = r.PostForm[fl.Name]
		case "textarea", "password":
			fl.Value = r.PostForm.Get(fl.Name)
		default:
			fl.Value = strings.TrimSpace(r.PostForm.Get(fl.Name))
		}
	}
}

// get is the value of the field name.
func (f *form) get(name string) string {
	if fl := f.field(name); fl != nil {
		return fl.Value
	}
	return ""
}

// on is whether the checkbox name is checked.
func (f *form) on(name string) bool { return f.get(name) == "on" }

// set puts a value in the field name.
func (f *form) set(name, value string) {
	if fl := f.field(name); fl != nil {
		fl.Value = value
	}
}

// reject puts a 400's messages at their fields (alias renames API fields
// to form fields; the rest go to the form) and reports whether err was one.
func (f *form) reject(err error, alias map[string]string) bool {
	errs, ok := formErrors(err)
	if !ok {
		return false
	}
	for k, msgs := range errs {
		if a, ok := alias[k]; ok {
			k = a
		}
		switch fl := f.field(k); {
		case fl != nil:
			fl.Errors = append(fl.Errors, msgs...)
		case k == "non_field_errors":
			f.Errors = append(f.Errors, msgs...)
		default:
			f.Errors = append(f.Errors, k+": "+strings.Join(msgs, " "))
		}
	}
	return true
}

// invalid marks the field name with a message of this page (a check made
// before the API is asked) and returns the 400 it stands for.
func (f *form) invalid(name, msg string) error {
	return &apiError{Status: http.StatusBadRequest, Fields: map[string][]string{name: {msg}}}
}

// written ends a form's POST: a 400 from the API (or from invalid) shows
// the form again with the messages at their fields; any other error the
// error page. It reports whether the write succeeded.
func (u *UI) written(w http.ResponseWriter, r *http.Request, p page, f *form, err error, alias map[string]string) bool {
	if f.reject(err, alias) {
		w.WriteHeader(http.StatusBadRequest)
		p.Data = f
		u.render(w, r, "form", p)
		return false
	}
	if err != nil {
		u.fail(w, r, err)
		return false
	}
	return true
}

// submitted ends a POST by what the API answered (err): a 400 (formErrors)
// goes to refused, which shows the page again with the messages at their
// fields; any other error is the error page. It reports whether the API
// took the write. written is the same for the pages of a form.
func (u *UI) submitted(w http.ResponseWriter, r *http.Request, err error, refused func(errs map[string][]string)) bool {
	if errs, ok := formErrors(err); ok {
		refused(errs)
		return false
	}
	if err != nil {
		u.fail(w, r, err)
		return false
	}
	return true
}

// secret is the data of the "secret" page, which shows a value (a key, a
// token, a link) once, with a copy button.
type secret struct {
	Crumbs  []crumb
	Heading string
	Text    string
	Items   []secretItem
	Next    string
	NextID  string
	NextMsg string
}

type secretItem struct{ ID, Label, Value string }

// listAll reads every page of an API list (at most limit objects), for
// the choices of a form.
func listAll[T any](u *UI, r *http.Request, path string, q url.Values, limit int) ([]T, error) {
	return apicall.List[T](u.API, r, path, q, limit)
}

// uuidParam is the route parameter name as a canonical UUID, "" when it is
// not one.
func uuidParam(r *http.Request, name string) string {
	id, err := uuid.Parse(chi.URLParam(r, name))
	if err != nil {
		return ""
	}
	return id.String()
}

// loadByID reads the API object collection+{id}/ that the route's {id}
// names. An {id} that is not a UUID is the 404 page; an API error is shown
// as its page. It reports whether there is an object.
func loadByID[T any](u *UI, w http.ResponseWriter, r *http.Request, collection string) (*T, bool) {
	id := uuidParam(r, "id")
	if id == "" {
		u.notFound(w, r)
		return nil, false
	}
	var v T
	if err := u.do(r, http.MethodGet, collection+id+"/", nil, &v); err != nil {
		u.fail(w, r, err)
		return nil, false
	}
	return &v, true
}

// deleteAt deletes the API object at path ("" when the URL names none: the
// 404 page), then goes back to the page list with the notice (see back).
func (u *UI) deleteAt(w http.ResponseWriter, r *http.Request, path, list, notice string) {
	if path == "" {
		u.notFound(w, r)
		return
	}
	if err := u.do(r, http.MethodDelete, path, nil, nil); err != nil {
		u.fail(w, r, err)
		return
	}
	back(w, r, list, notice)
}

// deleteByID is deleteAt for the API object collection+{id}/ that the
// route's {id} (a UUID) names.
func (u *UI) deleteByID(w http.ResponseWriter, r *http.Request, collection, list, notice string) {
	path := ""
	if id := uuidParam(r, "id"); id != "" {
		path = collection + id + "/"
	}
	u.deleteAt(w, r, path, list, notice)
}

// notFound answers the 404 page.
func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	u.fail(w, r, &apiError{Status: http.StatusNotFound})
}

// apiPath joins an API collection and an id.
func apiPath(collection, id string) string {
	return fmt.Sprintf("%s%s/", collection, url.PathEscape(id))
}
