package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewBlueprint   = "authentik_blueprints.view_blueprintinstance"
	permAddBlueprint    = "authentik_blueprints.add_blueprintinstance"
	permChangeBlueprint = "authentik_blueprints.change_blueprintinstance"
	permDeleteBlueprint = "authentik_blueprints.delete_blueprintinstance"
)

// BlueprintInstance is authentik's BlueprintInstanceSerializer. status,
// last_applied, last_applied_hash, managed_models and metadata are read-only.
type BlueprintInstance struct {
	PK              uuid.UUID      `json:"pk"`
	Name            string         `json:"name"`
	Path            string         `json:"path" doc:"The blueprint file, relative to the blueprints dir; empty for content"`
	Context         map[string]any `json:"context"`
	LastApplied     *time.Time     `json:"last_applied" nullable:"true" doc:"When it was last applied successfully"`
	LastAppliedHash string         `json:"last_applied_hash"`
	Status          string         `json:"status" enum:"successful,warning,error,orphaned,unknown"`
	Enabled         bool           `json:"enabled"`
	ManagedModels   []string       `json:"managed_models"`
	Metadata        map[string]any `json:"metadata"`
	Content         string         `json:"content" doc:"A blueprint kept in the database; empty for a file"`
}

// BlueprintInstanceRequest creates or replaces an instance: path or
// content, not both.
type BlueprintInstanceRequest struct {
	Name    string          `json:"name" minLength:"1" maxLength:"250"`
	Path    string          `json:"path,omitempty" maxLength:"1000"`
	Context *map[string]any `json:"context,omitempty"`
	Enabled *bool           `json:"enabled,omitempty"`
	Content string          `json:"content,omitempty"`
}

// PatchedBlueprintInstanceRequest updates an instance partially.
type PatchedBlueprintInstanceRequest struct {
	Name    *string         `json:"name,omitempty" minLength:"1" maxLength:"250"`
	Path    *string         `json:"path,omitempty" maxLength:"1000"`
	Context *map[string]any `json:"context,omitempty"`
	Enabled *bool           `json:"enabled,omitempty"`
	Content *string         `json:"content,omitempty"`
}

// BlueprintFile is a file of the blueprints dir (authentik's BlueprintFile).
type BlueprintFile struct {
	Path  string             `json:"path"`
	LastM time.Time          `json:"last_m"`
	Hash  string             `json:"hash"`
	Meta  *BlueprintMetadata `json:"meta,omitempty"`
}

// BlueprintMetadata is a blueprint's metadata block.
type BlueprintMetadata struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels"`
}

// BlueprintIDInput is the instance_uuid path parameter.
type BlueprintIDInput struct {
	ID uuid.UUID `path:"instance_uuid" doc:"A UUID string identifying this Blueprint Instance."`
}

type blueprintListInput struct {
	ListParams
	Name string `query:"name" maxLength:"250"`
	Path string `query:"path" maxLength:"1000"`
}

type blueprintOutput struct{ Body *BlueprintInstance }

type blueprintFilesOutput struct{ Body []BlueprintFile }

func (a *API) registerBlueprints() {
	const tag = "managed"
	base := "/managed/blueprints/"
	item := base + "{instance_uuid}/"
	huma.Register(a.huma, op(http.MethodGet, base, "managed_blueprints_list", tag, "List blueprint instances", 200), a.listBlueprints)
	huma.Register(a.huma, op(http.MethodPost, base, "managed_blueprints_create", tag, "Create a blueprint instance", 201), a.createBlueprint)
	huma.Register(a.huma, op(http.MethodGet, base+"available/", "managed_blueprints_available_list", tag,
		"List the blueprint files of the blueprints dir", 200), a.availableBlueprints)
	huma.Register(a.huma, op(http.MethodGet, item, "managed_blueprints_retrieve", tag, "Get a blueprint instance", 200, 404), a.getBlueprint)
	huma.Register(a.huma, op(http.MethodPut, item, "managed_blueprints_update", tag, "Replace a blueprint instance", 200, 404), a.replaceBlueprint)
	huma.Register(a.huma, op(http.MethodPatch, item, "managed_blueprints_partial_update", tag, "Update a blueprint instance", 200, 404), a.patchBlueprint)
	huma.Register(a.huma, op(http.MethodDelete, item, "managed_blueprints_destroy", tag,
		"Delete a blueprint instance (its objects stay)", 204, 404), a.deleteBlueprint)
	imp := op(http.MethodPost, base+"import/", "managed_blueprints_import_create", tag,
		"Apply an uploaded blueprint (multipart field file), atomically, without keeping an instance", 200, 400)
	imp.RequestBody = uploadBody("The blueprint (YAML)", "Unused (authentik's flow import field)", true)
	imp.SkipValidateBody = true // readUpload checks it (upload.go)
	huma.Register(a.huma, imp, a.importBlueprint)
	huma.Register(a.huma, op(http.MethodPost, item+"apply/", "managed_blueprints_apply_create", tag,
		"Apply a blueprint instance now; the answer has its new status", 200, 404), a.applyBlueprint)
}

func blueprintOut(b *store.BlueprintInstance) *BlueprintInstance {
	o := &BlueprintInstance{PK: b.UUID, Name: b.Name, Path: b.Path, Context: b.Context, LastApplied: b.LastApplied,
		LastAppliedHash: b.LastAppliedHash, Status: string(b.Status), Enabled: b.Enabled, ManagedModels: b.ManagedModels,
		Metadata: b.Metadata, Content: b.Content}
	if o.Context == nil {
		o.Context = map[string]any{}
	}
	if o.Metadata == nil {
		o.Metadata = map[string]any{}
	}
	if o.ManagedModels == nil {
		o.ManagedModels = []string{}
	}
	return o
}

func blueprintRef(b *store.BlueprintInstance) modelRef {
	return modelRef{"authentik_blueprints", "blueprintinstance", b.UUID.String(), b.Name}
}

func (a *API) listBlueprints(ctx context.Context, in *blueprintListInput) (*listOf[*BlueprintInstance], error) {
	only, err := a.visible(ctx, permViewBlueprint)
	if err != nil {
		return nil, err
	}
	bs, total, err := a.Store.ListBlueprintInstances(ctx, store.BlueprintInstanceFilter{Name: in.Name, Path: in.Path,
		ListOptions: in.options(only)})
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[*BlueprintInstance]{}
	out.Body.Results = make([]*BlueprintInstance, 0, len(bs))
	for _, b := range bs {
		out.Body.Results = append(out.Body.Results, blueprintOut(b))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, total, len(bs)), Autocomplete{}
	return out, nil
}

// checkBlueprint validates an instance before it is written, as
// authentik's serializer: path a file below the blueprints dir, or content
// a blueprint that applies (checked in a dry run with the instance's
// context), not both and not neither.
func (a *API) checkBlueprint(ctx context.Context, b *store.BlueprintInstance) error {
	if strings.TrimSpace(b.Name) == "" {
		return fieldError("name", "This field may not be blank.")
	}
	switch {
	case b.Path == "" && b.Content == "":
		return fieldError("non_field_errors", "Either path or content must be set.")
	case b.Path != "" && b.Content != "":
		return fieldError("non_field_errors", "Set either path or content, not both.")
	case b.Path != "":
		clean, err := a.blueprints.CheckPath(b.Path)
		if err != nil {
			return fieldError("path", "Blueprint file does not exist: "+err.Error())
		}
		b.Path = clean
		return nil
	}
	if _, err := a.blueprints.Validate(ctx, []byte(b.Content), b.Context); err != nil {
		var be *blueprint.Error
		if !errors.As(err, &be) && !isBlueprintError(err) {
			a.Log.Error("api: validating a blueprint", "error", err)
			return detailError(http.StatusInternalServerError, "Internal error.")
		}
		msgs := []string{"Failed to validate blueprint"}
		for _, line := range strings.Split(err.Error(), "\n") {
			msgs = append(msgs, "- "+line)
		}
		return &apiError{status: http.StatusBadRequest, body: map[string]any{"content": msgs}}
	}
	return nil
}

// isBlueprintError tells errors a blueprint causes (a joined list of entry
// errors) from the store's own failures.
func isBlueprintError(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			var be *blueprint.Error
			if !errors.As(e, &be) {
				return false
			}
		}
		return true
	}
	return false
}

// blueprintChanged tells the worker (in this process) to look at the
// instances again: an enabled database instance is applied soon.
func (a *API) blueprintChanged(b *store.BlueprintInstance) {
	if b.Enabled && a.blueprints.OnChange != nil {
		a.blueprints.OnChange()
	}
}

func (a *API) createBlueprint(ctx context.Context, in *struct{ Body BlueprintInstanceRequest }) (*blueprintOutput, error) {
	if _, err := a.require(ctx, permAddBlueprint, ""); err != nil {
		return nil, err
	}
	r := in.Body
	b := &store.BlueprintInstance{Name: r.Name, Path: r.Path, Content: r.Content, Enabled: true, Status: store.BlueprintUnknown}
	if r.Context != nil {
		b.Context = *r.Context
	}
	if r.Enabled != nil {
		b.Enabled = *r.Enabled
	}
	if err := a.checkBlueprint(ctx, b); err != nil {
		return nil, err
	}
	if err := a.Store.CreateBlueprintInstance(ctx, b); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, blueprintRef(b), nil)
	a.blueprintChanged(b)
	return &blueprintOutput{Body: blueprintOut(b)}, nil
}

func (a *API) loadBlueprint(ctx context.Context, perm string, id uuid.UUID) (*store.BlueprintInstance, error) {
	if err := a.check(ctx, perm, permViewBlueprint, id.String()); err != nil {
		return nil, err
	}
	b, err := a.Store.BlueprintInstanceByUUID(ctx, id)
	return b, a.storeError(err)
}

func (a *API) getBlueprint(ctx context.Context, in *BlueprintIDInput) (*blueprintOutput, error) {
	b, err := a.loadBlueprint(ctx, permViewBlueprint, in.ID)
	if err != nil {
		return nil, err
	}
	return &blueprintOutput{Body: blueprintOut(b)}, nil
}

func (a *API) replaceBlueprint(ctx context.Context, in *struct {
	BlueprintIDInput
	Body BlueprintInstanceRequest
}) (*blueprintOutput, error) {
	r := in.Body
	ctxv := r.Context
	if ctxv == nil {
		ctxv = &map[string]any{}
	}
	enabled := r.Enabled
	if enabled == nil {
		t := true
		enabled = &t
	}
	return a.updateBlueprint(ctx, in.ID, PatchedBlueprintInstanceRequest{Name: &r.Name, Path: &r.Path, Context: ctxv,
		Enabled: enabled, Content: &r.Content})
}

func (a *API) patchBlueprint(ctx context.Context, in *struct {
	BlueprintIDInput
	Body PatchedBlueprintInstanceRequest
}) (*blueprintOutput, error) {
	return a.updateBlueprint(ctx, in.ID, in.Body)
}

func (a *API) updateBlueprint(ctx context.Context, id uuid.UUID, r PatchedBlueprintInstanceRequest) (*blueprintOutput, error) {
	b, err := a.loadBlueprint(ctx, permChangeBlueprint, id)
	if err != nil {
		return nil, err
	}
	before := blueprintOut(b)
	if r.Name != nil {
		b.Name = *r.Name
	}
	if r.Path != nil {
		b.Path = *r.Path
	}
	if r.Content != nil {
		b.Content = *r.Content
	}
	if r.Context != nil {
		b.Context = *r.Context
	}
	if r.Enabled != nil {
		b.Enabled = *r.Enabled
	}
	if err := a.checkBlueprint(ctx, b); err != nil {
		return nil, err
	}
	if err := a.Store.UpdateBlueprintInstance(ctx, b); err != nil {
		return nil, a.storeError(err)
	}
	after := blueprintOut(b)
	a.audit(ctx, actionModelUpdated, blueprintRef(b), map[string]any{"diff": diff(before, after)})
	a.blueprintChanged(b)
	return &blueprintOutput{Body: after}, nil
}

func (a *API) deleteBlueprint(ctx context.Context, in *BlueprintIDInput) (*noContent, error) {
	b, err := a.loadBlueprint(ctx, permDeleteBlueprint, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteBlueprintInstance(ctx, b.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, blueprintRef(b), nil)
	return &noContent{}, nil
}

// applyBlueprint applies the instance now (authentik queues it; here the
// answer already has the outcome). A blueprint that fails answers 200 with
// status error; the event configuration_error and the log say why.
// Applying changes objects, so it needs change_blueprintinstance
// (authentik asks for view only).
func (a *API) applyBlueprint(ctx context.Context, in *BlueprintIDInput) (*blueprintOutput, error) {
	b, err := a.loadBlueprint(ctx, permChangeBlueprint, in.ID)
	if err != nil {
		return nil, err
	}
	out, err := a.blueprints.Apply(ctx, b.UUID)
	if err != nil {
		return nil, a.storeError(err)
	}
	return &blueprintOutput{Body: blueprintOut(out)}, nil
}

// availableBlueprints lists the blueprint files of the blueprints dir, as
// authentik's available/ does (without pagination); files that are not
// valid blueprints are listed without meta.
func (a *API) availableBlueprints(ctx context.Context, _ *struct{}) (*blueprintFilesOutput, error) {
	if _, err := a.require(ctx, permViewBlueprint, ""); err != nil {
		return nil, err
	}
	files, err := a.blueprints.Files()
	if err != nil {
		a.Log.Error("api: listing blueprint files", "error", err)
		return nil, detailError(http.StatusInternalServerError, "Internal error.")
	}
	out := &blueprintFilesOutput{Body: make([]BlueprintFile, 0, len(files))}
	for _, f := range files {
		if f.Hash == "" {
			continue // unreadable
		}
		bf := BlueprintFile{Path: f.Path, LastM: f.LastModified, Hash: f.Hash}
		if f.Meta != nil {
			labels := f.Meta.Labels
			if labels == nil {
				labels = map[string]string{}
			}
			bf.Meta = &BlueprintMetadata{Name: f.Meta.Name, Labels: labels}
		}
		out.Body = append(out.Body, bf)
	}
	return out, nil
}

// importBlueprint is authentik's POST /managed/blueprints/import/: the
// uploaded blueprint is applied at once (all of it or nothing), answered
// with the log and success (400 with the log when it did not apply). It
// can write any model, so it takes the permission to add blueprint
// instances, which can do the same.
func (a *API) importBlueprint(ctx context.Context, in *uploadInput) (*importOutput, error) {
	if _, err := a.require(ctx, permAddBlueprint, ""); err != nil {
		return nil, err
	}
	file, _, err := readImport(in.ContentType, in.RawBody)
	if err != nil {
		return nil, err
	}
	out, now := &importOutput{}, a.Now()
	res, err := a.blueprints.ApplyContent(ctx, file)
	if !out.applied(now, res, err) {
		return nil, out.failed()
	}
	a.audit(ctx, "model_created", modelRef{"authentik_blueprints", "blueprintinstance", "", "import"},
		map[string]any{"created": res.Created, "updated": res.Updated, "unchanged": res.Unchanged, "deleted": res.Deleted})
	return out, nil
}
