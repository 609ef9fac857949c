package blueprint

import (
	"context"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Blueprint instances (authentik's BlueprintInstance): the blueprints a
// server applies by itself. Two sources:
//
//   - files of the blueprints dir (Instances.Dir), found by Discover:
//     every *.yaml and *.yml below it, recursively, except hidden files and
//     directories. A file gets an instance named after its metadata.name
//     (its path without one), enabled unless its label
//     blueprints.goauthentik.io/instantiate is "false". An instance whose
//     file has gone is marked orphaned; its objects stay.
//   - blueprints kept in the database (the instance's Content; the admin
//     API creates them).
//
// Discover applies every enabled instance whose InstanceHash differs from
// its last_applied_hash, or whose last application failed (it is tried
// again at every discovery, as authentik's hourly one does) or never
// happened; Apply applies one now. Each application is one transaction
// with the instance's new status (successful, warning when entries were
// skipped or fields ignored), hash, time, managed models and metadata; a
// failed one writes nothing but the status error, an event
// (configuration_error) and a log line with the cause.

// MaxMetaDepth is how deeply metaapplyblueprint entries may nest.
const MaxMetaDepth = 8

// EventApp is the app of the events blueprint applications write.
const EventApp = "gatehouse.blueprints"

// Instances applies blueprint instances. Its fields are set before use; the
// zero Dir disables the blueprints dir. One value serializes the
// applications it makes (the worker's discovery, the file watch and the
// API share it in a process); across replicas, applying is idempotent.
type Instances struct {
	Store store.Store
	// Dir is the blueprints dir; instance paths and !File are confined to it.
	Dir string
	Log *slog.Logger
	// Events records failed applications; nil: only the log has them.
	Events *event.Recorder
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// KeySealer, TokenSealer, LookupEnv, EnvPolicy and Limits are passed to
	// Apply (see Options).
	KeySealer   *crypto.Sealer
	TokenSealer *crypto.Sealer
	LookupEnv   func(string) (string, bool)
	EnvPolicy   EnvPolicy
	Limits      Limits
	// OnChange, when set, is called after the admin API created or
	// changed an enabled instance, so that the worker in this process
	// applies it soon (lifecycle triggers the discovery).
	OnChange func()

	mu sync.Mutex
}

// BlueprintFile is a file of the blueprints dir (authentik's BlueprintFile).
type BlueprintFile struct {
	// Path is relative to the blueprints dir, with forward slashes.
	Path         string
	LastModified time.Time
	// Hash is the SHA-512 of the file, hex (authentik's hash).
	Hash string
	// Meta is the blueprint's metadata; nil when it has none or the file
	// is not a valid blueprint (Err says why).
	Meta *Metadata
	Err  error

	content []byte
}

// ErrNoBlueprintsDir: an instance names a file, but no blueprints dir is
// configured.
var ErrNoBlueprintsDir = errors.New("no blueprints dir is configured (blueprints_dir)")

// InstanceHash identifies what an application of an instance applies: the
// SHA-512 (hex) of the blueprint's bytes, as authentik's
// last_applied_hash, and when the instance has a context, of the bytes,
// a NUL and the context as JSON with sorted keys, so that a changed
// context applies again too.
func InstanceHash(content []byte, instanceContext map[string]any) string {
	h := sha512.New()
	h.Write(content)
	if len(instanceContext) > 0 {
		b, err := json.Marshal(instanceContext)
		if err != nil {
			b = []byte(err.Error())
		}
		h.Write([]byte{0})
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (m *Instances) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Log
}

func (m *Instances) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

// CheckPath checks an instance's path: a relative path below the
// blueprints dir ("example/flow.yaml": no "..", not absolute), naming a
// regular .yaml or .yml file there. It returns the path cleaned, with
// forward slashes.
func (m *Instances) CheckPath(p string) (string, error) {
	if m.Dir == "" {
		return "", ErrNoBlueprintsDir
	}
	clean, err := localPath(p)
	if err != nil {
		return "", err
	}
	r, err := os.OpenRoot(m.Dir)
	if err != nil {
		return "", fmt.Errorf("the blueprints dir: %w", err)
	}
	defer r.Close()
	fi, err := r.Stat(filepath.FromSlash(clean))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s does not exist in the blueprints dir", clean)
		}
		return "", fmt.Errorf("%s: %w", clean, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", clean)
	}
	return clean, nil
}

// localPath checks the form of an instance path.
func localPath(p string) (string, error) {
	if p == "" || strings.ContainsRune(p, 0) || strings.Contains(p, `\`) {
		return "", errors.New("must be a path relative to the blueprints dir")
	}
	if strings.HasPrefix(p, "/") || !filepath.IsLocal(filepath.FromSlash(p)) {
		return "", fmt.Errorf("%s is outside the blueprints dir: give a path relative to it, without \"..\"", p)
	}
	clean := path.Clean(p)
	if ext := path.Ext(clean); ext != ".yaml" && ext != ".yml" {
		return "", fmt.Errorf("%s is not a .yaml or .yml file", clean)
	}
	return clean, nil
}

// readFile reads an instance's file through os.Root: neither ".." nor a
// symbolic link can leave the blueprints dir.
func (m *Instances) readFile(p string) ([]byte, time.Time, error) {
	if m.Dir == "" {
		return nil, time.Time{}, ErrNoBlueprintsDir
	}
	clean, err := localPath(p)
	if err != nil {
		return nil, time.Time{}, err
	}
	r, err := os.OpenRoot(m.Dir)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("the blueprints dir: %w", err)
	}
	defer r.Close()
	name := filepath.FromSlash(clean)
	fi, err := r.Stat(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, time.Time{}, fmt.Errorf("%s is not a regular file", clean)
	}
	if limit := m.Limits.withDefaults().MaxBytes; fi.Size() > int64(limit) {
		return nil, time.Time{}, limitError(ErrTooLarge, "%s has %d bytes, more than the limit of %d", clean, fi.Size(), limit)
	}
	data, err := r.ReadFile(name)
	return data, fi.ModTime(), err
}

// Files lists the blueprint files of the blueprints dir, by path. A dir
// that does not exist has none.
func (m *Instances) Files() ([]BlueprintFile, error) {
	if m.Dir == "" {
		return nil, nil
	}
	var paths []string
	err := filepath.WalkDir(m.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == m.Dir {
				return err
			}
			m.log().Warn("blueprints dir: skipping what cannot be read", "path", p, "error", err)
			return nil
		}
		if p != m.Dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if ext := filepath.Ext(d.Name()); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		rel, err := filepath.Rel(m.Dir, p)
		if err == nil {
			paths = append(paths, filepath.ToSlash(rel))
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("blueprints dir %s: %w", m.Dir, err)
	}
	slices.Sort(paths)
	out := make([]BlueprintFile, 0, len(paths))
	for _, p := range paths {
		data, mod, err := m.readFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // gone since the walk
		}
		f := BlueprintFile{Path: p, LastModified: mod.UTC(), content: data, Err: err}
		if err == nil {
			f.Hash = InstanceHash(data, nil)
			bp, perr := m.Limits.Parse(data)
			if perr != nil {
				f.Err = perr
			} else if bp.Metadata.Name != "" || len(bp.Metadata.Labels) > 0 {
				meta := bp.Metadata
				f.Meta = &meta
			}
		}
		out = append(out, f)
	}
	return out, nil
}

// MetadataAttributes is the metadata as an instance keeps it:
// {"name": ..., "labels": {...}}.
func MetadataAttributes(md Metadata) store.Attributes {
	labels := map[string]any{}
	for k, v := range md.Labels {
		labels[k] = v
	}
	return store.Attributes{"name": md.Name, "labels": labels}
}

// DiscoveryResult counts what Discover did.
type DiscoveryResult struct {
	Files, Created, Applied, Failed, Orphaned int
}

func (r DiscoveryResult) String() string {
	return fmt.Sprintf("%d files, %d instances created, %d applied, %d failed, %d orphaned",
		r.Files, r.Created, r.Applied, r.Failed, r.Orphaned)
}

// Discover is authentik's blueprints_discovery: it makes an instance for
// every file of the blueprints dir that has none, marks instances whose
// file has gone orphaned, then applies, in path order (database ones by
// name after them), every enabled instance that needs it (see Instances).
// Instances are made first, so that metaapplyblueprint entries find the
// other files' instances.
func (m *Instances) Discover(ctx context.Context) (DiscoveryResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var res DiscoveryResult
	files, err := m.Files()
	if err != nil {
		return res, err
	}
	res.Files = len(files)
	all, err := m.allInstances(ctx)
	if err != nil {
		return res, err
	}
	byPath := map[string]*store.BlueprintInstance{}
	for _, in := range all {
		if in.Path != "" {
			if _, dup := byPath[in.Path]; !dup {
				byPath[in.Path] = in
			}
		}
	}
	present := map[string]bool{}
	for i := range files {
		f := &files[i]
		present[f.Path] = true
		if byPath[f.Path] != nil {
			continue
		}
		in := &store.BlueprintInstance{Name: f.Path, Path: f.Path, Enabled: true, Status: store.BlueprintUnknown}
		if f.Meta != nil {
			if f.Meta.Name != "" {
				in.Name = f.Meta.Name
			}
			in.Enabled = (&Blueprint{Metadata: *f.Meta}).Instantiate()
			in.Metadata = MetadataAttributes(*f.Meta)
		}
		err := m.Store.CreateBlueprintInstance(ctx, in)
		if errors.Is(err, store.ErrConflict) {
			// Another replica made it, or a database instance has
			// this name and path: use what is there.
			if in, err = m.Store.BlueprintInstanceByPath(ctx, f.Path); err != nil {
				return res, err
			}
		} else if err != nil {
			return res, fmt.Errorf("blueprint instance for %s: %w", f.Path, err)
		} else {
			res.Created++
			m.log().Info("blueprint instance created for a file", "path", f.Path, "name", in.Name, "enabled", in.Enabled)
		}
		byPath[f.Path] = in
		all = append(all, in)
	}
	for _, in := range all {
		if in.Path == "" || present[in.Path] || in.Status == store.BlueprintOrphaned {
			continue
		}
		in.Status = store.BlueprintOrphaned
		if err := m.Store.UpdateBlueprintInstance(ctx, in); err != nil && !errors.Is(err, store.ErrNotFound) {
			return res, err
		}
		res.Orphaned++
		m.log().Warn("blueprint file is gone; its instance is orphaned (its objects are kept)", "path", in.Path, "name", in.Name)
	}
	contents := map[string][]byte{}
	for _, f := range files {
		if f.Err == nil {
			contents[f.Path] = f.content
		}
	}
	// Files in path order, then database instances by name.
	slices.SortStableFunc(all, func(a, b *store.BlueprintInstance) int {
		switch {
		case a.Path == "" && b.Path != "":
			return 1
		case a.Path != "" && b.Path == "":
			return -1
		case a.Path != b.Path:
			return strings.Compare(a.Path, b.Path)
		}
		return strings.Compare(a.Name, b.Name)
	})
	for _, in := range all {
		if !in.Enabled || (in.Path != "" && !present[in.Path]) {
			continue
		}
		content := []byte(in.Content)
		if in.Path != "" {
			content = contents[in.Path] // nil when unreadable or invalid: applying records why
		}
		if in.Status != store.BlueprintError && in.Status != store.BlueprintUnknown && in.Status != store.BlueprintOrphaned &&
			in.LastAppliedHash == InstanceHash(content, in.Context) {
			continue
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		out, err := m.apply(ctx, in.UUID)
		if err != nil {
			return res, err
		}
		if out.Status == store.BlueprintError {
			res.Failed++
		} else {
			res.Applied++
		}
	}
	return res, nil
}

func (m *Instances) allInstances(ctx context.Context) ([]*store.BlueprintInstance, error) {
	var out []*store.BlueprintInstance
	for page := 0; ; page++ {
		list, _, err := m.Store.ListBlueprintInstances(ctx, store.BlueprintInstanceFilter{
			ListOptions: store.ListOptions{Ordering: "path", Page: store.Page{Offset: page * 500, Limit: 500}}})
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if len(list) < 500 {
			return out, nil
		}
	}
}

// Apply applies the instance now, whether or not it changed (authentik's
// apply_blueprint), and returns it with its new status. A blueprint that
// fails is not an error: its status says error and the event and log say
// why. The error is for the store (and a disabled instance is applied
// anyway: the caller asked for it).
func (m *Instances) Apply(ctx context.Context, id uuid.UUID) (*store.BlueprintInstance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.apply(ctx, id)
}

// ApplyContent applies a blueprint given as is (an upload: authentik's
// /managed/blueprints/import/), with no instance and no context, under the
// same lock and options as the instances ("!File" is confined to the
// blueprints dir). It is atomic, as Apply is.
func (m *Instances) ApplyContent(ctx context.Context, content []byte) (Result, error) {
	bp, err := m.Limits.Parse(content)
	if err != nil {
		return Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return Apply(ctx, m.Store, bp, m.options(nil, nil))
}

// Validate checks a blueprint before it is stored in an instance: it must
// parse and apply (in a dry run, with the instance's context).
func (m *Instances) Validate(ctx context.Context, content []byte, instanceContext map[string]any) (Result, error) {
	bp, err := m.Limits.Parse(content)
	if err != nil {
		return Result{}, err
	}
	opts := m.options(instanceContext, nil)
	opts.DryRun = true
	return Apply(ctx, m.Store, bp, opts)
}

func (m *Instances) options(instanceContext map[string]any, chain []uuid.UUID) Options {
	return Options{Context: instanceContext, LookupEnv: m.LookupEnv, EnvPolicy: m.EnvPolicy, FileRoot: m.Dir,
		KeySealer: m.KeySealer, TokenSealer: m.TokenSealer, Instances: m, Limits: m.Limits, Now: m.Now, chain: chain}
}

// apply is Apply under the lock.
func (m *Instances) apply(ctx context.Context, id uuid.UUID) (*store.BlueprintInstance, error) {
	in, err := m.Store.BlueprintInstanceByUUID(ctx, id)
	if err != nil {
		return nil, err
	}
	var res Result
	applyErr := m.Store.InTx(ctx, func(tx store.Store) error {
		cur, err := tx.BlueprintInstanceByUUID(ctx, id)
		if err != nil {
			return err
		}
		res, err = m.applyIn(ctx, tx, cur, nil)
		if err != nil {
			return err
		}
		*in = *cur
		return nil
	})
	if applyErr == nil {
		if len(res.Warnings) > 0 {
			m.log().Warn("blueprint applied with warnings", "instance", in.Name, "path", in.Path,
				"warnings", warningStrings(res.Warnings))
		}
		m.log().Info("blueprint applied", "instance", in.Name, "path", in.Path, "status", string(in.Status),
			"created", res.Created, "updated", res.Updated, "unchanged", res.Unchanged, "deleted", res.Deleted, "skipped", res.Skipped)
		return in, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// Nothing was written; record the failure (unless the instance was
	// deleted meanwhile: then ErrNotFound).
	cur, err := m.Store.BlueprintInstanceByUUID(ctx, id)
	if err != nil {
		return nil, err
	}
	cur.Status = store.BlueprintError
	if md, ok := metadataOf(cur, m); ok {
		cur.Metadata = md
	}
	if err := m.Store.UpdateBlueprintInstance(ctx, cur); err != nil {
		return nil, err
	}
	m.log().Error("blueprint failed, nothing was applied", "instance", cur.Name, "path", cur.Path, "error", applyErr)
	if m.Events != nil {
		m.Events.Write(ctx, event.Event{Action: "configuration_error", App: EventApp, Context: map[string]any{
			"message":   "Blueprint " + cur.Name + " failed, nothing was applied: " + applyErr.Error(),
			"blueprint": map[string]any{"pk": cur.UUID.String(), "name": cur.Name, "path": cur.Path},
		}})
	}
	return cur, nil
}

// metadataOf reads the metadata of a failed instance's blueprint when it
// at least parses, so that the API shows it.
func metadataOf(in *store.BlueprintInstance, m *Instances) (store.Attributes, bool) {
	content, err := m.content(in)
	if err != nil {
		return nil, false
	}
	bp, err := m.Limits.Parse(content)
	if err != nil {
		return nil, false
	}
	return MetadataAttributes(bp.Metadata), true
}

func warningStrings(ws []Warning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

// content is the instance's blueprint: its file, or its Content.
func (m *Instances) content(in *store.BlueprintInstance) ([]byte, error) {
	if in.Path == "" {
		return []byte(in.Content), nil
	}
	data, _, err := m.readFile(in.Path)
	if err != nil {
		return nil, fmt.Errorf("blueprint file %s: %w", in.Path, err)
	}
	return data, nil
}

// applyIn applies in within tx and records its success there: status,
// hash, time, managed models and metadata. chain are the instances whose
// metaapplyblueprint entries led here.
func (m *Instances) applyIn(ctx context.Context, tx store.Store, in *store.BlueprintInstance, chain []uuid.UUID) (Result, error) {
	if slices.Contains(chain, in.UUID) {
		return Result{}, fmt.Errorf("blueprint %q applies itself through metaapplyblueprint entries (a cycle)", in.Name)
	}
	if len(chain) >= MaxMetaDepth {
		return Result{}, fmt.Errorf("metaapplyblueprint entries nest more than %d deep", MaxMetaDepth)
	}
	content, err := m.content(in)
	if err != nil {
		return Result{}, err
	}
	bp, err := m.Limits.Parse(content)
	if err != nil {
		return Result{}, err
	}
	res, err := Apply(ctx, tx, bp, m.options(in.Context, append(slices.Clone(chain), in.UUID)))
	if err != nil {
		return res, err
	}
	now := m.now()
	in.Status = store.BlueprintSuccessful
	if len(res.Warnings) > 0 {
		in.Status = store.BlueprintWarning
	}
	in.LastApplied, in.LastAppliedHash = &now, InstanceHash(content, in.Context)
	in.Metadata = MetadataAttributes(bp.Metadata)
	in.ManagedModels = []string{}
	for _, e := range res.Entries {
		if e.Action != ActionSkipped && !slices.Contains(in.ManagedModels, e.Model) {
			in.ManagedModels = append(in.ManagedModels, e.Model)
		}
	}
	slices.Sort(in.ManagedModels)
	return res, tx.UpdateBlueprintInstance(ctx, in)
}

// applyMeta applies the instance a metaapplyblueprint entry names (by name
// and path, matched together), in the transaction of the blueprint that
// has the entry. found is the instance's primary key, nil when there is
// none; changed says whether applying it wrote anything.
func (m *Instances) applyMeta(ctx context.Context, tx store.Store, name, filePath string, chain []uuid.UUID) (found *uuid.UUID, changed bool, err error) {
	list, _, err := tx.ListBlueprintInstances(ctx, store.BlueprintInstanceFilter{Name: name, Path: filePath,
		ListOptions: store.ListOptions{Page: store.Page{Limit: 1}}})
	if err != nil || len(list) == 0 {
		return nil, false, err
	}
	in := list[0]
	res, err := m.applyIn(ctx, tx, in, chain)
	if err != nil {
		return nil, false, fmt.Errorf("blueprint %q: %w", in.Name, err)
	}
	return &in.UUID, res.Changed(), nil
}
