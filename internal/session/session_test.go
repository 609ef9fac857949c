package session

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func TestKeyIsAHashOfTheCookie(t *testing.T) {
	a1, a2 := Key("a"), Key("a")
	if a1 == "a" || len(a1) != 64 || a1 != a2 || a1 == Key("b") {
		t.Errorf("Key = %q", a1)
	}
}

func TestData(t *testing.T) {
	s := &store.Session{Data: json.RawMessage(`{}`)}
	if err := Set(s, "k", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	var v map[string]int
	if !Get(s, "k", &v) || v["n"] != 1 {
		t.Errorf("Get = %v", v)
	}
	if err := Set(s, "k", nil); err != nil {
		t.Fatal(err)
	}
	if Get(s, "k", &v) {
		t.Error("deleted key still there")
	}
	if Get(&store.Session{Data: json.RawMessage(`not json`)}, "k", &v) {
		t.Error("Get on corrupt data")
	}
}
