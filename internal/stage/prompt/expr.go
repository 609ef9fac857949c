package prompt

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/expr"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/policy/expression"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// Prompt expressions (initial_value_expression, placeholder_expression) run
// as authentik's property mappings do: they see user (the pending user, or
// else the signed-in one; None for nobody), request (request.user is the
// same user, request.http_request the HTTP request) and prompt_context (the
// plan's prompt data so far). A field whose expression fails shows "" and
// the failure is logged and recorded as a configuration_error event.

// exprVars are the names prompt expressions see besides request and context.
var exprVars = []string{"user", "prompt_context"}

// exprTimeout bounds one expression (the step and memory limits of
// internal/expr bound it too).
const exprTimeout = 5 * time.Second

// maxPrograms bounds the cache of compiled expressions.
const maxPrograms = 256

type compiled struct {
	p *expr.Program
	// guarded: the source was a try whose handler returns "" (see
	// unwrapTryEmpty), so failing is an outcome it expects, not an error.
	guarded bool
	err     error
}

// programs caches compiled expressions by source, failures included, so a
// form does not recompile (or re-log a syntax error) on every request.
var programs = struct {
	sync.Mutex
	m map[[32]byte]compiled
}{m: map[[32]byte]compiled{}}

func program(src string) compiled {
	key := sha256.Sum256([]byte(src))
	programs.Lock()
	defer programs.Unlock()
	if c, ok := programs.m[key]; ok {
		return c
	}
	body, guarded := unwrapTryEmpty(src)
	p, err := expr.CompileOptions("prompt", body, expr.Options{Vars: exprVars})
	if len(programs.m) >= maxPrograms {
		clear(programs.m)
	}
	c := compiled{p: p, guarded: guarded, err: err}
	programs.m[key] = c
	return c
}

// authentik's default prompts guard their expressions with
//
//	try:
//	    return user.username
//	except:
//	    return ''
//
// which Starlark cannot parse (it has no try). Since a failing prompt
// expression gives "" here anyway, such a guard means nothing more than its
// body: unwrapTryEmpty returns the body, dedented, when src is exactly a
// try whose handler (bare, or for an exception class, with or without "as
// name") only returns an empty string, and reports that it did. Anything
// else is returned as is.
var (
	exceptLine      = regexp.MustCompile(`^except(?:\s+[A-Za-z_][A-Za-z0-9_.]*(?:\s+as\s+[A-Za-z_][A-Za-z0-9_]*)?)?\s*:\s*$`)
	returnEmptyLine = regexp.MustCompile(`^\s+return\s*(?:''|"")\s*$`)
)

func unwrapTryEmpty(src string) (string, bool) {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	start := 0
	for start < len(lines) && strings.TrimSpace(lines[start]) == "" {
		start++
	}
	// try:, at least one body line, except...:, return ''.
	if len(lines)-start < 4 || strings.TrimRight(lines[start], " \t") != "try:" {
		return src, false
	}
	n := len(lines)
	if !exceptLine.MatchString(lines[n-2]) || !returnEmptyLine.MatchString(lines[n-1]) {
		return src, false
	}
	body := lines[start+1 : n-2]
	indent := ""
	for _, l := range body {
		if strings.TrimSpace(l) != "" {
			indent = l[:len(l)-len(strings.TrimLeft(l, " \t"))]
			break
		}
	}
	if indent == "" {
		return src, false
	}
	// Blank lines in place of the leading ones and of "try:" keep the
	// body's line numbers (in error messages) those of src.
	out := make([]string, start+1, start+1+len(body))
	for _, l := range body {
		switch {
		case strings.TrimSpace(l) == "":
			out = append(out, "")
		case strings.HasPrefix(l, indent):
			out = append(out, l[len(indent):])
		default:
			return src, false // a line of the try less indented than its first: not a plain block
		}
	}
	return strings.Join(out, "\n"), true
}

// evaluator runs one request's prompt expressions; the user is loaded
// once, on the first expression.
type evaluator struct {
	r       *flow.Run
	pending *store.User
	loaded  bool
	env     *expr.Env
}

// user is the pending user, or else the signed-in one (authentik's
// get_pending_user); nil for nobody.
func (ev *evaluator) user(ctx context.Context) (*store.User, error) {
	if !ev.loaded {
		u, err := ev.r.PendingUser(ctx)
		if err != nil {
			return nil, err
		}
		if u == nil {
			u = ev.r.User
		}
		ev.pending, ev.loaded = u, true
	}
	return ev.pending, nil
}

func (ev *evaluator) environment(ctx context.Context) (*expr.Env, error) {
	if ev.env != nil {
		return ev.env, nil
	}
	u, err := ev.user(ctx)
	if err != nil {
		return nil, err
	}
	eu, err := exprUser(ctx, ev.r.Store(), u)
	if err != nil {
		return nil, err
	}
	pc := map[string]any{}
	for k, v := range ev.r.Plan.Context.PromptData {
		pc[k] = v
	}
	req := ev.r.Request
	h := &expr.HTTPRequest{Method: req.Method, Path: req.URL.Path, Host: req.Host}
	if ip := web.ClientIP(req.Context()); ip.IsValid() {
		h.RemoteIP = ip.String()
	}
	ev.env = &expr.Env{Request: expr.Request{User: eu, HTTP: h}, Logger: ev.r.Log,
		Vars: map[string]any{"user": eu, "prompt_context": pc}}
	return ev.env, nil
}

// eval runs the expression of one field's attribute (which names it in
// logs). It returns nil when the expression failed, which is logged and
// recorded unless the expression's own guard expected it.
func (ev *evaluator) eval(ctx context.Context, f Field, attr, src string) any {
	c := program(src)
	err, expected := c.err, false
	if err == nil {
		var env *expr.Env
		if env, err = ev.environment(ctx); err == nil {
			var v any
			if v, err = run(ctx, c.p, env); err == nil {
				return v
			}
			expected = c.guarded
		}
	}
	stage := ""
	if ev.r.Stage != nil {
		stage = ev.r.Stage.Name
	}
	log := ev.r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if expected {
		log.Debug("guarded prompt expression failed", "stage", stage, "field", f.FieldKey, "attribute", attr, "error", err)
		return nil
	}
	log.Warn("prompt expression failed", "stage", stage, "field", f.FieldKey, "attribute", attr, "error", err)
	if ev.r.Executor != nil && ev.r.Executor.Events != nil {
		u, _ := ev.user(ctx)
		ev.r.Executor.Events.Record(ctx, ev.r.Request, "configuration_error", u, map[string]any{
			"message": fmt.Sprintf("prompt %q %s: %v", f.FieldKey, attr, err), "stage": stage, "expression": src})
	}
	return nil
}

func run(ctx context.Context, p *expr.Program, env *expr.Env) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, exprTimeout)
	defer cancel()
	res, err := p.Run(ctx, *env)
	return res.Value, err
}

// exprUser is what an expression sees of u (as expression policies see it).
func exprUser(ctx context.Context, st store.Store, u *store.User) (*expr.User, error) {
	return expression.User(ctx, st, u)
}

// str is Python's str() of a value for a form field, except that None is
// "" (a field showing "None" is never what was meant).
func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case *big.Int:
		return v.String()
	case *expr.User:
		if v == nil {
			return ""
		}
		return v.Username // str(user) is the username
	}
	return fmt.Sprint(v)
}

// choicesOf is authentik's reading of a choice field's choices: a list
// gives one choice per element, anything else one choice.
func choicesOf(v any) []string {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			out[i] = str(e)
		}
		return out
	case []string:
		return v
	}
	return []string{str(v)}
}
