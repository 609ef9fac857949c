package expr

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Bounds on the values converted between Go and Starlark: deeper or larger
// values (or cyclic ones) are an error rather than a stack overflow or an
// endless walk.
const (
	maxConvertDepth = 64
	maxConvertNodes = 100_000
)

var errTooDeep = errors.New("value nested too deeply (or cyclic)")

// ToStarlark converts a Go value for an expression:
//
//	nil                         None
//	bool                        bool
//	string, []byte              str (bytes are decoded as UTF-8 text)
//	all integer types           int
//	float32, float64            float
//	time.Time                   str, ISO 8601 (RFC 3339 with fractional seconds)
//	[]T, [N]T                   list
//	map[string]T                dict, keys sorted
//	*User                       a user, as request.user
//	starlark.Value              itself (it should be frozen if shared
//	                            between concurrent runs)
//
// Maps and slices of other element types are converted by reflection;
// anything else is an error.
func ToStarlark(v any) (starlark.Value, error) {
	c := converter{}
	return c.toStarlark(v, 0)
}

type converter struct{ nodes int }

func (c *converter) toStarlark(v any, depth int) (starlark.Value, error) {
	if depth > maxConvertDepth {
		return nil, errTooDeep
	}
	if c.nodes++; c.nodes > maxConvertNodes {
		return nil, fmt.Errorf("value has more than %d elements", maxConvertNodes)
	}
	switch v := v.(type) {
	case nil:
		return starlark.None, nil
	case starlark.Value:
		return v, nil
	case bool:
		return starlark.Bool(v), nil
	case string:
		return starlark.String(v), nil
	case []byte:
		return starlark.String(v), nil
	case int:
		return starlark.MakeInt(v), nil
	case int8:
		return starlark.MakeInt64(int64(v)), nil
	case int16:
		return starlark.MakeInt64(int64(v)), nil
	case int32:
		return starlark.MakeInt64(int64(v)), nil
	case int64:
		return starlark.MakeInt64(v), nil
	case uint:
		return starlark.MakeUint(v), nil
	case uint8:
		return starlark.MakeUint64(uint64(v)), nil
	case uint16:
		return starlark.MakeUint64(uint64(v)), nil
	case uint32:
		return starlark.MakeUint64(uint64(v)), nil
	case uint64:
		return starlark.MakeUint64(v), nil
	case *big.Int:
		return starlark.MakeBigInt(v), nil
	case float32:
		return starlark.Float(v), nil
	case float64:
		return starlark.Float(v), nil
	case time.Time:
		return starlark.String(v.Format(time.RFC3339Nano)), nil
	case *User:
		if v == nil {
			return starlark.None, nil
		}
		return newUserValue(v), nil
	case []any:
		elems := make([]starlark.Value, len(v))
		for i, e := range v {
			sv, err := c.toStarlark(e, depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = sv
		}
		return starlark.NewList(elems), nil
	case []string:
		elems := make([]starlark.Value, len(v))
		for i, e := range v {
			elems[i] = starlark.String(e)
		}
		return starlark.NewList(elems), nil
	case map[string]any:
		if v == nil {
			return new(starlark.Dict), nil
		}
		d := starlark.NewDict(len(v))
		for _, k := range sortedKeys(v) {
			sv, err := c.toStarlark(v[k], depth+1)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", k, err)
			}
			if err := d.SetKey(starlark.String(k), sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	case map[string]string:
		d := starlark.NewDict(len(v))
		for _, k := range sortedKeys(v) {
			if err := d.SetKey(starlark.String(k), starlark.String(v[k])); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return c.reflectToStarlark(reflect.ValueOf(v), depth)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (c *converter) reflectToStarlark(rv reflect.Value, depth int) (starlark.Value, error) {
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return starlark.None, nil
		}
		return c.toStarlark(rv.Elem().Interface(), depth+1)
	case reflect.String:
		return starlark.String(rv.String()), nil
	case reflect.Bool:
		return starlark.Bool(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return starlark.MakeInt64(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return starlark.MakeUint64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return starlark.Float(rv.Float()), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return starlark.NewList(nil), nil
		}
		elems := make([]starlark.Value, rv.Len())
		for i := range elems {
			sv, err := c.toStarlark(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = sv
		}
		return starlark.NewList(elems), nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("cannot convert %s: map keys must be strings", rv.Type())
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			switch {
			case a.String() < b.String():
				return -1
			case a.String() > b.String():
				return 1
			}
			return 0
		})
		d := starlark.NewDict(len(keys))
		for _, k := range keys {
			sv, err := c.toStarlark(rv.MapIndex(k).Interface(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", k.String(), err)
			}
			if err := d.SetKey(starlark.String(k.String()), sv); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	if !rv.IsValid() {
		return starlark.None, nil
	}
	return nil, fmt.Errorf("cannot convert a %s to an expression value", rv.Type())
}

// FromStarlark converts an expression's value to Go:
//
//	None                  nil
//	bool                  bool
//	int                   int64, or *big.Int if it does not fit
//	float                 float64
//	str                   string
//	bytes                 []byte
//	list, tuple, set      []any
//	dict                  map[string]any (keys that are not strings are
//	                      converted with str(); two keys with the same text
//	                      are an error)
//	a user                *User (nil for the anonymous user)
//	ip_address, ip_network  string
//	struct                map[string]any
//
// Functions and other values are an error, as are values nested more than
// 64 deep (which includes cyclic ones).
func FromStarlark(v starlark.Value) (any, error) {
	c := converter{}
	return c.fromStarlark(v, 0)
}

func (c *converter) fromStarlark(v starlark.Value, depth int) (any, error) {
	if depth > maxConvertDepth {
		return nil, errTooDeep
	}
	if c.nodes++; c.nodes > maxConvertNodes {
		return nil, fmt.Errorf("value has more than %d elements", maxConvertNodes)
	}
	switch v := v.(type) {
	case nil, starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(v), nil
	case starlark.Int:
		if i, ok := v.Int64(); ok {
			return i, nil
		}
		return v.BigInt(), nil
	case starlark.Float:
		return float64(v), nil
	case starlark.String:
		return string(v), nil
	case starlark.Bytes:
		return []byte(v), nil
	case *starlark.List, starlark.Tuple, *starlark.Set:
		out := make([]any, 0, starlark.Len(v))
		it := starlark.Iterate(v)
		defer it.Done()
		var e starlark.Value
		for it.Next(&e) {
			g, err := c.fromStarlark(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, g)
		}
		return out, nil
	case *starlark.Dict:
		out := make(map[string]any, v.Len())
		for _, kv := range v.Items() {
			k, ok := kv[0].(starlark.String)
			if !ok {
				k = starlark.String(kv[0].String())
			}
			if _, dup := out[string(k)]; dup {
				return nil, fmt.Errorf("dict has two keys written %q", string(k))
			}
			g, err := c.fromStarlark(kv[1], depth+1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = g
		}
		return out, nil
	case *userValue:
		return v.u, nil
	case ipValue, networkValue:
		return v.String(), nil
	case *starlarkstruct.Struct:
		out := map[string]any{}
		for _, name := range v.AttrNames() {
			a, err := v.Attr(name)
			if err != nil {
				return nil, err
			}
			g, err := c.fromStarlark(a, depth+1)
			if err != nil {
				return nil, err
			}
			out[name] = g
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s has no Go equivalent", v.Type())
}
