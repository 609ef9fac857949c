package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
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
