package adminui

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Stages and policies are typed: besides a name, each has its type's
// settings, named as authentik's serializers name them (the API's flat
// fields). The common types' forms are described here field by field; the
// API checks the values with the type's own constructor and answers a 400
// under "settings" (or "name"), shown above the fields. A type without a
// description is edited as one JSON object.

// settingField describes one setting of a typed form.
type settingField struct {
	Key, Label, Help string
	// Kind is how it is edited: text, textarea, code (a monospaced
	// textarea), bool, int, select (Options; "" sends null), multi
	// (checkboxes of Options: a list), lines (a list, one a line), json,
	// stage and flow-uuid (a select of the stages/flows: their UUID, or
	// null), flow-slug (the flow's slug, or "").
	Kind    string
	Options []string
	// Default is what the type assumes when the setting is not stored
	// (as JSON decodes it: bool, []any), shown so that saving the form
	// does not change it.
	Default any
}

// all is a list of every option, as a Default.
func all(options []string) []any {
	out := make([]any, len(options))
	for i, o := range options {
		out[i] = o
	}
	return out
}

// stageForms are the forms of the common stage types.
var stageForms = map[string][]settingField{
	"identification": {
		{Key: "user_fields", Label: "User fields", Kind: "multi", Options: []string{"username", "email", "upn"},
			Default: []any{"email", "username"}, Help: "What the user may enter to identify themselves."},
		{Key: "password_stage", Label: "Password stage", Kind: "stage", Help: "Ask for the password on the same page."},
		{Key: "case_insensitive_matching", Label: "Match case-insensitively", Kind: "bool", Default: true},
		{Key: "pretend_user_exists", Label: "Pretend unknown users exist", Kind: "bool", Default: true},
		{Key: "show_matched_user", Label: "Show the matched user", Kind: "bool", Default: true},
		{Key: "enrollment_flow", Label: "Enrollment flow", Kind: "flow-slug"},
		{Key: "recovery_flow", Label: "Recovery flow", Kind: "flow-slug"},
		{Key: "passwordless_flow", Label: "Passwordless flow", Kind: "flow-slug"},
	},
	"password": {
		{Key: "allow_show_password", Label: "Allow showing the password", Kind: "bool"},
		{Key: "failed_attempts_before_cancel", Label: "Failed attempts before the flow is cancelled", Kind: "int"},
	},
	"user_login": {
		{Key: "session_duration", Label: "Session duration", Kind: "text", Help: "A timedelta, e.g. hours=8; seconds=0 ends with the browser session."},
		{Key: "remember_me_offset", Label: "Remember-me offset", Kind: "text", Help: "When not zero, the user is asked to stay signed in this much longer."},
		{Key: "terminate_other_sessions", Label: "End the user's other sessions", Kind: "bool"},
	},
	"user_logout": {},
	"user_write": {
		{Key: "user_creation_mode", Label: "User creation", Kind: "select", Options: []string{"never_create", "create_when_required", "always_create"}},
		{Key: "create_users_as_inactive", Label: "Create users as inactive", Kind: "bool"},
		{Key: "create_users_group", Label: "Group of new users", Kind: "text", Help: "A group UUID, or empty."},
		{Key: "user_type", Label: "User type", Kind: "select", Options: []string{"internal", "external", "service_account"}},
		{Key: "user_path_template", Label: "User path template", Kind: "text"},
	},
	"prompt": {
		{Key: "fields", Label: "Fields", Kind: "json", Help: `A JSON list of fields: field_key, label, type, required, placeholder, initial_value, order, sub_text.`},
		{Key: "validation_policies", Label: "Validation policies", Kind: "lines", Help: "Policy UUIDs, one a line."},
	},
	"consent": {
		{Key: "mode", Label: "Mode", Kind: "select", Options: []string{"always_require", "permanent", "expiring"}},
		{Key: "consent_expire_in", Label: "Consent expires in", Kind: "text", Help: "A timedelta (mode expiring), e.g. weeks=4."},
	},
	"deny": {
		{Key: "deny_message", Label: "Message", Kind: "text"},
	},
	"email": {
		{Key: "use_global_settings", Label: "Use the global email settings", Kind: "bool", Default: true},
		{Key: "subject", Label: "Subject", Kind: "text"},
		{Key: "template", Label: "Template", Kind: "text", Help: "e.g. email/password_reset.html"},
		{Key: "token_expiry", Label: "Link expiry", Kind: "text", Help: "A timedelta, e.g. minutes=30."},
		{Key: "activate_user_on_success", Label: "Activate the user on success", Kind: "bool"},
		{Key: "recovery_max_attempts", Label: "Links per user and period", Kind: "int"},
		{Key: "recovery_cache_timeout", Label: "Period", Kind: "text", Help: "A timedelta, e.g. minutes=5."},
	},
	"authenticator_validate": {
		{Key: "device_classes", Label: "Device classes", Kind: "multi", Options: store.DeviceTypes, Default: all(store.DeviceTypes)},
		{Key: "not_configured_action", Label: "When the user has no device", Kind: "select", Options: []string{"skip", "deny", "configure"}},
		{Key: "configuration_stages", Label: "Configuration stages", Kind: "lines", Help: "Stage UUIDs, one a line (action configure)."},
		{Key: "last_auth_threshold", Label: "Last use threshold", Kind: "text", Help: "Skip when a device was used this recently; seconds=0 never skips."},
		{Key: "webauthn_user_verification", Label: "WebAuthn user verification", Kind: "select", Options: []string{"required", "preferred", "discouraged"}},
	},
	"authenticator_totp": {
		{Key: "digits", Label: "Digits", Kind: "int", Help: "6 or 8."},
		{Key: "friendly_name", Label: "Device name", Kind: "text"},
		{Key: "configure_flow", Label: "Configuration flow", Kind: "flow-uuid"},
	},
	"authenticator_webauthn": {
		{Key: "user_verification", Label: "User verification", Kind: "select", Options: []string{"required", "preferred", "discouraged"}},
		{Key: "resident_key_requirement", Label: "Resident key", Kind: "select", Options: []string{"required", "preferred", "discouraged"}},
		{Key: "authenticator_attachment", Label: "Attachment", Kind: "select", Options: []string{"platform", "cross-platform"}},
		{Key: "prevent_duplicate_devices", Label: "Refuse an authenticator registered already", Kind: "bool"},
		{Key: "max_attempts", Label: "Maximum attempts", Kind: "int"},
		{Key: "friendly_name", Label: "Device name", Kind: "text"},
		{Key: "configure_flow", Label: "Configuration flow", Kind: "flow-uuid"},
	},
}

// policyForms are the forms of the common policy types.
var policyForms = map[string][]settingField{
	"expression": {
		{Key: "expression", Label: "Expression", Kind: "code", Help: "Starlark, as authentik's Python expressions: return True or False; ak_message(...) adds a message."},
	},
	"password": {
		{Key: "password_field", Label: "Password field", Kind: "text"},
		{Key: "length_min", Label: "Minimum length", Kind: "int"},
		{Key: "amount_digits", Label: "Digits", Kind: "int"},
		{Key: "amount_uppercase", Label: "Uppercase letters", Kind: "int"},
		{Key: "amount_lowercase", Label: "Lowercase letters", Kind: "int"},
		{Key: "amount_symbols", Label: "Symbols", Kind: "int"},
		{Key: "symbol_charset", Label: "Symbols", Kind: "text"},
		{Key: "check_static_rules", Label: "Check the rules above", Kind: "bool"},
		{Key: "check_have_i_been_pwned", Label: "Check Have I Been Pwned", Kind: "bool"},
		{Key: "hibp_allowed_count", Label: "Allowed breach count", Kind: "int"},
		{Key: "check_zxcvbn", Label: "Check strength (zxcvbn)", Kind: "bool"},
		{Key: "zxcvbn_score_threshold", Label: "Minimum zxcvbn score", Kind: "int"},
		{Key: "error_message", Label: "Error message", Kind: "text"},
	},
	"reputation": {
		{Key: "check_ip", Label: "Check the client IP", Kind: "bool"},
		{Key: "check_username", Label: "Check the username", Kind: "bool"},
		{Key: "threshold", Label: "Threshold", Kind: "int", Help: "Fail at or below this score."},
	},
	"event_matcher": {
		{Key: "action", Label: "Action", Kind: "text", Help: "e.g. login_failed; empty matches any."},
		{Key: "client_ip", Label: "Client IP", Kind: "text"},
		{Key: "app", Label: "App", Kind: "text"},
		{Key: "model", Label: "Model", Kind: "text", Help: "app_label.model_name"},
	},
	"dummy": {
		{Key: "result", Label: "Result (pass)", Kind: "bool"},
		{Key: "wait_min", Label: "Wait at least (seconds)", Kind: "int"},
		{Key: "wait_max", Label: "Wait at most (seconds)", Kind: "int"},
	},
	"password_expiry": {
		{Key: "days", Label: "Days", Kind: "int"},
		{Key: "deny_only", Label: "Only deny (do not ask for a new password)", Kind: "bool"},
	},
}

// choice is one option of a select or a set of checkboxes.
type choice struct {
	Value, Label string
	On           bool
}

// formField is a settingField with its value, for the template.
type formField struct {
	settingField
	ID      string
	Value   string
	On      bool
	Choices []choice
	Error   string
}

// typedForm is a stage's or policy's form.
type typedForm struct {
	Kind   string // stage or policy
	ID     string // "" when new
	Type   string
	Name   string
	Fields []formField // nil: the JSON editor
	JSON   string      // the settings, for the JSON editor
	Exec   bool        // a policy's execution_logging
	Errors map[string][]string
}

// refs are the stages and flows a form's selects offer.
type refs struct {
	Stages []choice // value: uuid
	Flows  []struct{ PK, Slug, Name string }
}

// fillForm fills a form from settings.
func fillForm(f *typedForm, spec []settingField, settings map[string]any, rf refs) {
	if spec == nil {
		f.JSON = indentJSON(settings)
		if len(settings) == 0 {
			f.JSON = "{}"
		}
		return
	}
	f.Fields = make([]formField, 0, len(spec))
	for _, s := range spec {
		ff := formField{settingField: s, ID: "set-" + s.Key}
		v, stored := settings[s.Key]
		if !stored || v == nil {
			v = s.Default
		}
		switch s.Kind {
		case "bool":
			ff.On, _ = v.(bool)
		case "int":
			if n, ok := v.(float64); ok {
				ff.Value = strconv.FormatFloat(n, 'f', -1, 64)
			}
		case "multi":
			have := stringsOf(v)
			for _, o := range s.Options {
				ff.Choices = append(ff.Choices, choice{Value: o, Label: o, On: slices.Contains(have, o)})
			}
		case "lines":
			ff.Value = strings.Join(stringsOf(v), "\n")
		case "json":
			if v != nil {
				ff.Value = indentJSON(v)
			}
		case "select":
			ff.Value, _ = v.(string)
			for _, o := range s.Options {
				ff.Choices = append(ff.Choices, choice{Value: o, Label: o, On: o == ff.Value})
			}
		case "stage":
			ff.Value, _ = v.(string)
			for _, c := range rf.Stages {
				ff.Choices = append(ff.Choices, choice{Value: c.Value, Label: c.Label, On: c.Value == ff.Value})
			}
		case "flow-uuid", "flow-slug":
			ff.Value, _ = v.(string)
			for _, fl := range rf.Flows {
				val := fl.PK
				if s.Kind == "flow-slug" {
					val = fl.Slug
				}
				ff.Choices = append(ff.Choices, choice{Value: val, Label: fl.Name + " (" + fl.Slug + ")", On: val == ff.Value})
			}
		default:
			if v != nil {
				if str, ok := v.(string); ok {
					ff.Value = str
				} else {
					ff.Value = indentJSON(v)
				}
			}
		}
		if ff.Choices != nil && ff.Value != "" && !slices.ContainsFunc(ff.Choices, func(c choice) bool { return c.On }) {
			// A stored value none of the choices has stays selected.
			ff.Choices = append(ff.Choices, choice{Value: ff.Value, Label: ff.Value, On: true})
		}
		f.Fields = append(f.Fields, ff)
	}
}

// stringsOf is a JSON list's strings.
func stringsOf(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// readSettings reads a posted form's settings: spec's fields, or the JSON
// editor's object. Values the form itself cannot read (a number, JSON) are
// field errors under "settings"; it also returns the values as settings,
// so that a form shown again keeps what was typed.
func readSettings(r *http.Request, spec []settingField) (map[string]any, map[string][]string) {
	errs := map[string][]string{}
	out := map[string]any{}
	if spec == nil {
		raw := strings.TrimSpace(r.PostForm.Get("settings_json"))
		if raw == "" {
			raw = "{}"
		}
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			errs["settings"] = []string{"Not a JSON object: " + err.Error()}
			return nil, errs
		}
		return out, errs
	}
	for _, s := range spec {
		name := "set-" + s.Key
		v := r.PostForm.Get(name)
		switch s.Kind {
		case "bool":
			out[s.Key] = v == "on"
		case "int":
			if strings.TrimSpace(v) == "" {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				errs["settings"] = append(errs["settings"], s.Label+": enter a whole number.")
				continue
			}
			out[s.Key] = float64(n)
		case "multi":
			l := []any{}
			for _, x := range r.PostForm[name] {
				if slices.Contains(s.Options, x) {
					l = append(l, x)
				}
			}
			out[s.Key] = l
		case "lines":
			l := []any{}
			for line := range strings.SplitSeq(v, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					l = append(l, line)
				}
			}
			out[s.Key] = l
		case "json":
			if strings.TrimSpace(v) == "" {
				continue
			}
			var x any
			if err := json.Unmarshal([]byte(v), &x); err != nil {
				errs["settings"] = append(errs["settings"], s.Label+": not valid JSON: "+err.Error())
				continue
			}
			out[s.Key] = x
		case "select", "stage", "flow-uuid":
			if v == "" {
				out[s.Key] = nil
			} else {
				out[s.Key] = v
			}
		default:
			out[s.Key] = v
		}
	}
	return out, errs
}
