package prompt

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// authentik's default user settings prompts guard their expressions so.
const (
	guardedUsername = "try:\n    return user.username\nexcept:\n    return ''\n"
	guardedLocale   = "try:\n    return user.attributes.get(\"settings\", {}).get(\"locale\", \"\")\nexcept:\n    return ''\n"
)

func TestUnwrapTryEmpty(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
		ok              bool
	}{
		{"authentik's guard", guardedUsername, "\nreturn user.username", true},
		{"CRLF, double quotes, trailing blank lines", "try:\r\n  return user.name\r\nexcept:\r\n  return \"\"\r\n\r\n", "\nreturn user.name", true},
		{"leading blank line kept for line numbers", "\ntry:\n    return user.email\nexcept:\n    return ''", "\n\nreturn user.email", true},
		{"except Exception as e", "try:\n    return user.name\nexcept Exception as e:\n    return ''", "\nreturn user.name", true},
		{"block body keeps its structure", "try:\n    if user:\n        return user.name\n\n    return 'x'\nexcept:\n    return ''",
			"\nif user:\n    return user.name\n\nreturn 'x'", true},
		{"handler returns something else", "try:\n    return user.name\nexcept:\n    return 'nobody'", "", false},
		{"handler returns None", "try:\n    return user.name\nexcept:\n    return None", "", false},
		{"statement after the handler", "try:\n    return user.name\nexcept:\n    return ''\nreturn 1", "", false},
		{"no try", "return user.name", "", false},
		{"indented try", "  try:\n    return 1\n  except:\n    return ''", "", false},
		{"empty body", "try:\nexcept:\n    return ''", "", false},
		{"dedent inside the body", "try:\n        return 1\n    x = 2\nexcept:\n    return ''", "", false},
		{"two handlers", "try:\n    x = 1\nexcept:\n    return 1\nexcept:\n    return ''", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := unwrapTryEmpty(tc.src)
			if !tc.ok {
				tc.want = tc.src
			}
			if got != tc.want || ok != tc.ok {
				t.Errorf("unwrapTryEmpty(%q) = %q, %v; want %q, %v", tc.src, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// events records what the stage records.
type events struct {
	mu      sync.Mutex
	actions []string
}

func (e *events) Record(_ context.Context, _ *http.Request, action string, _ *store.User, _ map[string]any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.actions = append(e.actions, action)
}

// logs collects warnings.
type logs struct {
	mu       sync.Mutex
	warnings []string
}

func (l *logs) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.warnings = append(l.warnings, b.String())
	return nil
}
func (l *logs) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logs) WithGroup(string) slog.Handler      { return l }

type fixture struct {
	st     *sqlstore.Store
	alice  *store.User
	bob    *store.User
	events *events
	logs   *logs
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, events: &events{}, logs: &logs{}}
	f.alice = &store.User{Username: "alice", Name: "Alice Liddell", Email: "alice@example.com", IsActive: true,
		Type: store.UserInternal, Path: "users", Attributes: store.Attributes{"settings": map[string]any{"locale": "de"}}}
	f.bob = &store.User{Username: "bob", Name: "Bob", Email: "bob@example.com", IsActive: true,
		Type: store.UserInternal, Path: "users", Attributes: store.Attributes{}}
	for _, u := range []*store.User{f.alice, f.bob} {
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	admins := &store.Group{Name: "admins", IsSuperuser: true, Attributes: store.Attributes{}}
	if err := st.CreateGroup(ctx, admins); err != nil {
		t.Fatal(err)
	}
	if err := st.AddGroupMember(ctx, admins.UUID, f.alice.PK); err != nil {
		t.Fatal(err)
	}
	return f
}

// run is a request in a plan: signedIn is the session's user, pending the
// plan's pending user (either may be nil).
func (f *fixture) run(signedIn, pending *store.User, promptData map[string]any) *flow.Run {
	p := &flow.Plan{Context: flow.Context{PromptData: promptData}}
	if pending != nil {
		pk := pending.PK
		p.Context.PendingUserPK = &pk
	}
	return &flow.Run{Executor: &flow.Executor{Store: f.st, Events: f.events},
		Request: httptest.NewRequest(http.MethodGet, "/api/v3/flows/executor/x/", nil),
		Plan:    p, Stage: &store.Stage{UUID: uuid.New(), Name: "test-prompt", Type: Type},
		User: signedIn, Log: slog.New(f.logs)}
}

func newStage(t *testing.T, fields ...map[string]any) flow.Stage {
	t.Helper()
	fs := make([]any, len(fields))
	for i, f := range fields {
		fs[i] = f
	}
	s, err := New(store.Attributes{"fields": fs})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func enter(t *testing.T, s flow.Stage, r *flow.Run) *Challenge {
	t.Helper()
	step, err := s.Enter(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := step.Challenge.(*Challenge)
	if !ok {
		t.Fatalf("Enter = %+v, want a prompt challenge", step)
	}
	return c
}

func shown(c *Challenge) map[string][2]string {
	out := map[string][2]string{}
	for _, f := range c.Fields {
		out[f.FieldKey] = [2]string{f.InitialValue, f.Placeholder}
	}
	return out
}

func TestExpressions(t *testing.T) {
	f := newFixture(t)
	stage := newStage(t,
		map[string]any{"field_key": "username", "label": "Username", "type": "username", "order": 0,
			"initial_value": guardedUsername, "initial_value_expression": true, "placeholder": "Username"},
		map[string]any{"field_key": "attributes.settings.locale", "label": "Locale", "type": "ak-locale", "order": 1,
			"initial_value": guardedLocale, "initial_value_expression": true},
		map[string]any{"field_key": "greeting", "label": "Greeting", "type": "text", "order": 2,
			"initial_value":            `return "%s (%s) from %s" % (request.user.name, user.is_superuser, request.http_request.path)`,
			"initial_value_expression": true,
			"placeholder":              `return "was " + prompt_context.get("previous", "nothing")`, "placeholder_expression": true},
		map[string]any{"field_key": "email", "label": "Email", "type": "email", "order": 3,
			"initial_value": "return user.email", "initial_value_expression": true},
		map[string]any{"field_key": "static", "label": "Not an expression", "type": "text", "order": 4,
			"initial_value": "return user.email", "placeholder": "return 1"},
	)

	for _, tc := range []struct {
		name              string
		signedIn, pending *store.User
		promptData        map[string]any
		want              map[string][2]string
	}{
		{"the signed-in user", f.alice, nil, nil, map[string][2]string{
			"username":                   {"alice", "Username"},
			"attributes.settings.locale": {"de", ""},
			"greeting":                   {"Alice Liddell (True) from /api/v3/flows/executor/x/", "was nothing"},
			"email":                      {"alice@example.com", ""},
			"static":                     {"return user.email", "return 1"},
		}},
		{"the pending user before the signed-in one", f.alice, f.bob, map[string]any{"previous": "here"}, map[string][2]string{
			"username":                   {"bob", "Username"},
			"attributes.settings.locale": {"", ""},
			"greeting":                   {"Bob (False) from /api/v3/flows/executor/x/", "was here"},
			"email":                      {"bob@example.com", ""},
			"static":                     {"return user.email", "return 1"},
		}},
		{"prompt data before the expression", nil, f.bob, map[string]any{"email": "new@example.com", "username": "bobby"},
			map[string][2]string{
				"username":                   {"bobby", "Username"},
				"attributes.settings.locale": {"", ""},
				"greeting":                   {"Bob (False) from /api/v3/flows/executor/x/", "was nothing"},
				"email":                      {"new@example.com", ""},
				"static":                     {"return user.email", "return 1"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := enter(t, stage, f.run(tc.signedIn, tc.pending, tc.promptData))
			if diff := cmp.Diff(tc.want, shown(c)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			raw, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			for _, leak := range []string{"_expression", "prompt_context", "except"} {
				if strings.Contains(string(raw), leak) {
					t.Errorf("challenge shows %q: %s", leak, raw)
				}
			}
		})
	}
	if len(f.logs.warnings) != 0 || len(f.events.actions) != 0 {
		t.Errorf("working expressions logged %q and recorded %q", f.logs.warnings, f.events.actions)
	}
}

// A failing expression shows "": logged and recorded as a configuration
// error, unless it is authentik's guard, whose failure is expected.
func TestExpressionFailures(t *testing.T) {
	f := newFixture(t)
	stage := newStage(t,
		map[string]any{"field_key": "guarded", "label": "Guarded", "type": "text", "order": 0,
			"initial_value": guardedUsername, "initial_value_expression": true},
		map[string]any{"field_key": "runtime", "label": "Runtime", "type": "text", "order": 1,
			"initial_value": "return user.username", "initial_value_expression": true},
		map[string]any{"field_key": "syntax", "label": "Syntax", "type": "text", "order": 2,
			"placeholder": "return (", "placeholder_expression": true},
		map[string]any{"field_key": "python", "label": "Python only", "type": "text", "order": 3,
			"initial_value": "import os\nreturn os.name", "initial_value_expression": true},
	)
	c := enter(t, stage, f.run(nil, nil, nil)) // nobody: user is None
	want := map[string][2]string{"guarded": {"", ""}, "runtime": {"", ""}, "syntax": {"", ""}, "python": {"", ""}}
	if diff := cmp.Diff(want, shown(c)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if len(f.logs.warnings) != 3 {
		t.Fatalf("warnings = %q, want one for each unguarded failure", f.logs.warnings)
	}
	for i, field := range []string{"runtime", "syntax", "python"} {
		if !strings.Contains(f.logs.warnings[i], "field="+field) {
			t.Errorf("warning %d = %q, want field %s", i, f.logs.warnings[i], field)
		}
	}
	if diff := cmp.Diff([]string{"configuration_error", "configuration_error", "configuration_error"}, f.events.actions); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestChoicesFromExpression(t *testing.T) {
	f := newFixture(t)
	stage := newStage(t,
		map[string]any{"field_key": "colour", "label": "Colour", "type": "dropdown", "order": 0, "required": true,
			"placeholder": `return ["red", 42, user.username]`, "placeholder_expression": true,
			"initial_value": "return 42", "initial_value_expression": true},
		map[string]any{"field_key": "size", "label": "Size", "type": "radio-button-group", "order": 1,
			"placeholder": `return ["s", "m"]`, "placeholder_expression": true},
	)
	r := f.run(f.alice, nil, map[string]any{"size__choices": []any{"l", "xl"}})
	c := enter(t, stage, r)
	got := map[string][]string{}
	for _, fl := range c.Fields {
		got[fl.FieldKey] = append([]string{fl.Placeholder, fl.InitialValue}, fl.Choices...)
	}
	want := map[string][]string{
		"colour": {"red", "42", "red", "42", "alice"},
		"size":   {"l", "", "l", "xl"}, // prompt_data's __choices before the expression
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("placeholder, initial value, choices (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		colour, size string
		ok           bool
	}{
		{"42", "xl", true},
		{"alice", "l", true},
		{"blue", "l", false},
		{"red", "m", false},
	} {
		r := f.run(f.alice, nil, map[string]any{"size__choices": []any{"l", "xl"}})
		step, err := stage.Submit(context.Background(), r, response(t, map[string]any{"colour": tc.colour, "size": tc.size}))
		if err != nil {
			t.Fatal(err)
		}
		if step.Done != tc.ok {
			t.Errorf("colour %q size %q: done = %v, want %v", tc.colour, tc.size, step.Done, tc.ok)
		}
	}
}

func response(t *testing.T, v map[string]any) flow.Response {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var resp flow.Response
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// Hidden fields take their expression's value; a value already in the
// prompt data stays as it is.
func TestHiddenExpression(t *testing.T) {
	f := newFixture(t)
	stage := newStage(t,
		map[string]any{"field_key": "who", "label": "", "type": "hidden", "order": 0,
			"initial_value": "return user.username + '@' + request.http_request.path", "initial_value_expression": true},
		map[string]any{"field_key": "groups", "label": "", "type": "hidden", "order": 1,
			"initial_value": "return 'never used'", "initial_value_expression": true},
	)
	r := f.run(nil, f.bob, map[string]any{"groups": []any{"a", "b"}})
	step, err := stage.Submit(context.Background(), r, response(t, map[string]any{"who": "forged", "groups": "forged"}))
	if err != nil || !step.Done {
		t.Fatalf("Submit = %+v, %v", step, err)
	}
	want := map[string]any{"who": "bob@/api/v3/flows/executor/x/", "groups": []any{"a", "b"}}
	if diff := cmp.Diff(want, r.Plan.Context.PromptData); diff != "" {
		t.Errorf("prompt_data (-want +got):\n%s", diff)
	}
}

// A username field refuses a username taken by someone else, not the one
// the user (pending, or else signed in) already has.
func TestUsernameTaken(t *testing.T) {
	f := newFixture(t)
	stage := newStage(t, map[string]any{"field_key": "username", "label": "Username", "type": "username", "order": 0, "required": true})
	for _, tc := range []struct {
		name              string
		signedIn, pending *store.User
		username          string
		ok                bool
	}{
		{"anonymous, free", nil, nil, "carol", true},
		{"anonymous, taken", nil, nil, "alice", false},
		{"signed in, own", f.alice, nil, "alice", true},
		{"signed in, another's", f.alice, nil, "bob", false},
		{"pending, own", f.alice, f.bob, "bob", true},
		{"pending, the signed-in user's", f.alice, f.bob, "alice", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.run(tc.signedIn, tc.pending, nil)
			step, err := stage.Submit(context.Background(), r, response(t, map[string]any{"username": tc.username}))
			if err != nil {
				t.Fatal(err)
			}
			if step.Done != tc.ok {
				t.Errorf("done = %v, want %v (%+v)", step.Done, tc.ok, step.Challenge)
			}
		})
	}
}

func TestValidDataURI(t *testing.T) {
	for v, want := range map[string]bool{
		"data:text/plain;base64,aGVsbG8=":           true,
		"data:;base64,aGVsbG8=":                     true,
		"data:image/png;base64,!!!":                 false,
		"data:text/plain,hello":                     false,
		"https://example.com/x.png":                 false,
		"data:bad type;base64,aGVsbG8=":             false,
		"data:text/plain;base64":                    false,
		"data:text/plain;charset=utf-8;base64,aGk=": true,
	} {
		if got := validDataURI(v); got != want {
			t.Errorf("validDataURI(%q) = %v, want %v", v, got, want)
		}
	}
}
