package blueprint

import "strings"

// Blueprint is a parsed blueprint file: authentik's format, version 1.
// Values in Context and in the entries are raw: custom tags are still Tag
// values, resolved later by a Resolver.
type Blueprint struct {
	// Version is always 1; Parse refuses any other.
	Version int
	// Metadata is optional; when the file has it, Name is set.
	Metadata Metadata
	// Context is the blueprint's default context ("context:"). The
	// instance's context is merged over it (see MergeContext). Values may
	// hold tags (authentik's bootstrap blueprint puts !Env there).
	Context map[string]any
	// Entries in file order. When the file groups entries in named
	// sections ("entries: {section: [...]}"), they are flattened in the
	// order of the sections and Entry.Section names the section.
	Entries []Entry
}

// Metadata is the blueprint's "metadata:" block.
type Metadata struct {
	Name   string
	Labels map[string]string
}

// Labels with a meaning (https://docs.goauthentik.io/customize/blueprints/v1/structure).
const (
	// LabelSystem marks a blueprint shipped to keep built-in objects up to date.
	LabelSystem = "blueprints.goauthentik.io/system"
	// LabelInstantiate set to "false" lists a blueprint without applying it.
	LabelInstantiate = "blueprints.goauthentik.io/instantiate"
	// LabelDescription is shown in the admin interface.
	LabelDescription = "blueprints.goauthentik.io/description"
)

// Context keys authentik fills in for every blueprint; the importer is
// expected to provide them (see MergeContext).
const (
	// ContextEnterpriseLicensed is a bool: whether an enterprise licence is active.
	ContextEnterpriseLicensed = "goauthentik.io/enterprise/licensed"
	// ContextRBACModels maps model names to app labels for every model
	// that takes permissions (used by authentik's read-only role blueprint).
	ContextRBACModels = "goauthentik.io/rbac/models"
)

// ModelMetaApplyBlueprint is authentik's meta model that applies another
// blueprint; its entries carry their identifiers in attrs, so they need
// no "identifiers:" of their own.
const ModelMetaApplyBlueprint = "authentik_blueprints.metaapplyblueprint"

// Instantiate reports whether the blueprint should be applied automatically:
// true unless LabelInstantiate is "false".
func (bp *Blueprint) Instantiate() bool {
	return !strings.EqualFold(bp.Metadata.Labels[LabelInstantiate], "false")
}

// State is the state an entry's object is brought to.
type State string

// The four states of authentik's blueprint entries.
const (
	// StatePresent (the default) creates the object, or updates the fields
	// in attrs when it exists.
	StatePresent State = "present"
	// StateCreated creates the object when it does not exist and never
	// updates it.
	StateCreated State = "created"
	// StateMustCreated creates the object and fails when it exists.
	StateMustCreated State = "must_created"
	// StateAbsent deletes the object when it exists.
	StateAbsent State = "absent"
)

func (s State) valid() bool {
	switch s {
	case StatePresent, StateCreated, StateMustCreated, StateAbsent:
		return true
	}
	return false
}

// Entry is one object of a blueprint. Identifiers, Attrs, Conditions and the
// Permissions' fields are raw values (see the package comment); resolve them
// with a Resolver.
type Entry struct {
	// Index is the entry's position in Blueprint.Entries.
	Index int
	// Section is the name of the section the entry was listed in, when
	// the file groups entries in sections; empty otherwise.
	Section string
	// Model is "app_label.model_name", e.g. "authentik_flows.flow".
	Model string
	// State defaults to StatePresent.
	State State
	// ID names the entry for !KeyOf; empty when it has none.
	ID string
	// Identifiers find the existing object: the non-pk identifiers are
	// matched together, OR-ed with pk when both are set.
	Identifiers map[string]any
	// Attrs are set on the object (merged with Identifiers on create).
	Attrs map[string]any
	// Conditions must all be truthy for the entry to be applied.
	Conditions []any
	// Permissions are object permissions granted on the object.
	Permissions []Permission
	// Line and Column locate the entry in the file (1-based).
	Line, Column int
}

// Permission is an object permission for a user or a role (authentik 2024.8).
// Its fields are raw values.
type Permission struct {
	Permission any
	User       any
	Role       any
}

// MergeContext merges context layers, later ones over earlier ones, the way
// authentik does (deepmerge's always_merger): mappings merge key by key,
// lists are appended, anything else is replaced. authentik's order is its
// built-in context, then Blueprint.Context, then the instance's context.
// The layers are not modified.
func MergeContext(layers ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, l := range layers {
		mergeInto(out, l)
	}
	return out
}

// mergeInto merges src into dst in place: always_merger's strategies.
// Values taken from src are copied so that dst never aliases src.
func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		cur, ok := dst[k]
		if !ok {
			dst[k] = copyValue(v)
			continue
		}
		switch cv := cur.(type) {
		case map[string]any:
			if sv, ok := v.(map[string]any); ok {
				mergeInto(cv, sv)
				continue
			}
		case []any:
			if sv, ok := v.([]any); ok {
				dst[k] = append(cv, copyValue(sv).([]any)...)
				continue
			}
		}
		dst[k] = copyValue(v)
	}
}

// copyValue deep-copies the maps and slices of a value tree; tags and
// other leaves are shared (they are immutable).
func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = copyValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
}
