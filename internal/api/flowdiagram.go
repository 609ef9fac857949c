package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"
)

// FlowDiagram is authentik's flows/instances/{slug}/diagram/ answer: the
// flow as a Mermaid flowchart (policies gating the flow, then each stage in
// order with the policies of its binding).
type FlowDiagram struct {
	Diagram string `json:"diagram"`
}

func (a *API) registerFlowDiagram() {
	huma.Register(a.huma, op(http.MethodGet, "/flows/instances/{slug}/diagram/", "flows_instances_diagram_retrieve", "flows",
		"The flow as a Mermaid diagram", 200, 404), a.flowDiagram)
}

func (a *API) flowDiagram(ctx context.Context, in *FlowSlugInput) (*struct{ Body FlowDiagram }, error) {
	f, err := a.loadFlow(ctx, permViewFlow, in.Slug)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("graph TD\n")
	fmt.Fprintf(&b, "flow_start[[%s]]\n", mermaidText("Flow\n"+f.Slug))
	prev := "flow_start"
	// policies returns the node the next step hangs off: a chain of policy
	// nodes, each with a "denied" edge.
	policies := func(target uuid.UUID, prefix string) error {
		bs, err := a.Store.PolicyBindings(ctx, target)
		if err != nil {
			return err
		}
		for i, pb := range bs {
			label := "Binding"
			switch {
			case pb.PolicyUUID != nil:
				if p, err := a.Store.PolicyByUUID(ctx, *pb.PolicyUUID); err == nil {
					label = "Policy\n" + p.Name
				}
			case pb.GroupUUID != nil:
				label = "Group binding"
			case pb.UserPK != nil:
				label = "User binding"
			}
			if !pb.Enabled {
				label += "\n(disabled)"
			}
			id := fmt.Sprintf("%s_policy_%d", prefix, i)
			fmt.Fprintf(&b, "%s{%s}\n%s --> %s\n%s -->|denied| done_denied\n", id, mermaidText(label), prev, id, id)
			prev = id
		}
		return nil
	}
	if err := policies(f.UUID, "flow"); err != nil {
		return nil, a.storeError(err)
	}
	bindings, err := a.Store.FlowStageBindings(ctx, f.UUID)
	if err != nil {
		return nil, a.storeError(err)
	}
	for i, sb := range bindings {
		if err := policies(sb.UUID, fmt.Sprintf("stage_%d", i)); err != nil {
			return nil, a.storeError(err)
		}
		label := "Stage"
		if s, err := a.Store.StageByUUID(ctx, sb.StageUUID); err == nil {
			label = "Stage (" + s.Type + ")\n" + s.Name
		}
		id := fmt.Sprintf("stage_%d", i)
		fmt.Fprintf(&b, "%s[%s]\n%s --> %s\n", id, mermaidText(label), prev, id)
		prev = id
	}
	fmt.Fprintf(&b, "done[[%s]]\n%s --> done\ndone_denied[[%s]]\n", mermaidText("End of the flow"), prev, mermaidText("Access denied"))
	return &struct{ Body FlowDiagram }{Body: FlowDiagram{Diagram: b.String()}}, nil
}

// mermaidText quotes a label: Mermaid takes "..." with #quot; for quotes
// and <br> for line breaks.
func mermaidText(s string) string {
	// One pass: the <br> it writes is not escaped again.
	return `"` + strings.NewReplacer(`"`, "#quot;", "\n", "<br>", "<", "#lt;", ">", "#gt;").Replace(s) + `"`
}
