package blueprint

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Tag is a custom YAML tag, unresolved, as it stands in the raw tree of a
// parsed blueprint. Its arguments are raw values too: they may hold tags.
// The concrete types are the pointers to KeyOf, Find, Env, File, Context,
// Format, If, Condition, Enumerate, Index, Value, AtIndex and ParseJSON.
type Tag interface {
	// TagName is the tag as written, with its "!": "!KeyOf", "!FindObject".
	TagName() string
	// Position is where the tag is in the file (1-based line and column).
	Position() Pos
	// children are the raw arguments, for walks over the tree.
	children() []any
	resolve(*resolutionAt) (any, error)
}

// Pos is a 1-based line and column in a blueprint file.
type Pos struct {
	Line, Column int
}

// Position returns p; it lets every tag type satisfy Tag by embedding Pos.
func (p Pos) Position() Pos { return p }

// KeyOf is !KeyOf id: the primary key of the object of the entry with that id.
type KeyOf struct {
	Pos
	ID string
}

// Find is !Find [model, [field, value], ...]: the primary key of the first
// object of the model matching every field = value pair, or null. With
// Object set it is !FindObject (authentik 2025.8): the object, serialized.
type Find struct {
	Pos
	Object bool
	// Model and each query pair's field and value are raw values.
	Model any
	Query [][2]any
}

// Env is !Env name or !Env [name, default]: an environment variable, or the
// default when it is unset or empty. Only variables the EnvPolicy allows.
type Env struct {
	Pos
	Name    any
	Default any
}

// File is !File path or !File [path, default]: the contents of a file under
// Resolver.FileRoot with surrounding white space removed, or the default
// when the file does not exist.
type File struct {
	Pos
	Path    any
	Default any
}

// Context is !Context key or !Context [key, default]: a value of the
// context. A key that is not in the context is tried as a dotted path
// ("some.nested.0", authentik 2026.5) before the default is used.
type Context struct {
	Pos
	Key     any
	Default any
}

// Format is !Format [format, args...]: Python %-formatting.
type Format struct {
	Pos
	Format any
	Args   []any
}

// If is !If [condition, when_true, when_false] or !If [condition] (which
// yields true or false). Only the chosen branch is resolved.
type If struct {
	Pos
	Condition any
	Then      any
	Else      any
}

// Condition is !Condition [mode, args...]: the arguments' truth values
// combined with AND, NAND, OR, NOR, XOR or XNOR, or compared with EQ or NEQ.
type Condition struct {
	Pos
	// Mode is upper case, one of the eight modes.
	Mode string
	Args []any
}

// Enumerate is !Enumerate [iterable, SEQ|MAP, item]: Item resolved once per
// element of Iterable (a sequence, a mapping or a string), collected into a
// sequence or merged into a mapping. Inside Item, !Index and !Value refer to
// the current element.
type Enumerate struct {
	Pos
	Iterable any
	// Output is "SEQ" or "MAP".
	Output string
	Item   any
}

// Index is !Index depth: the index (or mapping key) of the current element
// of the enclosing !Enumerate, depth levels up (0 is the innermost).
type Index struct {
	Pos
	Depth int
}

// Value is !Value depth: the current element of the enclosing !Enumerate,
// depth levels up.
type Value struct {
	Pos
	Depth int
}

// AtIndex is !AtIndex [collection, index_or_key, default]: an element of a
// sequence (negative indexes count from the end) or mapping. Without a
// default a missing element is an error.
type AtIndex struct {
	Pos
	Collection any
	Key        any
	Default    any
	HasDefault bool
}

// ParseJSON is !ParseJSON text: the JSON value the text holds.
type ParseJSON struct {
	Pos
	JSON string
}

// TagName implements Tag.
func (*KeyOf) TagName() string { return "!KeyOf" }

// TagName implements Tag.
func (t *Find) TagName() string {
	if t.Object {
		return "!FindObject"
	}
	return "!Find"
}

// TagName implements Tag.
func (*Env) TagName() string { return "!Env" }

// TagName implements Tag.
func (*File) TagName() string { return "!File" }

// TagName implements Tag.
func (*Context) TagName() string { return "!Context" }

// TagName implements Tag.
func (*Format) TagName() string { return "!Format" }

// TagName implements Tag.
func (*If) TagName() string { return "!If" }

// TagName implements Tag.
func (*Condition) TagName() string { return "!Condition" }

// TagName implements Tag.
func (*Enumerate) TagName() string { return "!Enumerate" }

// TagName implements Tag.
func (*Index) TagName() string { return "!Index" }

// TagName implements Tag.
func (*Value) TagName() string { return "!Value" }

// TagName implements Tag.
func (*AtIndex) TagName() string { return "!AtIndex" }

// TagName implements Tag.
func (*ParseJSON) TagName() string { return "!ParseJSON" }

func (*KeyOf) children() []any { return nil }
func (t *Find) children() []any {
	out := []any{t.Model}
	for _, q := range t.Query {
		out = append(out, q[0], q[1])
	}
	return out
}
func (t *Env) children() []any       { return []any{t.Name, t.Default} }
func (t *File) children() []any      { return []any{t.Path, t.Default} }
func (t *Context) children() []any   { return []any{t.Key, t.Default} }
func (t *Format) children() []any    { return append([]any{t.Format}, t.Args...) }
func (t *If) children() []any        { return []any{t.Condition, t.Then, t.Else} }
func (t *Condition) children() []any { return t.Args }
func (t *Enumerate) children() []any { return []any{t.Iterable, t.Item} }
func (*Index) children() []any       { return nil }
func (*Value) children() []any       { return nil }
func (t *AtIndex) children() []any   { return []any{t.Collection, t.Key, t.Default} }
func (*ParseJSON) children() []any   { return nil }

// Guards: every tag type implements Tag.
var (
	_ Tag = (*KeyOf)(nil)
	_ Tag = (*Find)(nil)
	_ Tag = (*Env)(nil)
	_ Tag = (*File)(nil)
	_ Tag = (*Context)(nil)
	_ Tag = (*Format)(nil)
	_ Tag = (*If)(nil)
	_ Tag = (*Condition)(nil)
	_ Tag = (*Enumerate)(nil)
	_ Tag = (*Index)(nil)
	_ Tag = (*Value)(nil)
	_ Tag = (*AtIndex)(nil)
	_ Tag = (*ParseJSON)(nil)
)

// conditionModes are !Condition's modes (EQ and NEQ since authentik 2026.3).
var conditionModes = map[string]bool{
	"AND": true, "NAND": true, "OR": true, "NOR": true,
	"XOR": true, "XNOR": true, "EQ": true, "NEQ": true,
}

// tag builds the Tag for a node carrying a custom tag. Its arguments are
// decoded at depth+1.
func (d *decoder) tag(n *yaml.Node, depth int) (Tag, error) {
	p := Pos{n.Line, n.Column}
	name := n.Tag
	switch name {
	case "!KeyOf":
		s, err := d.scalarArg(n, name)
		if err != nil {
			return nil, err
		}
		return &KeyOf{Pos: p, ID: s}, nil
	case "!ParseJSON":
		s, err := d.scalarArg(n, name)
		if err != nil {
			return nil, err
		}
		return &ParseJSON{Pos: p, JSON: s}, nil
	case "!Index", "!Value":
		s, err := d.scalarArg(n, name)
		if err != nil {
			return nil, err
		}
		depth, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || depth < 0 {
			return nil, d.errorf(n, "%s takes a depth, a whole number >= 0, not %q", name, s)
		}
		if name == "!Index" {
			return &Index{Pos: p, Depth: depth}, nil
		}
		return &Value{Pos: p, Depth: depth}, nil
	case "!Env", "!File", "!Context":
		var key, def any
		switch n.Kind {
		case yaml.ScalarNode:
			key = n.Value
		case yaml.SequenceNode:
			args, err := d.args(n, depth, name, 1, 2)
			if err != nil {
				return nil, err
			}
			key = args[0]
			if len(args) == 2 {
				def = args[1]
			}
		default:
			return nil, d.errorf(n, "%s takes a scalar or a sequence [name, default]", name)
		}
		switch name {
		case "!Env":
			return &Env{Pos: p, Name: key, Default: def}, nil
		case "!File":
			return &File{Pos: p, Path: key, Default: def}, nil
		}
		return &Context{Pos: p, Key: key, Default: def}, nil
	case "!Find", "!FindObject":
		if n.Kind != yaml.SequenceNode {
			return nil, d.errorf(n, "%s takes a sequence [model, [field, value], ...]", name)
		}
		args, err := d.args(n, depth, name, 1, -1)
		if err != nil {
			return nil, err
		}
		t := &Find{Pos: p, Object: name == "!FindObject", Model: args[0]}
		for i, a := range args[1:] {
			pair, ok := a.([]any)
			if !ok || len(pair) != 2 {
				return nil, d.errorf(d.item(n, i+1), "%s: query %d must be a pair [field, value]", name, i+1)
			}
			t.Query = append(t.Query, [2]any{pair[0], pair[1]})
		}
		return t, nil
	case "!Format":
		args, err := d.args(n, depth, name, 1, -1)
		if err != nil {
			return nil, err
		}
		return &Format{Pos: p, Format: args[0], Args: args[1:]}, nil
	case "!If":
		args, err := d.args(n, depth, name, 1, 3)
		if err != nil {
			return nil, err
		}
		switch len(args) {
		case 1:
			return &If{Pos: p, Condition: args[0], Then: true, Else: false}, nil
		case 3:
			return &If{Pos: p, Condition: args[0], Then: args[1], Else: args[2]}, nil
		}
		return nil, d.errorf(n, "!If takes [condition] or [condition, when_true, when_false], not %d arguments", len(args))
	case "!Condition":
		args, err := d.args(n, depth, name, 2, -1)
		if err != nil {
			return nil, err
		}
		mode, ok := args[0].(string)
		if !ok || !conditionModes[strings.ToUpper(mode)] {
			return nil, d.errorf(d.item(n, 0), "!Condition: mode must be one of AND, NAND, OR, NOR, XOR, XNOR, EQ, NEQ")
		}
		return &Condition{Pos: p, Mode: strings.ToUpper(mode), Args: args[1:]}, nil
	case "!Enumerate":
		args, err := d.args(n, depth, name, 3, 3)
		if err != nil {
			return nil, err
		}
		out, ok := args[1].(string)
		if out = strings.ToUpper(out); !ok || (out != "SEQ" && out != "MAP") {
			return nil, d.errorf(d.item(n, 1), "!Enumerate: output must be SEQ or MAP")
		}
		switch it := args[0].(type) {
		case *Index:
			if it.Depth == 0 {
				return nil, d.errorf(d.item(n, 0), "!Enumerate: its iterable cannot be !Index 0, which refers to the !Enumerate itself (use depth 1 or more)")
			}
		case *Value:
			if it.Depth == 0 {
				return nil, d.errorf(d.item(n, 0), "!Enumerate: its iterable cannot be !Value 0, which refers to the !Enumerate itself (use depth 1 or more)")
			}
		}
		return &Enumerate{Pos: p, Iterable: args[0], Output: out, Item: args[2]}, nil
	case "!AtIndex":
		args, err := d.args(n, depth, name, 2, 3)
		if err != nil {
			return nil, err
		}
		t := &AtIndex{Pos: p, Collection: args[0], Key: args[1]}
		if len(args) == 3 {
			t.Default, t.HasDefault = args[2], true
		}
		return t, nil
	}
	return nil, d.errorf(n, "unknown tag %s", name)
}

// scalarArg is the text of a tag that takes a scalar.
func (d *decoder) scalarArg(n *yaml.Node, name string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", d.errorf(n, "%s takes a scalar", name)
	}
	return n.Value, nil
}

// args decodes the items of a tag that takes a sequence, checking their
// number (max < 0: no maximum).
func (d *decoder) args(n *yaml.Node, depth int, name string, minArgs, maxArgs int) ([]any, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, d.errorf(n, "%s takes a sequence", name)
	}
	if len(n.Content) < minArgs || (maxArgs >= 0 && len(n.Content) > maxArgs) {
		want := fmt.Sprintf("%d to %d", minArgs, maxArgs)
		switch {
		case maxArgs < 0:
			want = fmt.Sprintf("at least %d", minArgs)
		case minArgs == maxArgs:
			want = strconv.Itoa(minArgs)
		}
		return nil, d.errorf(n, "%s takes %s arguments, got %d", name, want, len(n.Content))
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
}

// item is the i-th item of a sequence node, or the node itself, for error
// positions.
func (d *decoder) item(n *yaml.Node, i int) *yaml.Node {
	if i < len(n.Content) {
		return n.Content[i]
	}
	return n
}
