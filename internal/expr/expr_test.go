package expr

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func alice() *User {
	return &User{
		PK: 7, UUID: "0b6a5a52-1111-4c1e-9d7a-000000000007", Username: "alice", Name: "Alice Liddell",
		Email: "Alice@Example.COM", IsActive: true, Type: "internal", Path: "users",
		Attributes: map[string]any{"department": "it", "roles": []any{"dev", "ops"}, "level": 3},
		Groups:     []string{"staff", "it"},
	}
}

func testEnv() Env {
	return Env{Request: Request{
		User: alice(),
		HTTP: &HTTPRequest{
			Method: "POST", Path: "/if/flow/login/", Host: "id.example.com", RemoteIP: "10.1.2.3",
			Header: http.Header{"User-Agent": {"curl/8.0"}, "X-Forwarded-For": {"10.1.2.3", "10.0.0.1"}},
			Query:  url.Values{"next": {"/app"}},
		},
		Obj:     map[string]any{"slug": "wiki", "name": "Wiki"},
		Context: map[string]any{"prompt_data": map[string]any{"email": "new@example.com", "age": 30}, "auth_method": "password"},
	}}
}

func mustCompile(t testing.TB, src string, opts Options) *Program {
	t.Helper()
	p, err := CompileOptions(t.Name(), src, opts)
	if err != nil {
		t.Fatalf("Compile(%q): %v", src, err)
	}
	return p
}

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		env      func(*Env)
		want     any
		messages []string
	}{
		{name: "username", src: `return request.user.username == "alice"`, want: true},
		{name: "username other", src: `return request.user.username == "bob"`, want: false},
		{name: "group member message", src: `
if ak_is_group_member(request.user, name="admins"):
    return True
ak_message("not allowed")
return False`, env: func(e *Env) { e.Helpers = &fakeHelpers{} }, want: false, messages: []string{"not allowed"}},
		{name: "attributes get", src: `return request.user.attributes.get("department") == "it"`, want: true},
		{name: "attributes get default", src: `return request.user.attributes.get("missing", "none")`, want: "none"},
		{name: "attributes index", src: `return request.user.attributes["roles"][1]`, want: "ops"},
		{name: "attributes in", src: `return "department" in request.user.attributes and "x" not in request.user.attributes`, want: true},
		{name: "groups list", src: `return "it" in request.user.groups`, want: true},
		{name: "user fields", src: `u = request.user
return [u.pk, u.name, u.is_active, u.is_superuser, u.type, u.path, u.is_authenticated, u.uuid]`,
			want: []any{int64(7), "Alice Liddell", true, false, "internal", "users", true, "0b6a5a52-1111-4c1e-9d7a-000000000007"}},
		{name: "str of user is username", src: `return "user: " + str(request.user)`, want: "user: alice"},
		{name: "anonymous", src: `u = request.user
return [u.username, u.pk, u.is_authenticated, u.is_anonymous, u.attributes, u.groups]`,
			env: func(e *Env) { e.Request.User = nil }, want: []any{"", nil, false, true, map[string]any{}, []any{}}},
		{name: "email lower endswith", src: `return request.user.email.lower().endswith("@example.com")`, want: true},
		{name: "string methods", src: `return ["  a b ".strip(), "a,b".split(","), "abc".startswith("ab"), "x" in "xyz", "a-b".replace("-", "_"), "Ab".upper(), "a b".title()]`,
			want: []any{"a b", []any{"a", "b"}, true, true, "a_b", "AB", "A B"}},
		{name: "format and percent", src: `return "%s is %d" % ("x", 3) + " " + "{}/{name}".format(1, name="n")`, want: "x is 3 1/n"},
		{name: "slices", src: `s = "abcdef"
l = [1, 2, 3, 4]
return [s[1:3], s[::-1], s[-2:], l[1:], l[::2], l[::-1][:2], s[10:], l[3:1]]`,
			want: []any{"bc", "fedcba", "ef", []any{int64(2), int64(3), int64(4)}, []any{int64(1), int64(3)}, []any{int64(4), int64(3)}, "", []any{}}},
		{name: "dict and list building", src: `d = {}
for g in request.user.groups:
    d[g] = len(g)
d["it"] += 10
l = []
l += ["a"]
l.extend(["b"])
return {"d": d, "l": l, "keys": sorted(d.keys()), "n": len(d)}`,
			want: map[string]any{"d": map[string]any{"staff": int64(5), "it": int64(12)}, "l": []any{"a", "b"}, "keys": []any{"it", "staff"}, "n": int64(2)}},
		{name: "augmented on attribute", src: `a = request.user.attributes
a["level"] *= 2
a["level"] -= 1
return request.user.attributes["level"]`, want: int64(5)},
		{name: "comprehension", src: `return [g.upper() for g in request.user.groups if g != "staff"]`, want: []any{"IT"}},
		{name: "dict comprehension", src: `return {g: True for g in request.user.groups}`, want: map[string]any{"staff": true, "it": true}},
		{name: "nested def and lambda", src: `def domain(email):
    return email.split("@")[1].lower()
f = lambda x: x * 2
return f(domain(request.user.email))`, want: "example.comexample.com"},
		{name: "while loop", src: `i = 0
while i < 5:
    i += 1
return i`, want: int64(5)},
		{name: "is None", src: `return request.user.attributes.get("nope") is None`, want: true},
		{name: "is not None", src: `return request.user.attributes.get("department") is not None`, want: true},
		{name: "is True", src: `return request.user.is_active is True`, want: true},
		{name: "context", src: `return context["prompt_data"]["email"]`, want: "new@example.com"},
		{name: "request.context is context", src: `context["added"] = 1
return request.context["added"] + len(request.context)`, want: int64(4)},
		{name: "obj", src: `return request.obj["slug"]`, want: "wiki"},
		{name: "obj none", src: `return request.obj == None`, env: func(e *Env) { e.Request.Obj = nil }, want: true},
		{name: "http request", src: `h = request.http_request
return [h.method, h.path, h.host, h.remote_ip, h.headers["user-agent"], h.headers.get("X-FORWARDED-FOR"), h.headers.get("nope", "d"), "User-Agent" in h.headers, h.GET.get("next")]`,
			want: []any{"POST", "/if/flow/login/", "id.example.com", "10.1.2.3", "curl/8.0", "10.1.2.3", "d", true, "/app"}},
		{name: "no http request", src: `return request.http_request`, env: func(e *Env) { e.Request.HTTP = nil }, want: nil},
		{name: "client ip in network", src: `return ak_client_ip in ip_network("10.0.0.0/8") and ak_client_ip.is_private`, want: true},
		{name: "client ip str", src: `return str(ak_client_ip)`, want: "10.1.2.3"},
		{name: "client ip unknown", src: `return ak_client_ip`, env: func(e *Env) { e.Request.HTTP.RemoteIP = "" }, want: nil},
		{name: "ip helpers", src: `return [ip_address("::ffff:192.168.0.1") in ip_network("192.168.0.0/16"), "8.8.8.8" in ip_network("10.0.0.0/8"), ip_network("10.0.0.1/8", strict=False).prefixlen, ip_address("::1").version]`,
			want: []any{true, false, int64(8), int64(6)}},
		{name: "regex_match search", src: `return [regex_match(request.user.username, "li"), regex_match(request.user.username, "^li"), regex_match("ADMIN", "(?i)^admin$")]`,
			want: []any{true, false, true}},
		{name: "regex_replace", src: `return [regex_replace("john.smith", "(\\w+)\\.(\\w+)", "\\2, \\1"), regex_replace("a1b22", "[0-9]+", "#"), regex_replace("x", "(?P<c>x)", "\\g<c>$\\g<1>")]`,
			want: []any{"smith, john", "a#b#", "x$x"}},
		{name: "pow", src: `return [pow(10, 12), pow(2, -1), pow(2.0, 0.5) > 1.41, pow(3, 4, 5)]`, want: []any{int64(1000000000000), 0.5, true, int64(1)}},
		{name: "isinstance", src: `return [isinstance("a", str), isinstance(True, int), isinstance(1.0, (int, float)), isinstance([], dict)]`,
			want: []any{true, true, true, false}},
		{name: "no return is None", src: `x = 1`, want: nil},
		{name: "empty", src: ``, want: nil},
		{name: "only comment", src: "# nothing\n", want: nil},
		{name: "crlf", src: "x = 1\r\nif x:\r\n    return 'yes'\r\n", want: "yes"},
		{name: "tabs", src: "if True:\n\treturn 'tab'", want: "tab"},
		{name: "several messages", src: `ak_message("a")
ak_message(1)
return True`, want: true, messages: []string{"a", "1"}},
		{name: "print and logger do not fail", src: `print("x", 1)
ak_logger.info("hello", user=request.user.username)
ak_logger.warning("w")
return 1`, want: int64(1)},
		{name: "set", src: `return sorted(set(["b", "a", "b"]) | set(["c"]))`, want: []any{"a", "b", "c"}},
		{name: "tuple result", src: `return (1, "a")`, want: []any{int64(1), "a"}},
		{name: "float", src: `return 1 / 4`, want: 0.25},
		{name: "big int", src: `return pow(2, 70)`, want: bigInt("1180591620717411303424")},
		{name: "getattr guarded", src: `return getattr("a-b", "replace")("-", "+") + getattr("x", "nope", "!")`, want: "a+b!"},
		// Starlark strings are UTF-8 bytes: len counts bytes, and case
		// mapping is Go's simple one (no ß -> SS).
		{name: "unicode", src: `return "größe".upper() + str(len("größe"))`, want: "GRÖßE7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustCompile(t, tt.src, Options{})
			env := testEnv()
			if tt.env != nil {
				tt.env(&env)
			}
			got, err := p.Run(context.Background(), env)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := Result{Value: tt.want, Messages: tt.messages}
			got.Log = nil // TestLogger checks the log
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })); diff != "" {
				t.Errorf("Run result (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBool(t *testing.T) {
	tests := []struct {
		src  string
		want bool
	}{
		{`return True`, true},
		{`return False`, false},
		{`return None`, false},
		{`pass`, false},
		{`return 0`, false},
		{`return 2`, true},
		{`return 0.0`, false},
		{`return ""`, false},
		{`return "no"`, true},
		{`return []`, false},
		{`return [0]`, true},
		{`return {}`, false},
		{`return {"a": 1}`, true},
		{`return request.user`, true},
		{`return len`, true}, // a function: true, and no Go value
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p := mustCompile(t, tt.src, Options{})
			got, _, err := p.Bool(context.Background(), testEnv())
			if err != nil {
				t.Fatalf("Bool: %v", err)
			}
			if got != tt.want {
				t.Errorf("Bool(%q) = %v, want %v", tt.src, got, tt.want)
			}
		})
	}
}

func TestRunFunctionResultIsError(t *testing.T) {
	p := mustCompile(t, `return len`, Options{})
	if _, err := p.Run(context.Background(), testEnv()); err == nil || !strings.Contains(err.Error(), "no Go equivalent") {
		t.Errorf("Run returning a function: err = %v, want a conversion error", err)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string // a substring of the message
	}{
		{"import os\nreturn 1", 1, 1, "import statements are not supported"},
		{"x = 1\nfrom os import path", 2, 1, "import statements are not supported"},
		{"try:\n    x = 1\nexcept Exception:\n    pass", 1, 1, "try/except is not supported"},
		{"class A:\n    pass", 1, 1, "class definitions are not supported"},
		{"with open('f') as f:\n    pass", 1, 1, "with statements are not supported"},
		{"raise ValueError('x')", 1, 1, "fail(\"message\")"},
		{"global x", 1, 1, "global is not supported"},
		{"def f():\n    nonlocal x", 2, 5, "nonlocal is not supported"},
		{"d = {}\ndel d['a']", 2, 1, "d.pop(key)"},
		{"yield 1", 1, 1, "generators (yield) are not supported"},
		{"async def f():\n    pass", 1, 1, "async functions are not supported"},
		{"x = 1\nassert x\nreturn x", 2, 1, "assert is not supported"},
		{`return f"hi {request.user.username}"`, 1, 8, "f-strings are not supported"},
		{`return rf"x"`, 1, 8, "f-strings are not supported"},
		{`return u"x"`, 1, 8, "string prefix u is not supported"},
		{`return 10**12`, 1, 10, "write pow(x, y)"},
		{`return "x" * 10 ** 9`, 1, 17, "write pow(x, y)"},
		{`return (x := 3)`, 1, 11, "assignment expressions (:=) are not supported"},
		{"@decorator\ndef f():\n    pass", 1, 1, "decorators"},
		{`return True && False`, 1, 13, "write and"},
		{`return 1_000`, 1, 8, "write 1000"},
		{`return request.user is request.user`, 1, 21, `"is" is only supported with None, True or False`},
		{`return 1 < 2 < 3`, 1, 14, "chained comparisons are not supported"},
		{`return {1, 2}`, 1, 10, "set([a, b])"},
		{`load("x.star", "y")`, 1, 1, "load is not supported"},
		{"if True:\nreturn 1", 2, 1, "got return"},
		{"return (1,", 1, 11, "got end of file"},
		{"x = [1, 2\nreturn x", 2, 1, "got return, want ']'"},
		{"return a b", 1, 10, "got identifier, want newline"},
		{"x == = 1", 1, 6, "got '=', want primary expression"},
		{`return undefined_name`, 1, 8, "undefined: undefined_name"},
		{`return sum([1, 2])`, 1, 8, "undefined: sum (not available; use a for loop)"},
		{`return null`, 1, 8, "write None"},
		{`return requests.get("https://example.com")`, 1, 8, "HTTP requests are not available"},
		{"x = 'it\\'s'\nreturn x ** 2", 2, 10, "write pow(x, y)"},               // position after a string with an escaped quote
		{"x = '''a\nb ** c'''\nreturn x is y", 3, 10, `"is" is only supported`}, // ** inside a string is not an operator
		{strings.Repeat("x", MaxSourceLen+1), 0, 0, "the limit is"},
	}
	for _, tt := range tests {
		t.Run(tt.src[:min(len(tt.src), 40)], func(t *testing.T) {
			_, err := Compile("policy", tt.src)
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q) = %v, want a *CompileError", tt.src, err)
			}
			if ce.Line != tt.line || ce.Col != tt.col || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("Compile(%q) = %q at %d:%d; want %q at %d:%d", tt.src, ce.Msg, ce.Line, ce.Col, tt.msg, tt.line, tt.col)
			}
			if tt.line > 0 && !strings.HasPrefix(err.Error(), fmt.Sprintf("policy:%d:%d: ", tt.line, tt.col)) {
				t.Errorf("Error() = %q, want the name:line:col prefix", err.Error())
			}
		})
	}
}

func TestCompileAcceptsPythonThatLooksReserved(t *testing.T) {
	// Keywords inside strings and comments, ** in calls and definitions,
	// "is" rewritten without moving later columns.
	for _, src := range []string{
		`return "import os; try: class with f'x' a ** b"  # raise del 1_000`,
		"def f(*args, **kwargs):\n    return len(args) + len(kwargs)\nreturn f(1, **{'a': 2})",
		"return '''\nimport\n'''",
		`return r"\d+\"" != b"x"`,
		"if request.user.username is not None and context.get('x') is None: return 1",
	} {
		if _, err := Compile("ok", src); err != nil {
			t.Errorf("Compile(%q): %v", src, err)
		}
	}
	// The "is not" rewrite keeps the column of a later error.
	p := mustCompile(t, `return request.user.pk is not None and 1 + "a"`, Options{})
	_, err := p.Run(context.Background(), testEnv())
	var re *RuntimeError
	if !errors.As(err, &re) || re.Line != 1 || re.Col != 42 {
		t.Errorf("Run error = %v, want one at 1:42", err)
	}
}

func TestRuntimeErrors(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
		msg       string
	}{
		{`return 1 + "a"`, 1, 10, "unknown binary op: int + string"},
		{"x = {}\nreturn x['missing']", 2, 9, `key "missing" not in dict`},
		{"x = None\nreturn x.attr", 2, 9, "NoneType has no .attr field or method"},
		{`return request.user.nope`, 1, 20, "User has no .nope field or method"},
		{"def f(n):\n    return f(n)\nreturn f(1)", 2, 12, "called recursively"},
		{`fail("stop here")`, 1, 5, "stop here"},
		{`return int("x" * 5000)`, 1, 11, "too long to convert"},
		{`return regex_match("a", "(?=a)")`, 1, 19, "invalid regular expression"},
		{`return regex_replace("a", "(a)", "\\2")`, 1, 21, "invalid group reference 2"},
		{`return ip_network("10.0.0.1/8")`, 1, 18, "has host bits set"},
		{`return ak_is_group_member(request.user, name="x")`, 1, 26, "not available"},
		{`return ak_is_group_member("alice", name="x")`, 1, 26, "want a user, got string"},
		{`return ak_user_by("alice")`, 1, 18, "want keyword filters"},
		{`return isinstance(1, len)`, 1, 18, "isinstance: want str"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p := mustCompile(t, tt.src, Options{})
			_, err := p.Run(context.Background(), testEnv())
			var re *RuntimeError
			if !errors.As(err, &re) {
				t.Fatalf("Run = %v, want a *RuntimeError", err)
			}
			if re.Line != tt.line || re.Col != tt.col || !strings.Contains(re.Msg, tt.msg) {
				t.Errorf("Run error %q at %d:%d; want %q at %d:%d", re.Msg, re.Line, re.Col, tt.msg, tt.line, tt.col)
			}
		})
	}
}

func TestVars(t *testing.T) {
	opts := Options{Vars: []string{"prompt_data", "provider", "unused"}}
	p := mustCompile(t, `return prompt_data["username"] + ":" + str(provider)`, opts)
	env := testEnv()
	env.Vars = map[string]any{
		"prompt_data": map[string]any{"username": "bob"},
		"unused":      make(chan int), // never converted: the expression does not use it
	}
	got, err := p.Run(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != "bob:None" {
		t.Errorf("Value = %v, want bob:None (a declared, missing var is None)", got.Value)
	}

	if _, err := Compile("p", `return prompt_data`); err == nil || !strings.Contains(err.Error(), "undefined: prompt_data") {
		t.Errorf("undeclared var: err = %v", err)
	}
	for _, bad := range []string{"request", "ak_message", "len", "1x", ""} {
		if _, err := CompileOptions("p", "pass", Options{Vars: []string{bad}}); err == nil {
			t.Errorf("Vars %q accepted", bad)
		}
	}

	p = mustCompile(t, `return unused`, opts)
	env.Vars["unused"] = make(chan int)
	if _, err := p.Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "converting unused") {
		t.Errorf("unconvertible var: err = %v", err)
	}
}

// TestConcurrentRuns runs one Program from many goroutines with different
// environments (run it with -race).
func TestConcurrentRuns(t *testing.T) {
	p := mustCompile(t, `
n = 0
for i in range(50):
    n += i
ak_message(request.user.username)
if request.user.attributes.get("loop"):
    while True:
        pass
return request.user.username + ":" + str(n) + ":" + ",".join(sorted(context.keys()))`, Options{MaxSteps: 50_000})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				name := fmt.Sprintf("user%d-%d", g, i)
				loop := i%10 == 0
				env := Env{Request: Request{
					User:    &User{Username: name, Attributes: map[string]any{"loop": loop}},
					Context: map[string]any{name: 1, "b": 2},
				}}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				got, err := p.Run(ctx, env)
				cancel()
				if loop {
					if !errors.Is(err, ErrStepLimit) {
						t.Errorf("%s: err = %v, want ErrStepLimit", name, err)
					}
					continue
				}
				want := Result{Value: name + ":1225:b," + name, Messages: []string{name}}
				if err != nil || !cmp.Equal(got, want) {
					t.Errorf("%s: Run = %v, %v; want %v", name, got, err, want)
				}
			}
		})
	}
	wg.Wait()
}

func TestCallDepth(t *testing.T) {
	var p *Program
	h := &fakeHelpers{}
	h.callPolicy = func(ctx context.Context, name string, req *Request, _ map[string]any) (PolicyResult, error) {
		ok, res, err := p.Bool(ctx, Env{Request: *req, Helpers: h})
		return PolicyResult{Passing: ok, Messages: res.Messages}, err
	}
	p = mustCompile(t, `return ak_call_policy("self").passing`, Options{})
	_, err := p.Run(context.Background(), Env{Helpers: h})
	if !errors.Is(err, ErrCallDepth) {
		t.Errorf("self-calling policy: err = %v, want ErrCallDepth", err)
	}
}

func bigInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}
