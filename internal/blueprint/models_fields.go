package blueprint

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Field values: conversions from resolved blueprint values, the field
// constructors the model tables use, and store list helpers.

// Value conversions. DRF, which checks authentik's blueprints, is lenient
// in the same ways: numbers for strings, "true" for booleans, numeric
// strings for integers.

func asString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case nil:
		return "", errors.New("may not be null")
	}
	return "", fmt.Errorf("must be a string, not %s", typeName(v))
}

func asBool(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case int:
		if v == 0 || v == 1 {
			return v == 1, nil
		}
	case string:
		switch strings.ToLower(v) {
		case "true", "1", "yes", "on":
			return true, nil
		case "false", "0", "no", "off":
			return false, nil
		}
	}
	return false, fmt.Errorf("must be true or false, not %s", describe(v))
}

func asInt(v any) (int, error) {
	switch v := v.(type) {
	case int:
		return v, nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int(v), nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("must be an integer, not %s", describe(v))
}

func asUUID(v any) (uuid.UUID, error) {
	switch v := v.(type) {
	case uuid.UUID:
		return v, nil
	case string:
		if id, err := uuid.Parse(v); err == nil {
			return id, nil
		}
	}
	return uuid.Nil, fmt.Errorf("must be a primary key (a UUID), not %s", describe(v))
}

func asInt64(v any) (int64, error) {
	n, err := asInt(v)
	if err != nil {
		return 0, fmt.Errorf("must be a primary key (an integer), not %s", describe(v))
	}
	return int64(n), nil
}

func asList(v any) ([]any, error) {
	switch v := v.(type) {
	case []any:
		return v, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("must be a list, not %s", typeName(v))
}

func asMap(v any) (map[string]any, error) {
	switch v := v.(type) {
	case map[string]any:
		return v, nil
	case nil:
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("must be a mapping, not %s", typeName(v))
}

// describe shows a value in an error: its type and a short form.
func describe(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	if _, ok := v.(string); ok {
		s = strconv.Quote(s)
	}
	return typeName(v) + " " + s
}

// Field constructors.

func strField[T any](name string, p func(*T) *string, checks ...func(string) error) field[T] {
	return field[T]{name: name,
		get: func(o *T) any { return *p(o) },
		set: func(_ *env, o *T, v any) error {
			s, err := asString(v)
			if err != nil {
				return err
			}
			if strings.ContainsRune(s, 0) {
				return errors.New("must not contain NUL characters")
			}
			for _, c := range checks {
				if err := c(s); err != nil {
					return err
				}
			}
			*p(o) = s
			return nil
		}}
}

// nullStrField is a string where null means empty.
func nullStrField[T any](name string, p func(*T) *string, checks ...func(string) error) field[T] {
	f := strField(name, p, checks...)
	set := f.set
	f.set = func(e *env, o *T, v any) error {
		if v == nil {
			v = ""
		}
		return set(e, o, v)
	}
	return f
}

func notEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("may not be blank")
	}
	return nil
}

func oneOf(allowed ...string) func(string) error {
	return func(s string) error {
		if !slices.Contains(allowed, s) {
			return fmt.Errorf("%q is not one of %s", s, strings.Join(allowed, ", "))
		}
		return nil
	}
}

func maxLen(n int) func(string) error {
	return func(s string) error {
		if len(s) > n {
			return fmt.Errorf("is longer than %d characters", n)
		}
		return nil
	}
}

func boolField[T any](name string, p func(*T) *bool) field[T] {
	return field[T]{name: name,
		get: func(o *T) any { return *p(o) },
		set: func(_ *env, o *T, v any) error {
			b, err := asBool(v)
			*p(o) = b
			return err
		}}
}

func intField[T any](name string, p func(*T) *int, lo, hi int) field[T] {
	return field[T]{name: name,
		get: func(o *T) any { return *p(o) },
		set: func(_ *env, o *T, v any) error {
			n, err := asInt(v)
			if err != nil {
				return err
			}
			if n < lo || n > hi {
				return fmt.Errorf("must be between %d and %d", lo, hi)
			}
			*p(o) = n
			return nil
		}}
}

func attrsField[T any](name string, p func(*T) *store.Attributes) field[T] {
	return field[T]{name: name,
		get: func(o *T) any {
			if *p(o) == nil {
				return map[string]any{}
			}
			return normalize(map[string]any(*p(o)))
		},
		set: func(_ *env, o *T, v any) error {
			m, err := asMap(v)
			if err != nil {
				return err
			}
			*p(o) = store.Attributes(normalize(m).(map[string]any))
			return nil
		}}
}

func uuidField[T any](name string, ref refKind, p func(*T) *uuid.UUID) field[T] {
	return field[T]{name: name, ref: ref,
		get: func(o *T) any {
			if *p(o) == uuid.Nil {
				return nil
			}
			return p(o).String()
		},
		set: func(_ *env, o *T, v any) error {
			id, err := asUUID(v)
			*p(o) = id
			return err
		}}
}

func optUUIDField[T any](name string, ref refKind, p func(*T) **uuid.UUID) field[T] {
	return field[T]{name: name, ref: ref,
		get: func(o *T) any {
			if *p(o) == nil {
				return nil
			}
			return (*p(o)).String()
		},
		set: func(_ *env, o *T, v any) error {
			if v == nil || v == "" {
				*p(o) = nil
				return nil
			}
			id, err := asUUID(v)
			if err != nil {
				return err
			}
			*p(o) = &id
			return nil
		}}
}

func optInt64Field[T any](name string, ref refKind, p func(*T) **int64) field[T] {
	return field[T]{name: name, ref: ref,
		get: func(o *T) any {
			if *p(o) == nil {
				return nil
			}
			return int(**p(o))
		},
		set: func(_ *env, o *T, v any) error {
			if v == nil {
				*p(o) = nil
				return nil
			}
			n, err := asInt64(v)
			if err != nil {
				return err
			}
			*p(o) = &n
			return nil
		}}
}

// uuidListField is a many-to-many set of primary keys (order is not kept).
func uuidListField[T any](name string, ref refKind, p func(*T) *[]uuid.UUID) field[T] {
	return field[T]{name: name, ref: ref,
		get: func(o *T) any {
			ids := slices.Clone(*p(o))
			sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
			out := make([]any, 0, len(ids))
			for _, id := range slices.Compact(ids) {
				out = append(out, id.String())
			}
			return out
		},
		set: func(_ *env, o *T, v any) error {
			list, err := asList(v)
			if err != nil {
				return err
			}
			ids := make([]uuid.UUID, 0, len(list))
			for i, x := range list {
				id, err := asUUID(x)
				if err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
			if len(ids) == 0 {
				ids = nil // as the store loads an empty set
			}
			*p(o) = ids
			return nil
		}}
}

func int64ListField[T any](name string, ref refKind, p func(*T) *[]int64) field[T] {
	return field[T]{name: name, ref: ref,
		get: func(o *T) any {
			ids := slices.Clone(*p(o))
			slices.Sort(ids)
			out := make([]any, 0, len(ids))
			for _, id := range slices.Compact(ids) {
				out = append(out, int(id))
			}
			return out
		},
		set: func(_ *env, o *T, v any) error {
			list, err := asList(v)
			if err != nil {
				return err
			}
			ids := make([]int64, 0, len(list))
			for i, x := range list {
				id, err := asInt64(x)
				if err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			if len(ids) == 0 {
				ids = nil
			}
			*p(o) = ids
			return nil
		}}
}

// listAll reads every page of a store list.
func listAll[T any](page func(p store.Page) ([]*T, int, error)) ([]*T, error) {
	const size = 1000
	var out []*T
	for off := 0; ; off += size {
		items, total, err := page(store.Page{Offset: off, Limit: size})
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if len(items) < size || len(out) >= total {
			return out, nil
		}
	}
}

// one wraps a single lookup result as candidates: not found is none.
func one[T any](obj *T, err error) ([]*T, bool, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	return []*T{obj}, true, nil
}

// stringID reads a string identifier, reporting whether it is usable for
// an index lookup.
func stringID(ids map[string]any, name string) (string, bool) {
	v, ok := ids[name]
	if !ok {
		return "", false
	}
	s, err := asString(v)
	return s, err == nil
}

func uuidID(ids map[string]any, name string) (uuid.UUID, bool) {
	v, ok := ids[name]
	if !ok {
		return uuid.Nil, false
	}
	id, err := asUUID(v)
	return id, err == nil
}
