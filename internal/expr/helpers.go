package expr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// Helpers is what the ak_* functions need from the rest of Gatehouse; the
// caller implements it over the store, so this package stays free of it.
// Embed NoHelpers to implement only part of it.
//
// Methods are called from concurrent runs, and should honour ctx: a run
// abandoned at its deadline (see Program.Run) may still be inside one.
type Helpers interface {
	// IsGroupMember reports whether user is a member, directly or through
	// a parent group, of the group matching filter, for example
	// {"name": "admins"} (authentik's ak_is_group_member(user, **filter)).
	IsGroupMember(ctx context.Context, user *User, filter map[string]any) (bool, error)
	// UserBy returns the user matching filter, for example
	// {"username": "alice"}, {"email": ...} or {"pk": 3}; nil if none.
	UserBy(ctx context.Context, filter map[string]any) (*User, error)
	// UserHasAuthenticator reports whether user has a confirmed
	// authenticator of deviceType ("" for any type).
	UserHasAuthenticator(ctx context.Context, user *User, deviceType string) (bool, error)
	// CallPolicy runs the policy named name for req, with kwargs added to
	// its context. ctx carries the nesting depth: pass it on to Run.
	CallPolicy(ctx context.Context, name string, req *Request, kwargs map[string]any) (PolicyResult, error)
	// CreateEvent records an event with the action and kwargs as context.
	CreateEvent(ctx context.Context, action string, req *Request, kwargs map[string]any) error
}

// PolicyResult is what ak_call_policy returns: an object with .passing
// and .messages.
type PolicyResult struct {
	Passing  bool
	Messages []string
}

// NoHelpers implements Helpers with every method failing with
// ErrNotAvailable. Env uses it when Helpers is nil.
type NoHelpers struct{}

var _ Helpers = NoHelpers{}

func (NoHelpers) IsGroupMember(context.Context, *User, map[string]any) (bool, error) {
	return false, ErrNotAvailable
}
func (NoHelpers) UserBy(context.Context, map[string]any) (*User, error) { return nil, ErrNotAvailable }
func (NoHelpers) UserHasAuthenticator(context.Context, *User, string) (bool, error) {
	return false, ErrNotAvailable
}
func (NoHelpers) CallPolicy(context.Context, string, *Request, map[string]any) (PolicyResult, error) {
	return PolicyResult{}, ErrNotAvailable
}
func (NoHelpers) CreateEvent(context.Context, string, *Request, map[string]any) error {
	return ErrNotAvailable
}

func (st *runState) helpers() Helpers {
	if st.env.Helpers == nil {
		return NoHelpers{}
	}
	return st.env.Helpers
}

// predeclared is the module every expression is compiled against: the
// helpers, the memory-guarded versions of some universal builtins, and the
// guards the compiler inserts. It is immutable and shared by all runs;
// per-run state is reached through the thread (see state).
var predeclared = starlark.StringDict{
	// authentik's helpers.
	"ak_message":                starlark.NewBuiltin("ak_message", akMessage),
	"ak_logger":                 loggerValue{},
	"ak_is_group_member":        starlark.NewBuiltin("ak_is_group_member", akIsGroupMember),
	"ak_user_by":                starlark.NewBuiltin("ak_user_by", akUserBy),
	"ak_user_has_authenticator": starlark.NewBuiltin("ak_user_has_authenticator", akUserHasAuthenticator),
	"ak_call_policy":            starlark.NewBuiltin("ak_call_policy", akCallPolicy),
	"ak_create_event":           starlark.NewBuiltin("ak_create_event", akCreateEvent),
	"regex_match":               starlark.NewBuiltin("regex_match", regexMatch),
	"regex_replace":             starlark.NewBuiltin("regex_replace", regexReplace),
	"ip_address":                starlark.NewBuiltin("ip_address", ipAddress),
	"ip_network":                starlark.NewBuiltin("ip_network", ipNetwork),

	// Python builtins Starlark lacks.
	"pow":        starlark.NewBuiltin("pow", builtinPow),
	"isinstance": starlark.NewBuiltin("isinstance", builtinIsinstance),

	// Universal builtins, with memory guards.
	"list":      wrapBuiltin("list", perElement(slotSize)),
	"tuple":     wrapBuiltin("tuple", perElement(slotSize)),
	"set":       wrapBuiltin("set", perElement(setSlotSize)),
	"dict":      wrapBuiltin("dict", perElement(dictSlotSize)),
	"sorted":    wrapBuiltin("sorted", perElement(slotSize)),
	"reversed":  wrapBuiltin("reversed", perElement(slotSize)),
	"enumerate": wrapBuiltin("enumerate", perElement(slotSize+32)),
	"zip":       wrapBuiltin("zip", chargeZip),
	"str":       wrapBuiltin("str", chargeStr),
	"repr":      wrapBuiltin("repr", chargeRepr),
	"bytes":     wrapBuiltin("bytes", chargeBytes),
	"int":       wrapBuiltin("int", chargeInt),
	"fail":      wrapBuiltin("fail", chargeFail),
	"getattr":   starlark.NewBuiltin("getattr", builtinGetattr),
	"print":     starlark.NewBuiltin("print", builtinPrint),

	// Guards inserted by the compiler (see rewriter).
	"$add":    binaryGuard("$add", syntax.PLUS),
	"$sub":    binaryGuard("$sub", syntax.MINUS),
	"$mul":    binaryGuard("$mul", syntax.STAR),
	"$mod":    binaryGuard("$mod", syntax.PERCENT),
	"$or":     binaryGuard("$or", syntax.PIPE),
	"$and":    binaryGuard("$and", syntax.AMP),
	"$xor":    binaryGuard("$xor", syntax.CIRCUMFLEX),
	"$lsh":    binaryGuard("$lsh", syntax.LTLT),
	"$iadd":   augmentedGuard("$iadd", syntax.PLUS),
	"$isub":   augmentedGuard("$isub", syntax.MINUS),
	"$imul":   augmentedGuard("$imul", syntax.STAR),
	"$imod":   augmentedGuard("$imod", syntax.PERCENT),
	"$ior":    augmentedGuard("$ior", syntax.PIPE),
	"$iand":   augmentedGuard("$iand", syntax.AMP),
	"$ixor":   augmentedGuard("$ixor", syntax.CIRCUMFLEX),
	"$ilsh":   augmentedGuard("$ilsh", syntax.LTLT),
	"$slice":  starlark.NewBuiltin("$slice", guardSlice),
	"$method": starlark.NewBuiltin("$method", guardMethod),
	"$spread": starlark.NewBuiltin("$spread", guardSpread),
	"$none":   starlark.None,
}

// toGo converts v with FromStarlark, charging for the copy.
func (st *runState) toGo(v starlark.Value) (any, error) {
	size, _ := strSize(v, st.remaining())
	if err := st.charge(size); err != nil {
		return nil, err
	}
	return FromStarlark(v)
}

func akMessage(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &v); err != nil {
		return nil, err
	}
	st := state(thread)
	s, err := st.str(v)
	if err != nil {
		return nil, err
	}
	if err := st.charge(int64(len(s)) + slotSize); err != nil {
		return nil, err
	}
	st.messages = append(st.messages, s)
	return starlark.None, nil
}

// userArg accepts a user or None (nil, the anonymous user or no user).
func userArg(fn string, v starlark.Value) (*User, error) {
	switch v := v.(type) {
	case *userValue:
		return v.u, nil
	case starlark.NoneType:
		return nil, nil
	}
	return nil, fmt.Errorf("%s: want a user, got %s", fn, v.Type())
}

// kwargsMap converts keyword arguments to Go values.
func kwargsMap(st *runState, fn string, kwargs []starlark.Tuple) (map[string]any, error) {
	m := make(map[string]any, len(kwargs))
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		v, err := st.toGo(kv[1])
		if err != nil {
			return nil, fmt.Errorf("%s: argument %s: %w", fn, k, err)
		}
		m[k] = v
	}
	return m, nil
}

func akIsGroupMember(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 || len(kwargs) == 0 {
		return nil, fmt.Errorf("%s: want a user and group filters, e.g. %s(request.user, name=\"admins\")", b.Name(), b.Name())
	}
	u, err := userArg(b.Name(), args[0])
	if err != nil {
		return nil, err
	}
	filter, err := kwargsMap(state(thread), b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return starlark.False, nil
	}
	st := state(thread)
	ok, err := st.helpers().IsGroupMember(st.ctx, u, filter)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.Bool(ok), nil
}

func akUserBy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 0 || len(kwargs) == 0 {
		return nil, fmt.Errorf("%s: want keyword filters, e.g. %s(username=\"alice\")", b.Name(), b.Name())
	}
	filter, err := kwargsMap(state(thread), b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	st := state(thread)
	u, err := st.helpers().UserBy(st.ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if u == nil {
		return starlark.None, nil
	}
	return newUserValue(u), nil
}

func akUserHasAuthenticator(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var user, deviceType starlark.Value = nil, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "user", &user, "device_type?", &deviceType); err != nil {
		return nil, err
	}
	u, err := userArg(b.Name(), user)
	if err != nil {
		return nil, err
	}
	var dt string
	switch v := deviceType.(type) {
	case starlark.String:
		dt = string(v)
	case starlark.NoneType:
	default:
		return nil, fmt.Errorf("%s: device_type: want a string or None, got %s", b.Name(), v.Type())
	}
	if u == nil {
		return starlark.False, nil
	}
	st := state(thread)
	ok, err := st.helpers().UserHasAuthenticator(st.ctx, u, dt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.Bool(ok), nil
}

func akCallPolicy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, nil, 1, &name); err != nil {
		return nil, err
	}
	kw, err := kwargsMap(state(thread), b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	st := state(thread)
	ctx := context.WithValue(st.ctx, callDepthKey{}, st.depth+1)
	res, err := st.helpers().CallPolicy(ctx, name, &st.env.Request, kw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	msgs := make(starlark.Tuple, len(res.Messages))
	for i, m := range res.Messages {
		msgs[i] = starlark.String(m)
	}
	return starlarkstruct.FromStringDict(starlark.String("PolicyResult"), starlark.StringDict{
		"passing":  starlark.Bool(res.Passing),
		"messages": msgs,
	}), nil
}

func akCreateEvent(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var action string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, nil, 1, &action); err != nil {
		return nil, err
	}
	kw, err := kwargsMap(state(thread), b.Name(), kwargs)
	if err != nil {
		return nil, err
	}
	st := state(thread)
	if err := st.helpers().CreateEvent(st.ctx, action, &st.env.Request, kw); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

// regexMatch is authentik's regex_match(value, regex): re.search, so the
// pattern may match anywhere unless anchored. Patterns are Go's RE2
// syntax, which runs in linear time.
func regexMatch(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var value, pattern string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "value", &value, "regex", &pattern); err != nil {
		return nil, err
	}
	re, err := state(thread).prog.regexpFor(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.Bool(re.MatchString(value)), nil
}

// regexReplace is authentik's regex_replace(value, regex, repl): re.sub,
// with Python's replacement syntax (\1, \g<1>, \g<name>).
func regexReplace(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var value, pattern, repl string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "value", &value, "regex", &pattern, "repl", &repl); err != nil {
		return nil, err
	}
	st := state(thread)
	re, err := st.prog.regexpFor(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	tmpl, literal, refs, err := pythonRepl(re, repl)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	// Matches do not overlap, so the groups copied into the result add up
	// to at most len(value) per reference in repl.
	n := int64(len(value))
	if bound := n + mulSize(n+1, literal) + mulSize(refs, n); bound > st.remaining() {
		return nil, st.charge(bound)
	}
	out := re.ReplaceAllString(value, tmpl)
	if err := st.charge(int64(len(out))); err != nil {
		return nil, err
	}
	return starlark.String(out), nil
}

// pythonRepl translates a Python re.sub replacement into a Go template for
// Regexp.Expand, returning also the length of its literal text and the
// number of group references. It follows Python's template rules: \1 and
// \12 are groups, as are \g<1> and \g<name>; \0, \01 and three octal
// digits (\101) are characters; \n, \t and the like are escapes; an
// unknown escape of an ASCII letter is an error.
func pythonRepl(re *regexp.Regexp, repl string) (tmpl string, literal, refs int64, err error) {
	var b strings.Builder
	lit := func(r rune) {
		if r == '$' {
			b.WriteString("$$")
		} else {
			b.WriteRune(r)
		}
		literal += int64(utf8.RuneLen(max(r, 0)))
	}
	group := func(g string) error {
		if n, err := strconv.Atoi(g); err == nil {
			if n > re.NumSubexp() {
				return fmt.Errorf("invalid group reference %d", n)
			}
		} else if re.SubexpIndex(g) < 0 {
			return fmt.Errorf("unknown group name %q", g)
		}
		b.WriteString("${" + g + "}")
		refs++
		return nil
	}
	isOctal := func(i int) bool { return i < len(repl) && repl[i] >= '0' && repl[i] <= '7' }
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '\\' || i+1 == len(repl) {
			r, n := utf8.DecodeRuneInString(repl[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteByte(c) // not UTF-8: copy the byte
				literal++
				continue
			}
			lit(r)
			i += n - 1
			continue
		}
		switch d := repl[i+1]; {
		case d == '0':
			j := i + 2
			for j < i+4 && isOctal(j) {
				j++
			}
			v, _ := strconv.ParseUint(repl[i+1:j], 8, 32)
			lit(rune(v))
			i = j - 1
		case isDigit(d):
			if isOctal(i+1) && isOctal(i+2) && isOctal(i+3) {
				v, _ := strconv.ParseUint(repl[i+1:i+4], 8, 32)
				if v > 0o377 {
					return "", 0, 0, fmt.Errorf("octal escape value \\%s outside of range 0-0o377", repl[i+1:i+4])
				}
				lit(rune(v))
				i += 3
				continue
			}
			j := i + 2
			if j < len(repl) && isDigit(repl[j]) {
				j++
			}
			if err := group(repl[i+1 : j]); err != nil {
				return "", 0, 0, err
			}
			i = j - 1
		case d == 'g':
			if i+2 >= len(repl) || repl[i+2] != '<' {
				return "", 0, 0, fmt.Errorf("missing < in group reference")
			}
			end := strings.IndexByte(repl[i+3:], '>')
			if end < 0 {
				return "", 0, 0, fmt.Errorf("missing > in group reference")
			}
			if err := group(repl[i+3 : i+3+end]); err != nil {
				return "", 0, 0, err
			}
			i += 3 + end
		default:
			i++
			if e, ok := replEscapes[d]; ok {
				lit(e)
			} else if isASCIILetter(d) {
				return "", 0, 0, fmt.Errorf("bad escape \\%c in replacement", d)
			} else {
				lit('\\')
				i-- // the next character is copied as it is
			}
		}
	}
	return b.String(), literal, refs, nil
}

var replEscapes = map[byte]rune{'n': '\n', 't': '\t', 'r': '\r', 'a': '\a', 'b': '\b', 'f': '\f', 'v': '\v', '\\': '\\'}

func ipAddress(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %q does not appear to be an IPv4 or IPv6 address", b.Name(), s)
	}
	return ipValue{a.Unmap()}, nil
}

func ipNetwork(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	strict := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "address", &s, "strict?", &strict); err != nil {
		return nil, err
	}
	var p netip.Prefix
	var err error
	if strings.Contains(s, "/") {
		p, err = netip.ParsePrefix(s)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(s); err == nil {
			p = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %q does not appear to be an IPv4 or IPv6 network", b.Name(), s)
	}
	if p.Masked() != p {
		if strict {
			return nil, fmt.Errorf("%s: %s has host bits set", b.Name(), s)
		}
		p = p.Masked()
	}
	return networkValue{p}, nil
}

// builtinPrint is print(*args, sep=" "), written to the Env's logger.
func builtinPrint(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	sep := " "
	if err := starlark.UnpackArgs(b.Name(), nil, kwargs, "sep?", &sep); err != nil {
		return nil, err
	}
	st := state(thread)
	if !st.logAllowed() {
		return starlark.None, nil
	}
	parts := make([]string, len(args))
	for i, a := range args {
		s, err := st.str(a)
		if err != nil {
			return nil, err
		}
		parts[i] = s
	}
	msg := strings.Join(parts, sep)
	if err := st.charge(int64(len(msg))); err != nil {
		return nil, err
	}
	st.log("info", msg, nil, "print")
	return starlark.None, nil
}

// loggerValue is ak_logger: ak_logger.info("event", key=value) adds a line
// to the run's log, as authentik's structlog logger does.
type loggerValue struct{}

func (loggerValue) String() string        { return "<ak_logger>" }
func (loggerValue) Type() string          { return "logger" }
func (loggerValue) Truth() starlark.Bool  { return true }
func (loggerValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: logger") }
func (loggerValue) Freeze()               {}

// loggerLevels are ak_logger's methods and the structlog level each logs at.
var loggerLevels = map[string]string{
	"debug": "debug", "info": "info", "msg": "info",
	"warning": "warning", "warn": "warning",
	"error": "error", "exception": "error", "critical": "critical",
}

var loggerMethods = func() map[string]*starlark.Builtin {
	m := map[string]*starlark.Builtin{}
	for name, level := range loggerLevels {
		m[name] = starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			st := state(thread)
			if !st.logAllowed() {
				return starlark.None, nil
			}
			parts := make([]string, len(args))
			for i, a := range args {
				s, err := st.str(a)
				if err != nil {
					return nil, err
				}
				parts[i] = s
			}
			var attrs map[string]any
			if len(kwargs) > 0 {
				attrs = make(map[string]any, len(kwargs))
			}
			for _, kv := range kwargs {
				k := string(kv[0].(starlark.String))
				v, err := st.toGo(kv[1])
				if errors.Is(err, ErrMemoryLimit) {
					return nil, err
				} else if err != nil {
					v = kv[1].Type() // no Go form: log the type
				}
				attrs[k] = v
			}
			st.log(level, strings.Join(parts, " "), attrs, "")
			return starlark.None, nil
		})
	}
	return m
}()

var loggerNames = func() []string {
	names := make([]string, 0, len(loggerMethods))
	for n := range loggerMethods {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}()

func (loggerValue) AttrNames() []string { return loggerNames }

func (loggerValue) Attr(name string) (starlark.Value, error) {
	if m, ok := loggerMethods[name]; ok {
		return m, nil
	}
	return nil, nil
}
