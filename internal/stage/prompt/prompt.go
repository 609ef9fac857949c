// Package prompt is authentik's prompt stage: it shows form fields and puts
// the answers in the plan's prompt_data.
package prompt

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
}

// Settings are the stage's fields.
type Settings struct {
	Fields []Field `json:"fields"`
}

// Challenge is ak-stage-prompt.
type Challenge struct {
	flow.Base
	Fields []Field `json:"fields"`
}

// Stage implements flow.Stage.
type Stage struct{ s Settings }

var _ flow.Stage = (*Stage)(nil)

// types are the field types handled (authentik's, except file uploads).
var types = map[string]bool{"text": true, "text_area": true, "text_read_only": true, "text_area_read_only": true,
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
		if f := &s.Fields[i]; isChoice(f.Type) && len(f.Choices) == 0 {
			f.Choices = []string{f.Placeholder}
		}
	}
	sort.SliceStable(s.Fields, func(i, j int) bool { return s.Fields[i].Order < s.Fields[j].Order })
	return &Stage{s: s}, nil
}

func (st *Stage) challenge() *Challenge {
	fields := make([]Field, len(st.s.Fields))
	for i, f := range st.s.Fields {
		if f.Type == "password" {
			f.InitialValue = "" // never echo a secret
		}
		fields[i] = f
	}
	return &Challenge{Base: flow.Base{Component: "ak-stage-prompt"}, Fields: fields}
}

// Enter shows the fields.
func (st *Stage) Enter(context.Context, *flow.Run) (flow.Step, error) {
	return flow.Step{Challenge: st.challenge()}, nil
}

// Submit validates the answers into prompt_data.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, resp flow.Response) (flow.Step, error) {
	c := st.challenge()
	data := map[string]any{}
	var step *flow.Step
	fail := func(field, msg string) {
		s := flow.Invalid(c, field, msg, "invalid")
		step = &s
	}
	for _, f := range st.s.Fields {
		switch f.Type {
		case "static", "separator":
			continue
		case "text_read_only", "text_area_read_only", "hidden":
			data[f.FieldKey] = f.InitialValue
			continue
		}
		v := resp.String(f.FieldKey)
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
			if _, err := r.Store().UserByUsername(ctx, v); err == nil {
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
	if r.Plan.Context.PromptData == nil {
		r.Plan.Context.PromptData = map[string]any{}
	}
	for k, v := range data {
		r.Plan.Context.PromptData[k] = v
	}
	return flow.Step{Done: true}, nil
}

func parsesAs(v string, layouts []string) bool {
	for _, l := range layouts {
		if _, err := time.Parse(l, v); err == nil {
			return true
		}
	}
	return false
}
