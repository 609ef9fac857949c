package blueprint

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, for errors.Is. Every error Parse, Order and the Resolver
// return is an *Error wrapping one of these, or a plain description of the
// problem (a bad field, a tag with the wrong arguments).
var (
	// ErrTooLarge: the input is longer than Limits.MaxBytes, or a !File
	// is longer than Limits.MaxFileBytes.
	ErrTooLarge = errors.New("too large")
	// ErrTooDeep: the document, a !ParseJSON value or the context nests
	// deeper than Limits.MaxDepth.
	ErrTooDeep = errors.New("nested too deeply")
	// ErrTooManyNodes: the document has more nodes than Limits.MaxNodes
	// (counting every expansion of an alias), or resolution produced more
	// values or string bytes than the Resolver's limits.
	ErrTooManyNodes = errors.New("too many nodes")
	// ErrEnvNotAllowed: an !Env tag names a variable the EnvPolicy does
	// not allow.
	ErrEnvNotAllowed = errors.New("environment variable not allowed")
	// ErrFileNotAllowed: a !File path is outside Resolver.FileRoot (an
	// absolute path elsewhere, "..", a symbolic link that leaves the root),
	// is not a regular file, or no FileRoot is configured.
	ErrFileNotAllowed = errors.New("file not allowed")
	// ErrUnknownID: a !KeyOf names an id no entry declares.
	ErrUnknownID = errors.New("unknown id")
	// ErrCycle: entries refer to each other with !KeyOf in a cycle.
	ErrCycle = errors.New("cycle")
	// ErrNoResolver: a tag needs a Resolver hook (KeyOf, Find, FindObject)
	// that is nil.
	ErrNoResolver = errors.New("no resolver")
)

// Error locates a problem in a blueprint: the entry (by index and model),
// the field inside it, and the line and column of the YAML node when known.
type Error struct {
	// Entry is the 0-based index of the entry in Blueprint.Entries, or -1
	// for a problem outside the entries (version, metadata, context, or
	// the document itself).
	Entry int
	// Model is the entry's model, when known.
	Model string
	// Field is a path inside the document or entry: "version",
	// "attrs.stage", "permissions[0].user", "identifiers.slug".
	Field string
	// Line and Column are 1-based; 0 when unknown.
	Line, Column int
	// Err is the cause; errors.Is sees through it to the sentinels above.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("blueprint: ")
	if e.Entry >= 0 {
		fmt.Fprintf(&b, "entry %d", e.Entry)
		if e.Model != "" {
			fmt.Fprintf(&b, " (%s)", e.Model)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d:%d: ", e.Line, e.Column)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// limitError reports a limit crossed: errors.Is(err, sentinel) holds and the
// message says which limit and its value.
func limitError(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}

// joinField appends a map key or a sequence index to a field path.
func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func indexField(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
