package expr

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// helperCall is one recorded call of a Helpers method.
type helperCall struct {
	Method string
	User   string // username, "" for none
	Name   string // group filter, policy name, event action or device type
	Args   map[string]any
	Req    *Request
}

// fakeHelpers records calls and answers from small tables.
type fakeHelpers struct {
	mu         sync.Mutex
	calls      []helperCall
	groups     map[string][]string // username -> group names
	users      []*User
	devices    map[string][]string // username -> device types
	policies   map[string]PolicyResult
	callPolicy func(context.Context, string, *Request, map[string]any) (PolicyResult, error)
	panicOn    string
}

var _ Helpers = (*fakeHelpers)(nil)

func (h *fakeHelpers) record(c helperCall) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, c)
	if c.Method == h.panicOn {
		panic("fake helper panic")
	}
}

func (h *fakeHelpers) IsGroupMember(_ context.Context, u *User, filter map[string]any) (bool, error) {
	h.record(helperCall{Method: "IsGroupMember", User: u.Username, Args: filter})
	for _, g := range h.groups[u.Username] {
		if filter["name"] == g {
			return true, nil
		}
	}
	return false, nil
}

func (h *fakeHelpers) UserBy(_ context.Context, filter map[string]any) (*User, error) {
	h.record(helperCall{Method: "UserBy", Args: filter})
	for _, u := range h.users {
		if filter["username"] == u.Username || filter["email"] == u.Email || filter["pk"] == u.PK {
			return u, nil
		}
	}
	return nil, nil
}

func (h *fakeHelpers) UserHasAuthenticator(_ context.Context, u *User, deviceType string) (bool, error) {
	h.record(helperCall{Method: "UserHasAuthenticator", User: u.Username, Name: deviceType})
	for _, d := range h.devices[u.Username] {
		if deviceType == "" || deviceType == d {
			return true, nil
		}
	}
	return false, nil
}

func (h *fakeHelpers) CallPolicy(ctx context.Context, name string, req *Request, kwargs map[string]any) (PolicyResult, error) {
	if h.callPolicy != nil {
		return h.callPolicy(ctx, name, req, kwargs)
	}
	h.record(helperCall{Method: "CallPolicy", Name: name, Args: kwargs, Req: req})
	res, ok := h.policies[name]
	if !ok {
		return PolicyResult{}, errors.New("no such policy")
	}
	return res, nil
}

func (h *fakeHelpers) CreateEvent(_ context.Context, action string, req *Request, kwargs map[string]any) error {
	h.record(helperCall{Method: "CreateEvent", Name: action, Args: kwargs, Req: req})
	return nil
}

func TestHelpers(t *testing.T) {
	bob := &User{PK: 8, Username: "bob", Email: "bob@example.com"}
	tests := []struct {
		name  string
		src   string
		want  any
		calls []helperCall
	}{
		{
			name:  "is group member",
			src:   `return [ak_is_group_member(request.user, name="it"), ak_is_group_member(request.user, name="admins")]`,
			want:  []any{true, false},
			calls: []helperCall{{Method: "IsGroupMember", User: "alice", Args: map[string]any{"name": "it"}}, {Method: "IsGroupMember", User: "alice", Args: map[string]any{"name": "admins"}}},
		},
		{
			name: "is group member of None or anonymous skips the callback",
			src:  `return ak_is_group_member(None, name="it")`,
			want: false,
		},
		{
			name: "user by username and email",
			src: `u = ak_user_by(username="bob")
return [u.username, u.pk, ak_user_by(email="bob@example.com") == u, ak_user_by(pk=99)]`,
			want: []any{"bob", int64(8), true, nil},
			calls: []helperCall{
				{Method: "UserBy", Args: map[string]any{"username": "bob"}},
				{Method: "UserBy", Args: map[string]any{"email": "bob@example.com"}},
				{Method: "UserBy", Args: map[string]any{"pk": int64(99)}},
			},
		},
		{
			name: "user has authenticator",
			src:  `return [ak_user_has_authenticator(request.user), ak_user_has_authenticator(request.user, device_type="webauthn"), ak_user_has_authenticator(request.user, "totp")]`,
			want: []any{true, false, true},
			calls: []helperCall{
				{Method: "UserHasAuthenticator", User: "alice"},
				{Method: "UserHasAuthenticator", User: "alice", Name: "webauthn"},
				{Method: "UserHasAuthenticator", User: "alice", Name: "totp"},
			},
		},
		{
			name: "call policy",
			src: `r = ak_call_policy("geo-check", country="GB", strict=True)
return [r.passing, list(r.messages)]`,
			want:  []any{false, []any{"outside GB"}},
			calls: []helperCall{{Method: "CallPolicy", Name: "geo-check", Args: map[string]any{"country": "GB", "strict": true}, Req: &Request{}}},
		},
		{
			name:  "create event",
			src:   `ak_create_event("custom_login_flagged", reason="odd hour", user=request.user, score=[1, 2.5])`,
			want:  nil,
			calls: []helperCall{{Method: "CreateEvent", Name: "custom_login_flagged", Args: map[string]any{"reason": "odd hour", "user": alice(), "score": []any{int64(1), 2.5}}, Req: &Request{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHelpers{
				groups:   map[string][]string{"alice": {"it"}},
				users:    []*User{bob},
				devices:  map[string][]string{"alice": {"totp"}},
				policies: map[string]PolicyResult{"geo-check": {Passing: false, Messages: []string{"outside GB"}}},
			}
			p := mustCompile(t, tt.src, Options{})
			env := testEnv()
			env.Helpers = h
			got, err := p.Run(context.Background(), env)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.Value); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
			// The request handed to CallPolicy and CreateEvent is the Env's.
			for i, c := range h.calls {
				if c.Req != nil {
					if c.Req.User.Username != "alice" {
						t.Errorf("call %d: request user = %v", i, c.Req.User)
					}
					h.calls[i].Req = &Request{}
				}
			}
			if diff := cmp.Diff(tt.calls, h.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNoHelpers(t *testing.T) {
	for _, src := range []string{
		`return ak_is_group_member(request.user, name="x")`,
		`return ak_user_by(username="x")`,
		`return ak_user_has_authenticator(request.user)`,
		`return ak_call_policy("x")`,
		`return ak_create_event("x")`,
	} {
		p := mustCompile(t, src, Options{})
		if _, err := p.Run(context.Background(), testEnv()); !errors.Is(err, ErrNotAvailable) {
			t.Errorf("%s: err = %v, want ErrNotAvailable", src, err)
		}
	}
}

func TestHelperPanicIsAnError(t *testing.T) {
	p := mustCompile(t, `return ak_user_by(username="x")`, Options{})
	env := testEnv()
	env.Helpers = &fakeHelpers{panicOn: "UserBy"}
	_, err := p.Run(context.Background(), env)
	if err == nil || !strings.Contains(err.Error(), "internal error: fake helper panic") {
		t.Errorf("err = %v, want the panic as an error", err)
	}
}

// recordHandler is a slog.Handler keeping the records it is given.
type recordHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

type logLine struct {
	Level slog.Level
	Msg   string
	Attrs map[string]any
}

func (h *recordHandler) lines() []logLine {
	var out []logLine
	for _, r := range h.records {
		l := logLine{Level: r.Level, Msg: r.Message, Attrs: map[string]any{}}
		r.Attrs(func(a slog.Attr) bool {
			l.Attrs[a.Key] = a.Value.Any()
			return true
		})
		out = append(out, l)
	}
	return out
}

func TestLogger(t *testing.T) {
	h := &recordHandler{}
	p, err := Compile("logs", `
ak_logger.debug("d")
ak_logger.info("hello", user=request.user.username, n=2)
ak_logger.warning("careful", "extra")
ak_logger.warn("w")
ak_logger.error("bad", f=len)
ak_logger.critical("c")
print("printed", 1, sep="-")
`)
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv()
	env.Logger = slog.New(h)
	before := time.Now()
	res, err := p.Run(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	// The run's log keeps each line at the level the expression chose.
	want := []LogEntry{
		{Level: "debug", Message: "d"},
		{Level: "info", Message: "hello", Attributes: map[string]any{"user": "alice", "n": int64(2)}},
		{Level: "warning", Message: "careful extra"},
		{Level: "warning", Message: "w"},
		{Level: "error", Message: "bad", Attributes: map[string]any{"f": "builtin_function_or_method"}},
		{Level: "critical", Message: "c"},
		{Level: "info", Message: "printed-1"},
	}
	for _, e := range res.Log {
		if e.Time.Before(before.Add(-time.Second)) || e.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("%q: time %v is not the run's", e.Message, e.Time)
		}
	}
	if diff := cmp.Diff(want, res.Log, cmpopts.IgnoreFields(LogEntry{}, "Time")); diff != "" {
		t.Errorf("Result.Log (-want +got):\n%s", diff)
	}
	// The server's log has them at debug level only, the expression's level
	// as an attribute.
	wantLines := []logLine{
		{slog.LevelDebug, "d", map[string]any{"expression": "logs", "log_level": "debug"}},
		{slog.LevelDebug, "hello", map[string]any{"expression": "logs", "log_level": "info", "user": "alice", "n": int64(2)}},
		{slog.LevelDebug, "careful extra", map[string]any{"expression": "logs", "log_level": "warning"}},
		{slog.LevelDebug, "w", map[string]any{"expression": "logs", "log_level": "warning"}},
		{slog.LevelDebug, "bad", map[string]any{"expression": "logs", "log_level": "error", "f": "builtin_function_or_method"}},
		{slog.LevelDebug, "c", map[string]any{"expression": "logs", "log_level": "critical"}},
		{slog.LevelDebug, "printed-1", map[string]any{"expression": "logs", "log_level": "info", "source": "print"}},
	}
	if diff := cmp.Diff(wantLines, h.lines()); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}

	// A server logging at info gets none of them; the run's log still does.
	var buf bytes.Buffer
	env.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	res, err = p.Run(context.Background(), env)
	if err != nil || len(res.Log) != len(want) {
		t.Fatalf("Run at info: %d lines, %v", len(res.Log), err)
	}
	if buf.Len() != 0 {
		t.Errorf("the server's info log got expression lines:\n%s", buf.String())
	}

	// An expression that logs nothing has no log.
	res, err = mustCompile(t, "return 1", Options{}).Run(context.Background(), env)
	if err != nil || res.Log != nil {
		t.Errorf("no logging: Log = %#v, %v", res.Log, err)
	}
}

func TestLoggerLimit(t *testing.T) {
	h := &recordHandler{}
	p := mustCompile(t, "for i in range(1000):\n    ak_logger.info('line')\n    print('p')", Options{})
	env := testEnv()
	env.Logger = slog.New(h)
	res, err := p.Run(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	lines := h.lines()
	if len(lines) != maxLogLines+1 || !strings.Contains(lines[maxLogLines].Msg, "log limit") {
		t.Errorf("got %d lines (last %q), want %d and a warning", len(lines), lines[len(lines)-1].Msg, maxLogLines+1)
	}
	if len(res.Log) != maxLogLines+1 || res.Log[maxLogLines].Level != "warning" || !strings.Contains(res.Log[maxLogLines].Message, "log limit") {
		t.Errorf("Result.Log has %d lines (last %+v), want %d and a warning", len(res.Log), res.Log[len(res.Log)-1], maxLogLines+1)
	}
}

func TestPythonRepl(t *testing.T) {
	tests := []struct {
		pattern, repl, in, want string
	}{
		{`(\w+)@(\w+)`, `\2 at \1`, "a@b", "b at a"},
		{`(?P<user>\w+)@`, `\g<user>#`, "a@b", "a#b"},
		{`(\w)`, `\g<1>\g<1>`, "ab", "aabb"},
		{`b`, `$1\n\t\\`, "abc", "a$1\n\t\\c"},
		{`(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)`, `\10-\1`, "abcdefghij", "j-a"},
		{`x`, `\0|\07|\101|\1010`, "x", "\x00|\a|A|A0"},
		{`x`, `\.\-`, "x", `\.\-`},
		{`x`, `é$`, "x", "é$"},
		{`(x)`, `\19`, "x", "error: invalid group reference 19"},
		{`x`, `\q`, "x", `error: bad escape \q in replacement`},
		{`x`, `\g1`, "x", "error: missing < in group reference"},
		{`x`, `\g<nope>`, "x", `error: unknown group name "nope"`},
		{`x`, `\477`, "x", "error: octal escape value"},
	}
	for _, tt := range tests {
		p := mustCompile(t, `return regex_replace(v, p, r)`, Options{Vars: []string{"v", "p", "r"}})
		got, err := p.Run(context.Background(), Env{Vars: map[string]any{"v": tt.in, "p": tt.pattern, "r": tt.repl}})
		if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("regex_replace(%q, %q, %q): err = %v, want %q", tt.in, tt.pattern, tt.repl, err, want)
			}
			continue
		}
		if err != nil || got.Value != tt.want {
			t.Errorf("regex_replace(%q, %q, %q) = %q, %v; want %q", tt.in, tt.pattern, tt.repl, got.Value, err, tt.want)
		}
	}
}
