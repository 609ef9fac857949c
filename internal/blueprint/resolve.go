package blueprint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// Resolver resolves the tags of a blueprint's entries into plain values:
// nil, bool, int, float64, string, []any and map[string]any, plus whatever
// the KeyOf and Find hooks return (primary keys), which is passed through
// as is.
//
// A Resolver is meant for one application of one blueprint: Limits count
// everything it resolves over its lifetime. Its methods are safe to call
// from several goroutines if the hooks are.
type Resolver struct {
	// Context is what !Context reads: the merged context (MergeContext of
	// the built-in context, Blueprint.Context and the instance's context).
	// Its values may hold tags; they are resolved when read.
	Context map[string]any
	// LookupEnv reads an environment variable (os.LookupEnv in
	// production). When nil, every variable is unset.
	LookupEnv func(name string) (string, bool)
	// EnvPolicy says which variables !Env may read; the zero policy allows
	// none (see DefaultEnvPolicy).
	EnvPolicy EnvPolicy
	// FileRoot is the directory !File reads from; when empty, !File is
	// refused.
	FileRoot string
	// KeyOf returns the primary key of the object made by the entry with
	// the id, for !KeyOf in the entry from. (authentik gives a policy
	// binding target's pbm_uuid rather than its pk when from's model is
	// authentik_policies.policybinding; the hook can tell from from.)
	KeyOf func(id string, from *Entry) (any, error)
	// Find returns the primary key of the first object of the model that
	// matches every filter, or nil when none does.
	Find func(model string, filters []Filter) (any, error)
	// FindObject returns the first object of the model that matches every
	// filter, serialized as the API would, or nil when none does.
	FindObject func(model string, filters []Filter) (map[string]any, error)
	// Limits bound the work; zero fields take the defaults.
	Limits Limits

	values atomic.Int64 // values produced, against Limits.MaxNodes
	bytes  atomic.Int64 // string bytes built, against Limits.MaxStringBytes
}

// Filter is one field = value condition of !Find and !FindObject, in
// Django's lookup syntax (the field may be "name__iexact" or
// "flow__slug").
type Filter struct {
	Field string
	Value any
}

// ResolvedPermission is an entry's Permission with its tags resolved.
type ResolvedPermission struct {
	Permission string
	// User is a user's primary key (often from !Find), or nil.
	User any
	// Role is a role's primary key or name (often from !Find), or nil.
	Role any
}

// Conditions reports whether the entry applies: all its conditions are
// truthy (Python's bool()), or it has none.
func (r *Resolver) Conditions(e *Entry) (bool, error) {
	for i, c := range e.Conditions {
		v, err := r.resolveField(e, indexField("conditions", i), c)
		if err != nil {
			return false, err
		}
		if !truthy(v) {
			return false, nil
		}
	}
	return true, nil
}

// Identifiers resolves the entry's identifiers.
func (r *Resolver) Identifiers(e *Entry) (map[string]any, error) {
	return r.resolveMap(e, "identifiers", e.Identifiers)
}

// Attrs resolves the entry's attrs.
func (r *Resolver) Attrs(e *Entry) (map[string]any, error) {
	return r.resolveMap(e, "attrs", e.Attrs)
}

// Permissions resolves the entry's permissions. A permission must resolve
// to a string.
func (r *Resolver) Permissions(e *Entry) ([]ResolvedPermission, error) {
	out := make([]ResolvedPermission, len(e.Permissions))
	for i, p := range e.Permissions {
		field := indexField("permissions", i)
		perm, err := r.resolveField(e, joinField(field, "permission"), p.Permission)
		if err != nil {
			return nil, err
		}
		s, ok := perm.(string)
		if !ok || s == "" {
			return nil, &Error{Entry: e.Index, Model: e.Model, Field: joinField(field, "permission"), Err: fmt.Errorf("must be a permission name, not %s", typeName(perm))}
		}
		out[i].Permission = s
		if out[i].User, err = r.resolveField(e, joinField(field, "user"), p.User); err != nil {
			return nil, err
		}
		if out[i].Role, err = r.resolveField(e, joinField(field, "role"), p.Role); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Resolve resolves any raw value of the entry (field names it in errors).
func (r *Resolver) Resolve(e *Entry, field string, v any) (any, error) {
	return r.resolveField(e, field, v)
}

func (r *Resolver) resolveMap(e *Entry, field string, m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	v, err := r.resolveField(e, field, m)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

func (r *Resolver) resolveField(e *Entry, field string, v any) (any, error) {
	res := &resolution{r: r, entry: e, limits: r.Limits.withDefaults()}
	out, err := res.value(v, 0)
	if err != nil {
		return nil, res.locate(e, field, err)
	}
	return out, nil
}

// resolution is the state of one resolve call: the !Enumerate frames and
// the context keys being resolved.
type resolution struct {
	r      *Resolver
	entry  *Entry
	limits Limits
	frames []*frame
	// contextKeys are the context keys being resolved, to refuse a
	// context value that refers to itself.
	contextKeys []string
}

// frame is one !Enumerate being resolved: the element being iterated, or
// none while its iterable is resolved.
type frame struct {
	iterating    bool
	index, value any
}

// pathError is a resolution error with the path where it happened and the
// position of the innermost tag.
type pathError struct {
	path []string // innermost first
	pos  Pos
	err  error
}

func (e *pathError) Error() string { return e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// at records a path step for an error coming out of a mapping or a list.
func at(err error, step string) error {
	var pe *pathError
	if !errors.As(err, &pe) {
		pe = &pathError{err: err}
	}
	pe.path = append(pe.path, step)
	return pe
}

// tagError attaches a tag's name and position to an error from it (once:
// the innermost tag wins).
func tagError(t Tag, err error) error {
	var pe *pathError
	if errors.As(err, &pe) {
		if pe.pos == (Pos{}) {
			pe.pos = t.Position()
		}
		return pe
	}
	return &pathError{pos: t.Position(), err: fmt.Errorf("%s: %w", t.TagName(), err)}
}

func (res *resolution) locate(e *Entry, field string, err error) error {
	out := &Error{Entry: e.Index, Model: e.Model, Field: field, Err: err}
	var pe *pathError
	if errors.As(err, &pe) {
		out.Err = pe.err
		out.Line, out.Column = pe.pos.Line, pe.pos.Column
		for i := len(pe.path) - 1; i >= 0; i-- {
			if strings.HasPrefix(pe.path[i], "[") {
				out.Field += pe.path[i]
			} else {
				out.Field = joinField(out.Field, pe.path[i])
			}
		}
	}
	return out
}

// spend charges n values against the limit.
func (res *resolution) spend(n int) error {
	if res.r.values.Add(int64(n)) > int64(res.limits.MaxNodes) {
		return limitError(ErrTooManyNodes, "resolving produced more than %d values", res.limits.MaxNodes)
	}
	return nil
}

// spendBytes charges string bytes against the limit.
func (res *resolution) spendBytes(n int) error {
	if res.r.bytes.Add(int64(n)) > int64(res.limits.MaxStringBytes) {
		return limitError(ErrTooManyNodes, "resolving built more than %d bytes of strings", res.limits.MaxStringBytes)
	}
	return nil
}

// bytesLeft is how many string bytes may still be built.
func (res *resolution) bytesLeft() int {
	return max(res.limits.MaxStringBytes-int(res.r.bytes.Load()), 0)
}

// value resolves a raw value at a nesting depth into a plain value.
func (res *resolution) value(v any, depth int) (any, error) {
	if depth > res.limits.MaxDepth {
		return nil, limitError(ErrTooDeep, "more than %d levels", res.limits.MaxDepth)
	}
	if err := res.spend(1); err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case nil, bool, int, float64, string:
		return v, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			rv, err := res.value(e, depth+1)
			if err != nil {
				return nil, at(err, "["+strconv.Itoa(i)+"]")
			}
			out[i] = rv
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		// In key order, so that the first error is always the same one.
		for _, k := range sortedKeys(v) {
			rv, err := res.value(v[k], depth+1)
			if err != nil {
				return nil, at(err, k)
			}
			out[k] = rv
		}
		return out, nil
	case Tag:
		out, err := v.resolve(&resolutionAt{res, depth})
		if err != nil {
			return nil, tagError(v, err)
		}
		return out, nil
	}
	return res.plain(reflect.ValueOf(v), depth)
}

// plain converts a Go value from the caller (the context, FindObject) into
// a plain value: maps with string keys and slices become map[string]any
// and []any, numbers become int or float64; anything else (a UUID, a
// time) is kept as is.
func (res *resolution) plain(rv reflect.Value, depth int) (any, error) {
	if depth > res.limits.MaxDepth {
		return nil, limitError(ErrTooDeep, "more than %d levels", res.limits.MaxDepth)
	}
	switch rv.Kind() {
	case reflect.Invalid:
		return nil, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		if rv.Kind() == reflect.Interface {
			return res.value(rv.Elem().Interface(), depth)
		}
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if rv.Uint() > math.MaxInt {
			return float64(rv.Uint()), nil
		}
		return int(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			break // []byte: opaque
		}
		out := make([]any, rv.Len())
		for i := range out {
			e, err := res.value(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, at(err, "["+strconv.Itoa(i)+"]")
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := it.Key().String()
			e, err := res.value(it.Value().Interface(), depth+1)
			if err != nil {
				return nil, at(err, k)
			}
			out[k] = e
		}
		return out, nil
	}
	return rv.Interface(), nil
}

// resolutionAt is what a tag resolves with: the resolution and the depth of
// the tag, so that its arguments nest one level deeper.
type resolutionAt struct {
	*resolution
	depth int
}

func (ra *resolutionAt) arg(v any) (any, error) { return ra.value(v, ra.depth+1) }

// stringArg resolves an argument that must be a string.
func (ra *resolutionAt) stringArg(what string, v any) (string, error) {
	r, err := ra.arg(v)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("%s must be a string, not %s", what, typeName(r))
	}
	return s, nil
}

func (t *KeyOf) resolve(ra *resolutionAt) (any, error) {
	if ra.r.KeyOf == nil {
		return nil, fmt.Errorf("%s: %w (Resolver.KeyOf is nil)", t.ID, ErrNoResolver)
	}
	v, err := ra.r.KeyOf(t.ID, ra.entry)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.ID, err)
	}
	return v, nil
}

// filters resolves a !Find's model and query.
func (t *Find) filters(ra *resolutionAt) (string, []Filter, error) {
	model, err := ra.stringArg("the model", t.Model)
	if err != nil {
		return "", nil, err
	}
	if !validModel(model) {
		return "", nil, fmt.Errorf("model must be app_label.model_name, not %q", model)
	}
	out := make([]Filter, len(t.Query))
	for i, q := range t.Query {
		field, err := ra.stringArg("a query field", q[0])
		if err != nil {
			return "", nil, err
		}
		if field == "" {
			return "", nil, errors.New("a query field is empty")
		}
		value, err := ra.arg(q[1])
		if err != nil {
			return "", nil, err
		}
		out[i] = Filter{Field: field, Value: value}
	}
	return model, out, nil
}

func (t *Find) resolve(ra *resolutionAt) (any, error) {
	model, filters, err := t.filters(ra)
	if err != nil {
		return nil, err
	}
	if t.Object {
		if ra.r.FindObject == nil {
			return nil, fmt.Errorf("%w (Resolver.FindObject is nil)", ErrNoResolver)
		}
		obj, err := ra.r.FindObject(model, filters)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", model, err)
		}
		if obj == nil {
			return nil, nil
		}
		return ra.arg(obj)
	}
	if ra.r.Find == nil {
		return nil, fmt.Errorf("%w (Resolver.Find is nil)", ErrNoResolver)
	}
	v, err := ra.r.Find(model, filters)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", model, err)
	}
	return v, nil
}

func (t *Env) resolve(ra *resolutionAt) (any, error) {
	name, err := ra.stringArg("the variable name", t.Name)
	if err != nil {
		return nil, err
	}
	if !ra.r.EnvPolicy.Allowed(name) {
		return nil, fmt.Errorf("%w: %s (allow it in the blueprint environment policy)", ErrEnvNotAllowed, name)
	}
	if ra.r.LookupEnv != nil {
		// authentik: os.getenv(name) or default, so empty means unset.
		if v, ok := ra.r.LookupEnv(name); ok && v != "" {
			return v, nil
		}
	}
	return ra.arg(t.Default)
}

func (t *File) resolve(ra *resolutionAt) (any, error) {
	path, err := ra.stringArg("the path", t.Path)
	if err != nil {
		return nil, err
	}
	content, found, err := readFile(ra.r.FileRoot, path, ra.limits.MaxFileBytes)
	if err != nil {
		return nil, err
	}
	if !found {
		return ra.arg(t.Default)
	}
	if err := ra.spendBytes(len(content)); err != nil {
		return nil, err
	}
	return content, nil
}

func (t *Context) resolve(ra *resolutionAt) (any, error) {
	key, err := ra.stringArg("the key", t.Key)
	if err != nil {
		return nil, err
	}
	if raw, ok := ra.r.Context[key]; ok {
		return ra.contextValue(key, raw)
	}
	// A dotted path: some.nested.0 (authentik 2026.5).
	if first, rest, ok := strings.Cut(key, "."); ok {
		if raw, ok := ra.r.Context[first]; ok {
			v, err := ra.contextValue(first, raw)
			if err != nil {
				return nil, err
			}
			if v, ok := walkPath(v, strings.Split(rest, ".")); ok {
				return v, nil
			}
		}
	}
	return ra.arg(t.Default)
}

// contextValue resolves a value of the context, refusing one that refers to
// itself through !Context.
func (ra *resolutionAt) contextValue(key string, raw any) (any, error) {
	for _, k := range ra.contextKeys {
		if k == key {
			return nil, fmt.Errorf("context value %q refers to itself", key)
		}
	}
	ra.contextKeys = append(ra.contextKeys, key)
	defer func() { ra.contextKeys = ra.contextKeys[:len(ra.contextKeys)-1] }()
	return ra.arg(raw)
}

// walkPath follows mapping keys and list indexes through a resolved value.
func walkPath(v any, path []string) (any, bool) {
	for _, step := range path {
		switch c := v.(type) {
		case map[string]any:
			e, ok := c[step]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func (t *Format) resolve(ra *resolutionAt) (any, error) {
	format, err := ra.stringArg("the format", t.Format)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(t.Args))
	for i, a := range t.Args {
		if args[i], err = ra.arg(a); err != nil {
			return nil, err
		}
	}
	s, err := pyFormat(format, args, ra.bytesLeft())
	if err != nil {
		if errors.Is(err, ErrTooManyNodes) {
			// The budget is as good as spent: later tags fail at once
			// rather than build the same string again.
			ra.r.bytes.Add(int64(ra.bytesLeft()) + 1)
		}
		return nil, err
	}
	if err := ra.spendBytes(len(s)); err != nil {
		return nil, err
	}
	return s, nil
}

func (t *If) resolve(ra *resolutionAt) (any, error) {
	c, err := ra.arg(t.Condition)
	if err != nil {
		return nil, err
	}
	if truthy(c) {
		return ra.arg(t.Then)
	}
	return ra.arg(t.Else)
}

func (t *Condition) resolve(ra *resolutionAt) (any, error) {
	args := make([]any, len(t.Args))
	for i, a := range t.Args {
		v, err := ra.arg(a)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	if len(args) == 0 {
		return nil, errors.New("at least one value is required after the mode")
	}
	switch t.Mode {
	case "EQ", "NEQ":
		eq := true
		if len(args) == 1 {
			eq = truthy(args[0])
		}
		for _, a := range args[1:] {
			if !pyEqual(args[0], a) {
				eq = false
				break
			}
		}
		return eq == (t.Mode == "EQ"), nil
	}
	all, some, odd := true, false, false
	for _, a := range args {
		b := truthy(a)
		all = all && b
		some = some || b
		odd = odd != b
	}
	switch t.Mode {
	case "AND":
		return all, nil
	case "NAND":
		return !all, nil
	case "OR":
		return some, nil
	case "NOR":
		return !some, nil
	case "XOR":
		return odd, nil
	case "XNOR":
		return !odd, nil
	}
	return nil, fmt.Errorf("unknown mode %q", t.Mode)
}

func (t *Enumerate) resolve(ra *resolutionAt) (any, error) {
	f := &frame{}
	ra.frames = append(ra.frames, f)
	defer func() { ra.frames = ra.frames[:len(ra.frames)-1] }()
	it, err := ra.arg(t.Iterable)
	if err != nil {
		return nil, err
	}
	var seq []any
	out := map[string]any{}
	each := func(index, value any) error {
		f.iterating, f.index, f.value = true, index, value
		v, err := ra.arg(t.Item)
		if err != nil {
			return err
		}
		if t.Output == "SEQ" {
			seq = append(seq, v)
			return nil
		}
		switch v := v.(type) {
		case []any:
			if len(v) != 2 {
				return fmt.Errorf("a MAP item must be a [key, value] pair or a mapping, not a list of %d", len(v))
			}
			k, err := keyString(v[0])
			if err != nil {
				return err
			}
			mergeInto(out, map[string]any{k: v[1]})
		case map[string]any:
			mergeInto(out, v)
		default:
			return fmt.Errorf("a MAP item must be a [key, value] pair or a mapping, not %s", typeName(v))
		}
		return nil
	}
	switch it := it.(type) {
	case []any:
		for i, v := range it {
			if err := each(i, v); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		// In key order: Go maps have none, and the output must not
		// change from one run to the next.
		for _, k := range sortedKeys(it) {
			if err := each(k, it[k]); err != nil {
				return nil, err
			}
		}
	case string:
		i := 0
		for _, r := range it {
			if err := each(i, string(r)); err != nil {
				return nil, err
			}
			i++
		}
	default:
		return nil, fmt.Errorf("the iterable must be a sequence, a mapping or a string, not %s", typeName(it))
	}
	if t.Output == "SEQ" {
		if seq == nil {
			seq = []any{}
		}
		return seq, nil
	}
	return out, nil
}

// frameAt finds the !Enumerate depth levels up.
func (ra *resolutionAt) frameAt(name string, depth int) (*frame, error) {
	if len(ra.frames) == 0 {
		return nil, fmt.Errorf("%s is only valid inside !Enumerate", name)
	}
	if depth >= len(ra.frames) {
		return nil, fmt.Errorf("depth %d is too deep: there are %d enclosing !Enumerate (max depth %d)", depth, len(ra.frames), len(ra.frames)-1)
	}
	f := ra.frames[len(ra.frames)-1-depth]
	if !f.iterating {
		return nil, fmt.Errorf("depth %d refers to the !Enumerate whose iterable is being resolved", depth)
	}
	return f, nil
}

func (t *Index) resolve(ra *resolutionAt) (any, error) {
	f, err := ra.frameAt("!Index", t.Depth)
	if err != nil {
		return nil, err
	}
	return f.index, nil
}

func (t *Value) resolve(ra *resolutionAt) (any, error) {
	f, err := ra.frameAt("!Value", t.Depth)
	if err != nil {
		return nil, err
	}
	// Resolving the (already plain) element copies it: the same element
	// may land in several places of the output, which must not share maps.
	return ra.value(f.value, ra.depth)
}

func (t *AtIndex) resolve(ra *resolutionAt) (any, error) {
	coll, err := ra.arg(t.Collection)
	if err != nil {
		return nil, err
	}
	key, err := ra.arg(t.Key)
	if err != nil {
		return nil, err
	}
	missing := func(format string, args ...any) (any, error) {
		if t.HasDefault {
			return ra.arg(t.Default)
		}
		return nil, fmt.Errorf(format, args...)
	}
	switch c := coll.(type) {
	case []any:
		i, ok := intValue(key)
		if !ok {
			return nil, fmt.Errorf("invalid index for a list: %s", shortRepr(key))
		}
		if i < 0 {
			i += len(c)
		}
		if i < 0 || i >= len(c) {
			return missing("index out of range: %s", shortRepr(key))
		}
		return c[i], nil
	case map[string]any:
		k, err := keyString(key)
		if err != nil {
			return nil, err
		}
		v, ok := c[k]
		if !ok {
			return missing("key does not exist: %s", shortRepr(key))
		}
		return v, nil
	case nil:
		return missing("the collection is null")
	}
	return nil, fmt.Errorf("the collection must be a sequence or a mapping, not %s", typeName(coll))
}

func (t *ParseJSON) resolve(ra *resolutionAt) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(t.JSON)))
	dec.UseNumber()
	v, err := jsonValue(dec, ra, ra.depth+1)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: text after the value")
	}
	return v, nil
}

// jsonValue reads one JSON value token by token, so that depth and size
// are checked as it goes.
func jsonValue(dec *json.Decoder, ra *resolutionAt, depth int) (any, error) {
	if depth > ra.limits.MaxDepth {
		return nil, limitError(ErrTooDeep, "JSON nested more than %d levels", ra.limits.MaxDepth)
	}
	if err := ra.spend(1); err != nil {
		return nil, err
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	switch tok := tok.(type) {
	case json.Delim:
		switch tok {
		case '[':
			out := []any{}
			for dec.More() {
				v, err := jsonValue(dec, ra, depth+1)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			return out, nil
		case '{':
			out := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, fmt.Errorf("invalid JSON: %w", err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, errors.New("invalid JSON: object key is not a string")
				}
				v, err := jsonValue(dec, ra, depth+1)
				if err != nil {
					return nil, err
				}
				out[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			return out, nil
		}
		return nil, fmt.Errorf("invalid JSON: unexpected %v", tok)
	case json.Number:
		if i, err := strconv.ParseInt(string(tok), 10, 0); err == nil {
			return int(i), nil
		}
		f, err := tok.Float64()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON number %s", tok)
		}
		return f, nil
	case string:
		if !utf8.ValidString(tok) {
			return nil, errors.New("invalid JSON: string is not UTF-8")
		}
		return tok, nil
	}
	return tok, nil // bool or nil
}
