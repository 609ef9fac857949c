package adminui

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// policyTest is the policy test page: the policy, the form, and the
// result of a run.
type policyTest struct {
	Policy   *typedObj
	Username string
	Context  string
	Errors   map[string][]string
	Done     bool
	Passing  bool
	Messages []string
	Log      []policyLog
}

// policyLog is one line the policy logged during the test (the answer's
// log_messages, authentik's LogEvent).
type policyLog struct {
	Timestamp  time.Time      `json:"timestamp"`
	LogLevel   string         `json:"log_level"`
	Logger     string         `json:"logger"`
	Event      string         `json:"event"`
	Attributes map[string]any `json:"attributes"`
}

// Attrs are the line's attributes as key=JSON pairs, by key (the template
// escapes them; JSON's own \u003c escapes would only obscure them).
func (l policyLog) Attrs() []string {
	out := make([]string, 0, len(l.Attributes))
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, k := range slices.Sorted(maps.Keys(l.Attributes)) {
		b.Reset()
		v := "?"
		if enc.Encode(l.Attributes[k]) == nil {
			v = strings.TrimSuffix(b.String(), "\n")
		}
		out = append(out, k+"="+v)
	}
	return out
}

func (u *UI) policyTestForm(w http.ResponseWriter, r *http.Request) {
	p, ok := u.loadTyped(w, r, policyKind)
	if !ok {
		return
	}
	u.render(w, r, "policy-test", page{Title: "Test " + p.Name, Section: "policies", Data: policyTest{Policy: p}})
}

// runPolicyTest evaluates the policy for a user through
// POST /policies/all/{id}/test/ (a dry run: nothing is written).
func (u *UI) runPolicyTest(w http.ResponseWriter, r *http.Request) {
	p, ok := u.loadTyped(w, r, policyKind)
	if !ok {
		return
	}
	d := policyTest{Policy: p, Username: strings.TrimSpace(r.PostForm.Get("username")), Context: r.PostForm.Get("context")}
	err := func() error {
		body := map[string]any{}
		if c := strings.TrimSpace(d.Context); c != "" {
			var ctx map[string]any
			if err := json.Unmarshal([]byte(c), &ctx); err != nil {
				return &apiError{Status: http.StatusBadRequest, Fields: map[string][]string{"context": {"Not a JSON object: " + err.Error()}}}
			}
			body["context"] = ctx
		}
		pk, err := u.userByName(r, d.Username)
		if err != nil {
			return err
		}
		body["user"] = pk
		var res struct {
			Passing     bool        `json:"passing"`
			Messages    []string    `json:"messages"`
			LogMessages []policyLog `json:"log_messages"`
		}
		if err := u.do(r, http.MethodPost, "/policies/all/"+url.PathEscape(p.PK)+"/test/", body, &res); err != nil {
			return err
		}
		d.Done, d.Passing, d.Messages, d.Log = true, res.Passing, res.Messages, res.LogMessages
		return nil
	}()
	if errs, ok := formErrors(err); ok {
		d.Errors = errs
		w.WriteHeader(http.StatusBadRequest)
	} else if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "policy-test", page{Title: "Test " + p.Name, Section: "policies", Data: d})
}

// userByName finds a user's pk by username; an unknown one is a field
// error of "username".
func (u *UI) userByName(r *http.Request, name string) (int64, error) {
	if name == "" {
		return 0, &apiError{Status: http.StatusBadRequest, Fields: map[string][]string{"username": {"Enter a username."}}}
	}
	var found struct {
		Results []user `json:"results"`
	}
	if err := u.do(r, http.MethodGet, "/core/users/?"+url.Values{"username": {name}}.Encode(), nil, &found); err != nil {
		return 0, err
	}
	if len(found.Results) != 1 {
		return 0, &apiError{Status: http.StatusBadRequest, Fields: map[string][]string{"username": {"No user has this username."}}}
	}
	return found.Results[0].PK, nil
}
