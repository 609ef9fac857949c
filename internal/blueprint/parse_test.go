package blueprint

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignorePositions leaves line and column numbers out of comparisons.
var ignorePositions = cmp.Options{cmpopts.IgnoreTypes(Pos{}), cmpopts.IgnoreFields(Entry{}, "Line", "Column")}

func readTestdata(t *testing.T, name string) *Blueprint {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	bp, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return bp
}

func TestParseAuthenticationFlow(t *testing.T) {
	bp := readTestdata(t, "authentication-flow.yaml")
	want := &Blueprint{
		Version: 1,
		Metadata: Metadata{
			Name:   "Test - Authentication flow",
			Labels: map[string]string{LabelDescription: "Username and password, then login"},
		},
		Entries: []Entry{
			{Index: 0, Model: "authentik_flows.flow", State: StatePresent, ID: "flow",
				Identifiers: map[string]any{"slug": "test-authentication-flow"},
				Attrs:       map[string]any{"name": "Welcome!", "title": "Welcome!", "designation": "authentication", "authentication": "none"}},
			{Index: 1, Model: "authentik_stages_password.passwordstage", State: StatePresent, ID: "password",
				Identifiers: map[string]any{"name": "test-authentication-password"},
				Attrs: map[string]any{
					"backends":                      []any{"authentik.core.auth.InbuiltBackend", "authentik.core.auth.TokenBackend"},
					"configure_flow":                &Find{Model: "authentik_flows.flow", Query: [][2]any{{"slug", "default-password-change"}}},
					"failed_attempts_before_cancel": 5,
				}},
			{Index: 2, Model: "authentik_stages_identification.identificationstage", State: StatePresent, ID: "identification",
				Identifiers: map[string]any{"name": "test-authentication-identification"},
				Attrs: map[string]any{
					"user_fields":       []any{"username", "email"},
					"password_stage":    &KeyOf{ID: "password"},
					"show_matched_user": false,
				}},
			{Index: 3, Model: "authentik_stages_user_login.userloginstage", State: StatePresent, ID: "login",
				Identifiers: map[string]any{"name": "test-authentication-login"},
				Attrs:       map[string]any{"session_duration": "seconds=0"}},
			{Index: 4, Model: "authentik_flows.flowstagebinding", State: StatePresent,
				Identifiers: map[string]any{"target": &KeyOf{ID: "flow"}, "stage": &KeyOf{ID: "identification"}, "order": 10}},
			{Index: 5, Model: "authentik_flows.flowstagebinding", State: StatePresent,
				Identifiers: map[string]any{"target": &KeyOf{ID: "flow"}, "stage": &KeyOf{ID: "login"}, "order": 100},
				Attrs:       map[string]any{"re_evaluate_policies": true},
				Permissions: []Permission{{Permission: "view_flowstagebinding",
					User: &Find{Model: "authentik_core.user", Query: [][2]any{{"username", "akadmin"}}}}}},
		},
	}
	if diff := cmp.Diff(want, bp, ignorePositions); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	if !bp.Instantiate() {
		t.Error("Instantiate() = false")
	}
	// Positions point at the entry and at the tag.
	if e := bp.Entries[2]; e.Line != 30 || e.Column != 5 {
		t.Errorf("entry 2 at %d:%d, want 30:5", e.Line, e.Column)
	}
	if p := bp.Entries[2].Attrs["password_stage"].(Tag).Position(); p != (Pos{36, 23}) {
		t.Errorf("!KeyOf at %v, want 36:23", p)
	}
	order, err := Order(bp)
	if err != nil || !cmp.Equal(order, []int{0, 1, 2, 3, 4, 5}) {
		t.Errorf("Order = %v, %v", order, err)
	}

	// Applied with fakes, the way an importer would: in order, each !KeyOf
	// answered with the object made by an earlier entry.
	made := map[string]any{}
	r := &Resolver{
		Context: MergeContext(bp.Context),
		KeyOf: func(id string, _ *Entry) (any, error) {
			pk, ok := made[id]
			if !ok {
				return nil, errors.New("not made yet")
			}
			return pk, nil
		},
		Find: func(model string, filters []Filter) (any, error) { return "pk-of-" + filters[0].Value.(string), nil },
	}
	var bindings []map[string]any
	for _, i := range order {
		e := &bp.Entries[i]
		ids, err := r.Identifiers(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Attrs(e); err != nil {
			t.Fatal(err)
		}
		if e.ID != "" {
			made[e.ID] = e.ID + "-pk"
		}
		if e.Model == "authentik_flows.flowstagebinding" {
			bindings = append(bindings, ids)
		}
	}
	wantBindings := []map[string]any{
		{"target": "flow-pk", "stage": "identification-pk", "order": 10},
		{"target": "flow-pk", "stage": "login-pk", "order": 100},
	}
	if diff := cmp.Diff(wantBindings, bindings); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
}

func TestParseTemplated(t *testing.T) {
	bp := readTestdata(t, "templated.yaml")
	if bp.Instantiate() {
		t.Error("Instantiate() = true for instantiate: false")
	}
	if got := []string{bp.Entries[0].Section, bp.Entries[1].Section, bp.Entries[2].Section}; !cmp.Equal(got, []string{"groups", "users", "meta"}) {
		t.Errorf("sections %v", got)
	}
	if _, ok := bp.Context["admin_email"].(*Env); !ok {
		t.Errorf("context admin_email = %#v, want an !Env tag", bp.Context["admin_email"])
	}
	root := t.TempDir()
	r := &Resolver{
		Context:   MergeContext(bp.Context, map[string]any{"prefix": "corp"}),
		LookupEnv: func(string) (string, bool) { return "", false },
		EnvPolicy: DefaultEnvPolicy(),
		FileRoot:  root,
		KeyOf:     func(id string, _ *Entry) (any, error) { return id + "-pk", nil },
		FindObject: func(model string, filters []Filter) (map[string]any, error) {
			return map[string]any{"slug": filters[0].Value, "designation": "stage_configuration"}, nil
		},
	}
	type resolved struct {
		Apply       bool
		Identifiers map[string]any
		Attrs       map[string]any
	}
	var got []resolved
	order, err := Order(bp)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range order {
		e := &bp.Entries[i]
		var res resolved
		if res.Apply, err = r.Conditions(e); err != nil {
			t.Fatal(err)
		}
		if res.Identifiers, err = r.Identifiers(e); err != nil {
			t.Fatal(err)
		}
		if res.Attrs, err = r.Attrs(e); err != nil {
			t.Fatal(err)
		}
		got = append(got, res)
	}
	want := []resolved{
		{Apply: true, Identifiers: map[string]any{"name": "corp-admins"}, Attrs: map[string]any{
			"is_superuser": true,
			"attributes": map[string]any{
				"teams":         map[string]any{"dev": "corp/dev", "ops": "corp/ops"},
				"first_color":   "red",
				"color_indexes": "[0, 1]",
				"mfa":           true,
				"notify":        "no",
				"certificate":   nil,
			},
		}},
		// prefix is corp, so the EQ condition is false.
		{Apply: false, Identifiers: map[string]any{"username": "corp-admin"}, Attrs: map[string]any{
			"email":  "admin@example.com",
			"name":   "Administrator",
			"groups": []any{"admins-pk"},
			"attributes": map[string]any{
				"settings_flow": map[string]any{"slug": "default-user-settings-flow", "designation": "stage_configuration"},
			},
		}},
		{Apply: true, Attrs: map[string]any{"identifiers": map[string]any{"name": "Test - Authentication flow"}, "required": false}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved entries (-want +got):\n%s", diff)
	}
}

func TestParseYAMLFeatures(t *testing.T) {
	_, err := Parse([]byte(`version: 1
x-defaults: &defaults
  designation: authentication
  title: Hello
binding: &binding {target: !KeyOf flow, re_evaluate_policies: yes}
entries:
  - model: authentik_flows.flow
    id: flow
    identifiers: {slug: a}
    attrs:
      <<: *defaults
      title: Overridden
      denied_action: off
      quoted: "yes"
      numbers: [0x1F, 1e3, .inf, ~]
      1: int key
      true: bool key
  - model: authentik_flows.flowstagebinding
    identifiers:
      <<: [*binding, {order: 10}]
      stage: !Find [authentik_stages_dummy.dummystage, [name, x]]
  - *entry_is_not_defined_yet_so_this_is_quoted_below
`))
	if err == nil || !strings.Contains(err.Error(), "unknown anchor") {
		t.Fatalf("Parse: %v, want an unknown anchor error", err)
	}
	bp, err := Parse([]byte(`version: 1
x-defaults: &defaults
  designation: authentication
  title: Hello
binding: &binding {target: !KeyOf flow, re_evaluate_policies: yes}
entries:
  - &first
    model: authentik_flows.flow
    id: flow
    identifiers: {slug: a}
    attrs:
      <<: *defaults
      title: Overridden
      denied_action: off
      quoted: "yes"
      numbers: [0x1F, 1e3, ~, !!str 12]
      1: int key
      true: bool key
  - model: authentik_flows.flowstagebinding
    identifiers:
      <<: [*binding, {order: 10}]
      stage: !Find [authentik_stages_dummy.dummystage, [name, x]]
  - *first
`))
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs := map[string]any{
		"designation": "authentication", "title": "Overridden", "denied_action": false, "quoted": "yes",
		"numbers": []any{31, 1000.0, nil, "12"}, "1": "int key", "true": "bool key",
	}
	if diff := cmp.Diff(wantAttrs, bp.Entries[0].Attrs); diff != "" {
		t.Errorf("attrs (-want +got):\n%s", diff)
	}
	wantIDs := map[string]any{
		"target": &KeyOf{ID: "flow"}, "re_evaluate_policies": true, "order": 10,
		"stage": &Find{Model: "authentik_stages_dummy.dummystage", Query: [][2]any{{"name", "x"}}},
	}
	if diff := cmp.Diff(wantIDs, bp.Entries[1].Identifiers, ignorePositions); diff != "" {
		t.Errorf("identifiers (-want +got):\n%s", diff)
	}
	if len(bp.Entries) != 3 || bp.Entries[2].Model != "authentik_flows.flow" || bp.Entries[2].Index != 2 {
		t.Errorf("aliased entry: %+v", bp.Entries[2])
	}
	// The alias repeats the id, so !KeyOf flow depends on entries 0 and 2.
	if order, err := Order(bp); err != nil || !cmp.Equal(order, []int{0, 2, 1}) {
		t.Errorf("Order = %v, %v", order, err)
	}
}

func TestParseErrors(t *testing.T) {
	entry := "version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: x}\n"
	tests := []struct {
		name  string
		yaml  string
		entry int    // the entry the error names, -1 for none
		field string // the field it names
		text  string // what it says
	}{
		{"empty", "", -1, "", "the blueprint is empty"},
		{"only a comment", "# nothing\n", -1, "", "the blueprint is empty"},
		{"not a mapping", "- a\n", -1, "", "a blueprint is a mapping"},
		{"syntax", "version: 1\nentries: [\n", -1, "", "yaml:"},
		{"two documents", "version: 1\nentries: []\n---\nversion: 1\n", -1, "", "single YAML document"},
		{"no version", "entries: []\n", -1, "version", "version is required"},
		{"version 2", "version: 2\nentries: []\n", -1, "version", "unsupported version 2"},
		{"version string", "version: '1'\nentries: []\n", -1, "version", "unsupported version '1'"},
		{"no entries", "version: 1\n", -1, "entries", "entries is required"},
		{"entries scalar", "version: 1\nentries: x\n", -1, "entries", "entries must be a list"},
		{"entries null", "version: 1\nentries:\n", -1, "entries", "entries must be a list"},
		{"section not a list", "version: 1\nentries: {a: x}\n", -1, "entries.a", "a section of entries must be a list"},
		{"metadata without name", "version: 1\nmetadata: {labels: {}}\nentries: []\n", -1, "metadata", "metadata needs a name"},
		{"metadata label list", "version: 1\nmetadata: {name: n, labels: {a: [1]}}\nentries: []\n", -1, "metadata", `label "a" must be a string`},
		{"context list", "version: 1\ncontext: [a]\nentries: []\n", -1, "context", "context must be a mapping"},
		{"entry scalar", "version: 1\nentries: [x]\n", 0, "", "an entry must be a mapping"},
		{"no model", "version: 1\nentries:\n  - identifiers: {a: b}\n", 0, "model", "model is required"},
		{"model without app", "version: 1\nentries:\n  - model: flow\n    identifiers: {a: b}\n", 0, "model", "model must be app_label.model_name"},
		{"model tag", "version: 1\nentries:\n  - model: !Context m\n    identifiers: {a: b}\n", 0, "model", "Gatehouse does not take !Context here"},
		{"model list", "version: 1\nentries:\n  - model: [a.b]\n", 0, "model", "must be a string"},
		{"model number", "version: 1\nentries:\n  - model: 8.0\n    identifiers: {a: b}\n", 0, "model", `model must be app_label.model_name (like authentik_flows.flow), not "8.0"`},
		{"model with spaces", "version: 1\nentries:\n  - model: a b.c\n    identifiers: {a: b}\n", 0, "model", "model must be app_label.model_name"},
		{"model with two dots", "version: 1\nentries:\n  - model: a.b.c\n    identifiers: {a: b}\n", 0, "model", "model must be app_label.model_name"},
		{"bad state", entry + "    state: gone\n", 0, "state", `state must be present, created, must_created or absent, not "gone"`},
		{"no identifiers", "version: 1\nentries:\n  - {model: a.b, identifiers: {x: 1}}\n  - model: authentik_core.user\n    state: absent\n", 1, "identifiers", "identifiers are required"},
		{"empty identifiers", "version: 1\nentries:\n  - {model: a.b, identifiers: {}}\n", 0, "identifiers", "identifiers are required"},
		{"identifiers list", "version: 1\nentries:\n  - {model: a.b, identifiers: [a]}\n", 0, "identifiers", "identifiers must be a mapping, not list"},
		{"attrs tag", entry + "    attrs: !Context a\n", 0, "attrs", "attrs must be a mapping, not tag !Context"},
		{"conditions mapping", entry + "    conditions: {a: b}\n", 0, "conditions", "conditions must be a list"},
		{"unknown field", entry + "    atrs: {a: b}\n", 0, "atrs", `unknown field "atrs"`},
		{"permission missing", entry + "    permissions: [{user: 1}]\n", 0, "permissions[0].permission", "permission is required"},
		{"permission unknown field", entry + "    permissions: [{permission: p, group: 1}]\n", 0, "permissions[0].group", `unknown field "group"`},
		{"permissions mapping", entry + "    permissions: {permission: p}\n", 0, "permissions", "permissions must be a list"},
		{"duplicate key", entry + "    attrs: {a: 1, a: 2}\n", 0, "attrs", `key "a" is defined twice`},
		{"tag as key", entry + "    attrs: {!Context k: 1}\n", 0, "attrs", "a mapping key cannot be a tag (!Context)"},
		{"list as key", entry + "    attrs: {[a]: 1}\n", 0, "attrs", "a mapping key must be a scalar"},
		{"unknown tag", entry + "    attrs: {a: !Secret x}\n", 0, "attrs", "unknown tag !Secret"},
		{"python tag", entry + "    attrs: {a: !!python/object:os.system x}\n", 0, "attrs", "unsupported tag"},
		{"set tag", entry + "    attrs: {a: !!set {x: null}}\n", 0, "attrs", "unsupported tag !!set"},
		{"merge of a scalar", entry + "    attrs: {<<: x}\n", 0, "attrs", "a merge key (<<) takes a mapping"},
		{"second entry names itself", entry + "  - model: a.c\n    identifiers: {a: !KeyOf x}\n    attrs: {x: !Foo 1}\n", 1, "attrs", "unknown tag !Foo"},
		// Tags with the wrong arguments.
		{"KeyOf sequence", entry + "    attrs: {a: !KeyOf [x]}\n", 0, "attrs", "!KeyOf takes a scalar"},
		{"Find scalar", entry + "    attrs: {a: !Find x}\n", 0, "attrs", "!Find takes a sequence [model, [field, value], ...]"},
		{"Find empty", entry + "    attrs: {a: !Find []}\n", 0, "attrs", "!Find takes at least 1 arguments, got 0"},
		{"Find query not a pair", entry + "    attrs: {a: !Find [a.b, [x]]}\n", 0, "attrs", "!Find: query 1 must be a pair [field, value]"},
		{"FindObject query scalar", entry + "    attrs: {a: !FindObject [a.b, x]}\n", 0, "attrs", "!FindObject: query 1 must be a pair"},
		{"Env mapping", entry + "    attrs: {a: !Env {x: y}}\n", 0, "attrs", "!Env takes a scalar or a sequence"},
		{"Env three", entry + "    attrs: {a: !Env [a, b, c]}\n", 0, "attrs", "!Env takes 1 to 2 arguments, got 3"},
		{"File empty", entry + "    attrs: {a: !File []}\n", 0, "attrs", "!File takes 1 to 2 arguments, got 0"},
		{"Context three", entry + "    attrs: {a: !Context [a, b, c]}\n", 0, "attrs", "!Context takes 1 to 2 arguments"},
		{"Format scalar", entry + "    attrs: {a: !Format x}\n", 0, "attrs", "!Format takes a sequence"},
		{"If two", entry + "    attrs: {a: !If [a, b]}\n", 0, "attrs", "!If takes [condition] or [condition, when_true, when_false], not 2 arguments"},
		{"If four", entry + "    attrs: {a: !If [a, b, c, d]}\n", 0, "attrs", "!If takes 1 to 3 arguments, got 4"},
		{"Condition no args", entry + "    attrs: {a: !Condition [AND]}\n", 0, "attrs", "!Condition takes at least 2 arguments, got 1"},
		{"Condition mode", entry + "    attrs: {a: !Condition [NOT, x]}\n", 0, "attrs", "!Condition: mode must be one of"},
		{"Enumerate two", entry + "    attrs: {a: !Enumerate [[], SEQ]}\n", 0, "attrs", "!Enumerate takes 3 arguments, got 2"},
		{"Enumerate output", entry + "    attrs: {a: !Enumerate [[], LIST, x]}\n", 0, "attrs", "!Enumerate: output must be SEQ or MAP"},
		{"Enumerate over itself", entry + "    attrs: {a: !Enumerate [!Value 0, SEQ, x]}\n", 0, "attrs", "its iterable cannot be !Value 0"},
		{"Enumerate over its index", entry + "    attrs: {a: !Enumerate [!Index 0, SEQ, x]}\n", 0, "attrs", "its iterable cannot be !Index 0"},
		{"Index not a number", entry + "    attrs: {a: !Index x}\n", 0, "attrs", `!Index takes a depth, a whole number >= 0, not "x"`},
		{"Value negative", entry + "    attrs: {a: !Value -1}\n", 0, "attrs", "!Value takes a depth"},
		{"AtIndex one", entry + "    attrs: {a: !AtIndex [[]]}\n", 0, "attrs", "!AtIndex takes 2 to 3 arguments, got 1"},
		{"ParseJSON sequence", entry + "    attrs: {a: !ParseJSON [x]}\n", 0, "attrs", "!ParseJSON takes a scalar"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bp, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", bp)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if e.Entry != tt.entry || e.Field != tt.field || !strings.Contains(e.Error(), tt.text) {
				t.Errorf("error = %q (entry %d, field %q), want entry %d, field %q, text %q", e, e.Entry, e.Field, tt.entry, tt.field, tt.text)
			}
			if tt.entry >= 0 && e.Line == 0 {
				t.Errorf("error %q has no line", e)
			}
		})
	}
}

func TestParseEntryErrorNamesModel(t *testing.T) {
	_, err := Parse([]byte("version: 1\nentries:\n  - model: authentik_flows.flow\n    identifiers: {slug: a}\n  - model: authentik_core.user\n    identifiers: {username: !Format x}\n"))
	want := "blueprint: entry 1 (authentik_core.user): identifiers: line 6:29: !Format takes a sequence"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestMetaApplyBlueprintNeedsNoIdentifiers(t *testing.T) {
	bp, err := Parse([]byte("version: 1\nentries:\n  - model: authentik_blueprints.metaapplyblueprint\n    attrs:\n      identifiers: {path: default/flow-default-authentication-flow.yaml}\n      required: false\n"))
	if err != nil {
		t.Fatal(err)
	}
	if bp.Entries[0].Identifiers != nil {
		t.Errorf("identifiers = %v", bp.Entries[0].Identifiers)
	}
}

func TestMergeContext(t *testing.T) {
	builtin := map[string]any{ContextEnterpriseLicensed: false, "list": []any{1}, "m": map[string]any{"a": 1, "b": 1}}
	file := map[string]any{"list": []any{2}, "m": map[string]any{"b": 2}, "s": "file"}
	instance := map[string]any{"s": "instance", "m": "replaced"}
	got := MergeContext(builtin, file, instance)
	want := map[string]any{ContextEnterpriseLicensed: false, "list": []any{1, 2}, "m": "replaced", "s": "instance"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MergeContext (-want +got):\n%s", diff)
	}
	got = MergeContext(builtin, file)
	if diff := cmp.Diff(map[string]any{"a": 1, "b": 2}, got["m"]); diff != "" {
		t.Errorf("nested merge (-want +got):\n%s", diff)
	}
	if !cmp.Equal(builtin["list"], []any{1}) || !cmp.Equal(builtin["m"], map[string]any{"a": 1, "b": 1}) {
		t.Errorf("MergeContext changed its input: %v", builtin)
	}
}

// TestAuthentikBlueprints parses, orders and resolves (with fake hooks)
// every blueprint under $GATEHOUSE_TEST_AUTHENTIK_BLUEPRINTS, for example a
// checkout of authentik's blueprints/ directory. Skipped when unset.
func TestAuthentikBlueprints(t *testing.T) {
	dir := os.Getenv("GATEHOUSE_TEST_AUTHENTIK_BLUEPRINTS")
	if dir == "" {
		t.Skip("GATEHOUSE_TEST_AUTHENTIK_BLUEPRINTS is not set")
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (!strings.HasSuffix(path, ".yaml") && !strings.HasSuffix(path, ".yml")) {
			return err
		}
		n++
		t.Run(strings.TrimPrefix(path, dir), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bp, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			order, err := Order(bp)
			if err != nil {
				t.Fatal(err)
			}
			r := &Resolver{
				Context: MergeContext(map[string]any{
					ContextEnterpriseLicensed: false,
					ContextRBACModels:         map[string]any{"user": "authentik_core", "flow": "authentik_flows"},
				}, bp.Context),
				EnvPolicy:  DefaultEnvPolicy(),
				LookupEnv:  func(name string) (string, bool) { return "", false },
				FileRoot:   t.TempDir(),
				KeyOf:      func(id string, _ *Entry) (any, error) { return id, nil },
				Find:       func(string, []Filter) (any, error) { return nil, nil },
				FindObject: func(string, []Filter) (map[string]any, error) { return nil, nil },
			}
			for _, i := range order {
				e := &bp.Entries[i]
				if _, err := r.Conditions(e); err != nil {
					t.Error(err)
				}
				if _, err := r.Identifiers(e); err != nil {
					t.Error(err)
				}
				if _, err := r.Attrs(e); err != nil {
					t.Error(err)
				}
				if _, err := r.Permissions(e); err != nil {
					t.Error(err)
				}
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("no blueprints under %s", dir)
	}
}
