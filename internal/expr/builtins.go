package expr

import (
	"fmt"
	"math"
	"math/big"

	"go.starlark.net/starlark"
)

// This file holds the universal builtins an expression sees in place of
// Starlark's own: the ones that allocate in proportion to their argument,
// wrapped to charge the memory budget first, and the Python builtins
// Starlark lacks (pow, isinstance).

// Wrapped universal builtins: they charge, then call Starlark's own.
func wrapBuiltin(name string, charge func(st *runState, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error)) *starlark.Builtin {
	orig := starlark.Universe[name].(*starlark.Builtin)
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		st := state(thread)
		n, err := charge(st, args, kwargs)
		if err == nil {
			err = st.charge(n)
		}
		if err != nil {
			return nil, err
		}
		return orig.CallInternal(thread, args, kwargs)
	})
}

// perElement charges per element of the first argument.
func perElement(per int64) func(*runState, starlark.Tuple, []starlark.Tuple) (int64, error) {
	return func(st *runState, args starlark.Tuple, kwargs []starlark.Tuple) (int64, error) {
		n := int64(len(kwargs))
		if len(args) > 0 {
			c, err := lenOrCount(st, args[0], per)
			if err != nil {
				return 0, err
			}
			n += c
		}
		return n * per, nil
	}
}

func chargeZip(st *runState, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	if len(args) == 0 {
		return 0, nil
	}
	n := int64(1) << 62
	for _, a := range args {
		c, err := lenOrCount(st, a, slotSize)
		if err != nil {
			return 0, err
		}
		n = min(n, c)
	}
	return mulSize(n, slotSize*int64(len(args)+2)), nil
}

func chargeStr(st *runState, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	if len(args) != 1 || is[starlark.String](args[0]) {
		return 0, nil
	}
	size, _ := strSize(args[0], st.remaining())
	return size, nil
}

func chargeRepr(st *runState, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	if len(args) != 1 {
		return 0, nil
	}
	size, _ := strSize(args[0], st.remaining())
	return size, nil
}

func chargeBytes(st *runState, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	if len(args) != 1 {
		return 0, nil
	}
	if s, ok := args[0].(starlark.String); ok {
		return int64(len(s)), nil
	}
	return lenOrCount(st, args[0], 1)
}

func chargeInt(_ *runState, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	if len(args) > 0 {
		if s, ok := args[0].(starlark.String); ok && len(s) > maxIntDigits {
			return 0, fmt.Errorf("int: string of %d characters is too long to convert (the limit is %d)", len(s), maxIntDigits)
		}
	}
	return 0, nil
}

func chargeFail(st *runState, args starlark.Tuple, _ []starlark.Tuple) (int64, error) {
	var n int64
	for _, a := range args {
		size, _ := strSize(a, st.remaining())
		n += size
	}
	return n, nil
}

// builtinGetattr is getattr(x, name[, default]) with the method guards.
func builtinGetattr(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var object, dflt starlark.Value
	var name string
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &object, &name, &dflt); err != nil {
		return nil, err
	}
	v, err := getAttr(object, name)
	if err != nil && dflt != nil {
		return dflt, nil
	}
	return v, err
}

// builtinPow is Python's pow(x, y[, mod]), standing in for the ** operator.
func builtinPow(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y, mod starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y, &mod); err != nil {
		return nil, err
	}
	xi, xok := x.(starlark.Int)
	yi, yok := y.(starlark.Int)
	if xok && yok && yi.Sign() >= 0 {
		if mod != nil && mod != starlark.None {
			m, ok := mod.(starlark.Int)
			if !ok || m.Sign() == 0 {
				return nil, fmt.Errorf("pow: modulus must be a non-zero int")
			}
			return starlark.MakeBigInt(new(big.Int).Exp(xi.BigInt(), yi.BigInt(), m.BigInt())), nil
		}
		e, ok := yi.Int64()
		xb := intBits(xi)
		if xb > 1 && (!ok || int64(xb-1)*e > maxIntBits) {
			return nil, fmt.Errorf("pow: integer result too large (more than %d bits)", maxIntBits)
		}
		if !ok {
			e = 2 // x is 0, 1 or -1; only the parity of a huge exponent matters
			if yi.BigInt().Bit(0) == 1 {
				e = 1
			}
		}
		if err := state(thread).charge(int64(xb) * e / 8); err != nil {
			return nil, err
		}
		return starlark.MakeBigInt(new(big.Int).Exp(xi.BigInt(), big.NewInt(e), nil)), nil
	}
	if mod != nil && mod != starlark.None {
		return nil, fmt.Errorf("pow: 3-argument pow() requires integers")
	}
	xf, ok1 := starlark.AsFloat(x)
	yf, ok2 := starlark.AsFloat(y)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("pow: unsupported operands %s and %s", x.Type(), y.Type())
	}
	return starlark.Float(math.Pow(float64(xf), float64(yf))), nil
}

// isinstanceTypes maps the built-in type functions to Starlark type names.
var isinstanceTypes = map[string][]string{
	"str": {"string"}, "int": {"int", "bool"}, "float": {"float"}, "bool": {"bool"},
	"list": {"list"}, "dict": {"dict"}, "tuple": {"tuple"}, "set": {"set"}, "bytes": {"bytes"},
}

// builtinIsinstance is Python's isinstance for the built-in types:
// isinstance(x, str), isinstance(x, (int, float)).
func builtinIsinstance(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, types starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &types); err != nil {
		return nil, err
	}
	list, ok := types.(starlark.Tuple)
	if !ok {
		list = starlark.Tuple{types}
	}
	for _, t := range list {
		var names []string
		tb, ok := t.(*starlark.Builtin)
		if ok && tb.Receiver() == nil {
			names = isinstanceTypes[tb.Name()]
		}
		if names == nil {
			return nil, fmt.Errorf("isinstance: want str, int, float, bool, list, dict, tuple, set or bytes, got %s", t.String())
		}
		for _, n := range names {
			if x.Type() == n {
				return starlark.True, nil
			}
		}
	}
	return starlark.False, nil
}
