package blueprint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// oneEntry parses a blueprint with one entry whose attrs.v is value, and
// the context (a YAML mapping body, indented by two spaces).
func oneEntry(t *testing.T, context, value string) *Blueprint {
	t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\n")
	if context != "" {
		b.WriteString("context:\n")
		for _, l := range strings.Split(context, "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	b.WriteString("entries:\n  - model: test_app.model\n    identifiers: {name: x}\n    attrs:\n      v: ")
	b.WriteString(value)
	b.WriteString("\n")
	bp, err := Parse([]byte(b.String()))
	if err != nil {
		t.Fatalf("Parse:\n%s\n%v", b.String(), err)
	}
	return bp
}

// testResolver has fakes for every hook. Find returns a description of its
// query; KeyOf "pk:<id>".
func testResolver(t *testing.T, bp *Blueprint) *Resolver {
	env := map[string]string{
		"BLUEPRINT_NAME":               "acme",
		"BLUEPRINT_EMPTY":              "",
		"BLUEPRINT_DB_PASSWORD":        "hunter2",
		"AUTHENTIK_BOOTSTRAP_PASSWORD": "bootstrap-pw",
		"GATEHOUSE_SECRET_KEY":         "do-not-leak",
		"PATH":                         "/usr/bin",
	}
	return &Resolver{
		Context:   MergeContext(bp.Context),
		LookupEnv: func(name string) (string, bool) { v, ok := env[name]; return v, ok },
		EnvPolicy: EnvPolicy{Prefixes: []string{"BLUEPRINT_"}, Allow: []string{"AUTHENTIK_BOOTSTRAP_PASSWORD"}},
		FileRoot:  t.TempDir(),
		KeyOf: func(id string, from *Entry) (any, error) {
			if id == "broken" {
				return nil, errors.New("not applied yet")
			}
			return "pk:" + id + "@" + from.Model, nil
		},
		Find: func(model string, filters []Filter) (any, error) {
			if model == "test_app.nothing" {
				return nil, nil
			}
			var parts []string
			for _, f := range filters {
				parts = append(parts, fmt.Sprintf("%s=%v", f.Field, f.Value))
			}
			return model + "?" + strings.Join(parts, "&"), nil
		},
		FindObject: func(model string, filters []Filter) (map[string]any, error) {
			if model == "test_app.nothing" {
				return nil, nil
			}
			return map[string]any{"slug": filters[0].Value, "designation": "authentication", "stages": []string{"a", "b"}}, nil
		},
	}
}

type tagTest struct {
	name    string
	context string
	value   string
	setup   func(*Resolver)
	want    any
	err     error  // a sentinel the error must wrap
	errText string // text the error must contain
}

func runTagTests(t *testing.T, tests []tagTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bp := oneEntry(t, tt.context, tt.value)
			r := testResolver(t, bp)
			if tt.setup != nil {
				tt.setup(r)
			}
			attrs, err := r.Attrs(&bp.Entries[0])
			if tt.err != nil || tt.errText != "" {
				if err == nil {
					t.Fatalf("resolved to %#v, want an error", attrs["v"])
				}
				if tt.err != nil && !errors.Is(err, tt.err) {
					t.Errorf("error %q does not wrap %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("error %q does not contain %q", err, tt.errText)
				}
				var e *Error
				if !errors.As(err, &e) || e.Entry != 0 || e.Model != "test_app.model" || !strings.HasPrefix(e.Field, "attrs.v") {
					t.Errorf("error %#v does not locate entry 0, attrs.v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, attrs["v"]); diff != "" {
				t.Errorf("resolved value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKeyOf(t *testing.T) {
	runTagTests(t, []tagTest{
		{name: "primary key", value: "!KeyOf flow", want: "pk:flow@test_app.model"},
		{name: "in a list", value: "[!KeyOf a, !KeyOf b]", want: []any{"pk:a@test_app.model", "pk:b@test_app.model"}},
		{name: "hook error", value: "!KeyOf broken", errText: "!KeyOf: broken: not applied yet"},
		{name: "no hook", value: "!KeyOf flow", setup: func(r *Resolver) { r.KeyOf = nil }, err: ErrNoResolver},
	})
}

func TestFind(t *testing.T) {
	runTagTests(t, []tagTest{
		{name: "one pair", value: "!Find [authentik_flows.flow, [slug, default-password-change]]",
			want: "authentik_flows.flow?slug=default-password-change"},
		{name: "pairs are ANDed", value: "!Find [authentik_core.user, [username, akadmin], [is_active, true]]",
			want: "authentik_core.user?username=akadmin&is_active=true"},
		{name: "tags in the query", context: "field: slug\nslug: my-flow\nmodel: authentik_flows.flow",
			value: "!Find [!Context model, [!Context field, !Context slug]]", want: "authentik_flows.flow?slug=my-flow"},
		{name: "no match is null", value: "!Find [test_app.nothing, [a, b]]", want: nil},
		{name: "bad model", value: "!Find [flow, [slug, x]]", errText: "model must be app_label.model_name"},
		{name: "field not a string", value: "!Find [a.b, [[x], y]]", errText: "a query field must be a string, not list"},
		{name: "no hook", value: "!Find [a.b, [c, d]]", setup: func(r *Resolver) { r.Find = nil }, err: ErrNoResolver},
		{name: "FindObject", value: "!FindObject [authentik_flows.flow, [slug, default-password-change]]",
			want: map[string]any{"slug": "default-password-change", "designation": "authentication", "stages": []any{"a", "b"}}},
		{name: "FindObject field (docs example)",
			value: "!AtIndex [!FindObject [authentik_flows.flow, [slug, default-password-change]], designation]", want: "authentication"},
		{name: "FindObject no match", value: "!FindObject [test_app.nothing, [a, b]]", want: nil},
		{name: "FindObject no hook", value: "!FindObject [a.b, [c, d]]", setup: func(r *Resolver) { r.FindObject = nil }, err: ErrNoResolver},
	})
}

func TestEnv(t *testing.T) {
	runTagTests(t, []tagTest{
		{name: "allowed by prefix", value: "!Env BLUEPRINT_NAME", want: "acme"},
		{name: "unset takes default", value: "!Env [BLUEPRINT_UNSET, fallback]", want: "fallback"},
		{name: "empty takes default", value: "!Env [BLUEPRINT_EMPTY, fallback]", want: "fallback"},
		{name: "unset without default", value: "!Env BLUEPRINT_UNSET", want: nil},
		{name: "default is resolved", context: "d: from-context", value: "!Env [BLUEPRINT_UNSET, !Context d]", want: "from-context"},
		{name: "name from a tag", context: "n: BLUEPRINT_NAME", value: "!Env [!Context n]", want: "acme"},
		{name: "allow-listed secret", value: "!Env AUTHENTIK_BOOTSTRAP_PASSWORD", want: "bootstrap-pw"},
		{name: "secret under an allowed prefix", value: "!Env BLUEPRINT_DB_PASSWORD", err: ErrEnvNotAllowed},
		{name: "secret key", value: "!Env GATEHOUSE_SECRET_KEY", err: ErrEnvNotAllowed, errText: "GATEHOUSE_SECRET_KEY"},
		{name: "secret key even with a default", value: "!Env [GATEHOUSE_SECRET_KEY, x]", err: ErrEnvNotAllowed},
		{name: "not under a prefix", value: "!Env PATH", err: ErrEnvNotAllowed},
		{name: "zero policy allows nothing", value: "!Env BLUEPRINT_NAME", setup: func(r *Resolver) { r.EnvPolicy = EnvPolicy{} }, err: ErrEnvNotAllowed},
		{name: "no LookupEnv", value: "!Env [BLUEPRINT_NAME, d]", setup: func(r *Resolver) { r.LookupEnv = nil }, want: "d"},
	})
}

func TestEnvPolicy(t *testing.T) {
	p := EnvPolicy{Prefixes: []string{"GATEHOUSE_", "AUTHENTIK_", ""}, Allow: []string{"MY_API_KEY"}}
	for name, want := range map[string]bool{
		"GATEHOUSE_SECRET_KEY":           false,
		"AUTHENTIK_SECRET_KEY":           false,
		"AUTHENTIK_POSTGRESQL__PASSWORD": false,
		"gatehouse_email__password":      false,
		"SMTP_SECRET":                    false,
		"GITHUB_TOKEN":                   false,
		"TLS_PRIVATE_KEY_FILE":           false,
		"LDAP_BIND_PASSWD":               false,
		"MY_API_KEY":                     true,
		"GATEHOUSE_LOG_LEVEL":            true,
		"KEYCLOAK_URL":                   true,
		"":                               false,
		"A=B":                            false,
	} {
		if got := p.Allowed(name); got != want {
			t.Errorf("Allowed(%q) = %v, want %v", name, got, want)
		}
	}
	d := DefaultEnvPolicy()
	for _, name := range []string{"AUTHENTIK_BOOTSTRAP_PASSWORD", "AUTHENTIK_BOOTSTRAP_TOKEN", "AUTHENTIK_BOOTSTRAP_EMAIL", "GATEHOUSE_BOOTSTRAP_PASSWORD"} {
		if !d.Allowed(name) {
			t.Errorf("DefaultEnvPolicy refuses %s", name)
		}
	}
	for _, name := range []string{"AUTHENTIK_SECRET_KEY", "GATEHOUSE_SECRET_KEY", "HOME", "AUTHENTIK_POSTGRESQL__PASSWORD"} {
		if d.Allowed(name) {
			t.Errorf("DefaultEnvPolicy allows %s", name)
		}
	}
}

func TestContext(t *testing.T) {
	ctx := `foo: some-value
some:
  nested: [value, {deep: 42}]
foo.bar: dotted-key
env: !Env [BLUEPRINT_NAME, none]
json: !ParseJSON '{"a": {"b": [1, 2]}}'
loop: !Context loop
ping: !Context pong
pong: !Context ping
list: [a, b]`
	runTagTests(t, []tagTest{
		{name: "scalar", context: ctx, value: "!Context foo", want: "some-value"},
		{name: "default", context: ctx, value: "!Context [missing, default-value]", want: "default-value"},
		{name: "missing without default", context: ctx, value: "!Context missing", want: nil},
		{name: "mapping", context: ctx, value: "!Context some", want: map[string]any{"nested": []any{"value", map[string]any{"deep": 42}}}},
		{name: "dotted path (docs example)", context: ctx, value: "!Context some.nested.0", want: "value"},
		{name: "dotted path into a mapping", context: ctx, value: "!Context some.nested.1.deep", want: 42},
		{name: "dotted path missing", context: ctx, value: "!Context [some.nested.7, d]", want: "d"},
		{name: "a key with a dot wins over the path", context: ctx + "\nfoo2: {bar: x}", value: "!Context foo.bar", want: "dotted-key"},
		{name: "tag in the context", context: ctx, value: "!Context env", want: "acme"},
		{name: "path through a tag", context: ctx, value: "!Context json.a.b.1", want: 2},
		{name: "instance context wins", context: ctx, value: "!Context foo",
			setup: func(r *Resolver) { r.Context = MergeContext(r.Context, map[string]any{"foo": "instance"}) }, want: "instance"},
		{name: "Go values from the caller", value: "!Context models",
			setup: func(r *Resolver) {
				r.Context = map[string]any{"models": map[string]string{"user": "authentik_core"}}
			}, want: map[string]any{"user": "authentik_core"}},
		{name: "self reference", context: ctx, value: "!Context loop", errText: `context value "loop" refers to itself`},
		{name: "mutual reference", context: ctx, value: "!Context ping", errText: "refers to itself"},
		{name: "key not a string", context: ctx, value: "!Context [[a], b]", errText: "the key must be a string"},
	})
}

func TestFormat(t *testing.T) {
	runTagTests(t, []tagTest{
		{name: "docs example", context: "instance_name: acme", value: "!Format [my-policy-%s, !Context instance_name]", want: "my-policy-acme"},
		{name: "several args", value: `!Format ["%s.view_%s (%d)", authentik_core, user, 3]`, want: "authentik_core.view_user (3)"},
		{name: "no args", value: `!Format ["100%%"]`, want: "100%"},
		{name: "python str of values", value: `!Format ["%s %s %s", null, true, [1, a]]`, want: "None True [1, 'a']"},
		{name: "format from a tag", context: "f: 'x-%s'", value: "!Format [!Context f, 1]", want: "x-1"},
		{name: "missing arg", value: `!Format ["%s %s", a]`, errText: "not enough arguments"},
		{name: "wrong type", value: `!Format ["%d", a]`, errText: "a real number is required, not str"},
		{name: "format not a string", value: `!Format [1, a]`, errText: "the format must be a string, not int"},
	})
}

func TestIf(t *testing.T) {
	runTagTests(t, []tagTest{
		{name: "short form true", value: "!If [true]", want: true},
		{name: "short form from context", context: "token: ''", value: "!If [!Context token]", want: false},
		{name: "long form", value: "!If [1, yes-branch, no-branch]", want: "yes-branch"},
		{name: "empty list is false", value: "!If [[], a, b]", want: "b"},
		{name: "non-empty mapping is true", value: "!If [{a: 0}, a, b]", want: "a"},
		{name: "branches are resolved", context: "foo: bar",
			value: `!If [!Condition [OR, false, true], {dictionary: {nested: !Format ["foo-%s", !Context foo]}}, [list]]`,
			want:  map[string]any{"dictionary": map[string]any{"nested": "foo-bar"}}},
		{name: "only the chosen branch is resolved", value: "!If [false, !KeyOf flow, fine]",
			setup: func(r *Resolver) { r.KeyOf = nil }, want: "fine"},
	})
}

func TestCondition(t *testing.T) {
	tests := []tagTest{
		{name: "docs minimal", value: "!Condition [OR, true]", want: true},
		{name: "single arg negated", value: "!Condition [NOR, true]", want: false},
		{name: "lower-case mode", value: "!Condition [and, 1, a]", want: true},
		{name: "with Find", value: "!Condition [NOR, !Find [test_app.nothing, [default, true]]]", want: true},
		{name: "EQ strings (authentik PR 20315)", context: "my_var: my-special-value", value: `!Condition [EQ, !Context my_var, "my-special-value"]`, want: true},
		{name: "EQ numbers", value: "!Condition [EQ, 1, 1.0, true]", want: true},
		{name: "EQ different", value: "!Condition [EQ, a, b]", want: false},
		{name: "NEQ", value: "!Condition [NEQ, a, b]", want: true},
		{name: "EQ single arg", value: "!Condition [EQ, '']", want: false},
	}
	truth := map[string][4]bool{ // results for (F,F) (F,T) (T,F) (T,T)
		"AND": {false, false, false, true}, "NAND": {true, true, true, false},
		"OR": {false, true, true, true}, "NOR": {true, false, false, false},
		"XOR": {false, true, true, false}, "XNOR": {true, false, false, true},
	}
	for mode, want := range truth {
		for i, args := range []string{"0, ''", "null, x", "[1], {}", "true, 2"} {
			tests = append(tests, tagTest{name: mode + " " + args, value: "!Condition [" + mode + ", " + args + "]", want: want[i]})
		}
	}
	tests = append(tests, tagTest{name: "XOR of three", value: "!Condition [XOR, true, true, true]", want: true})
	runTagTests(t, tests)
}

func TestEnumerate(t *testing.T) {
	runTagTests(t, []tagTest{
		{name: "SEQ over a list", context: "names: [a, b]", value: `!Enumerate [!Context names, SEQ, !Format ["%d:%s", !Index 0, !Value 0]]`,
			want: []any{"0:a", "1:b"}},
		{name: "SEQ of Find (docs example)", context: "stages: {totp: t1, webauthn: w1}",
			value: `!Enumerate [!Context stages, SEQ, !Find [!Format ["authentik_stages_authenticator_%s.authenticator%sstage", !Index 0, !Index 0], [name, !Value 0]]]`,
			want: []any{
				"authentik_stages_authenticator_totp.authenticatortotpstage?name=t1",
				"authentik_stages_authenticator_webauthn.authenticatorwebauthnstage?name=w1",
			}},
		{name: "MAP of pairs (docs example)", context: "names: [s1, s2]", value: "!Enumerate [!Context names, MAP, [!Index 0, !Value 0]]",
			want: map[string]any{"0": "s1", "1": "s2"}},
		{name: "MAP deep merge", value: "!Enumerate [[a, b], MAP, {all: [!Value 0], last: !Value 0}]",
			want: map[string]any{"all": []any{"a", "b"}, "last": "b"}},
		{name: "over a mapping, in key order", value: "!Enumerate [{b: 2, a: 1}, SEQ, [!Index 0, !Value 0]]",
			want: []any{[]any{"a", 1}, []any{"b", 2}}},
		{name: "over a string", value: "!Enumerate [héllo, SEQ, !Value 0]", want: []any{"h", "é", "l", "l", "o"}},
		{name: "empty", value: "!Enumerate [[], SEQ, x]", want: []any{}},
		{name: "read-only role blueprint", context: "models: {user: authentik_core, flow: authentik_flows}",
			value: `!Enumerate [!Context models, SEQ, !Format ["%s.view_%s", !Value 0, !Index 0]]`,
			want:  []any{"authentik_flows.view_flow", "authentik_core.view_user"}},
		{name: "nested (docs full example)", context: "sequence: [foo, bar]",
			value: `!Enumerate [!Context sequence, MAP, [!Index 0, !Enumerate [!Value 1, SEQ, !Format ["%s: (index: %d, letter: %s)", !Value 1, !Index 0, !Value 0]]]]`,
			want: map[string]any{
				"0": []any{"foo: (index: 0, letter: f)", "foo: (index: 1, letter: o)", "foo: (index: 2, letter: o)"},
				"1": []any{"bar: (index: 0, letter: b)", "bar: (index: 1, letter: a)", "bar: (index: 2, letter: r)"},
			}},
		{name: "values are copies", value: "!Enumerate [[{a: 1}], SEQ, [!Value 0, !Value 0]]",
			want: []any{[]any{map[string]any{"a": 1}, map[string]any{"a": 1}}}},
		{name: "not iterable", value: "!Enumerate [5, SEQ, x]", errText: "the iterable must be a sequence, a mapping or a string, not int"},
		{name: "bad MAP item", value: "!Enumerate [[a], MAP, x]", errText: "a MAP item must be a [key, value] pair or a mapping, not str"},
		{name: "Index outside Enumerate", value: "!Index 0", errText: "!Index is only valid inside !Enumerate"},
		{name: "inner iterable from the outer element", value: "!Enumerate [[ab, c], SEQ, !Enumerate [!Value 1, SEQ, !Format [\"%s%d\", !Value 0, !Index 1]]]",
			want: []any{[]any{"a0", "b0"}, []any{"c1"}}},
		{name: "Value too deep", value: "!Enumerate [[a], SEQ, !Value 1]", errText: "depth 1 is too deep"},
		{name: "iterable refers to its own Enumerate", value: "!Enumerate [!Enumerate [!Index 1, SEQ, x], SEQ, y]",
			errText: "depth 1 refers to the !Enumerate whose iterable is being resolved"},
	})
}

func TestAtIndex(t *testing.T) {
	runTagTests(t, []tagTest{
		{name: "sequence (docs)", value: `!AtIndex [["first", "second"], 0]`, want: "first"},
		{name: "mapping (docs)", value: `!AtIndex [{"foo": "bar", "other": "value"}, "foo"]`, want: "bar"},
		{name: "default (docs)", value: `!AtIndex [["first"], 100, "default"]`, want: "default"},
		{name: "no default (docs)", value: `!AtIndex [["first"], 100]`, errText: "index out of range: 100"},
		{name: "negative index", value: `!AtIndex [[a, b, c], -1]`, want: "c"},
		{name: "missing key", value: `!AtIndex [{a: 1}, b]`, errText: "key does not exist: 'b'"},
		{name: "missing key default", value: `!AtIndex [{a: 1}, b, !Format ["%s", x]]`, want: "x"},
		{name: "integer key", value: `!AtIndex [{0: zero}, 0]`, want: "zero"},
		{name: "from context", context: "l: [x, y]", value: `!AtIndex [!Context l, 1]`, want: "y"},
		{name: "null collection with default", value: `!AtIndex [null, a, d]`, want: "d"},
		{name: "string index on a list", value: `!AtIndex [[a], x]`, errText: "invalid index for a list: 'x'"},
		{name: "scalar collection", value: `!AtIndex [abc, 0]`, errText: "must be a sequence or a mapping, not str"},
	})
}

func TestParseJSON(t *testing.T) {
	runTagTests(t, []tagTest{
		{name: "object", value: `!ParseJSON '{"a": [1, 2.5, "x", true, null], "b": {}}'`,
			want: map[string]any{"a": []any{1, 2.5, "x", true, nil}, "b": map[string]any{}}},
		{name: "scalar", value: `!ParseJSON '"text"'`, want: "text"},
		{name: "big number", value: `!ParseJSON '123456789012345678901234567890'`, want: 1.2345678901234568e+29},
		{name: "invalid", value: `!ParseJSON '{"a": '`, errText: "invalid JSON"},
		{name: "trailing text", value: `!ParseJSON '1 2'`, errText: "text after the value"},
		{name: "too deep", value: `!ParseJSON '` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `'`, err: ErrTooDeep},
	})
}

func TestFile(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	write := func(dir, name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(root, "secret.txt", "  s3cret\n\n")
	write(root, "dir/cert.pem", "-----BEGIN-----\nabc\n-----END-----\n")
	write(root, "big.txt", strings.Repeat("x", 2000))
	write(root, "latin1.txt", "caf\xe9")
	write(outside, "stolen.txt", "outside")
	symlink := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Skipf("symlinks: %v", err)
		}
	}
	symlink(filepath.Join(outside, "stolen.txt"), "escape.txt")
	symlink(outside, "escape-dir")
	symlink("secret.txt", "inside-link.txt")
	symlink("../"+filepath.Base(outside)+"/stolen.txt", "relative-escape.txt")

	setRoot := func(r *Resolver) { r.FileRoot = root; r.Limits.MaxFileBytes = 1000 }
	runTagTests(t, []tagTest{
		{name: "relative", value: "!File secret.txt", setup: setRoot, want: "s3cret"},
		{name: "subdirectory", value: "!File dir/cert.pem", setup: setRoot, want: "-----BEGIN-----\nabc\n-----END-----"},
		{name: "absolute inside the root", value: "!File " + filepath.Join(root, "secret.txt"), setup: setRoot, want: "s3cret"},
		{name: "symlink inside the root", value: "!File inside-link.txt", setup: setRoot, want: "s3cret"},
		{name: "missing takes default", value: "!File [nope.txt, fallback]", setup: setRoot, want: "fallback"},
		{name: "missing without default", value: "!File nope.txt", setup: setRoot, want: nil},
		{name: "dot-dot", value: "!File ../" + filepath.Base(outside) + "/stolen.txt", setup: setRoot, err: ErrFileNotAllowed},
		{name: "dot-dot inside the path", value: "!File dir/../../x", setup: setRoot, err: ErrFileNotAllowed},
		{name: "absolute outside the root", value: "!File " + filepath.Join(outside, "stolen.txt"), setup: setRoot, err: ErrFileNotAllowed},
		{name: "absolute system file", value: "!File [/etc/passwd, d]", setup: setRoot, err: ErrFileNotAllowed},
		{name: "symlink out of the root", value: "!File [escape.txt, d]", setup: setRoot, err: ErrFileNotAllowed},
		{name: "relative symlink out of the root", value: "!File [relative-escape.txt, d]", setup: setRoot, err: ErrFileNotAllowed},
		{name: "through a symlinked directory", value: "!File [escape-dir/stolen.txt, d]", setup: setRoot, err: ErrFileNotAllowed},
		{name: "directory", value: "!File dir", setup: setRoot, err: ErrFileNotAllowed, errText: "not a regular file"},
		{name: "the root itself", value: "!File .", setup: setRoot, err: ErrFileNotAllowed},
		{name: "too large", value: "!File big.txt", setup: setRoot, err: ErrTooLarge},
		{name: "not UTF-8", value: "!File latin1.txt", setup: setRoot, errText: "not UTF-8"},
		{name: "no root", value: "!File [secret.txt, d]", setup: func(r *Resolver) { r.FileRoot = "" }, err: ErrFileNotAllowed, errText: "no file root"},
	})
}

func TestResolveEntry(t *testing.T) {
	_, err := Parse([]byte(`version: 1
context: {admin: akadmin, enabled: true}
entries:
  - model: authentik_core.group
    id: g
    conditions: [!Context enabled, !Condition [NOT_A_MODE_IS_CAUGHT_AT_PARSE_TIME_SO_USE_OR, true]]
    identifiers: {name: admins}
    permissions:
      - permission: view_group
        user: !Find [authentik_core.user, [username, !Context admin]]
      - permission: !Format ["%s_group", change]
        role: !KeyOf r
`))
	if err == nil || !strings.Contains(err.Error(), "mode must be one of") {
		t.Fatalf("Parse: %v, want a mode error", err)
	}
	bp, err := Parse([]byte(`version: 1
context: {admin: akadmin, enabled: true}
entries:
  - model: authentik_core.group
    id: g
    conditions: [!Context enabled, !Condition [OR, false, 1]]
    identifiers: {name: admins}
    permissions:
      - permission: view_group
        user: !Find [authentik_core.user, [username, !Context admin]]
      - permission: !Format ["%s_group", change]
        role: !KeyOf r
  - model: authentik_core.group
    conditions: [true, 0]
    identifiers: {name: never}
    attrs: {parent: !KeyOf missing-but-skipped}
`))
	if err != nil {
		t.Fatal(err)
	}
	r := testResolver(t, bp)
	ok, err := r.Conditions(&bp.Entries[0])
	if err != nil || !ok {
		t.Errorf("Conditions = %v, %v; want true", ok, err)
	}
	perms, err := r.Permissions(&bp.Entries[0])
	if err != nil {
		t.Fatal(err)
	}
	want := []ResolvedPermission{
		{Permission: "view_group", User: "authentik_core.user?username=akadmin"},
		{Permission: "change_group", Role: "pk:r@authentik_core.group"},
	}
	if diff := cmp.Diff(want, perms); diff != "" {
		t.Errorf("Permissions (-want +got):\n%s", diff)
	}
	ok, err = r.Conditions(&bp.Entries[1])
	if err != nil || ok {
		t.Errorf("Conditions = %v, %v; want false", ok, err)
	}
	ids, err := r.Identifiers(&bp.Entries[1])
	if err != nil || ids["name"] != "never" {
		t.Errorf("Identifiers = %v, %v", ids, err)
	}
	if attrs, err := r.Attrs(&Entry{}); attrs != nil || err != nil {
		t.Errorf("Attrs of an entry without attrs = %v, %v", attrs, err)
	}
	// Resolution errors name the entry, the field and the tag's line.
	r.KeyOf = nil
	_, err = r.Permissions(&bp.Entries[0])
	var e *Error
	if !errors.As(err, &e) || e.Entry != 0 || e.Field != "permissions[1].role" || e.Line != 12 || !errors.Is(err, ErrNoResolver) {
		t.Errorf("Permissions error = %#v", err)
	}
	if got := err.Error(); got != "blueprint: entry 0 (authentik_core.group): permissions[1].role: line 12:15: !KeyOf: r: no resolver (Resolver.KeyOf is nil)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestResolveErrorPath(t *testing.T) {
	bp := oneEntry(t, "", "{a: [x, {b: !Context [[k], d]}]}")
	_, err := testResolver(t, bp).Attrs(&bp.Entries[0])
	var e *Error
	if !errors.As(err, &e) || e.Field != "attrs.v.a[1].b" || e.Line != 6 {
		t.Errorf("error = %#v (%v), want field attrs.v.a[1].b on line 6", err, err)
	}
}
