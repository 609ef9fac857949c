// Package prompt is authentik's prompt stage: it shows form fields and puts
// the answers in the plan's prompt_data.
package prompt

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "prompt"
	ModelName = "authentik_stages_prompt.promptstage"
)

// maxValue bounds one answer.
const maxValue = 8192

// maxFile bounds a file field's data URI (the executor accepts 256 KiB
// responses; authentik keeps the upload in the plan the same way).
const maxFile = 192 << 10

// Field is authentik's Prompt (stored inline in the stage's settings).
type Field struct {
	FieldKey     string `json:"field_key"`
	Label        string `json:"label"`
	Type         string `json:"type"`
	Required     bool   `json:"required"`
	Placeholder  string `json:"placeholder"`
	InitialValue string `json:"initial_value"`
	Order        int    `json:"order"`
	SubText      string `json:"sub_text"`
	// Choices of a dropdown or radio-button-group. authentik computes them
	// from the placeholder (an expression, or a static single choice);
	// Gatehouse also takes them listed here, and else uses the placeholder.
	Choices []string `json:"choices,omitempty"`
	// InitialValueExpression: InitialValue is an expression whose result is
	// the initial value (see expr.go). Never sent to the browser.
	InitialValueExpression bool `json:"initial_value_expression,omitempty"`
	// PlaceholderExpression: Placeholder is an expression whose result is
	// the placeholder or, for a choice field without listed Choices, the
	// choices (a list, or one value). Never sent to the browser.
	PlaceholderExpression bool `json:"placeholder_expression,omitempty"`
}

// Settings are the stage's fields.
type Settings struct {
	Fields []Field `json:"fields"`
	// ValidationPolicies run on the answers (request.context["prompt_data"])
	// before they are accepted; a failing one's messages are shown
	// (authentik's validation_policies).
	ValidationPolicies []uuid.UUID `json:"validation_policies"`
}

// Challenge is ak-stage-prompt.
type Challenge struct {
	flow.Base
	Fields []Field `json:"fields"`
}

// Stage implements flow.Stage.
type Stage struct{ s Settings }

var _ flow.Stage = (*Stage)(nil)

// types are the field types handled (authentik's).
var types = map[string]bool{"file": true, "text": true, "text_area": true, "text_read_only": true, "text_area_read_only": true,
	"username": true, "email": true, "password": true, "number": true, "checkbox": true, "hidden": true,
	"static": true, "separator": true, "date": true, "date-time": true, "dropdown": true,
	"radio-button-group": true, "ak-locale": true}

func isChoice(t string) bool { return t == "dropdown" || t == "radio-button-group" }

// localeTag is the shape of a BCP 47 language tag (en, pt-BR, zh-Hans-CN).
var localeTag = regexp.MustCompile(`^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}$`)

// dateTimeLayouts: RFC 3339, and what a browser's datetime-local input sends.
var dateTimeLayouts = []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05"}

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	var s Settings
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, f := range s.Fields {
		if !types[f.Type] {
			return nil, fmt.Errorf("prompt: field %q has unsupported type %q", f.FieldKey, f.Type)
		}
		if f.FieldKey == "" || seen[f.FieldKey] {
			return nil, fmt.Errorf("prompt: field keys must be set and unique (%q)", f.FieldKey)
		}
		seen[f.FieldKey] = true
		if isChoice(f.Type) && len(f.Choices) == 0 && f.Placeholder == "" {
			return nil, fmt.Errorf("prompt: field %q (%s) needs choices (or a placeholder)", f.FieldKey, f.Type)
		}
	}
	for i := range s.Fields {
		if f := &s.Fields[i]; isChoice(f.Type) && len(f.Choices) == 0 && !f.PlaceholderExpression {
			f.Choices = []string{f.Placeholder}
		}
	}
	sort.SliceStable(s.Fields, func(i, j int) bool { return s.Fields[i].Order < s.Fields[j].Order })
	return &Stage{s: s}, nil
}

// fields returns the fields as this request shows them, as authentik's
// get_initial_value, get_placeholder and get_choices work them out: a value
// already in the prompt data is the initial value; else an expression's
// result, or the initial value as stored. A choice field's choices come
// from prompt_data["<field_key>__choices"], else from its placeholder
// expression, else as stored.
func (st *Stage) fields(ctx context.Context, r *flow.Run) []Field {
	ev := &evaluator{r: r}
	pd := r.Plan.Context.PromptData
	out := make([]Field, len(st.s.Fields))
	for i, f := range st.s.Fields {
		if isChoice(f.Type) {
			if v, ok := pd[f.FieldKey+"__choices"]; ok {
				f.Choices = choicesOf(v)
			} else if f.PlaceholderExpression && len(f.Choices) == 0 {
				f.Choices = choicesOf(ev.eval(ctx, f, "choices", f.Placeholder))
			}
			if f.PlaceholderExpression {
				f.Placeholder = "" // authentik's placeholder of a choice field is its first choice
				if len(f.Choices) > 0 {
					f.Placeholder = f.Choices[0]
				}
			}
		} else if f.PlaceholderExpression {
			f.Placeholder = str(ev.eval(ctx, f, "placeholder", f.Placeholder))
		}
		if v, ok := pd[f.FieldKey]; ok {
			f.InitialValue = str(v)
		} else if f.InitialValueExpression {
			f.InitialValue = str(ev.eval(ctx, f, "initial_value", f.InitialValue))
		}
		f.InitialValueExpression, f.PlaceholderExpression = false, false
		out[i] = f
	}
	return out
}

func challenge(fields []Field) *Challenge {
	shown := make([]Field, len(fields))
	for i, f := range fields {
		if f.Type == "password" {
			f.InitialValue = "" // never echo a secret
		}
		shown[i] = f
	}
	return &Challenge{Base: flow.Base{Component: "ak-stage-prompt"}, Fields: shown}
}

// Enter shows the fields.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	return flow.Step{Challenge: challenge(st.fields(ctx, r))}, nil
}

// Submit validates the answers into prompt_data.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	fields := st.fields(ctx, r)
	c := challenge(fields)
	data := map[string]any{}
	var step *flow.Step
	fail := func(field, msg string) {
		s := flow.Invalid(c, field, msg, "invalid")
		step = &s
	}
	for _, f := range fields {
		switch f.Type {
		case "static", "separator":
			continue
		case "text_read_only", "text_area_read_only", "hidden":
			if v, ok := r.Plan.Context.PromptData[f.FieldKey]; ok {
				data[f.FieldKey] = v // kept as it is, not as shown
			} else {
				data[f.FieldKey] = f.InitialValue
			}
			continue
		}
		v := resp.String(f.FieldKey)
		if f.Type == "file" {
			// authentik sends the upload as a data URI (RFC 2397).
			switch {
			case v == "" && f.Required:
				fail(f.FieldKey, "This field is required.")
			case v == "":
			case len(v) > maxFile:
				fail(f.FieldKey, "The file is too large.")
			case !validDataURI(v):
				fail(f.FieldKey, "Upload a file (a base64 data: URI).")
			default:
				data[f.FieldKey] = v
			}
			continue
		}
		if f.Type == "checkbox" {
			b := resp.Bool(f.FieldKey) || v == "on" || v == "true"
			if f.Required && !b {
				fail(f.FieldKey, "This field is required.")
			}
			data[f.FieldKey] = b
			continue
		}
		if len(v) > maxValue || !utf8.ValidString(v) {
			fail(f.FieldKey, "The value is too long or not valid text.")
			continue
		}
		if f.Type != "password" {
			v = strings.TrimSpace(v)
		}
		if v == "" {
			if f.Required {
				fail(f.FieldKey, "This field is required.")
			}
			continue
		}
		switch f.Type {
		case "email":
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
				fail(f.FieldKey, "Enter a valid email address.")
				continue
			}
		case "number":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil {
				fail(f.FieldKey, "Enter a number.")
				continue
			}
			data[f.FieldKey] = n
			continue
		case "date":
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				fail(f.FieldKey, "Enter a valid date (YYYY-MM-DD).")
				continue
			}
		case "date-time":
			if !parsesAs(v, dateTimeLayouts) {
				fail(f.FieldKey, "Enter a valid date and time.")
				continue
			}
		case "dropdown", "radio-button-group":
			if !slices.Contains(f.Choices, v) {
				fail(f.FieldKey, "Select a valid choice.")
				continue
			}
		case "ak-locale":
			if !localeTag.MatchString(v) {
				fail(f.FieldKey, "Enter a language tag such as en or pt-BR.")
				continue
			}
		case "username":
			// Taken by someone else: a user keeps their own username
			// (the user settings flow shows it).
			if other, err := r.Store().UserByUsername(ctx, v); err == nil && !isSelf(ctx, r, other) {
				fail(f.FieldKey, "Username is already taken.")
				continue
			}
		}
		data[f.FieldKey] = v
	}
	// authentik's rule: a "password" field and its "password_repeat" must match.
	if pw, ok := data["password"].(string); ok {
		if rep, ok := data["password_repeat"].(string); ok && rep != pw {
			fail("password_repeat", "Passwords don't match.")
		}
	}
	if step != nil {
		return *step, nil
	}
	if msgs, err := st.validate(ctx, r, data); err != nil {
		return flow.Step{}, err
	} else if msgs != nil {
		return flow.Invalid(c, "non_field_errors", strings.Join(msgs, " "), "invalid"), nil
	}
	if r.Plan.Context.PromptData == nil {
		r.Plan.Context.PromptData = map[string]any{}
	}
	for k, v := range data {
		r.Plan.Context.PromptData[k] = v
	}
	return flow.Step{Done: true}, nil
}

// validate runs the validation policies on the answers merged into the
// prompt data; it returns the messages of a failure (nil when all pass).
func (st *Stage) validate(ctx context.Context, r *flow.Run, data map[string]any) ([]string, error) {
	if len(st.s.ValidationPolicies) == 0 {
		return nil, nil
	}
	merged := map[string]any{}
	for k, v := range r.Plan.Context.PromptData {
		merged[k] = v
	}
	for k, v := range data {
		merged[k] = v
	}
	req := r.PolicyRequest(ctx)
	req.Context["prompt_data"] = merged
	for _, id := range st.s.ValidationPolicies {
		p, err := r.Store().PolicyByUUID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since the stage was saved
		} else if err != nil {
			return nil, err
		}
		if res := r.Executor.Policies.EvaluatePolicy(ctx, p, req); !res.Passing {
			if len(res.Messages) == 0 {
				return []string{"The values were not accepted."}, nil
			}
			return res.Messages, nil
		}
	}
	return nil, nil
}

// isSelf tells whether u is the pending user or, without one, the signed-in
// user.
func isSelf(ctx context.Context, r *flow.Run, u *store.User) bool {
	me, err := (&evaluator{r: r}).user(ctx)
	return err == nil && me != nil && me.PK == u.PK
}

func parsesAs(v string, layouts []string) bool {
	for _, l := range layouts {
		if _, err := time.Parse(l, v); err == nil {
			return true
		}
	}
	return false
}

// validDataURI accepts "data:<media type>[;params];base64,<base64>".
func validDataURI(v string) bool {
	head, payload, ok := strings.Cut(v, ",")
	if !ok || !strings.HasPrefix(head, "data:") || !strings.HasSuffix(head, ";base64") {
		return false
	}
	mt := strings.TrimSuffix(strings.TrimPrefix(head, "data:"), ";base64")
	if _, _, err := mime.ParseMediaType(mt); mt != "" && err != nil {
		return false
	}
	_, err := base64.StdEncoding.DecodeString(payload)
	return err == nil
}
