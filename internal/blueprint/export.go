package blueprint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// ExportOptions select what Export writes.
type ExportOptions struct {
	// Flow, when set, exports that flow (by slug): the flow, its stage
	// bindings, their stages (and the stages those refer to), the policy
	// bindings of the flow and of its stage bindings, and their policies.
	// Otherwise every object of every model Gatehouse holds is exported.
	Flow string
	// Secrets includes secret fields: OAuth2 client secrets and stage
	// secrets (captcha private_key, email password). Private keys and
	// user passwords are never exported.
	Secrets bool
	// Name is the blueprint's metadata.name.
	Name string
	// Labels are the blueprint's metadata.labels; by default
	// blueprints.goauthentik.io/instantiate is "false", so that a
	// blueprint directory does not apply an export by itself.
	Labels map[string]string
	// State, when set, is every entry's state (created, for defaults that
	// must not overwrite what an administrator changed).
	State State
}

// Export writes a blueprint of the instance's objects that re-imports into
// an empty instance and yields the same objects (with new primary keys):
// entries are identified by natural keys (slug, name, username...), refer
// to each other with !KeyOf, and to objects outside the export with !Find.
// The output is deterministic, so exporting, importing elsewhere and
// exporting again gives the same bytes.
func Export(ctx context.Context, st store.Store, opts ExportOptions) ([]byte, error) {
	ex := &exporter{e: &env{ctx: ctx, st: st, opts: &Options{}, secrets: opts.Secrets}, index: map[string]string{},
		ids: map[string]bool{}}
	reg := newRegistry()
	var objs []exported
	for _, name := range sortedKeys(reg) {
		xs, err := reg[name].export(ex.e)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", name, err)
		}
		objs = append(objs, xs...)
	}
	if opts.Flow != "" {
		var err error
		if objs, err = flowSubset(objs, opts.Flow); err != nil {
			return nil, err
		}
	}
	// Dependency rank, then model, then natural key: objects are named
	// (given ids) after what they refer to, so that ids are stable.
	sort.SliceStable(objs, func(i, j int) bool {
		ri, rj := exportRank(objs[i].model), exportRank(objs[j].model)
		if ri != rj {
			return ri < rj
		}
		return objs[i].model < objs[j].model
	})
	entries := make([]*yaml.Node, 0, len(objs))
	// Give ids in rank order, sorting each rank by its natural keys.
	for start := 0; start < len(objs); {
		end := start
		for end < len(objs) && exportRank(objs[end].model) == exportRank(objs[start].model) {
			end++
		}
		group := objs[start:end]
		keys := make([]string, len(group))
		for i := range group {
			keys[i] = group[i].model + "\x00" + ex.naturalKey(&group[i])
		}
		idx := make([]int, len(group))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
		ordered := make([]exported, len(group))
		for i, k := range idx {
			ordered[i] = group[k]
		}
		for i := range ordered {
			x := &ordered[i]
			id := ex.newID(x)
			ex.index[refKey(x.model, x.pk)] = id
			if x.model == "authentik_flows.flow" {
				if s, ok := x.values["slug"].(string); ok {
					ex.index["flowslug:"+s] = id
				}
			}
		}
		for i := range ordered {
			n, err := ex.entry(&ordered[i], opts.State)
			if err != nil {
				return nil, err
			}
			entries = append(entries, n)
		}
		start = end
	}
	name := opts.Name
	if name == "" {
		name = "Gatehouse export"
		if opts.Flow != "" {
			name += " of flow " + opts.Flow
		}
	}
	labels := opts.Labels
	if labels == nil {
		labels = map[string]string{LabelInstantiate: "false"}
	}
	var labelKV []any
	for _, k := range sortedKeys(labels) {
		labelKV = append(labelKV, k, plain(labels[k]))
	}
	doc := mapping(
		"version", plain(1),
		"metadata", mapping("name", plain(name), "labels", mapping(labelKV...)),
		"entries", &yaml.Node{Kind: yaml.SequenceNode, Content: entries},
	)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// exportRank orders models so that an entry comes after what it refers
// to (Order would sort that out on import; this keeps files readable).
func exportRank(model string) int {
	switch {
	case model == "authentik_crypto.certificatekeypair":
		return 0
	case model == "authentik_rbac.role":
		return 1
	case model == "authentik_core.group":
		return 2
	case model == "authentik_core.user":
		return 3
	case model == "authentik_flows.flow":
		return 4
	case strings.HasPrefix(model, "authentik_policies_"):
		return 5
	case strings.HasPrefix(model, "authentik_stages_"):
		return 6
	case model == "authentik_flows.flowstagebinding":
		return 7
	case model == "authentik_providers_oauth2.scopemapping":
		return 8
	case model == "authentik_providers_oauth2.oauth2provider", model == modelNotificationTransport:
		return 9
	case model == "authentik_core.application", model == modelNotificationRule:
		return 10
	case model == "authentik_policies.policybinding":
		return 11
	case model == "authentik_brands.brand":
		return 12
	}
	return 13
}

// flowSubset keeps one flow and what belongs to it.
func flowSubset(objs []exported, slug string) ([]exported, error) {
	var flowPK any
	for _, x := range objs {
		if x.model == "authentik_flows.flow" && x.values["slug"] == slug {
			flowPK = x.pk
		}
	}
	if flowPK == nil {
		return nil, fmt.Errorf("flow %q: %w", slug, store.ErrNotFound)
	}
	keep := map[string]bool{refKey("authentik_flows.flow", flowPK): true}
	targets := map[any]bool{flowPK: true}
	stages := map[any]bool{}
	for _, x := range objs {
		if x.model == "authentik_flows.flowstagebinding" && x.values["target"] == flowPK {
			keep[refKey(x.model, x.pk)] = true
			targets[x.pk] = true
			stages[x.values["stage"]] = true
		}
	}
	// Stages the flow's stages refer to (an identification stage's
	// password stage) come along.
	for changed := true; changed; {
		changed = false
		for _, x := range objs {
			if !strings.HasPrefix(x.model, "authentik_stages_") || !stages[x.pk] {
				continue
			}
			for name, ref := range x.refs {
				if ref == refStage && x.values[name] != nil && !stages[x.values[name]] {
					stages[x.values[name]] = true
					changed = true
				}
			}
		}
	}
	policies := map[any]bool{}
	for _, x := range objs {
		if x.model == "authentik_policies.policybinding" && targets[x.values["target"]] {
			keep[refKey(x.model, x.pk)] = true
			if p := x.values["policy"]; p != nil {
				policies[p] = true
			}
		}
	}
	var out []exported
	for _, x := range objs {
		switch {
		case keep[refKey(x.model, x.pk)],
			strings.HasPrefix(x.model, "authentik_stages_") && stages[x.pk],
			strings.HasPrefix(x.model, "authentik_policies_") && policies[x.pk]:
			out = append(out, x)
		}
	}
	return out, nil
}

// refKey names an object in the export index: integer keys are only
// unique per model family.
func refKey(model string, pk any) string {
	switch model {
	case "authentik_core.user":
		return "user:" + fmt.Sprint(pk)
	case "authentik_providers_oauth2.oauth2provider":
		return "provider:" + fmt.Sprint(pk)
	}
	return "uuid:" + fmt.Sprint(pk)
}

func refKeyOf(ref refKind, v any) string {
	switch ref {
	case refUser:
		return "user:" + fmt.Sprint(v)
	case refProvider:
		return "provider:" + fmt.Sprint(v)
	case refFlowSlug:
		return "flowslug:" + fmt.Sprint(v)
	}
	return "uuid:" + fmt.Sprint(v)
}

type exporter struct {
	e *env
	// index maps refKey to entry id.
	index map[string]string
	ids   map[string]bool
}

// identifiers are the entry's natural key fields.
func (ex *exporter) identifiers(x *exported) []string {
	var out []string
	for _, k := range x.key {
		if x.values[k] != nil {
			out = append(out, k)
			if x.keyAny {
				break
			}
		}
	}
	return out
}

// naturalKey is the entry's identifiers as text, with references shown as
// the ids of the entries they point at.
func (ex *exporter) naturalKey(x *exported) string {
	var parts []string
	for _, k := range ex.identifiers(x) {
		v := x.values[k]
		if ref, ok := x.refs[k]; ok {
			if id, ok := ex.index[refKeyOf(ref, v)]; ok {
				parts = append(parts, id)
				continue
			}
		}
		if n, ok := v.(int); ok {
			parts = append(parts, fmt.Sprintf("%010d", n)) // numbers sort as numbers
			continue
		}
		parts = append(parts, fmt.Sprint(v))
	}
	return strings.Join(parts, "-")
}

func (ex *exporter) newID(x *exported) string {
	_, short, _ := strings.Cut(x.model, ".")
	if strings.HasPrefix(x.model, "authentik_stages_") && x.model != promptModelName {
		short = "stage"
	} else if strings.HasPrefix(x.model, "authentik_policies_") {
		short = "policy"
	}
	var parts []string
	for _, k := range ex.identifiers(x) {
		v := x.values[k]
		if ref, ok := x.refs[k]; ok {
			if id, ok := ex.index[refKeyOf(ref, v)]; ok {
				// Drop the referenced id's own model prefix.
				if _, rest, ok := strings.Cut(id, "-"); ok {
					id = rest
				}
				parts = append(parts, id)
				continue
			}
		}
		parts = append(parts, fmt.Sprint(v))
	}
	id := strings.Join(strings.Fields(short+"-"+strings.Join(parts, "-")), "-")
	if ex.ids[id] {
		for n := 2; ; n++ {
			if c := id + "-" + strconv.Itoa(n); !ex.ids[c] {
				id = c
				break
			}
		}
	}
	ex.ids[id] = true
	return id
}

// entry is one blueprint entry.
func (ex *exporter) entry(x *exported, state State) (*yaml.Node, error) {
	idFields := ex.identifiers(x)
	var ids, attrs []any
	for _, name := range sortedKeys(x.values) {
		v, err := ex.value(x.values[name], x.refs[name])
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", x.model, name, err)
		}
		if slices.Contains(idFields, name) {
			ids = append(ids, name, v)
		} else {
			attrs = append(attrs, name, v)
		}
	}
	kv := []any{"model", plain(x.model), "id", plain(ex.index[refKey(x.model, x.pk)])}
	if state != "" && state != StatePresent {
		kv = append(kv, "state", plain(string(state)))
	}
	kv = append(kv, "identifiers", mapping(ids...))
	if len(attrs) > 0 {
		kv = append(kv, "attrs", mapping(attrs...))
	}
	return mapping(kv...), nil
}

// value is a field's value, with references as !KeyOf or !Find.
func (ex *exporter) value(v any, ref refKind) (*yaml.Node, error) {
	if ref == refNone || ref == refPrompt || v == nil {
		return plain(v), nil
	}
	if list, ok := v.([]any); ok {
		// A list of references is a set: ordered by what it refers to, so
		// that the export does not depend on primary keys.
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, x := range list {
			n, err := ex.value(x, ref)
			if err != nil {
				return nil, err
			}
			seq.Content = append(seq.Content, n)
		}
		sort.SliceStable(seq.Content, func(i, j int) bool { return nodeKey(seq.Content[i]) < nodeKey(seq.Content[j]) })
		return seq, nil
	}
	if s, ok := v.(string); ok && s == "" {
		return plain(v), nil
	}
	if id, ok := ex.index[refKeyOf(ref, v)]; ok {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!KeyOf", Value: id}, nil
	}
	model, field, key, err := ex.findKey(ref, v)
	if errors.Is(err, store.ErrNotFound) || model == "" {
		return plain(v), nil // a dangling or unnamed reference stays a primary key
	}
	if err != nil {
		return nil, err
	}
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!Find", Style: yaml.FlowStyle, Content: []*yaml.Node{
		plain(model), {Kind: yaml.SequenceNode, Style: yaml.FlowStyle, Content: []*yaml.Node{plain(field), plain(key)}},
	}}, nil
}

// findKey names an object outside the export by a natural key, for !Find.
func (ex *exporter) findKey(ref refKind, v any) (model, field string, key any, err error) {
	ctx, st := ex.e.ctx, ex.e.st
	if ref == refUser || ref == refProvider {
		n, err := asInt64(v)
		if err != nil {
			return "", "", nil, nil
		}
		if ref == refUser {
			u, err := st.UserByPK(ctx, n)
			if err != nil {
				return "", "", nil, err
			}
			return "authentik_core.user", "username", u.Username, nil
		}
		p, err := st.OAuth2ProviderByPK(ctx, n)
		if err != nil {
			return "", "", nil, err
		}
		return "authentik_providers_oauth2.oauth2provider", "name", p.Provider.Name, nil
	}
	if ref == refFlowSlug {
		return "authentik_flows.flow", "slug", v, nil
	}
	id, err := asUUID(v)
	if err != nil {
		return "", "", nil, nil
	}
	switch ref {
	case refFlow, refBindingTarget:
		f, err := st.FlowByUUID(ctx, id)
		if err == nil {
			return "authentik_flows.flow", "slug", f.Slug, nil
		}
		if ref == refFlow || !errors.Is(err, store.ErrNotFound) {
			return "", "", nil, err
		}
		a, err := applicationByUUID(ex.e, id)
		if errors.Is(err, store.ErrNotFound) {
			r, err := st.NotificationRuleByUUID(ctx, id)
			if err != nil {
				return "", "", nil, err
			}
			return modelNotificationRule, "name", r.Name, nil
		} else if err != nil {
			return "", "", nil, err
		}
		return "authentik_core.application", "slug", a.Slug, nil
	case refStage:
		s, err := st.StageByUUID(ctx, id)
		if err != nil {
			return "", "", nil, err
		}
		if t, ok := stageall.Lookup(s.Type); ok {
			return t.ModelName, "name", s.Name, nil
		}
	case refPolicy:
		p, err := st.PolicyByUUID(ctx, id)
		if err != nil {
			return "", "", nil, err
		}
		if t, ok := policyall.Lookup(policyall.Deps{}, p.Type); ok {
			return t.ModelName, "name", p.Name, nil
		}
	case refGroup:
		g, err := st.GroupByUUID(ctx, id)
		if err != nil {
			return "", "", nil, err
		}
		return "authentik_core.group", "name", g.Name, nil
	case refRole:
		r, err := st.RoleByUUID(ctx, id)
		if err != nil {
			return "", "", nil, err
		}
		return "authentik_rbac.role", "name", r.Name, nil
	case refApplication:
		a, err := applicationByUUID(ex.e, id)
		if err != nil {
			return "", "", nil, err
		}
		return "authentik_core.application", "slug", a.Slug, nil
	case refTransport:
		t, err := st.NotificationTransportByUUID(ctx, id)
		if err != nil {
			return "", "", nil, err
		}
		return modelNotificationTransport, "name", t.Name, nil
	case refKeyPair:
		k, err := st.KeyPairByUUID(ctx, id)
		if err != nil {
			return "", "", nil, err
		}
		return "authentik_crypto.certificatekeypair", "name", k.Name, nil
	case refPropertyMapping:
		m, err := st.PropertyMappingByUUID(ctx, id)
		if err != nil {
			return "", "", nil, err
		}
		if m.Type == scopeMappingType {
			if m.Managed != nil {
				return "authentik_providers_oauth2.scopemapping", "managed", *m.Managed, nil
			}
			return "authentik_providers_oauth2.scopemapping", "name", m.Name, nil
		}
	}
	return "", "", nil, nil
}

// nodeKey is a reference node as text, for sorting.
func nodeKey(n *yaml.Node) string {
	if len(n.Content) == 0 {
		return n.Tag + " " + n.Value
	}
	parts := []string{n.Tag}
	for _, c := range n.Content {
		parts = append(parts, nodeKey(c))
	}
	return strings.Join(parts, " ")
}

// plain is a YAML node of a plain value.
func plain(v any) *yaml.Node {
	if id, ok := v.(uuid.UUID); ok {
		v = id.String()
	}
	n := &yaml.Node{}
	if err := n.Encode(v); err != nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	return n
}

// mapping builds a mapping node from key, value pairs; values are nodes.
func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, plain(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}
