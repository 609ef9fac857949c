package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const permExportFlow = "authentik_flows.export_flow"

type flowExportOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func (a *API) registerFlowTransfer() {
	export := op(http.MethodGet, "/flows/instances/{slug}/export/", "flows_instances_export_retrieve", "flows",
		"Export a flow as a blueprint (its stages, bindings and policies)", 200, 404)
	if export.Responses == nil {
		export.Responses = map[string]*huma.Response{}
	}
	export.Responses["200"] = &huma.Response{Description: "The blueprint (YAML)",
		Content: map[string]*huma.MediaType{"application/x-yaml": {Schema: &huma.Schema{Description: "An authentik blueprint"}}}}
	huma.Register(a.huma, export, a.exportFlow)

	imp := op(http.MethodPost, "/flows/instances/import/", "flows_instances_import_create", "flows",
		"Import a flow from a blueprint file (multipart field file; clear removes the flow's stage bindings first)", 200, 400)
	imp.RequestBody = uploadBody("The blueprint (YAML)", "Delete the flow's stage bindings before importing", true)
	imp.SkipValidateBody = true // readUpload checks it (upload.go)
	huma.Register(a.huma, imp, a.importFlow)
}

// maxFlowImport bounds an uploaded blueprint.
const maxFlowImport = 4 << 20

// flowImportModels are the models a flow import may write: a flow, its
// stages, bindings and policies (authentik's flow import takes the flow
// export format). Anything else (users, groups, roles, tokens, keys) goes
// through blueprints, which need the blueprint permissions: an upload
// allowed to create flows must not create superusers.
var flowImportModels = []string{"authentik_flows.", "authentik_stages_", "authentik_policies"}

// uploadInput is an upload's raw body (read by readUpload).
type uploadInput struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte
}

type flowImportInput = uploadInput

// FlowImportLog is one line of an import's log (authentik's LogEvent).
type FlowImportLog struct {
	LogLevel   string         `json:"log_level"`
	Event      string         `json:"event"`
	Logger     string         `json:"logger"`
	Timestamp  time.Time      `json:"timestamp"`
	Attributes map[string]any `json:"attributes"`
}

// importOutput is authentik's import result (FlowImportResult,
// BlueprintImportResult): the log, and whether it applied.
type importOutput struct {
	Body struct {
		Logs    []FlowImportLog `json:"logs"`
		Success bool            `json:"success"`
	}
}

// log adds a line.
func (o *importOutput) log(now time.Time, level, event string, attrs map[string]any) {
	if attrs == nil {
		attrs = map[string]any{}
	}
	o.Body.Logs = append(o.Body.Logs, FlowImportLog{LogLevel: level, Event: event,
		Logger: "gatehouse.blueprint.importer", Timestamp: now.UTC(), Attributes: attrs})
}

// failed is the answer to an import that did not apply: 400 with the same
// body, as authentik's (the log says why).
func (o *importOutput) failed() error {
	return &apiError{status: http.StatusBadRequest, body: map[string]any{"logs": o.Body.Logs, "success": false}}
}

// applied logs what applying did: the warnings, then the error or every
// entry's action. It reports whether it applied.
func (o *importOutput) applied(now time.Time, res blueprint.Result, err error) bool {
	for _, w := range res.Warnings {
		o.log(now, "warning", w.String(), map[string]any{"model": w.Model, "field": w.Field})
	}
	if err != nil {
		o.log(now, "error", err.Error(), nil)
		return false
	}
	for _, e := range res.Entries {
		o.log(now, "info", "entry "+string(e.Action), map[string]any{"model": e.Model, "id": e.ID, "pk": e.PK})
	}
	o.Body.Success = true
	return true
}

// readImport reads an uploaded blueprint (multipart field file) and clear.
func readImport(contentType string, body []byte) ([]byte, bool, error) {
	file, clear, problem := readUpload(contentType, body, maxFlowImport, "The file is too large.")
	if problem == "" && len(file) == 0 {
		problem = "No file was sent."
	}
	if problem != "" {
		return nil, false, fieldError("file", problem)
	}
	return file, clear, nil
}

// importFlow is authentik's POST /flows/instances/import/: the file is a
// blueprint, applied atomically (all of it or nothing). The answer is 200
// with success and the log when it applied, 400 with the log when not.
func (a *API) importFlow(ctx context.Context, in *flowImportInput) (*importOutput, error) {
	if _, err := a.require(ctx, permAddFlow, ""); err != nil {
		return nil, err
	}
	file, clear, err := readImport(in.ContentType, in.RawBody)
	if err != nil {
		return nil, err
	}
	out, now := &importOutput{}, a.Now()
	bp, err := blueprint.Parse(file)
	if err != nil {
		out.log(now, "error", err.Error(), nil)
		return nil, out.failed()
	}
	for _, e := range bp.Entries {
		allowed := false
		for _, prefix := range flowImportModels {
			allowed = allowed || strings.HasPrefix(e.Model, prefix)
		}
		if !allowed {
			out.log(now, "error", fmt.Sprintf("entry %d: model %s cannot be imported with a flow; apply it as a blueprint", e.Index, e.Model),
				map[string]any{"model": e.Model})
			return nil, out.failed()
		}
	}
	opts := blueprint.Options{KeySealer: a.keySealer, Now: a.Now}
	apply := func() (blueprint.Result, error) { return blueprint.Apply(ctx, a.Store, bp, opts) }
	if clear {
		apply = func() (blueprint.Result, error) { return a.clearAndApply(ctx, bp, opts) }
	}
	res, err := apply()
	if !out.applied(now, res, err) {
		return nil, out.failed()
	}
	a.audit(ctx, "model_created", modelRef{"authentik_flows", "flow", "", flowSlugOf(bp)},
		map[string]any{"created": res.Created, "updated": res.Updated, "unchanged": res.Unchanged})
	return out, nil
}

// clearAndApply deletes the stage bindings of the flows the blueprint
// names (authentik's clear), then applies it, in one transaction.
func (a *API) clearAndApply(ctx context.Context, bp *blueprint.Blueprint, opts blueprint.Options) (blueprint.Result, error) {
	var res blueprint.Result
	err := a.Store.InTx(ctx, func(tx store.Store) error {
		for _, e := range bp.Entries {
			slug, _ := e.Identifiers["slug"].(string)
			if e.Model != "authentik_flows.flow" || slug == "" {
				continue
			}
			f, err := tx.FlowBySlug(ctx, slug)
			if errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			bindings, err := tx.FlowStageBindings(ctx, f.UUID)
			if err != nil {
				return err
			}
			for _, b := range bindings {
				if err := tx.DeleteFlowStageBinding(ctx, b.UUID); err != nil {
					return err
				}
			}
		}
		var err error
		res, err = blueprint.Apply(ctx, tx, bp, opts)
		return err
	})
	return res, err
}

// flowSlugOf names the first flow of a blueprint, for the audit event.
func flowSlugOf(bp *blueprint.Blueprint) string {
	for _, e := range bp.Entries {
		if slug, _ := e.Identifiers["slug"].(string); e.Model == "authentik_flows.flow" && slug != "" {
			return slug
		}
	}
	return ""
}

// exportFlow answers the flow as authentik does: a blueprint file.
func (a *API) exportFlow(ctx context.Context, in *FlowSlugInput) (*flowExportOutput, error) {
	f, err := a.loadFlow(ctx, permViewFlow, in.Slug)
	if err != nil {
		return nil, err
	}
	if _, err := a.require(ctx, permExportFlow, f.UUID.String()); err != nil {
		return nil, err
	}
	body, err := blueprint.Export(ctx, a.Store, blueprint.ExportOptions{Flow: f.Slug, Name: "Gatehouse export of " + f.Slug})
	if err != nil {
		return nil, a.storeError(err)
	}
	return &flowExportOutput{ContentType: "application/x-yaml", Body: body,
		ContentDisposition: `attachment; filename="` + f.Slug + `.yaml"`}, nil
}
