package session

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestDataMembers(t *testing.T) {
	for _, tc := range []struct {
		name, data, key string
		value           string // "" deletes
		want            string
		get             string // the value Get finds for key before the change ("" none)
	}{
		{"empty, add", `{}`, "k", `1`, `{"k":1}`, ""},
		{"empty, delete", `{}`, "k", "", `{}`, ""},
		{"replace the only key", `{"k":[1,{"a":"}"}]}`, "k", `"x"`, `{"k":"x"}`, `[1,{"a":"}"}]`},
		{"add first", `{"b":1,"c":2}`, "a", `{}`, `{"a":{},"b":1,"c":2}`, ""},
		{"add between", `{"a":1,"c":2}`, "b", `null`, `{"a":1,"b":null,"c":2}`, ""},
		{"add last", `{"a":1,"b":2}`, "c", `true`, `{"a":1,"b":2,"c":true}`, ""},
		{"replace middle", `{"a":"x,y","b":{"c":[]},"c":-1.5e3}`, "b", `2`, `{"a":"x,y","b":2,"c":-1.5e3}`, `{"c":[]}`},
		{"delete first", `{"a":"\"}","b":2}`, "a", "", `{"b":2}`, `"\"}"`},
		{"delete last", `{"a":1,"b":false}`, "b", "", `{"a":1}`, `false`},
		{"escaped key", `{"\u0061":1}`, "a", `2`, `{"a":2}`, `1`},
		// Not what Set writes: through a map, as json.Marshal would.
		{"spaces", `{ "b": 1, "a": [1, 2] }`, "c", `3`, `{"a":[1,2],"b":1,"c":3}`, ""},
		{"unsorted", `{"b":1,"a":2}`, "c", `3`, `{"a":2,"b":1,"c":3}`, ""},
		{"repeated key: the last", `{"a":1,"a":2}`, "b", `3`, `{"a":2,"b":3}`, ""},
		{"not JSON", `{"a":`, "a", `1`, `{"a":1}`, ""},
		{"null", `null`, "a", `1`, `{"a":1}`, ""},
		{"an array", `[1]`, "a", `1`, `{"a":1}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := lookup([]byte(tc.data), tc.key)
			if ok != (tc.get != "") || string(got) != tc.get {
				t.Errorf("lookup = %s %v, want %s", got, ok, tc.get)
			}
			var raw json.RawMessage
			if tc.value != "" {
				raw = json.RawMessage(tc.value)
			}
			out, err := replace([]byte(tc.data), tc.key, raw)
			if err != nil || string(out) != tc.want {
				t.Errorf("replace = %s %v, want %s", out, err, tc.want)
			}
		})
	}
}

// FuzzData checks lookup and replace against the map they replace: the
// same value found, and the same bytes written for data Set wrote (any
// other data decodes to the same object).
func FuzzData(f *testing.F) {
	f.Add([]byte(`{"auth_method":"password","flow_plan":{"stages":[{"b":"x"}],"context":{"q":"a,b}"}}}`), "flow_plan", []byte(`{"n":1}`))
	f.Add([]byte(`{}`), "k", []byte(`null`))
	f.Add([]byte(`{"a":1, "b":2}`), "b", []byte(``))
	f.Add([]byte(`{"\u00e9":"\\\"","a":[]}`), "é", []byte(`"<&>"`))
	f.Fuzz(func(t *testing.T, data []byte, key string, value []byte) {
		var m map[string]json.RawMessage
		isObject := json.Unmarshal(data, &m) == nil && m != nil
		got, ok := lookup(data, key)
		want, found := m[key]
		if ok != found || !bytes.Equal(got, want) {
			t.Fatalf("lookup(%q, %q) = %s %v, want %s %v", data, key, got, ok, want, found)
		}
		var raw json.RawMessage
		if len(value) > 0 {
			var v any
			if json.Unmarshal(value, &v) != nil {
				return
			}
			raw, _ = json.Marshal(v) // what Set stores: json.Marshal's output
		}
		out, err := replace(data, key, raw)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := replaceMap(data, key, raw)
		if err != nil {
			t.Fatal(err)
		}
		canonical := false
		if isObject {
			again, _ := json.Marshal(m)
			canonical = bytes.Equal(again, data)
		}
		if canonical && !bytes.Equal(out, ref) {
			t.Fatalf("replace(%s, %q, %s) = %s, want %s", data, key, raw, out, ref)
		}
		var a, b any
		if json.Unmarshal(out, &a) != nil || json.Unmarshal(ref, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Fatalf("replace(%s, %q, %s) = %s, decodes unlike %s", data, key, raw, out, ref)
		}
	})
}
