package blueprint

import (
	"container/heap"
	"fmt"
	"strconv"
	"strings"
)

// Order returns the indexes of bp.Entries in the order to apply them: every
// entry after the entries whose id its !KeyOf tags name, and otherwise in
// file order (authentik applies entries in file order, so a blueprint that
// works there keeps its order). It fails on a !KeyOf naming an id no entry
// has (ErrUnknownID) and on entries that refer to each other in a cycle
// (ErrCycle), itself included.
//
// An entry depends on the !KeyOf tags anywhere in its identifiers, attrs,
// conditions and permissions, and in the blueprint's context values that
// its !Context tags name. When several entries share an id (for example
// two alternatives with opposite conditions), a !KeyOf of it depends on
// all of them.
func Order(bp *Blueprint) ([]int, error) {
	n := len(bp.Entries)
	byID := map[string][]int{}
	for i, e := range bp.Entries {
		if e.ID != "" {
			byID[e.ID] = append(byID[e.ID], i)
		}
	}
	deps := make([][]int, n)  // deps[i]: entries i needs first
	users := make([][]int, n) // users[j]: entries that need j
	for i := range bp.Entries {
		e := &bp.Entries[i]
		seen := map[int]bool{}
		var err error
		walkEntry(bp, e, func(field string, k *KeyOf) bool {
			targets, ok := byID[k.ID]
			if !ok {
				err = &Error{Entry: i, Model: e.Model, Field: field, Line: k.Line, Column: k.Column,
					Err: fmt.Errorf("!KeyOf %s: %w: no entry has id %q", k.ID, ErrUnknownID, k.ID)}
				return false
			}
			for _, j := range targets {
				if j == i {
					err = &Error{Entry: i, Model: e.Model, Field: field, Line: k.Line, Column: k.Column,
						Err: fmt.Errorf("!KeyOf %s: %w: the entry refers to itself", k.ID, ErrCycle)}
					return false
				}
				if !seen[j] {
					seen[j] = true
					deps[i] = append(deps[i], j)
					users[j] = append(users[j], i)
				}
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	// Kahn's algorithm, always taking the ready entry that comes first in
	// the file.
	pending := make([]int, n)
	ready := &intHeap{}
	for i := range bp.Entries {
		pending[i] = len(deps[i])
		if pending[i] == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]int, 0, n)
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, i)
		for _, u := range users[i] {
			pending[u]--
			if pending[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(order) < n {
		return nil, cycleError(bp, deps, pending)
	}
	return order, nil
}

// cycleError describes one cycle among the entries left over by Order.
func cycleError(bp *Blueprint, deps [][]int, pending []int) error {
	start := -1
	for i, p := range pending {
		if p > 0 {
			start = i
			break
		}
	}
	// Walk dependencies that are themselves stuck until an entry repeats.
	pos := map[int]int{}
	var path []int
	i := start
	for {
		if at, ok := pos[i]; ok {
			path = path[at:]
			break
		}
		pos[i] = len(path)
		path = append(path, i)
		next := -1
		for _, j := range deps[i] {
			if pending[j] > 0 {
				next = j
				break
			}
		}
		if next < 0 { // cannot happen: a stuck entry waits on a stuck one
			break
		}
		i = next
	}
	// A long cycle is shown by its ends.
	const show = 8
	var parts []string
	for k, j := range append(path, path[0]) {
		if len(path) > 2*show && k == show {
			parts = append(parts, "... "+strconv.Itoa(len(path)-2*show+1)+" more")
		}
		if len(path) > 2*show && k >= show && k < len(path)-show+1 {
			continue
		}
		e := bp.Entries[j]
		parts = append(parts, "entry "+strconv.Itoa(j)+" ("+e.Model+" id "+strconv.Quote(e.ID)+")")
	}
	e := bp.Entries[path[0]]
	return &Error{Entry: path[0], Model: e.Model, Line: e.Line, Column: e.Column,
		Err: fmt.Errorf("%w of !KeyOf references: %s", ErrCycle, strings.Join(parts, " needs "))}
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// walkEntry calls fn for every !KeyOf an entry depends on, with the field it
// is in, until fn returns false. !Context tags with a literal key bring in
// the !KeyOf tags of that context value (each context key once).
func walkEntry(bp *Blueprint, e *Entry, fn func(field string, k *KeyOf) bool) {
	w := &walker{bp: bp, fn: fn, contextSeen: map[string]bool{}}
	w.walk("identifiers", e.Identifiers)
	w.walk("attrs", e.Attrs)
	for i, c := range e.Conditions {
		w.walk(indexField("conditions", i), c)
	}
	for i, p := range e.Permissions {
		f := indexField("permissions", i)
		w.walk(joinField(f, "permission"), p.Permission)
		w.walk(joinField(f, "user"), p.User)
		w.walk(joinField(f, "role"), p.Role)
	}
}

type walker struct {
	bp          *Blueprint
	fn          func(string, *KeyOf) bool
	contextSeen map[string]bool
	stopped     bool
}

func (w *walker) walk(field string, v any) {
	if w.stopped {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			w.walk(joinField(field, k), v[k])
		}
	case []any:
		for i, e := range v {
			w.walk(indexField(field, i), e)
		}
	case *KeyOf:
		if !w.fn(field, v) {
			w.stopped = true
		}
	case *Context:
		if key, ok := v.Key.(string); ok {
			w.context(field, key)
		}
		w.children(field, v)
	case Tag:
		w.children(field, v)
	}
}

func (w *walker) children(field string, t Tag) {
	for _, c := range t.children() {
		w.walk(field, c)
	}
}

// context walks the blueprint context value a !Context key names (the key
// itself, or the first part of a dotted path).
func (w *walker) context(field, key string) {
	if _, ok := w.bp.Context[key]; !ok {
		key, _, _ = strings.Cut(key, ".")
	}
	raw, ok := w.bp.Context[key]
	if !ok || w.contextSeen[key] {
		return
	}
	w.contextSeen[key] = true
	w.walk(field, raw)
}
