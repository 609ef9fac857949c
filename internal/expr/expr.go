package expr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"go.starlark.net/starlark"
)

// Errors a Run can end with. Test with errors.Is; the error itself is a
// *RuntimeError that says where the expression stopped.
var (
	// ErrStepLimit: the expression ran more than Options.MaxSteps steps.
	ErrStepLimit = errors.New("step limit exceeded")
	// ErrTimeout: the context was done (its deadline passed or it was
	// cancelled) before the expression finished. The error also wraps
	// ctx.Err().
	ErrTimeout = errors.New("evaluation timed out")
	// ErrMemoryLimit: the expression allocated more than Options.MaxMemory.
	ErrMemoryLimit = errors.New("memory limit exceeded")
	// ErrNotAvailable: a helper was called that Env.Helpers does not provide.
	ErrNotAvailable = errors.New("not available")
	// ErrCallDepth: ak_call_policy nested too deeply (a policy calling itself).
	ErrCallDepth = errors.New("ak_call_policy nested too deeply")
)

// MaxCallDepth bounds the nesting of expressions run through ak_call_policy.
const MaxCallDepth = 8

// maxLogLines bounds the lines one Run writes with ak_logger and print.
const maxLogLines = 100

// stopGrace is how long Run waits, after its context is done, for the
// interpreter to notice the cancellation before returning without it.
const stopGrace = 50 * time.Millisecond

// Env is what one evaluation sees.
type Env struct {
	// Request is the expression's "request"; its Context is also the
	// top-level "context".
	Request Request
	// Vars supplies the names declared in Options.Vars. A declared name
	// missing here is None.
	Vars map[string]any
	// Helpers backs the ak_* functions. If nil, calling them is an error.
	Helpers Helpers
	// Logger receives the engine's own warnings and, at debug level only,
	// the ak_logger and print lines (which may hold secrets the expression
	// read; Result.Log has them at their own level). If nil, it is
	// discarded.
	Logger *slog.Logger
}

// Result is what an expression returned, as a Go value (see FromStarlark),
// the messages it added with ak_message, and the lines it logged.
type Result struct {
	Value    any
	Messages []string
	// Log is what the expression wrote with ak_logger and print, in order,
	// at most maxLogLines (then one warning that the rest were dropped);
	// nil when it logged nothing.
	Log []LogEntry
}

// LogEntry is one ak_logger or print line (authentik's LogEvent, which its
// policy test returns as log_messages).
type LogEntry struct {
	Time time.Time
	// Level is structlog's name of the level: debug, info, warning, error
	// or critical (ak_logger.warn logs warning, .exception error; print
	// info).
	Level   string
	Message string
	// Attributes are ak_logger's keyword arguments (nil for print).
	Attributes map[string]any
}

// RuntimeError is an error raised while an expression ran. Line and Col
// are where in the expression it stopped (0 if unknown).
type RuntimeError struct {
	Name      string
	Line, Col int
	Msg       string
	// Backtrace is Starlark's call stack, for logs.
	Backtrace string
	err       error
}

func (e *RuntimeError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Name, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Col, e.Msg)
}

func (e *RuntimeError) Unwrap() error { return e.err }

// Run evaluates the expression. It ends with an error when the
// expression fails, passes Options.MaxSteps or Options.MaxMemory, or
// when ctx is done; in the last case Run returns soon after even if the
// interpreter is stuck in one long built-in operation (which then
// finishes in the background). Run is safe for concurrent use.
//
// On error the Result still holds the messages added before it.
func (p *Program) Run(ctx context.Context, env Env) (Result, error) {
	v, st, err := p.run(ctx, &env)
	var res Result
	if st != nil {
		res.Messages, res.Log = st.messages, st.logs
	}
	if err != nil {
		return res, err
	}
	res.Value, err = FromStarlark(v)
	if err != nil {
		return res, &RuntimeError{Name: p.name, Msg: "converting the result: " + err.Error(), err: err}
	}
	return res, nil
}

// Bool evaluates the expression as a policy: the result is passing if the
// returned value is true in Python's sense (a non-empty string, list or
// dict, a non-zero number, True; not None). Result.Value holds the
// returned value converted to Go when it has a Go form, else nil.
func (p *Program) Bool(ctx context.Context, env Env) (bool, Result, error) {
	v, st, err := p.run(ctx, &env)
	var res Result
	if st != nil {
		res.Messages, res.Log = st.messages, st.logs
	}
	if err != nil {
		return false, res, err
	}
	res.Value, _ = FromStarlark(v)
	return bool(v.Truth()), res, nil
}

type callDepthKey struct{}

// run runs the expression on a fresh thread. The state it returns is nil
// if the run had to be abandoned (the context was done and the
// interpreter did not stop in time).
func (p *Program) run(ctx context.Context, env *Env) (starlark.Value, *runState, error) {
	depth, _ := ctx.Value(callDepthKey{}).(int)
	if depth > MaxCallDepth {
		return nil, nil, &RuntimeError{Name: p.name, Msg: ErrCallDepth.Error(), err: ErrCallDepth}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, p.timeoutError(ctx, 0, 0)
	}
	st := &runState{ctx: ctx, depth: depth, env: env, prog: p, maxMemory: p.maxMemory, logger: env.Logger}
	if st.logger == nil {
		st.logger = discard
	}
	thread := &starlark.Thread{Name: p.name, Print: threadPrint}
	thread.SetLocal(stateKey, st)
	thread.SetMaxExecutionSteps(p.maxSteps)
	thread.OnMaxSteps = func(thread *starlark.Thread) {
		st.stop.CompareAndSwap(0, stopSteps)
		thread.Cancel("step limit exceeded")
	}

	if ctx.Done() == nil {
		v, err := p.exec(thread, st)
		return v, st, err
	}
	stopCancel := context.AfterFunc(ctx, func() {
		st.stop.CompareAndSwap(0, stopContext)
		thread.Cancel("context done")
	})
	defer stopCancel()
	type outcome struct {
		v   starlark.Value
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		v, err := p.exec(thread, st)
		done <- outcome{v, err}
	}()
	select {
	case o := <-done:
		return o.v, st, o.err
	case <-ctx.Done():
	}
	// The AfterFunc has cancelled the thread; it stops at its next step.
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case o := <-done:
		return o.v, st, o.err
	case <-t.C:
		st.logger.Warn("expression did not stop after its context was done; abandoning it",
			slog.String("expression", p.name))
		return nil, nil, p.timeoutError(ctx, 0, 0)
	}
}

func (p *Program) timeoutError(ctx context.Context, line, col int) error {
	cause := context.Cause(ctx)
	return &RuntimeError{Name: p.name, Line: line, Col: col,
		Msg: fmt.Sprintf("%s (%v)", ErrTimeout, cause), err: fmt.Errorf("%w: %w", ErrTimeout, cause)}
}

// exec calls the expression function. It never panics.
func (p *Program) exec(thread *starlark.Thread, st *runState) (v starlark.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			st.logger.Error("expression panicked", slog.String("expression", p.name),
				slog.Any("panic", r), slog.String("stack", string(debug.Stack())))
			v, err = nil, &RuntimeError{Name: p.name, Msg: fmt.Sprintf("internal error: %v", r)}
		}
	}()
	args, err := p.args(st)
	if err != nil {
		return nil, &RuntimeError{Name: p.name, Msg: err.Error(), err: err}
	}
	v, err = starlark.Call(thread, p.fn, args, nil)
	if err != nil {
		return nil, p.runtimeError(st, err)
	}
	return v, nil
}

// args builds the parameters of the expression function; those the
// expression never mentions are None.
func (p *Program) args(st *runState) (starlark.Tuple, error) {
	args := make(starlark.Tuple, len(p.params))
	for i, name := range p.params {
		args[i] = starlark.None
		if !p.used[i] {
			continue
		}
		switch name {
		case paramRequest:
			args[i] = st.request()
		case paramContext:
			d, err := st.request().context()
			if err != nil {
				return nil, fmt.Errorf("converting context: %w", err)
			}
			args[i] = d
		case paramClientIP:
			if h := st.env.Request.HTTP; h != nil {
				args[i] = clientIP(h.RemoteIP)
			}
		default:
			if v, ok := st.env.Vars[name]; ok {
				sv, err := ToStarlark(v)
				if err != nil {
					return nil, fmt.Errorf("converting %s: %w", name, err)
				}
				args[i] = sv
			}
		}
	}
	return args, nil
}

// runtimeError turns a Starlark error into a *RuntimeError positioned in
// the expression, classifying the limits.
func (p *Program) runtimeError(st *runState, err error) error {
	e := &RuntimeError{Name: p.name, Msg: err.Error(), err: err}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e.Msg = ee.Msg
		e.Backtrace = ee.Backtrace()
		for i := range len(ee.CallStack) {
			pos := ee.CallStack.At(i).Pos
			if pos.IsValid() && pos.Filename() == p.name && pos.Line > 0 {
				e.Line, e.Col = int(pos.Line), int(pos.Col)
				break
			}
		}
	}
	switch st.stop.Load() {
	case stopSteps:
		e.Msg = fmt.Sprintf("%s (the limit is %d steps; is there an endless loop?)", ErrStepLimit, p.maxSteps)
		e.err = ErrStepLimit
	case stopContext:
		cause := context.Cause(st.ctx)
		e.Msg = fmt.Sprintf("%s (%v)", ErrTimeout, cause)
		e.err = fmt.Errorf("%w: %w", ErrTimeout, cause)
	default:
		if st.memExceeded && !errors.Is(err, ErrMemoryLimit) {
			e.err = fmt.Errorf("%w: %w", ErrMemoryLimit, err)
		}
	}
	return e
}

// runState is the per-Run state the builtins reach through the thread.
type runState struct {
	ctx    context.Context
	depth  int // of ak_call_policy nesting
	env    *Env
	prog   *Program
	logger *slog.Logger

	// (memExceeded sits in stop's padding: the struct stays in the
	// 128-byte size class with logs, so a run that logs nothing costs no
	// more than before they were kept.)
	stop        atomic.Int32 // why the thread was cancelled
	memExceeded bool
	allocated   int64
	maxMemory   int64
	messages    []string
	logs        []LogEntry // ak_logger and print lines (Result.Log)
	req         *requestValue
}

const (
	stopSteps = 1 + iota
	stopContext
)

const stateKey = "gatehouse.expr.state"

func state(thread *starlark.Thread) *runState {
	return thread.Local(stateKey).(*runState)
}

func (st *runState) request() *requestValue {
	if st.req == nil {
		st.req = &requestValue{req: &st.env.Request}
	}
	return st.req
}

var discard = slog.New(slog.DiscardHandler)

func threadPrint(thread *starlark.Thread, msg string) {
	state(thread).log("info", msg, nil, "print")
}

// logLimitMessage is the warning that ends a run's log at maxLogLines.
const logLimitMessage = "expression log limit reached; dropping further lines"

// logAllowed reports whether the run may write another log line: at most
// maxLogLines, then one warning that the rest are dropped.
func (st *runState) logAllowed() bool {
	if len(st.logs) < maxLogLines {
		return true
	}
	if len(st.logs) == maxLogLines {
		st.logs = append(st.logs, LogEntry{Time: time.Now().UTC(), Level: "warning", Message: logLimitMessage,
			Attributes: map[string]any{"limit": maxLogLines}})
		st.logger.Warn(logLimitMessage, slog.String("expression", st.prog.name), slog.Int("limit", maxLogLines))
	}
	return false
}

// log records one ak_logger (attrs: its keyword arguments) or print
// (source "print") line in the run's log, and writes it to the Env's
// logger at debug level: what an expression logs may be a secret it read,
// so it is not in the server's log at the default level.
func (st *runState) log(level, msg string, attrs map[string]any, source string) {
	if !st.logAllowed() {
		return
	}
	st.logs = append(st.logs, LogEntry{Time: time.Now().UTC(), Level: level, Message: msg, Attributes: attrs})
	if !st.logger.Enabled(st.ctx, slog.LevelDebug) {
		return
	}
	sa := make([]slog.Attr, 0, len(attrs)+3)
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		sa = append(sa, slog.Any(k, attrs[k]))
	}
	if source != "" {
		sa = append(sa, slog.String("source", source))
	}
	sa = append(sa, slog.String("log_level", level), slog.String("expression", st.prog.name))
	st.logger.LogAttrs(st.ctx, slog.LevelDebug, msg, sa...)
}
