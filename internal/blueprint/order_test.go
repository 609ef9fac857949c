package blueprint

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOrder(t *testing.T) {
	tests := []struct {
		name    string
		context string
		entries string // YAML list items
		want    []int
	}{
		{"file order kept", "", `
- {model: a.flow, id: flow, identifiers: {slug: f}}
- {model: a.stage, id: stage, identifiers: {name: s}}
- {model: a.binding, identifiers: {target: !KeyOf flow, stage: !KeyOf stage}}`, []int{0, 1, 2}},
		{"user moved after its targets", "", `
- {model: a.binding, identifiers: {target: !KeyOf flow, stage: !KeyOf stage}}
- {model: a.stage, id: stage, identifiers: {name: s}}
- {model: a.flow, id: flow, identifiers: {slug: f}}
- {model: a.other, identifiers: {name: o}}`, []int{1, 2, 0, 3}},
		{"references inside tags, conditions and permissions", "", `
- model: a.user
  identifiers: {name: u}
  conditions: [!If [true, !KeyOf c, false]]
  attrs: {name: !Format ["%s", !AtIndex [[!KeyOf b], 0]]}
  permissions: [{permission: p, role: !KeyOf d}]
- {model: a.b, id: b, identifiers: {name: b}}
- {model: a.c, id: c, identifiers: {name: c}}
- {model: a.d, id: d, identifiers: {name: d}}`, []int{1, 2, 3, 0}},
		{"references through the context", "pk: !KeyOf flow\nnested: {deep: [!Context pk]}", `
- {model: a.binding, identifiers: {target: !Context nested.deep}}
- {model: a.flow, id: flow, identifiers: {slug: f}}`, []int{1, 0}},
		{"shared id depends on all", "", `
- {model: a.user, identifiers: {group: !KeyOf g}}
- {model: a.group, id: g, conditions: [false], identifiers: {name: x}}
- {model: a.group, id: g, conditions: [true], identifiers: {name: y}}`, []int{1, 2, 0}},
		{"chain", "", `
- {model: a.m, id: c, identifiers: {p: !KeyOf b}}
- {model: a.m, id: b, identifiers: {p: !KeyOf a}}
- {model: a.m, id: a, identifiers: {p: 1}}`, []int{2, 1, 0}},
		{"no entries", "", " []", []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "version: 1\n"
			if tt.context != "" {
				doc += "context:\n  " + strings.ReplaceAll(tt.context, "\n", "\n  ") + "\n"
			}
			doc += "entries:" + tt.entries + "\n"
			bp, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Order(bp)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrderErrors(t *testing.T) {
	tests := []struct {
		name    string
		entries string
		err     error
		entry   int
		text    string
	}{
		{"unknown id", `
- {model: a.flow, id: flow, identifiers: {slug: f}}
- model: a.binding
  identifiers: {target: !KeyOf flw}`, ErrUnknownID, 1, `identifiers.target: line 5:25: !KeyOf flw: unknown id: no entry has id "flw"`},
		{"self reference", `
- {model: a.group, id: g, identifiers: {name: g}, attrs: {parent: !KeyOf g}}`, ErrCycle, 0, "attrs.parent: line 3:67: !KeyOf g: cycle: the entry refers to itself"},
		{"two entries", `
- {model: a.a, id: a, identifiers: {name: a}, attrs: {other: !KeyOf b}}
- {model: a.b, id: b, identifiers: {name: b}, attrs: {other: !KeyOf a}}`, ErrCycle, 0,
			`cycle of !KeyOf references: entry 0 (a.a id "a") needs entry 1 (a.b id "b") needs entry 0 (a.a id "a")`},
		{"three entries behind a fine one", `
- {model: a.ok, id: ok, identifiers: {name: ok}}
- {model: a.a, id: a, identifiers: {name: a, o: !KeyOf ok}, attrs: {x: !KeyOf c}}
- {model: a.b, id: b, identifiers: {name: b}, attrs: {x: !KeyOf a}}
- {model: a.c, id: c, identifiers: {name: c}, attrs: {x: !KeyOf b}}`, ErrCycle, 1,
			`entry 1 (a.a id "a") needs entry 3 (a.c id "c") needs entry 2 (a.b id "b") needs entry 1 (a.a id "a")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bp, err := Parse([]byte("version: 1\nentries:" + tt.entries + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			order, err := Order(bp)
			if err == nil {
				t.Fatalf("Order = %v, want an error", order)
			}
			var e *Error
			if !errors.Is(err, tt.err) || !errors.As(err, &e) || e.Entry != tt.entry || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error = %q, want entry %d, %v, %q", err, tt.entry, tt.err, tt.text)
			}
		})
	}
}

func TestOrderLarge(t *testing.T) {
	// 5,000 entries, each needing the next one: reversed, in linear time.
	const n = 5000
	var b strings.Builder
	b.WriteString("version: 1\nentries:\n")
	for i := range n {
		fmt.Fprintf(&b, "- {model: a.m, id: e%d, identifiers: {next: !KeyOf e%d}}\n", i, (i+1)%n)
	}
	b.WriteString("- {model: a.m, id: last, identifiers: {x: 1}}\n")
	doc := strings.Replace(b.String(), fmt.Sprintf("!KeyOf e%d}", 0), "!KeyOf last}", 1)
	bp, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	order, err := Order(bp)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Order took %v", d)
	}
	if order[0] != n || order[1] != n-1 || order[n] != 0 {
		t.Errorf("order starts %v, ends %v", order[:3], order[n-2:])
	}

	// Closing the chain into a cycle: the error shows its ends only.
	bp.Entries[n].Identifiers = map[string]any{"x": &KeyOf{ID: "e0"}}
	_, err = Order(bp)
	if !errors.Is(err, ErrCycle) || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "4986 more") {
		t.Errorf("error = %.2000v", err)
	}
}
