package blueprint

import (
	"errors"
	"fmt"
	"strings"
)

// metaApplyBlueprint is authentik's authentik_blueprints.metaapplyblueprint:
// not an object but an action. Its attrs name another blueprint instance
// (identifiers: {name, path}, matched together) and whether it must exist
// (required, true by default); that instance's blueprint is applied in the
// transaction of the blueprint that has the entry, so both apply or
// neither does (authentik applies it as a separate task). An instance that
// is missing fails the blueprint when required, and is skipped otherwise.
// authentik's own shipped blueprints (default/..., system/...) are not
// instances in Gatehouse, which applies its equivalents at start: naming
// one is a warning, not an error.
type metaApplyBlueprint struct{}

var _ model = metaApplyBlueprint{}

func (metaApplyBlueprint) Name() string      { return ModelMetaApplyBlueprint }
func (metaApplyBlueprint) permModel() string { return "" }
func (metaApplyBlueprint) bulk(bool)         {}

func (metaApplyBlueprint) field(name string) (known, ignored bool) {
	switch name {
	case "identifiers", "required", "name", "path":
		return true, false
	}
	return false, false
}

func (metaApplyBlueprint) find(*env, []Filter) (any, map[string]any, error) {
	return nil, nil, errors.New(ModelMetaApplyBlueprint + " is an action, not an object that can be found")
}

func (metaApplyBlueprint) export(*env) ([]exported, error) { return nil, nil }

func (metaApplyBlueprint) apply(e *env, _ State, ids, attrs map[string]any) (Action, any, error) {
	target := ids // authentik's files put them in attrs; an entry's own identifiers work too
	if v, ok := attrs["identifiers"]; ok {
		m, err := asMap(v)
		if err != nil {
			return "", nil, &fieldError{"identifiers", err}
		}
		target = m
	}
	var name, path string
	for k, v := range target {
		s, err := asString(v)
		if err != nil {
			return "", nil, &fieldError{"identifiers", fmt.Errorf("%s: %w", k, err)}
		}
		switch k {
		case "name":
			name = s
		case "path":
			path = s
		default:
			return "", nil, &fieldError{"identifiers", fmt.Errorf("a blueprint instance is found by name and path, not by %s", k)}
		}
	}
	if name == "" && path == "" {
		return "", nil, &fieldError{"identifiers", errors.New("name or path of the blueprint instance to apply is required")}
	}
	required := true
	if v, ok := attrs["required"]; ok && v != nil {
		b, err := asBool(v)
		if err != nil {
			return "", nil, &fieldError{"required", err}
		}
		required = b
	}
	label := describeInstance(name, path)
	if e.opts.Instances != nil {
		found, changed, err := e.opts.Instances.applyMeta(e.ctx, e.st, name, path, e.opts.chain)
		if err != nil {
			return "", nil, err
		}
		if found != nil {
			if changed {
				return ActionUpdated, found.String(), nil
			}
			return ActionUnchanged, found.String(), nil
		}
	}
	if shippedByAuthentik(name, path) {
		e.warn("identifiers", "%s is one of authentik's shipped blueprints; Gatehouse applies its own defaults at start instead", label)
		return ActionSkipped, nil, nil
	}
	if required {
		return "", nil, &fieldError{"identifiers", fmt.Errorf("required blueprint %s does not exist", label)}
	}
	return ActionSkipped, nil, nil
}

func describeInstance(name, path string) string {
	switch {
	case name != "" && path != "":
		return fmt.Sprintf("%q (%s)", name, path)
	case name != "":
		return fmt.Sprintf("%q", name)
	}
	return path
}

// shippedByAuthentik tells the blueprints authentik ships in its image
// (blueprints/default, blueprints/system) by their paths and names.
func shippedByAuthentik(name, path string) bool {
	return strings.HasPrefix(path, "default/") || strings.HasPrefix(path, "system/") ||
		strings.HasPrefix(name, "Default - ") || strings.HasPrefix(name, "System - ")
}
