package expr

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.starlark.net/starlark"
)

func TestToStarlark(t *testing.T) {
	type named string
	tests := []struct {
		in   any
		want string // repr of the Starlark value
	}{
		{nil, "None"},
		{true, "True"},
		{"a\"b", `"a\"b"`},
		{[]byte("raw"), `"raw"`},
		{42, "42"},
		{int8(-8), "-8"},
		{int64(1) << 62, "4611686018427387904"},
		{uint64(1) << 63, "9223372036854775808"},
		{uint8(255), "255"},
		{1.5, "1.5"},
		{float32(0.25), "0.25"},
		{big.NewInt(7), "7"},
		{time.Date(2024, 5, 6, 7, 8, 9, 500, time.UTC), `"2024-05-06T07:08:09.0000005Z"`},
		{time.Date(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", 2*3600)), `"2024-05-06T07:08:09+02:00"`},
		{[]any{1, "a", nil, []any{true}}, `[1, "a", None, [True]]`},
		{[]string{"x", "y"}, `["x", "y"]`},
		{map[string]any{"b": 1, "a": map[string]any{"c": []any{}}}, `{"a": {"c": []}, "b": 1}`},
		{map[string]string{"z": "1", "y": "2"}, `{"y": "2", "z": "1"}`},
		{map[string]any(nil), `{}`},
		{[]int{1, 2}, `[1, 2]`},
		{[2]float64{1, 2}, `[1.0, 2.0]`},
		{map[string][]string{"k": {"v"}}, `{"k": ["v"]}`},
		{map[named]int{"n": 1}, `{"n": 1}`},
		{named("s"), `"s"`},
		{&User{Username: "u"}, `u`},
		{(*User)(nil), "None"},
		{starlark.MakeInt(5), "5"},
		{new(int), "0"},
		{(*int)(nil), "None"},
	}
	for _, tt := range tests {
		v, err := ToStarlark(tt.in)
		if err != nil {
			t.Errorf("ToStarlark(%#v): %v", tt.in, err)
			continue
		}
		if got := v.String(); got != tt.want {
			t.Errorf("ToStarlark(%#v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestToStarlarkErrors(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for _, in := range []any{
		make(chan int),
		struct{ A int }{1},
		map[int]string{1: "a"},
		cyclic,
		func() {},
	} {
		if v, err := ToStarlark(in); err == nil {
			t.Errorf("ToStarlark(%T) = %v, want an error", in, v)
		}
	}
}

func TestFromStarlark(t *testing.T) {
	user := &User{Username: "u"}
	nested := starlark.NewDict(1)
	_ = nested.SetKey(starlark.String("k"), starlark.NewList([]starlark.Value{starlark.MakeInt(1), starlark.None}))
	set := new(starlark.Set)
	_ = set.Insert(starlark.String("s"))
	intKeys := starlark.NewDict(1)
	_ = intKeys.SetKey(starlark.MakeInt(1), starlark.True)
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	tests := []struct {
		in   starlark.Value
		want any
	}{
		{starlark.None, nil},
		{starlark.True, true},
		{starlark.MakeInt(-3), int64(-3)},
		{starlark.MakeBigInt(huge), huge},
		{starlark.Float(2.5), 2.5},
		{starlark.String("s"), "s"},
		{starlark.Bytes("b"), []byte("b")},
		{starlark.Tuple{starlark.MakeInt(1), starlark.String("a")}, []any{int64(1), "a"}},
		{set, []any{"s"}},
		{nested, map[string]any{"k": []any{int64(1), nil}}},
		{intKeys, map[string]any{"1": true}},
		{newUserValue(user), user},
		{newUserValue(nil), (*User)(nil)},
		{ipValue{}, "invalid IP"},
	}
	for _, tt := range tests {
		got, err := FromStarlark(tt.in)
		if err != nil {
			t.Errorf("FromStarlark(%s): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })); diff != "" {
			t.Errorf("FromStarlark(%s) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestFromStarlarkErrors(t *testing.T) {
	cyclic := starlark.NewList(nil)
	_ = cyclic.Append(cyclic)
	dup := starlark.NewDict(2)
	_ = dup.SetKey(starlark.MakeInt(1), starlark.None)
	_ = dup.SetKey(starlark.String("1"), starlark.None)
	// A list shared at every level: small in memory, 2^30 elements unrolled.
	var dag starlark.Value = starlark.NewList(nil)
	for range 30 {
		dag = starlark.NewList([]starlark.Value{dag, dag})
	}
	for _, tt := range []struct {
		in  starlark.Value
		msg string
	}{
		{cyclic, "nested too deeply"},
		{dup, "two keys"},
		{dag, "more than"},
		{starlark.Universe["len"], "no Go equivalent"},
	} {
		if _, err := FromStarlark(tt.in); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("FromStarlark(%s): err = %v, want %q", tt.in.Type(), err, tt.msg)
		}
	}
}

// TestRoundTrip converts JSON-like Go values to Starlark and back.
func TestRoundTrip(t *testing.T) {
	in := map[string]any{
		"s": "x", "i": int64(3), "f": 1.25, "b": false, "n": nil,
		"l": []any{int64(1), "two", []any{}}, "m": map[string]any{"deep": map[string]any{"er": true}},
	}
	v, err := ToStarlark(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := FromStarlark(v)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-in +out):\n%s", diff)
	}
}
