package adminui

import (
	"slices"
	"strconv"
)

// The flow's structure view: the same chain the API's Mermaid diagram
// (flows/instances/{slug}/diagram/) describes, drawn here as SVG so that
// the page needs no script: the flow's policy bindings, then each stage in
// order after the policy bindings of its binding, then the end. A flow
// policy that fails ends the flow (denied); a stage binding's policy that
// fails skips the stage.

// Sizes of the drawing (SVG user units).
const (
	diagramWidth = 520
	nodeWidth    = 340
	nodeHeight   = 40
	nodeGap      = 24
	nodeX        = 20
	labelMax     = 44
)

// diagramNode is one box.
type diagramNode struct {
	Class       string // start, policy, stage, end
	Label, Sub  string
	X, Y, W, H  int
	TextX       int
	TextY, SubY int
	// RightX and MidY are where the denied exit starts.
	RightX, MidY int
	// Denied draws the policy's exit, labelled Exit.
	Denied bool
	Exit   string
	// Arrow is the edge from the previous node (none for the first).
	ArrowY1, ArrowY2 int
	HasArrow         bool
}

// diagram is the whole drawing.
type diagram struct {
	Width, Height int
	Nodes         []diagramNode
	// DeniedX is where the denied exits end, DeniedLabelX their label.
	DeniedX, DeniedLabelX int
}

// shorten cuts a label to labelMax characters.
func shorten(s string) string {
	r := []rune(s)
	if len(r) <= labelMax {
		return s
	}
	return string(r[:labelMax-1]) + "…"
}

// flowDiagram lays out f with its policy bindings and stage bindings.
func flowDiagram(f *flowDetail, policies []policyBinding, bindings []stageBinding) diagram {
	d := diagram{Width: diagramWidth, DeniedX: nodeX + nodeWidth + 40, DeniedLabelX: nodeX + nodeWidth + 46}
	y := 10
	add := func(class, label, sub, exit string) {
		n := diagramNode{Class: class, Label: shorten(label), Sub: shorten(sub), X: nodeX, Y: y, W: nodeWidth, H: nodeHeight,
			TextX: nodeX + 14, Denied: exit != "", Exit: exit}
		n.TextY, n.SubY, n.RightX, n.MidY = y+17, y+32, nodeX+nodeWidth, y+nodeHeight/2
		if sub == "" {
			n.TextY = y + 25
		}
		if len(d.Nodes) > 0 {
			n.HasArrow, n.ArrowY1, n.ArrowY2 = true, y-nodeGap, y-2
		}
		d.Nodes = append(d.Nodes, n)
		y += nodeHeight + nodeGap
	}
	policyNodes := func(ps []policyBinding, exit string) {
		for _, p := range ps {
			sub := p.Kind
			if !p.Enabled {
				sub += ", disabled"
			}
			if p.Negate {
				sub += ", negated"
			}
			add("policy", p.Label, sub, exit)
		}
	}
	add("start", "Flow "+f.Slug, f.Designation, "")
	policyNodes(policies, "fails: denied")
	for _, b := range bindings {
		policyNodes(b.Policies, "fails: skipped")
		add("stage", b.StageObj.Name, b.StageObj.Type+" stage · order "+strconv.Itoa(b.Order), "")
	}
	add("end", "End of the flow", "", "")
	d.Height = y - nodeGap + 10
	if !slices.ContainsFunc(d.Nodes, func(n diagramNode) bool { return n.Denied }) {
		d.Width = nodeX*2 + nodeWidth // no denied exits to draw
	}
	return d
}
