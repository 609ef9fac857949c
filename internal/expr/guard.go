package expr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// This file holds the memory guards. Starlark's step limit bounds loops,
// but one step can allocate in proportion to its operands ("x" * n,
// s.replace("", t), sorted(l), l.extend(l)), and a few steps of doubling
// reach gigabytes. Compile rewrites those operations into calls to the
// builtins below, which charge the run's budget (Options.MaxMemory) with
// the size of the result before computing it. The charge is cumulative:
// it bounds what a run can keep alive, not only single allocations.
//
// Sizes are estimates in bytes: a string its length, a list or tuple 16
// bytes per element (an interface value), a dict or set a little more.

const (
	maxIntBits   = 16384 // larger integer results are an error
	maxIntDigits = 4300  // int("...") of longer strings is an error (as Python)
	slotSize     = 16    // one starlark.Value in a list or tuple
	dictSlotSize = 64    // one dict entry
	setSlotSize  = 48    // one set entry
)

// charge records n more bytes allocated by the run.
func (st *runState) charge(n int64) error {
	if n <= 0 {
		return nil
	}
	if st.memExceeded || n > st.maxMemory-st.allocated {
		st.memExceeded = true
		return fmt.Errorf("%w: the expression would allocate about %s, over its limit of %s",
			ErrMemoryLimit, byteSize(st.allocated+n), byteSize(st.maxMemory))
	}
	st.allocated += n
	return nil
}

func (st *runState) remaining() int64 { return st.maxMemory - st.allocated }

func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// sizeOf estimates the memory held directly by v (not by its elements).
func sizeOf(v starlark.Value) int64 {
	switch v := v.(type) {
	case starlark.String:
		return int64(len(v))
	case starlark.Bytes:
		return int64(len(v))
	case starlark.Int:
		if _, ok := v.Int64(); ok {
			return 0
		}
		return int64(v.BigInt().BitLen() / 8)
	case *starlark.Dict:
		return int64(v.Len()) * dictSlotSize
	case *starlark.Set:
		return int64(v.Len()) * setSlotSize
	case starlark.Float, starlark.Bool, starlark.NoneType:
		return 0
	}
	if n := starlark.Len(v); n > 0 {
		return int64(n) * slotSize
	}
	return 0
}

func intBits(v starlark.Int) int {
	if x, ok := v.Int64(); ok {
		if x < 0 {
			x = -x
		}
		n := 0
		for ; x != 0; x >>= 1 {
			n++
		}
		return n
	}
	return v.BigInt().BitLen()
}

// mulSize returns a*b, or a value over any budget on overflow.
func mulSize(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > (1<<62)/b {
		return 1 << 62
	}
	return a * b
}

// chargeBinary charges for x op y before it is computed.
func chargeBinary(st *runState, op syntax.Token, x, y starlark.Value) error {
	if isNumber(x) && isNumber(y) {
		xi, xok := x.(starlark.Int)
		yi, yok := y.(starlark.Int)
		if !xok || !yok {
			return nil
		}
		var bits int
		switch op {
		case syntax.STAR:
			bits = intBits(xi) + intBits(yi)
		case syntax.LTLT:
			n, ok := yi.Int64()
			if !ok || n < 0 || n >= 512 {
				return nil // starlark.Binary reports the bad shift count
			}
			bits = intBits(xi) + int(n)
		default:
			return nil // +, -, |, &, ^ grow an integer by a bit at most
		}
		if bits > maxIntBits {
			return fmt.Errorf("integer result too large (more than %d bits)", maxIntBits)
		}
		return st.charge(int64(bits / 8))
	}
	switch op {
	case syntax.STAR:
		seq, n := x, y
		if _, ok := x.(starlark.Int); ok {
			seq, n = y, x
		}
		count, ok := n.(starlark.Int)
		if !ok {
			return nil // not a repetition: starlark.Binary decides
		}
		c, ok := count.Int64()
		if !ok {
			c = 1 << 62
		}
		return st.charge(mulSize(sizeOf(seq), c))
	case syntax.PERCENT:
		format, ok := x.(starlark.String)
		if !ok {
			return st.charge(sizeOf(x) + sizeOf(y))
		}
		return chargeFormat(st, string(format), strings.Count(string(format), "%"), y, nil)
	default:
		return st.charge(sizeOf(x) + sizeOf(y))
	}
}

// chargeFormat charges for a format string with at most n directives
// applied to args (a tuple or dict is seen through) and kwargs.
func chargeFormat(st *runState, format string, n int, args starlark.Value, kwargs []starlark.Tuple) error {
	var values []starlark.Value
	switch a := args.(type) {
	case starlark.Tuple:
		values = a
	case *starlark.Dict:
		for _, kv := range a.Items() {
			values = append(values, kv[1])
		}
	case nil:
	default:
		values = []starlark.Value{a}
	}
	for _, kv := range kwargs {
		values = append(values, kv[1])
	}
	var largest int64
	for _, v := range values {
		size, ok := strSize(v, st.remaining())
		if !ok {
			return st.charge(size)
		}
		largest = max(largest, size)
	}
	return st.charge(int64(len(format)) + mulSize(int64(n), largest))
}

func isNumber(v starlark.Value) bool {
	switch v.(type) {
	case starlark.Int, starlark.Float:
		return true
	}
	return false
}

// strSize estimates the length of str(v) (for a string: with quotes and
// escapes, as inside a container). It stops once the size passes limit
// and then reports false; so it runs in time bounded by limit even for a
// structure that shares one list many times, whose text is exponential.
func strSize(v starlark.Value, limit int64) (int64, bool) {
	var size int64
	stack := []starlark.Value{v}
	for len(stack) > 0 && size <= limit {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch v := v.(type) {
		case starlark.String:
			size += 4*int64(len(v)) + 2 // worst case: every byte escaped as \xNN
		case starlark.Bytes:
			size += 4*int64(len(v)) + 3
		case starlark.Int:
			size += int64(intBits(v))*30/100 + 2
		case *starlark.List, starlark.Tuple, *starlark.Set:
			n := starlark.Len(v)
			size += 8 + 2*int64(n)
			if int64(n) > limit-size {
				size = limit + 1
				break
			}
			it := starlark.Iterate(v)
			var x starlark.Value
			for it.Next(&x) {
				stack = append(stack, x)
			}
			it.Done()
		case *starlark.Dict:
			size += 2 + 4*int64(v.Len())
			if int64(v.Len()) > limit-size {
				size = limit + 1
				break
			}
			for _, kv := range v.Items() {
				stack = append(stack, kv[0], kv[1])
			}
		default:
			size += 32
		}
	}
	return size, size <= limit
}

// str converts v to text as str() does, charging for it.
func (st *runState) str(v starlark.Value) (string, error) {
	if s, ok := v.(starlark.String); ok {
		return string(s), nil
	}
	size, _ := strSize(v, st.remaining())
	if err := st.charge(size); err != nil {
		return "", err
	}
	return v.String(), nil
}

// Binary and augmented-assignment guards, named as in compile.go.
func binaryGuard(name string, op syntax.Token) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, y := args[0], args[1]
		if err := chargeBinary(state(thread), op, x, y); err != nil {
			return nil, err
		}
		return starlark.Binary(op, x, y)
	})
}

// augmentedGuard charges for x op= y and returns y; Starlark then does
// the operation itself, in place for list += and dict |=.
func augmentedGuard(name string, op syntax.Token) *starlark.Builtin {
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		x, y := args[0], args[1]
		st := state(thread)
		var err error
		switch {
		case op == syntax.PLUS && is[*starlark.List](x):
			var n int64
			n, err = lenOrCount(st, y, slotSize)
			if err == nil {
				err = st.charge(n * slotSize)
			}
		case op == syntax.PIPE && is[*starlark.Dict](x):
			err = st.charge(sizeOf(y))
		default:
			err = chargeBinary(st, op, x, y)
		}
		if err != nil {
			return nil, err
		}
		return y, nil
	})
}

func is[T any](v any) bool { _, ok := v.(T); return ok }

// lenOrCount returns the number of elements of an iterable, counting them
// if it has no length, but giving up (with a memory error) once that many
// elements of size each would pass the budget.
func lenOrCount(st *runState, v starlark.Value, size int64) (int64, error) {
	if n := starlark.Len(v); n >= 0 {
		return int64(n), nil
	}
	it := starlark.Iterate(v)
	if it == nil {
		return 0, nil // not iterable: the operation reports it
	}
	defer it.Done()
	var n int64
	var x starlark.Value
	for it.Next(&x) {
		n++
		if n*size > st.remaining() {
			return 0, st.charge(n * size)
		}
	}
	return n, nil
}

// guardSlice implements x[lo:hi:step] ($slice).
func guardSlice(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, lo, hi, step_ := args[0], args[1], args[2], args[3]
	sliceable, ok := x.(starlark.Sliceable)
	if !ok {
		return nil, fmt.Errorf("invalid slice operand %s", x.Type())
	}
	n := sliceable.Len()
	step := 1
	if step_ != starlark.None {
		var err error
		if step, err = starlark.AsInt32(step_); err != nil {
			return nil, fmt.Errorf("invalid slice step: %s", err)
		}
		if step == 0 {
			return nil, fmt.Errorf("zero is not a valid slice step")
		}
	}
	// The index arithmetic follows starlark's slice (eval.go).
	var start, end int
	if step > 0 {
		start, end = 0, n
		if err := asIndex(lo, n, &start); err != nil {
			return nil, fmt.Errorf("invalid start index: %s", err)
		}
		if err := asIndex(hi, n, &end); err != nil {
			return nil, fmt.Errorf("invalid end index: %s", err)
		}
		start, end = min(max(start, 0), n), min(max(end, 0), n)
		end = max(end, start)
	} else {
		start, end = n-1, -1
		if err := asIndex(lo, n, &start); err != nil {
			return nil, fmt.Errorf("invalid start index: %s", err)
		}
		if err := asIndex(hi, n, &end); err != nil {
			return nil, fmt.Errorf("invalid end index: %s", err)
		}
		start, end = min(start, n-1), max(end, -1)
		start = max(start, end)
	}
	count := int64((end - start + step - sign(step)) / step)
	var cost int64
	switch x.(type) {
	case starlark.String, starlark.Bytes:
		if step != 1 {
			cost = count // a substring shares memory; a strided one is new
		}
	default:
		cost = count * slotSize
	}
	if err := state(thread).charge(cost); err != nil {
		return nil, err
	}
	return sliceable.Slice(start, end, step), nil
}

func sign(x int) int {
	if x < 0 {
		return -1
	}
	return 1
}

func asIndex(v starlark.Value, n int, result *int) error {
	if v == starlark.None {
		return nil
	}
	i, err := starlark.AsInt32(v)
	if err != nil {
		return err
	}
	if i < 0 {
		i += n
	}
	*result = i
	return nil
}

// guardSpread charges for f(*args) and f(**kwargs), which copy args.
func guardSpread(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	st := state(thread)
	n, err := lenOrCount(st, args[0], slotSize)
	if err == nil {
		err = st.charge(2 * n * slotSize)
	}
	if err != nil {
		return nil, err
	}
	return args[0], nil
}

// Methods whose result grows with the receiver or the arguments. The
// rewriter turns x.name into $method(x, "name") for these names only.
var guardedMethodNames = map[string]bool{
	"join": true, "replace": true, "format": true, "split": true, "rsplit": true, "splitlines": true,
	"upper": true, "lower": true, "title": true, "capitalize": true,
	"extend": true, "items": true, "keys": true, "values": true, "update": true,
	"union": true, "intersection": true, "difference": true, "symmetric_difference": true,
}

// methodCharge computes the charge for calling a method of a built-in type.
type methodCharge func(st *runState, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error)

var methodCharges = map[string]map[string]methodCharge{
	"string": {
		"join":       chargeJoin,
		"replace":    chargeReplace,
		"format":     chargeStringFormat,
		"split":      chargeSplit,
		"rsplit":     chargeSplit,
		"splitlines": chargeSplitlines,
		"upper":      chargeCase,
		"lower":      chargeCase,
		"title":      chargeCase,
		"capitalize": chargeCase,
	},
	"list": {
		"extend": chargeElements(slotSize),
	},
	"dict": {
		"items":  chargeReceiver(slotSize + 32),
		"keys":   chargeReceiver(slotSize),
		"values": chargeReceiver(slotSize),
		"update": chargeElements(dictSlotSize),
	},
	"set": {
		"union":                chargeSetOp,
		"intersection":         chargeSetOp,
		"difference":           chargeSetOp,
		"symmetric_difference": chargeSetOp,
		"update":               chargeElements(setSlotSize),
	},
}

// guardedMethods holds one builtin per guarded method; it is bound to the
// receiver on each access, like Starlark's own methods.
var guardedMethods = func() map[string]map[string]*starlark.Builtin {
	m := map[string]map[string]*starlark.Builtin{}
	for typ, methods := range methodCharges {
		m[typ] = map[string]*starlark.Builtin{}
		for name, charge := range methods {
			m[typ][name] = starlark.NewBuiltin(name, func(thread *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				recv := fn.Receiver()
				orig, err := recv.(starlark.HasAttrs).Attr(name)
				if err != nil {
					return nil, err
				}
				st := state(thread)
				n, err := charge(st, recv, args, kwargs)
				if err == nil {
					err = st.charge(n)
				}
				if err != nil {
					return nil, err
				}
				return orig.(*starlark.Builtin).CallInternal(thread, args, kwargs)
			})
		}
	}
	return m
}()

// guardMethod implements x.name for the guarded method names ($method).
func guardMethod(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	x, name := args[0], string(args[1].(starlark.String))
	return getAttr(x, name)
}

// getAttr is x.name, with the guarded methods of built-in types replaced.
func getAttr(x starlark.Value, name string) (starlark.Value, error) {
	if g := guardedMethods[x.Type()][name]; g != nil && isBuiltinType(x) {
		return g.BindReceiver(x), nil
	}
	h, ok := x.(starlark.HasAttrs)
	if !ok {
		return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
	}
	v, err := h.Attr(name)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, fmt.Errorf("%s has no .%s field or method", x.Type(), name)
	}
	return v, nil
}

func isBuiltinType(x starlark.Value) bool {
	switch x.(type) {
	case starlark.String, *starlark.List, *starlark.Dict, *starlark.Set:
		return true
	}
	return false
}

func chargeJoin(st *runState, recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	if len(args) != 1 {
		return 0, nil
	}
	sep := int64(len(recv.(starlark.String)))
	it := starlark.Iterate(args[0])
	if it == nil {
		return 0, nil
	}
	defer it.Done()
	var size int64
	var x starlark.Value
	for it.Next(&x) {
		s, ok := x.(starlark.String)
		if !ok {
			return 0, nil // join reports the error
		}
		size += int64(len(s)) + sep + slotSize
		if size > st.remaining() {
			break
		}
	}
	return size, nil
}

func chargeReplace(_ *runState, recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	if len(args) < 2 {
		return 0, nil
	}
	s := string(recv.(starlark.String))
	old, ok1 := args[0].(starlark.String)
	repl, ok2 := args[1].(starlark.String)
	if !ok1 || !ok2 {
		return 0, nil
	}
	var n int64
	if old == "" {
		n = int64(utf8.RuneCountInString(s)) + 1
	} else {
		n = int64(strings.Count(s, string(old)))
	}
	if len(args) > 2 {
		if c, ok := args[2].(starlark.Int); ok {
			if c, ok := c.Int64(); ok && c >= 0 {
				n = min(n, c)
			}
		}
	}
	return int64(len(s)) + mulSize(n, int64(len(repl))), nil
}

func chargeStringFormat(st *runState, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error) {
	s := string(recv.(starlark.String))
	return 0, chargeFormat(st, s, strings.Count(s, "{"), args, kwargs)
}

func chargeSplit(_ *runState, recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	s := string(recv.(starlark.String))
	var n int64
	if len(args) > 0 && args[0] != starlark.None {
		sep, ok := args[0].(starlark.String)
		if !ok || sep == "" {
			return 0, nil // split reports the error
		}
		n = int64(strings.Count(s, string(sep))) + 1
	} else {
		inField := false
		for _, r := range s {
			if unicode.IsSpace(r) {
				inField = false
			} else if !inField {
				inField = true
				n++
			}
		}
	}
	return n * slotSize, nil
}

func chargeSplitlines(_ *runState, recv starlark.Value, _ starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	return int64(strings.Count(string(recv.(starlark.String)), "\n")+1) * slotSize, nil
}

func chargeCase(_ *runState, recv starlark.Value, _ starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	n := int64(len(recv.(starlark.String)))
	return n + n/2, nil // case mapping may grow a UTF-8 string by half
}

func chargeReceiver(per int64) methodCharge {
	return func(_ *runState, recv starlark.Value, _ starlark.Tuple, _ []starlark.Tuple) (int64, error) {
		return int64(starlark.Len(recv)) * per, nil
	}
}

// chargeElements charges per element of every positional argument and
// keyword argument (list.extend, dict.update, set.update).
func chargeElements(per int64) methodCharge {
	return func(st *runState, _ starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error) {
		n := int64(len(kwargs))
		for _, a := range args {
			c, err := lenOrCount(st, a, per)
			if err != nil {
				return 0, err
			}
			n += c
		}
		return n * per, nil
	}
}

func chargeSetOp(st *runState, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error) {
	n, err := chargeElements(setSlotSize)(st, recv, args, kwargs)
	return n + int64(starlark.Len(recv))*setSlotSize, err
}
