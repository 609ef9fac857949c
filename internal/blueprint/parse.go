package blueprint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits bound what parsing and resolving a blueprint may cost. A zero
// field takes its default.
type Limits struct {
	// MaxBytes is the longest input Parse reads (default 8 MiB).
	MaxBytes int
	// MaxDepth is the deepest nesting of sequences, mappings and tag
	// arguments, in the file and in resolved values (default 100).
	MaxDepth int
	// MaxNodes caps the values in the parsed document, counting each
	// expansion of an alias or merge key (default 250,000); Parse also
	// refuses, before parsing, a document with more structural markers
	// ("- ", ": ", ",", "[", "{", "? ") than this. A Resolver counts the
	// values it produces against the same number.
	MaxNodes int
	// MaxFileBytes is the largest file !File reads (default 1 MiB).
	MaxFileBytes int
	// MaxStringBytes caps the bytes of the strings a Resolver builds with
	// !Format and reads with !File, over its lifetime (default 16 MiB),
	// and the width and precision of one %-conversion (at most 4096).
	MaxStringBytes int
}

// Default limits.
const (
	DefaultMaxBytes       = 8 << 20
	DefaultMaxDepth       = 100
	DefaultMaxNodes       = 250_000
	DefaultMaxFileBytes   = 1 << 20
	DefaultMaxStringBytes = 16 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = DefaultMaxFileBytes
	}
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = DefaultMaxStringBytes
	}
	return l
}

// Parse parses and validates a blueprint with the default Limits.
func Parse(data []byte) (*Blueprint, error) {
	return Limits{}.Parse(data)
}

// Parse parses and validates a blueprint within the limits. Errors are
// *Error values that name the entry, the field and the line.
//
// Parse checks the structure: version 1, metadata with a name, a context
// mapping, entries with a model ("app_label.model"), a known state, a
// string id, identifiers (a non-empty mapping, except for
// ModelMetaApplyBlueprint), attrs (a mapping), conditions and permissions
// (lists), and every tag's arguments. It does not check that !KeyOf ids
// exist or that entries can be ordered: Order does.
func (l Limits) Parse(data []byte) (*Blueprint, error) {
	l = l.withDefaults()
	if len(data) > l.MaxBytes {
		return nil, docError(limitError(ErrTooLarge, "the blueprint has %d bytes, more than the limit of %d", len(data), l.MaxBytes))
	}
	if n := structureCount(data); n > l.MaxNodes {
		return nil, docError(limitError(ErrTooManyNodes, "the blueprint has more than %d structural elements", l.MaxNodes))
	}
	root, err := parseYAML(data)
	if err != nil {
		return nil, docError(err)
	}
	d := &decoder{limits: l, active: map[*yaml.Node]bool{}}
	bp, err := d.blueprint(root)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, docError(err)
	}
	return bp, nil
}

func docError(err error) *Error { return &Error{Entry: -1, Err: err} }

// parseYAML parses a single YAML document into a node tree. The YAML parser
// itself caps nesting at 10,000 levels; the decoder applies Limits.
func parseYAML(data []byte) (root *yaml.Node, err error) {
	defer func() {
		// The YAML library recovers its own errors; anything else is a
		// bug in it, reported as a parse error rather than a crash.
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("yaml: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the blueprint is empty")
		}
		return nil, err
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("line %d: a blueprint is a single YAML document; found another one", next.Line)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, errors.New("the blueprint is empty")
	}
	return doc.Content[0], nil
}

// structureCount counts the places where a YAML document can start a node:
// flow collections and separators, and block indicators followed by a
// space or a line end. It overestimates (the same characters inside
// scalars count) and bounds the number of nodes the YAML parser allocates
// (at most about three per mark), so a small input that would expand into
// a huge node tree is refused before it is parsed.
func structureCount(data []byte) int {
	n := 0
	for i, c := range data {
		switch c {
		case '[', '{', ',':
			n++
		case '-', ':', '?':
			if i+1 == len(data) {
				n++
				break
			}
			switch data[i+1] {
			case ' ', '\t', '\n', '\r', ',', ']', '}':
				n++
			}
		}
	}
	return n
}

// decoder turns YAML nodes into raw values: nil, bool, int, float64,
// string, []any, map[string]any and Tag.
type decoder struct {
	limits Limits
	nodes  int
	// active holds the anchored nodes being expanded through an alias, to
	// refuse an alias inside its own anchor.
	active map[*yaml.Node]bool
	// entryIndex and model name the entry being decoded, for errors
	// (-1 outside the entries).
	entryIndex int
	model      string
}

// posError is an error at a node; the entry and field are added by the
// caller that knows them.
type posError struct {
	line, column int
	err          error
}

func (e *posError) Error() string { return fmt.Sprintf("line %d:%d: %v", e.line, e.column, e.err) }
func (e *posError) Unwrap() error { return e.err }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) error {
	return &posError{n.Line, n.Column, fmt.Errorf(format, args...)}
}

func (d *decoder) wrap(n *yaml.Node, err error) error {
	var pe *posError
	if errors.As(err, &pe) {
		return err
	}
	return &posError{n.Line, n.Column, err}
}

// fieldError turns a decoding error into an *Error for the current entry
// and a field.
func (d *decoder) fieldError(field string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	out := &Error{Entry: d.entryIndex, Model: d.model, Field: field, Err: err}
	var pe *posError
	if errors.As(err, &pe) {
		out.Line, out.Column, out.Err = pe.line, pe.column, pe.err
	}
	return out
}

// count charges one node against MaxNodes.
func (d *decoder) count(n *yaml.Node) error {
	d.nodes++
	if d.nodes > d.limits.MaxNodes {
		return d.wrap(n, limitError(ErrTooManyNodes, "the blueprint has more than %d nodes (aliases count each time they are used)", d.limits.MaxNodes))
	}
	return nil
}

// deref follows an alias to its anchored node; calls must be paired with
// release.
func (d *decoder) deref(n *yaml.Node) (*yaml.Node, func(), error) {
	if n.Kind != yaml.AliasNode {
		return n, func() {}, nil
	}
	target := n.Alias
	if target == nil {
		return nil, nil, d.errorf(n, "unknown anchor %q", n.Value)
	}
	if d.active[target] {
		return nil, nil, d.errorf(n, "alias *%s is used inside its own anchor", n.Value)
	}
	d.active[target] = true
	return target, func() { delete(d.active, target) }, nil
}

// value decodes a node at a nesting depth.
func (d *decoder) value(n *yaml.Node, depth int) (any, error) {
	if depth > d.limits.MaxDepth {
		return nil, d.wrap(n, limitError(ErrTooDeep, "more than %d levels", d.limits.MaxDepth))
	}
	if err := d.count(n); err != nil {
		return nil, err
	}
	n, release, err := d.deref(n)
	if err != nil {
		return nil, err
	}
	defer release()
	if isCustomTag(n.Tag) {
		return d.tag(n, depth)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return d.scalar(n)
	case yaml.SequenceNode:
		if t := n.ShortTag(); t != "!!seq" {
			return nil, d.errorf(n, "unsupported tag %s on a sequence", t)
		}
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := d.value(c, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		if t := n.ShortTag(); t != "!!map" {
			return nil, d.errorf(n, "unsupported tag %s on a mapping", t)
		}
		pairs, err := d.mapping(n, depth)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(pairs))
		for _, p := range pairs {
			v, err := d.value(p.value, depth+1)
			if err != nil {
				return nil, err
			}
			out[p.key] = v
		}
		return out, nil
	}
	return nil, d.errorf(n, "unexpected YAML node")
}

func isCustomTag(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") && tag != "!"
}

// yaml11Bools are the plain scalars PyYAML (YAML 1.1, which authentik
// uses) reads as booleans besides true and false.
var yaml11Bools = map[string]bool{
	"yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false,
}

// scalar decodes a scalar without a custom tag.
func (d *decoder) scalar(n *yaml.Node) (any, error) {
	switch t := n.ShortTag(); t {
	case "!!null":
		return nil, nil
	case "!!str", "!!timestamp":
		if n.Style == 0 {
			if b, ok := yaml11Bools[n.Value]; ok {
				return b, nil
			}
		}
		return n.Value, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, d.wrap(n, err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil || i > math.MaxInt || i < math.MinInt {
			return nil, d.errorf(n, "%s is not an integer that fits in 64 bits", n.Value)
		}
		return int(i), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, d.wrap(n, err)
		}
		return f, nil
	case "!!binary":
		var s string
		if err := n.Decode(&s); err != nil {
			return nil, d.wrap(n, err)
		}
		return s, nil
	default:
		return nil, d.errorf(n, "unsupported tag %s", t)
	}
}

// pair is a mapping entry: its key as a string and its value node.
type pair struct {
	key     string
	keyNode *yaml.Node
	value   *yaml.Node
}

// mapping lists the entries of a mapping node in order, with YAML merge keys
// ("<<: *anchor" or "<<: [*a, *b]") applied: explicit keys win, then the
// merged mappings in order. A key given twice is an error.
func (d *decoder) mapping(n *yaml.Node, depth int) ([]pair, error) {
	if depth > d.limits.MaxDepth {
		return nil, d.wrap(n, limitError(ErrTooDeep, "more than %d levels", d.limits.MaxDepth))
	}
	if len(n.Content)%2 != 0 {
		return nil, d.errorf(n, "malformed mapping")
	}
	var pairs []pair
	seen := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if err := d.count(k); err != nil {
			return nil, err
		}
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		key, err := d.key(k)
		if err != nil {
			return nil, err
		}
		if seen[key] {
			return nil, d.errorf(k, "key %q is defined twice", key)
		}
		seen[key] = true
		pairs = append(pairs, pair{key, k, v})
	}
	for _, m := range merges {
		src, release, err := d.deref(m)
		if err != nil {
			return nil, err
		}
		sources := []*yaml.Node{m}
		if src.Kind == yaml.SequenceNode && !isCustomTag(src.Tag) {
			sources = src.Content
		}
		release()
		for _, s := range sources {
			src, release, err := d.deref(s)
			if err != nil {
				return nil, err
			}
			if src.Kind != yaml.MappingNode || isCustomTag(src.Tag) {
				release()
				return nil, d.errorf(s, "a merge key (<<) takes a mapping or a sequence of mappings")
			}
			merged, err := d.mapping(src, depth+1)
			release()
			if err != nil {
				return nil, err
			}
			for _, p := range merged {
				if !seen[p.key] {
					seen[p.key] = true
					pairs = append(pairs, p)
				}
			}
		}
	}
	return pairs, nil
}

// key decodes a mapping key: a scalar, turned into a string the way JSON
// would (authentik stores these values as JSON).
func (d *decoder) key(k *yaml.Node) (string, error) {
	k, release, err := d.deref(k)
	if err != nil {
		return "", err
	}
	defer release()
	if k.Kind != yaml.ScalarNode {
		return "", d.errorf(k, "a mapping key must be a scalar")
	}
	if isCustomTag(k.Tag) {
		return "", d.errorf(k, "a mapping key cannot be a tag (%s)", k.Tag)
	}
	v, err := d.scalar(k)
	if err != nil {
		return "", err
	}
	s, err := keyString(v)
	if err != nil {
		return "", d.wrap(k, err)
	}
	return s, nil
}

// keyString is the string form of a scalar used as a mapping key.
func keyString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(v), nil
	case int:
		return strconv.Itoa(v), nil
	case float64:
		return pyFloat(v), nil
	}
	return "", fmt.Errorf("a %s cannot be a mapping key", typeName(v))
}

// blueprint decodes the document root.
func (d *decoder) blueprint(root *yaml.Node) (*Blueprint, error) {
	d.entryIndex = -1
	root, release, err := d.deref(root)
	if err != nil {
		return nil, d.fieldError("", err)
	}
	defer release()
	if root.Kind != yaml.MappingNode || isCustomTag(root.Tag) {
		return nil, d.fieldError("", d.errorf(root, "a blueprint is a mapping with version, metadata, context and entries"))
	}
	pairs, err := d.mapping(root, 0)
	if err != nil {
		return nil, d.fieldError("", err)
	}
	bp := &Blueprint{}
	var haveVersion, haveEntries bool
	var entries *yaml.Node
	for _, p := range pairs {
		switch p.key {
		case "version":
			haveVersion = true
			v, err := d.value(p.value, 1)
			if err != nil {
				return nil, d.fieldError("version", err)
			}
			if v != 1 {
				return nil, d.fieldError("version", d.errorf(p.value, "unsupported version %s: only version 1 exists", shortRepr(v)))
			}
			bp.Version = 1
		case "metadata":
			if err := d.metadata(p.value, &bp.Metadata); err != nil {
				return nil, d.fieldError("metadata", err)
			}
		case "context":
			v, err := d.value(p.value, 1)
			if err != nil {
				return nil, d.fieldError("context", err)
			}
			switch v := v.(type) {
			case nil:
			case map[string]any:
				bp.Context = v
			default:
				return nil, d.fieldError("context", d.errorf(p.value, "context must be a mapping, not %s", typeName(v)))
			}
		case "entries":
			haveEntries = true
			entries = p.value
		default:
			// authentik ignores other top-level keys; files use them to
			// hold anchors ("x-defaults: &defaults {...}"). They are still
			// decoded, so that their size counts.
			if _, err := d.value(p.value, 1); err != nil {
				return nil, d.fieldError(p.key, err)
			}
		}
	}
	if !haveVersion {
		return nil, d.fieldError("version", d.errorf(root, "version is required (version: 1)"))
	}
	if !haveEntries {
		return nil, d.fieldError("entries", d.errorf(root, "entries is required"))
	}
	if err := d.entries(entries, bp); err != nil {
		return nil, err
	}
	return bp, nil
}

func (d *decoder) metadata(n *yaml.Node, m *Metadata) error {
	n, release, err := d.deref(n)
	if err != nil {
		return err
	}
	defer release()
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode || isCustomTag(n.Tag) {
		return d.errorf(n, "metadata must be a mapping with a name")
	}
	pairs, err := d.mapping(n, 1)
	if err != nil {
		return err
	}
	haveName := false
	for _, p := range pairs {
		switch p.key {
		case "name":
			s, err := d.plainString(p.value)
			if err != nil {
				return err
			}
			m.Name, haveName = s, true
		case "labels":
			v, err := d.value(p.value, 2)
			if err != nil {
				return err
			}
			labels, ok := v.(map[string]any)
			if v != nil && !ok {
				return d.errorf(p.value, "labels must be a mapping of strings")
			}
			m.Labels = make(map[string]string, len(labels))
			for k, lv := range labels {
				switch lv := lv.(type) {
				case string:
					m.Labels[k] = lv
				case nil:
					m.Labels[k] = ""
				case bool, int, float64:
					// authentik's schema wants strings; YAML turns an
					// unquoted "false" into a bool. Keep the text.
					m.Labels[k], _ = keyString(lv)
				default:
					return d.errorf(p.value, "label %q must be a string, not %s", k, typeName(lv))
				}
			}
		default:
			if _, err := d.value(p.value, 2); err != nil {
				return err
			}
		}
	}
	if !haveName || m.Name == "" {
		return d.errorf(n, "metadata needs a name")
	}
	return nil
}

// plainString decodes a scalar that must be a string without a tag (a model
// name, a state, an id).
func (d *decoder) plainString(n *yaml.Node) (string, error) {
	if err := d.count(n); err != nil {
		return "", err
	}
	n, release, err := d.deref(n)
	if err != nil {
		return "", err
	}
	defer release()
	if isCustomTag(n.Tag) {
		return "", d.errorf(n, "must be a plain value; Gatehouse does not take %s here", n.Tag)
	}
	if n.Kind != yaml.ScalarNode {
		return "", d.errorf(n, "must be a string")
	}
	v, err := d.scalar(n)
	if err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case int, float64, bool, nil:
		s, _ := keyString(v)
		if v == nil {
			s = ""
		}
		return s, nil
	}
	return "", d.errorf(n, "must be a string")
}

func (d *decoder) entries(n *yaml.Node, bp *Blueprint) error {
	n, release, err := d.deref(n)
	if err != nil {
		return d.fieldError("entries", err)
	}
	defer release()
	if isCustomTag(n.Tag) {
		return d.fieldError("entries", d.errorf(n, "entries cannot be a tag"))
	}
	switch n.Kind {
	case yaml.SequenceNode:
		return d.entryList(n, "", bp)
	case yaml.MappingNode:
		pairs, err := d.mapping(n, 1)
		if err != nil {
			return d.fieldError("entries", err)
		}
		for _, p := range pairs {
			list, release, err := d.deref(p.value)
			if err != nil {
				return d.fieldError("entries."+p.key, err)
			}
			if list.Kind != yaml.SequenceNode || isCustomTag(list.Tag) {
				release()
				return d.fieldError("entries."+p.key, d.errorf(list, "a section of entries must be a list"))
			}
			err = d.entryList(list, p.key, bp)
			release()
			if err != nil {
				return err
			}
		}
		return nil
	}
	return d.fieldError("entries", d.errorf(n, "entries must be a list (or a mapping of named lists)"))
}

func (d *decoder) entryList(n *yaml.Node, section string, bp *Blueprint) error {
	if err := d.count(n); err != nil {
		return d.fieldError("entries", err)
	}
	for _, c := range n.Content {
		e, err := d.entry(c, len(bp.Entries))
		if err != nil {
			return err
		}
		e.Section = section
		bp.Entries = append(bp.Entries, e)
	}
	return nil
}

// entryFields are the keys an entry may have.
var entryFields = "model, state, id, identifiers, attrs, conditions, permissions"

func (d *decoder) entry(n *yaml.Node, index int) (Entry, error) {
	d.entryIndex, d.model = index, ""
	e := Entry{Index: index, State: StatePresent, Line: n.Line, Column: n.Column}
	if err := d.count(n); err != nil {
		return e, d.fieldError("", err)
	}
	n, release, err := d.deref(n)
	if err != nil {
		return e, d.fieldError("", err)
	}
	defer release()
	if n.Kind != yaml.MappingNode || isCustomTag(n.Tag) {
		return e, d.fieldError("", d.errorf(n, "an entry must be a mapping with %s", entryFields))
	}
	pairs, err := d.mapping(n, 2)
	if err != nil {
		return e, d.fieldError("", err)
	}
	// The model first, so that every later error names it.
	haveModel := false
	for _, p := range pairs {
		if p.key == "model" {
			s, err := d.plainString(p.value)
			if err != nil {
				return e, d.fieldError("model", err)
			}
			if !validModel(s) || p.value.ShortTag() != "!!str" {
				return e, d.fieldError("model", d.errorf(p.value, "model must be app_label.model_name (like authentik_flows.flow), not %q", s))
			}
			e.Model, d.model, haveModel = s, s, true
		}
	}
	if !haveModel {
		return e, d.fieldError("model", d.errorf(n, "model is required"))
	}
	haveIdentifiers := false
	for _, p := range pairs {
		switch p.key {
		case "model":
		case "state":
			s, err := d.plainString(p.value)
			if err != nil {
				return e, d.fieldError("state", err)
			}
			if s != "" {
				e.State = State(s)
			}
			if !e.State.valid() {
				return e, d.fieldError("state", d.errorf(p.value, "state must be present, created, must_created or absent, not %q", s))
			}
		case "id":
			s, err := d.plainString(p.value)
			if err != nil {
				return e, d.fieldError("id", err)
			}
			e.ID = s
		case "identifiers", "attrs":
			v, err := d.value(p.value, 2)
			if err != nil {
				return e, d.fieldError(p.key, err)
			}
			m, ok := v.(map[string]any)
			if v != nil && !ok {
				return e, d.fieldError(p.key, d.errorf(p.value, "%s must be a mapping, not %s", p.key, typeName(v)))
			}
			if p.key == "attrs" {
				e.Attrs = m
			} else {
				e.Identifiers, haveIdentifiers = m, len(m) > 0
			}
		case "conditions":
			v, err := d.value(p.value, 2)
			if err != nil {
				return e, d.fieldError("conditions", err)
			}
			l, ok := v.([]any)
			if v != nil && !ok {
				return e, d.fieldError("conditions", d.errorf(p.value, "conditions must be a list, not %s", typeName(v)))
			}
			e.Conditions = l
		case "permissions":
			perms, err := d.permissions(p.value)
			if err != nil {
				return e, err
			}
			e.Permissions = perms
		default:
			return e, d.fieldError(p.key, d.errorf(p.keyNode, "unknown field %q; an entry has %s", p.key, entryFields))
		}
	}
	if !haveIdentifiers && e.Model != ModelMetaApplyBlueprint {
		return e, d.fieldError("identifiers", d.errorf(n, "identifiers are required: a mapping of fields that find the object (like slug: my-flow)"))
	}
	return e, nil
}

func (d *decoder) permissions(n *yaml.Node) ([]Permission, error) {
	v, err := d.value(n, 2)
	if err != nil {
		return nil, d.fieldError("permissions", err)
	}
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, d.fieldError("permissions", d.errorf(n, "permissions must be a list, not %s", typeName(v)))
	}
	// Positions of the items, for errors (an alias has none of its own).
	items := n
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		items = n.Alias
	}
	out := make([]Permission, len(list))
	for i, it := range list {
		at := items
		if i < len(items.Content) {
			at = items.Content[i]
		}
		field := indexField("permissions", i)
		m, ok := it.(map[string]any)
		if !ok {
			return nil, d.fieldError(field, d.errorf(at, "a permission must be a mapping with permission and user or role"))
		}
		for k := range m {
			if k != "permission" && k != "user" && k != "role" {
				return nil, d.fieldError(joinField(field, k), d.errorf(at, "unknown field %q; a permission has permission, user and role", k))
			}
		}
		if m["permission"] == nil {
			return nil, d.fieldError(joinField(field, "permission"), d.errorf(at, "permission is required"))
		}
		out[i] = Permission{Permission: m["permission"], User: m["user"], Role: m["role"]}
	}
	return out, nil
}

// validModel reports whether s has the form of a Django model label,
// app_label.model_name: two Python identifiers joined by a dot.
func validModel(s string) bool {
	app, model, ok := strings.Cut(s, ".")
	return ok && isIdentifier(app) && isIdentifier(model)
}

func isIdentifier(s string) bool {
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}
