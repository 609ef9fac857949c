package blueprint

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Importer errors, for errors.Is.
var (
	// ErrUnknownModel: an entry names a model that is neither one
	// Gatehouse holds nor one of authentik's it knows of (a typo).
	ErrUnknownModel = errors.New("unknown model")
	// ErrUnknownField: identifiers or attrs name a field the model does
	// not have.
	ErrUnknownField = errors.New("unknown field")
)

// errRollback ends a dry run's transaction without committing it.
var errRollback = errors.New("blueprint: dry run")

// Options configure Apply.
type Options struct {
	// DryRun validates and plans: every entry is applied in a transaction
	// that is then rolled back, so the Result says what would change and
	// nothing is written.
	DryRun bool
	// Context is the instance's context, merged over the blueprint's.
	Context map[string]any
	// LookupEnv, EnvPolicy and FileRoot are the Resolver's (!Env, !File).
	LookupEnv func(string) (string, bool)
	EnvPolicy EnvPolicy
	FileRoot  string
	// KeySealer seals the private keys of certificate-key pairs (the
	// sealer of the "certificate-private-key" purpose); without it an
	// entry with key_data fails.
	KeySealer *crypto.Sealer
	// TokenSealer seals the keys of API tokens (the "token-key" purpose),
	// so that view_key can show them; without it a token's key is kept
	// only as its hash.
	TokenSealer *crypto.Sealer
	// Instances resolves authentik_blueprints.metaapplyblueprint entries:
	// the blueprint instances they name are applied in the same
	// transaction. Without it no instance exists (a required one fails).
	Instances *Instances
	// Limits bound resolution; zero fields take the defaults.
	Limits Limits
	// Now is the clock (password change dates); time.Now when nil.
	Now func() time.Time

	// chain are the instances being applied, outermost first, through
	// metaapplyblueprint entries (a cycle is refused).
	chain []uuid.UUID
}

// Result says what Apply did (or, in a dry run, would do).
type Result struct {
	DryRun bool
	// Entries are in the order they were applied.
	Entries  []EntryResult
	Warnings []Warning
	// Counts by action.
	Created, Updated, Unchanged, Deleted, Skipped, Inlined int
}

// Changed reports whether applying wrote anything.
func (r Result) Changed() bool { return r.Created+r.Updated+r.Deleted > 0 }

// EntryResult is what became of one entry.
type EntryResult struct {
	Index  int
	Model  string
	ID     string
	Action Action
	// PK is the object's primary key (a UUID string or an int); nil when
	// there is no object (deleted, absent, skipped).
	PK any
	// Identifiers are the entry's resolved identifiers.
	Identifiers map[string]any
	// Reason says why an entry was skipped.
	Reason string
}

// Warning is something applied differently from authentik, or not at all,
// without failing the blueprint.
type Warning struct {
	// Entry is the entry's index, or -1 for the blueprint.
	Entry   int
	Model   string
	Field   string
	Message string
}

func (w Warning) String() string {
	var b strings.Builder
	if w.Entry >= 0 {
		fmt.Fprintf(&b, "entry %d", w.Entry)
		if w.Model != "" {
			fmt.Fprintf(&b, " (%s)", w.Model)
		}
		b.WriteString(": ")
	}
	if w.Field != "" {
		b.WriteString(w.Field + ": ")
	}
	b.WriteString(w.Message)
	return b.String()
}

// Apply imports a parsed blueprint into st, atomically: every entry is
// checked first (models and field names), then all are applied in one
// transaction in Order's order, or none is. Entries find their object by
// their identifiers and bring it to their state: present creates it or
// updates the fields attrs and identifiers give, created only creates it,
// must_created fails when it exists, absent deletes it. An object whose
// fields already have the given values is not written, so applying a
// blueprint twice changes nothing the second time.
//
// Entries of authentik models Gatehouse does not have yet are skipped and
// reported in Result.Warnings, and so are the entries that need them
// (through !KeyOf); a model nobody knows, an unknown field, or any entry
// that fails fails the whole blueprint and nothing is written.
func Apply(ctx context.Context, st store.Store, bp *Blueprint, opts Options) (Result, error) {
	imp := newImporter(bp, &opts)
	if err := imp.validate(); err != nil {
		return imp.res, err
	}
	order, err := Order(bp)
	if err != nil {
		return imp.res, err
	}
	checked := imp.res.Warnings
	err = st.InTx(ctx, func(tx store.Store) error {
		imp.start(ctx, tx, checked)
		if err := imp.run(order); err != nil {
			return err
		}
		if opts.DryRun {
			return errRollback
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	return imp.res, err
}

// importer is one application of one blueprint.
type importer struct {
	bp   *Blueprint
	reg  registry
	opts *Options
	res  Result
	// unsupported marks entries of models Gatehouse does not have.
	unsupported map[int]bool
	byID        map[string][]int

	// Per transaction attempt:
	env      *env
	resolver *Resolver
	cur      int
	done     map[int]entryState
	// prompts are the prompt entries applied, inline form by pk.
	prompts     map[string]map[string]any
	promptNames map[string]string
	// known are the objects entries made or found (knownKey): references
	// to them need no check.
	known map[knownRef]bool
}

// entryState is what an applied entry left for !KeyOf.
type entryState struct {
	pk      any
	skipped bool // its model is one Gatehouse does not have, or it needs such an entry
}

// skipError is a !KeyOf of a skipped entry: the entry is skipped too.
type skipError struct{ reason string }

func (e *skipError) Error() string { return e.reason }

func newImporter(bp *Blueprint, opts *Options) *importer {
	imp := &importer{bp: bp, reg: newRegistry(), opts: opts, res: Result{DryRun: opts.DryRun},
		unsupported: map[int]bool{}, byID: map[string][]int{}, cur: -1}
	for i, e := range bp.Entries {
		if e.ID != "" {
			imp.byID[e.ID] = append(imp.byID[e.ID], i)
		}
	}
	return imp
}

func (imp *importer) warn(field, msg string) {
	w := Warning{Entry: imp.cur, Field: field, Message: msg}
	if imp.cur >= 0 {
		w.Model = imp.bp.Entries[imp.cur].Model
	}
	imp.res.Warnings = append(imp.res.Warnings, w)
}

// validate checks every entry's model and field names, before anything is
// resolved or written, and reports all problems at once.
func (imp *importer) validate() error {
	var errs []error
	for i := range imp.bp.Entries {
		e := &imp.bp.Entries[i]
		m, ok := imp.reg[e.Model]
		if !ok {
			if slices.Contains(unsupportedModels, e.Model) {
				imp.unsupported[i] = true
				imp.cur = i
				imp.warn("model", "Gatehouse does not have "+e.Model+" yet; the entry is skipped")
				imp.cur = -1
				continue
			}
			errs = append(errs, &Error{Entry: i, Model: e.Model, Field: "model", Line: e.Line, Column: e.Column,
				Err: fmt.Errorf("%w: %s is not a model Gatehouse knows (see `gatehouse blueprint models`)", ErrUnknownModel, e.Model)})
			continue
		}
		for _, part := range []struct {
			name   string
			fields map[string]any
		}{{"identifiers", e.Identifiers}, {"attrs", e.Attrs}} {
			for _, name := range sortedKeys(part.fields) {
				if part.name == "identifiers" && name == "pk" {
					continue
				}
				if known, _ := m.field(name); !known {
					errs = append(errs, &Error{Entry: i, Model: e.Model, Field: part.name + "." + name, Line: e.Line, Column: e.Column,
						Err: fmt.Errorf("%w: %s has no field %q", ErrUnknownField, e.Model, name)})
				}
			}
		}
	}
	return errors.Join(errs...)
}

// start resets the per-transaction state (InTx may run fn again).
func (imp *importer) start(ctx context.Context, tx store.Store, warnings []Warning) {
	imp.env = &env{ctx: ctx, st: tx, opts: imp.opts, imp: imp,
		stageBindings: map[uuid.UUID][]*store.FlowStageBinding{}, policyBindings: map[uuid.UUID][]*store.PolicyBinding{}}
	imp.known = map[knownRef]bool{}
	perModel := map[string]int{}
	for _, e := range imp.bp.Entries {
		perModel[e.Model]++
	}
	for name, m := range imp.reg {
		m.bulk(perModel[name] >= bulkEntries)
	}
	imp.res = Result{DryRun: imp.opts.DryRun, Warnings: slices.Clone(warnings)}
	imp.done = map[int]entryState{}
	imp.prompts = map[string]map[string]any{}
	imp.promptNames = map[string]string{}
	imp.resolver = &Resolver{
		Context:   MergeContext(builtinContext(imp.reg), imp.bp.Context, imp.opts.Context),
		LookupEnv: imp.opts.LookupEnv, EnvPolicy: imp.opts.EnvPolicy, FileRoot: imp.opts.FileRoot,
		KeyOf: imp.keyOf, Find: imp.find, FindObject: imp.findObject, Limits: imp.opts.Limits,
	}
}

// builtinContext is what authentik puts in every blueprint's context.
func builtinContext(reg registry) map[string]any {
	rbac := map[string]any{}
	for _, m := range reg {
		if app, name, ok := strings.Cut(m.permModel(), "."); ok {
			rbac[name] = app
		}
	}
	return map[string]any{ContextEnterpriseLicensed: false, ContextRBACModels: rbac}
}

func (imp *importer) run(order []int) error {
	for _, i := range order {
		e := &imp.bp.Entries[i]
		imp.cur = i
		r := EntryResult{Index: i, Model: e.Model, ID: e.ID}
		err := imp.entry(e, &r)
		var skip *skipError
		switch {
		case errors.As(err, &skip):
			r.Action, r.Reason, r.PK = ActionSkipped, skip.reason, nil
			imp.done[i] = entryState{skipped: true}
			imp.warn("", "skipped: "+skip.reason)
		case err != nil:
			return err
		}
		imp.record(r)
	}
	imp.cur = -1
	return nil
}

func (imp *importer) record(r EntryResult) {
	switch r.Action {
	case ActionCreated:
		imp.res.Created++
	case ActionUpdated:
		imp.res.Updated++
	case ActionUnchanged:
		imp.res.Unchanged++
	case ActionDeleted:
		imp.res.Deleted++
	case ActionSkipped:
		imp.res.Skipped++
	case ActionInlined:
		imp.res.Inlined++
	}
	imp.res.Entries = append(imp.res.Entries, r)
}

// entry resolves and applies one entry.
func (imp *importer) entry(e *Entry, r *EntryResult) error {
	i := e.Index
	if imp.unsupported[i] {
		r.Action, r.Reason = ActionSkipped, "Gatehouse does not have "+e.Model+" yet"
		imp.done[i] = entryState{skipped: true}
		return nil
	}
	ok, err := imp.resolver.Conditions(e)
	if err != nil {
		return err
	}
	if !ok {
		r.Action, r.Reason = ActionSkipped, "its conditions are false"
		imp.done[i] = entryState{}
		return nil
	}
	ids, err := imp.resolver.Identifiers(e)
	if err != nil {
		return err
	}
	r.Identifiers = ids
	attrs, err := imp.resolver.Attrs(e)
	if err != nil {
		return err
	}
	perms, err := imp.resolver.Permissions(e)
	if err != nil {
		return err
	}
	state := e.State
	if state == "" {
		state = StatePresent
	}
	m := imp.reg[e.Model]
	action, pk, err := m.apply(imp.env, state, ids, attrs)
	if err != nil {
		return imp.entryError(e, err)
	}
	if pk != nil && len(perms) > 0 && state != StateAbsent {
		changed, err := imp.permissions(e, m, pk, perms)
		if err != nil {
			return &Error{Entry: i, Model: e.Model, Field: "permissions", Line: e.Line, Column: e.Column, Err: err}
		}
		if changed && action == ActionUnchanged {
			action = ActionUpdated
		}
	}
	r.Action, r.PK = action, pk
	imp.done[i] = entryState{pk: pk}
	if action == ActionDeleted {
		clear(imp.known) // what the deleted object held may have gone with it
	}
	for _, ref := range refKindsOf(e.Model) {
		if pk != nil {
			imp.known[knownKey(ref, pk)] = true
		}
	}
	return nil
}

// entryError locates an error from a model in the entry.
func (imp *importer) entryError(e *Entry, err error) error {
	var be *Error
	if errors.As(err, &be) {
		return err
	}
	out := &Error{Entry: e.Index, Model: e.Model, Line: e.Line, Column: e.Column, Err: err}
	var fe *fieldError
	if errors.As(err, &fe) {
		out.Err = fe.err
		switch {
		case fe.field == "attrs":
			out.Field = "attrs"
		case hasKey(e.Identifiers, fe.field):
			out.Field = "identifiers." + fe.field
		default:
			out.Field = "attrs." + fe.field
		}
	}
	return out
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// keyOf is the Resolver's KeyOf: the primary key of the first entry with
// the id that made an object. (authentik gives a policy binding target's
// pbm_uuid; in Gatehouse that is the object's own pk.)
func (imp *importer) keyOf(id string, _ *Entry) (any, error) {
	skipped := false
	for _, j := range imp.byID[id] {
		st, ok := imp.done[j]
		if !ok {
			continue
		}
		if st.pk != nil {
			return st.pk, nil
		}
		skipped = skipped || st.skipped
	}
	if skipped {
		return nil, &skipError{fmt.Sprintf("it needs the object of the entry with id %q, which was skipped", id)}
	}
	return nil, fmt.Errorf("no entry with id %q made an object (its conditions are false, or its state is absent)", id)
}

func (imp *importer) lookupModel(name string) (model, error) {
	if m, ok := imp.reg[name]; ok {
		return m, nil
	}
	if slices.Contains(unsupportedModels, name) {
		imp.warn("", "!Find "+name+": Gatehouse does not have this model yet; the result is null")
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownModel, name)
}

func (imp *importer) find(name string, filters []Filter) (any, error) {
	m, err := imp.lookupModel(name)
	if m == nil {
		return nil, err
	}
	pk, _, err := m.find(imp.env, filters)
	return pk, err
}

func (imp *importer) findObject(name string, filters []Filter) (map[string]any, error) {
	m, err := imp.lookupModel(name)
	if m == nil {
		return nil, err
	}
	_, obj, err := m.find(imp.env, filters)
	return obj, err
}

// permissions grants the entry's object permissions to roles. Gatehouse,
// like authentik since 2025.12, grants permissions through roles only.
func (imp *importer) permissions(e *Entry, m model, pk any, perms []ResolvedPermission) (bool, error) {
	changed := false
	for i, p := range perms {
		name := permissionFor(p.Permission, e.Model, m.permModel())
		if p.User != nil {
			imp.warn(fmt.Sprintf("permissions[%d].user", i), "Gatehouse grants permissions through roles only; this one was not granted")
		}
		if p.Role == nil {
			continue
		}
		role, err := imp.roleID(p.Role)
		if err != nil {
			return false, fmt.Errorf("[%d].role: %w", i, err)
		}
		rp := store.RolePermission{RoleUUID: role, Permission: name, ObjectPK: fmt.Sprint(pk)}
		have, err := imp.env.st.RolePermissions(imp.env.ctx, role)
		if err != nil {
			return false, err
		}
		if slices.Contains(have, rp) {
			continue
		}
		if err := imp.env.st.AssignPermission(imp.env.ctx, rp); err != nil {
			return false, fmt.Errorf("[%d]: %w", i, err)
		}
		changed = true
	}
	return changed, nil
}

// permissionFor turns authentik's codename ("view_flow", or a stage type's
// "view_identificationstage") into Gatehouse's "app_label.codename" on the
// model that guards the object.
func permissionFor(perm, entryModel, permModel string) string {
	if strings.Contains(perm, ".") || permModel == "" {
		return perm
	}
	app, name, _ := strings.Cut(permModel, ".")
	_, short, _ := strings.Cut(entryModel, ".")
	if verb, target, ok := strings.Cut(perm, "_"); ok && target == short {
		return app + "." + verb + "_" + name
	}
	return app + "." + perm
}

func (imp *importer) roleID(v any) (uuid.UUID, error) {
	if id, err := asUUID(v); err == nil {
		if _, err := imp.env.st.RoleByUUID(imp.env.ctx, id); err != nil {
			return uuid.Nil, err
		}
		return id, nil
	}
	name, err := asString(v)
	if err != nil {
		return uuid.Nil, err
	}
	rs, _, err := imp.env.st.ListRoles(imp.env.ctx, store.ListOptions{Search: name, Page: store.Page{Limit: 1000}})
	if err != nil {
		return uuid.Nil, err
	}
	for _, r := range rs {
		if r.Name == name {
			return r.UUID, nil
		}
	}
	return uuid.Nil, fmt.Errorf("no role is named %q", name)
}

// FormatIdentifiers shows resolved identifiers as key=value pairs.
func FormatIdentifiers(ids map[string]any) string {
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+fmt.Sprint(ids[k]))
	}
	return strings.Join(parts, " ")
}
