package expr

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Limits applied when Options leaves them zero.
const (
	DefaultMaxSteps  = 1_000_000
	DefaultMaxMemory = 32 << 20 // bytes

	// MaxSourceLen bounds the length of an expression's source text.
	MaxSourceLen = 64 << 10
)

// Options tunes Compile. The zero value is what Compile uses.
type Options struct {
	// Vars lists the top-level names, besides request, context and
	// ak_client_ip, that the caller supplies in Env.Vars; for example
	// "prompt_data", or "user" and "provider" for a property mapping.
	// Any other unknown name is a compile error, like in Starlark.
	Vars []string

	// MaxSteps bounds the Starlark execution steps of one Run
	// (DefaultMaxSteps if zero).
	MaxSteps uint64

	// MaxMemory bounds, in bytes, what one Run may allocate in operations
	// whose result grows with their operands: string and list
	// concatenation and repetition, formatting, slicing, join, split,
	// replace, list(), sorted(), dict.items() and the like
	// (DefaultMaxMemory if zero). Operations outside that list allocate a
	// small constant per step and are bounded by MaxSteps.
	MaxMemory int64
}

// Program is a compiled expression. It is immutable and safe for
// concurrent use by multiple goroutines.
type Program struct {
	name      string
	fn        *starlark.Function // the expression wrapped as "def <expression>(params):"
	params    []string           // parameter names, in order
	used      []bool             // params[i] is referenced by the expression
	maxSteps  uint64
	maxMemory int64

	regexps  sync.Map // pattern string -> *regexp.Regexp or error; see regexpFor
	nregexps atomic.Int32
}

// maxCachedRegexps bounds a Program's cache of compiled patterns.
const maxCachedRegexps = 64

// Name returns the name given to Compile.
func (p *Program) Name() string { return p.name }

// CompileError is an error in an expression's text, found by Compile.
// Line and Col are 1-based; Col counts characters (runes).
type CompileError struct {
	Name      string
	Line, Col int
	Msg       string
}

func (e *CompileError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Name, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Col, e.Msg)
}

// The names every expression sees as parameters, in this order, before
// Options.Vars.
const (
	paramRequest  = "request"
	paramContext  = "context"
	paramClientIP = "ak_client_ip"
)

// funcName names the function the expression body becomes. It cannot be
// written in source, so the body cannot call or shadow it.
const funcName = "<expression>"

var fileOptions = &syntax.FileOptions{
	Set:   true, // set() exists in Python
	While: true, // every loop is bounded by the step limit anyway
	// Recursion stays off: a function that calls itself fails at run time.
}

// Compile compiles an authentik-style expression: the body of a Python
// function that returns the result, e.g. `return request.user.username ==
// "alice"`.
func Compile(name, source string) (*Program, error) {
	return CompileOptions(name, source, Options{})
}

// CompileOptions is Compile with options.
func CompileOptions(name, source string, opts Options) (*Program, error) {
	cerr := func(line, col int, msg string) error {
		return &CompileError{Name: name, Line: line, Col: col, Msg: msg}
	}
	if len(source) > MaxSourceLen {
		return nil, cerr(0, 0, fmt.Sprintf("expression is %d bytes long; the limit is %d", len(source), MaxSourceLen))
	}
	params := []string{paramRequest, paramContext, paramClientIP}
	for _, v := range opts.Vars {
		switch {
		case identAt(v, 0) != v || v == "" || keywords[v] || reserved[v] != "":
			return nil, cerr(0, 0, fmt.Sprintf("variable name %q is not an identifier", v))
		case slices.Contains(params, v) || predeclared.Has(v) || starlark.Universe.Has(v):
			return nil, cerr(0, 0, fmt.Sprintf("variable name %q is already defined", v))
		}
		params = append(params, v)
	}

	// Python's universal newlines; Starlark counts "\r" as a line break too.
	source = strings.ReplaceAll(source, "\r\n", "\n")
	source = strings.ReplaceAll(source, "\r", "\n")

	source, perr := precheck(source)
	if perr != nil {
		return nil, cerr(perr.line, perr.col, perr.msg)
	}
	f, err := fileOptions.Parse(name, source, 0)
	if err != nil {
		var se syntax.Error
		if errors.As(err, &se) {
			line, col := int(se.Pos.Line), int(se.Pos.Col)
			if strings.HasPrefix(se.Msg, "got ") && !strings.HasSuffix(se.Msg, "want primary expression") &&
				!strings.HasPrefix(se.Msg, "got end of file") && !strings.HasPrefix(se.Msg, "got newline") ||
				strings.Contains(se.Msg, "does not associate") {
				// The parser reports these just after the offending token.
				line, col = tokenStart(source, line, col)
			}
			return nil, cerr(line, col, parseHint(se.Msg))
		}
		return nil, cerr(0, 0, err.Error())
	}
	for _, s := range f.Stmts {
		if l, ok := s.(*syntax.LoadStmt); ok {
			return nil, cerr(int(l.Load.Line), int(l.Load.Col), "load is not supported: expressions cannot load modules")
		}
	}

	rw := rewriter{used: map[string]bool{}}
	body := rw.stmts(f.Stmts)
	fname := name
	pos := syntax.MakePosition(&fname, 1, 1)
	if len(body) > 0 {
		pos = syntax.Start(body[0])
	} else {
		body = []syntax.Stmt{&syntax.BranchStmt{Token: syntax.PASS, TokenPos: pos}}
	}
	def := &syntax.DefStmt{Def: pos, Name: &syntax.Ident{NamePos: pos, Name: funcName}, Lparen: pos, Rparen: pos, Body: body}
	for _, p := range params {
		def.Params = append(def.Params, &syntax.Ident{NamePos: pos, Name: p})
	}
	f.Stmts = []syntax.Stmt{def}

	prog, err := starlark.FileProgram(f, predeclared.Has)
	if err != nil {
		var errs resolve.ErrorList
		if errors.As(err, &errs) && len(errs) > 0 {
			e := errs[0]
			return nil, cerr(int(e.Pos.Line), int(e.Pos.Col), resolveHint(e.Msg))
		}
		return nil, cerr(0, 0, err.Error())
	}
	thread := &starlark.Thread{Name: name}
	globals, err := prog.Init(thread, predeclared)
	if err != nil {
		return nil, cerr(0, 0, err.Error()) // defining one function cannot fail
	}
	globals.Freeze()
	fn, ok := globals[funcName].(*starlark.Function)
	if !ok {
		return nil, cerr(0, 0, "internal error: expression function missing")
	}

	p := &Program{
		name:      name,
		fn:        fn,
		params:    params,
		used:      make([]bool, len(params)),
		maxSteps:  opts.MaxSteps,
		maxMemory: opts.MaxMemory,
	}
	for i, name := range params {
		p.used[i] = rw.used[name]
	}
	if p.maxSteps == 0 {
		p.maxSteps = DefaultMaxSteps
	}
	if p.maxMemory <= 0 {
		p.maxMemory = DefaultMaxMemory
	}
	return p, nil
}

// parseHint adds advice to the Starlark parser's messages for Python code.
func parseHint(msg string) string {
	switch {
	case strings.Contains(msg, "does not associate"):
		return msg + "; chained comparisons are not supported, write a < b and b < c"
	case strings.Contains(msg, "got ',', want ':'"):
		return msg + "; set literals are not supported, write set([a, b])"
	case strings.Contains(msg, "got '**'"):
		return msg + "; ** unpacking works only in calls, merge dicts with dict(a, **b) or a | b"
	case strings.Contains(msg, "got '*', want primary"):
		return msg + "; * unpacking works only in calls, concatenate lists with a + b"
	case strings.Contains(msg, "unexpected input character '!'"):
		return msg + "; write not x"
	case strings.Contains(msg, "got else"):
		return msg + "; for/while loops have no else clause"
	}
	return msg
}

// unavailable lists Python and authentik names an expression may reach for
// that Gatehouse does not provide.
var unavailable = map[string]string{
	"null": "write None", "nil": "write None", "true": "write True", "false": "write False",
	"sum": "not available; use a for loop", "map": "not available; use a list comprehension",
	"filter": "not available; use a list comprehension", "round": "not available",
	"open": "files are not accessible", "eval": "not available", "exec": "not available",
	"__import__": "modules cannot be loaded", "globals": "not available", "locals": "not available",
	"vars": "not available", "input": "not available", "iter": "not available", "next": "not available",
	"callable": "not available", "setattr": "not available", "object": "classes are not supported",
	"requests":      "HTTP requests are not available in Gatehouse expressions",
	"resolve_dns":   "DNS lookups are not available in Gatehouse expressions",
	"reverse_dns":   "DNS lookups are not available in Gatehouse expressions",
	"ak_send_email": "not available in Gatehouse expressions", "ak_create_jwt": "not available in Gatehouse expressions",
	"ak_create_jwt_raw": "not available in Gatehouse expressions", "slugify": "not available in Gatehouse expressions",
	"list_flatten": "not available in Gatehouse expressions", "ak_is_sso_flow": "not available in Gatehouse expressions",
}

func resolveHint(msg string) string {
	if name, ok := strings.CutPrefix(msg, "undefined: "); ok {
		name, _, _ = strings.Cut(name, " ")
		if hint, ok := unavailable[name]; ok {
			return msg + " (" + hint + ")"
		}
	}
	return msg
}

// keywords are Starlark's keywords (reserved holds Python's others).
var keywords = map[string]bool{
	"and": true, "break": true, "continue": true, "def": true, "elif": true, "else": true, "for": true,
	"if": true, "in": true, "lambda": true, "load": true, "not": true, "or": true, "pass": true,
	"return": true, "while": true, "is": true, "assert": true,
}

// rewriter rewrites the operations whose cost grows with their operands
// into calls to the guards of guard.go, which charge the memory budget
// before doing the operation. The guard names start with "$", which the
// scanner never produces, so source code cannot call or shadow them.
type rewriter struct {
	ntemp int
	used  map[string]bool // identifiers referenced (read) by the code
}

var binaryGuards = map[syntax.Token]string{
	syntax.PLUS:       "$add",
	syntax.MINUS:      "$sub",
	syntax.STAR:       "$mul",
	syntax.PERCENT:    "$mod",
	syntax.PIPE:       "$or",
	syntax.AMP:        "$and",
	syntax.CIRCUMFLEX: "$xor",
	syntax.LTLT:       "$lsh",
}

var augmentedGuards = map[syntax.Token]string{
	syntax.PLUS_EQ:       "$iadd",
	syntax.MINUS_EQ:      "$isub",
	syntax.STAR_EQ:       "$imul",
	syntax.PERCENT_EQ:    "$imod",
	syntax.PIPE_EQ:       "$ior",
	syntax.AMP_EQ:        "$iand",
	syntax.CIRCUMFLEX_EQ: "$ixor",
	syntax.LTLT_EQ:       "$ilsh",
}

func (r *rewriter) stmts(list []syntax.Stmt) []syntax.Stmt {
	if list == nil {
		return nil // syntax.IfStmt.Span tells "no else" by a nil False
	}
	out := make([]syntax.Stmt, 0, len(list))
	for _, s := range list {
		out = r.stmt(s, out)
	}
	return out
}

func (r *rewriter) stmt(s syntax.Stmt, out []syntax.Stmt) []syntax.Stmt {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		s.RHS = r.expr(s.RHS)
		guard, ok := augmentedGuards[s.Op]
		if !ok {
			r.target(s.LHS)
			break
		}
		// x op= y becomes x op= $guard(x, y): the guard charges for x op y
		// and returns y. Subexpressions of an indexed or dotted target are
		// evaluated once, into temporaries, as Starlark itself does.
		switch lhs := unparen(s.LHS).(type) {
		case *syntax.Ident:
			r.used[lhs.Name] = true
			s.LHS = lhs
			s.RHS = call(guard, s.OpPos, ident(lhs.Name, lhs.NamePos), s.RHS)
		case *syntax.IndexExpr:
			tx, ty := r.temp(), r.temp()
			out = append(out, assign(tx, r.expr(lhs.X)), assign(ty, r.expr(lhs.Y)))
			index := func() syntax.Expr {
				return &syntax.IndexExpr{X: ident(tx, lhs.Lbrack), Lbrack: lhs.Lbrack, Y: ident(ty, lhs.Lbrack), Rbrack: lhs.Rbrack}
			}
			s.LHS = index()
			s.RHS = call(guard, s.OpPos, index(), s.RHS)
		case *syntax.DotExpr:
			tx := r.temp()
			out = append(out, assign(tx, r.expr(lhs.X)))
			dot := func() syntax.Expr {
				return &syntax.DotExpr{X: ident(tx, lhs.Dot), Dot: lhs.Dot, NamePos: lhs.NamePos, Name: ident(lhs.Name.Name, lhs.NamePos)}
			}
			s.LHS = dot()
			s.RHS = call(guard, s.OpPos, dot(), s.RHS)
		default:
			r.target(s.LHS) // invalid; the resolver reports it
		}
	case *syntax.DefStmt:
		r.params(s.Params)
		s.Body = r.stmts(s.Body)
	case *syntax.ExprStmt:
		s.X = r.expr(s.X)
	case *syntax.ForStmt:
		r.target(s.Vars)
		s.X = r.expr(s.X)
		s.Body = r.stmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = r.expr(s.Cond)
		s.Body = r.stmts(s.Body)
	case *syntax.IfStmt:
		s.Cond = r.expr(s.Cond)
		s.True = r.stmts(s.True)
		s.False = r.stmts(s.False)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = r.expr(s.Result)
		}
	}
	return append(out, s)
}

func (r *rewriter) params(params []syntax.Expr) {
	for _, p := range params {
		if b, ok := p.(*syntax.BinaryExpr); ok && b.Op == syntax.EQ {
			b.Y = r.expr(b.Y) // default value
		}
	}
}

// target rewrites the subexpressions of an assignment target, but not the
// target itself.
func (r *rewriter) target(e syntax.Expr) {
	switch e := e.(type) {
	case *syntax.IndexExpr:
		e.X = r.expr(e.X)
		e.Y = r.expr(e.Y)
	case *syntax.DotExpr:
		e.X = r.expr(e.X)
	case *syntax.TupleExpr:
		for _, x := range e.List {
			r.target(x)
		}
	case *syntax.ListExpr:
		for _, x := range e.List {
			r.target(x)
		}
	case *syntax.ParenExpr:
		r.target(e.X)
	}
}

func (r *rewriter) exprs(list []syntax.Expr) {
	for i, e := range list {
		list[i] = r.expr(e)
	}
}

func (r *rewriter) expr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case *syntax.Ident:
		r.used[e.Name] = true
	case *syntax.BinaryExpr:
		e.X = r.expr(e.X)
		e.Y = r.expr(e.Y)
		if g, ok := binaryGuards[e.Op]; ok {
			return call(g, e.OpPos, e.X, e.Y)
		}
	case *syntax.CallExpr:
		e.Fn = r.expr(e.Fn)
		for i, a := range e.Args {
			switch a := a.(type) {
			case *syntax.BinaryExpr:
				if a.Op == syntax.EQ { // name=value
					a.Y = r.expr(a.Y)
					continue
				}
			case *syntax.UnaryExpr:
				if a.Op == syntax.STAR || a.Op == syntax.STARSTAR { // *args, **kwargs
					a.X = call("$spread", a.OpPos, r.expr(a.X))
					continue
				}
			}
			e.Args[i] = r.expr(a)
		}
	case *syntax.Comprehension:
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				r.target(c.Vars)
				c.X = r.expr(c.X)
			case *syntax.IfClause:
				c.Cond = r.expr(c.Cond)
			}
		}
		e.Body = r.expr(e.Body)
	case *syntax.CondExpr:
		e.Cond = r.expr(e.Cond)
		e.True = r.expr(e.True)
		e.False = r.expr(e.False)
	case *syntax.DictEntry:
		e.Key = r.expr(e.Key)
		e.Value = r.expr(e.Value)
	case *syntax.DictExpr:
		r.exprs(e.List)
	case *syntax.DotExpr:
		e.X = r.expr(e.X)
		if guardedMethodNames[e.Name.Name] {
			return call("$method", e.Dot, e.X, &syntax.Literal{Token: syntax.STRING, TokenPos: e.NamePos, Raw: `"` + e.Name.Name + `"`, Value: e.Name.Name})
		}
	case *syntax.IndexExpr:
		e.X = r.expr(e.X)
		e.Y = r.expr(e.Y)
	case *syntax.LambdaExpr:
		r.params(e.Params)
		e.Body = r.expr(e.Body)
	case *syntax.ListExpr:
		r.exprs(e.List)
	case *syntax.TupleExpr:
		r.exprs(e.List)
	case *syntax.ParenExpr:
		e.X = r.expr(e.X)
	case *syntax.UnaryExpr:
		if e.X != nil {
			e.X = r.expr(e.X)
		}
	case *syntax.SliceExpr:
		none := func(x syntax.Expr) syntax.Expr {
			if x == nil {
				return ident("$none", e.Lbrack)
			}
			return r.expr(x)
		}
		return call("$slice", e.Lbrack, r.expr(e.X), none(e.Lo), none(e.Hi), none(e.Step))
	}
	return e
}

func (r *rewriter) temp() string {
	r.ntemp++
	return fmt.Sprintf("$t%d", r.ntemp)
}

func unparen(e syntax.Expr) syntax.Expr {
	for {
		p, ok := e.(*syntax.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

func ident(name string, pos syntax.Position) *syntax.Ident {
	return &syntax.Ident{NamePos: pos, Name: name}
}

// call builds name(args...), positioned at pos so that errors raised by
// the guard point at the operator it replaces.
func call(name string, pos syntax.Position, args ...syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{Fn: ident(name, pos), Lparen: pos, Args: args, Rparen: pos}
}

func assign(name string, x syntax.Expr) *syntax.AssignStmt {
	pos := syntax.Start(x)
	return &syntax.AssignStmt{OpPos: pos, Op: syntax.EQ, LHS: ident(name, pos), RHS: x}
}

// regexpFor compiles and caches a pattern for regex_match and regex_replace.
func (p *Program) regexpFor(pattern string) (*regexp.Regexp, error) {
	if v, ok := p.regexps.Load(pattern); ok {
		if re, ok := v.(*regexp.Regexp); ok {
			return re, nil
		}
		return nil, v.(error)
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		err = fmt.Errorf("invalid regular expression %q: %w (Go RE2 syntax: no lookaround or backreferences)", pattern, err)
	}
	if len(pattern) <= 1024 && p.nregexps.Add(1) <= maxCachedRegexps {
		if err != nil {
			p.regexps.Store(pattern, err)
		} else {
			p.regexps.Store(pattern, re)
		}
	}
	return re, err
}
