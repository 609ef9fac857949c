package session

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// benchData is a session in the middle of a login: the plan of the default
// authentication flow at its password stage.
var benchData = []byte(`{"flow_plan":{"flow_uuid":"019ad1c4-5a3e-7c21-9d6e-2b1f0e8a7c55","flow_slug":"default-authentication-flow",` +
	`"stages":[{"binding_uuid":"019ad1c4-5a3f-7a10-8c1e-6f2d3b4a5c61","stage_uuid":"019ad1c4-5a3e-7f02-b8a4-1c2d3e4f5a6b",` +
	`"policy_engine_mode":"any","invalid_response_action":"retry"},{"binding_uuid":"019ad1c4-5a3f-7a11-8c1e-6f2d3b4a5c62",` +
	`"stage_uuid":"019ad1c4-5a3e-7f03-b8a4-1c2d3e4f5a6c","policy_engine_mode":"any","invalid_response_action":"retry"},` +
	`{"binding_uuid":"019ad1c4-5a3f-7a12-8c1e-6f2d3b4a5c63","stage_uuid":"019ad1c4-5a3e-7f04-b8a4-1c2d3e4f5a6d",` +
	`"reevaluate":true,"policy_engine_mode":"any","invalid_response_action":"retry"},{"binding_uuid":"019ad1c4-5a3f-7a13-8c1e-6f2d3b4a5c64",` +
	`"stage_uuid":"019ad1c4-5a3e-7f05-b8a4-1c2d3e4f5a6e","policy_engine_mode":"any","invalid_response_action":"retry"}],` +
	`"current":1,"context":{"pending_user":1,"pending_user_identifier":"akadmin","redirect":"/","query":{"next":"/"}}}}`)

type benchPlan struct {
	FlowUUID string            `json:"flow_uuid"`
	FlowSlug string            `json:"flow_slug"`
	Stages   []json.RawMessage `json:"stages"`
	Current  int               `json:"current"`
	Context  map[string]any    `json:"context"`
}

// BenchmarkData is one flow request's session work: Get the plan, Set it
// back (changed).
func BenchmarkData(b *testing.B) {
	s := newBenchSession()
	for b.Loop() {
		var p benchPlan
		if !Get(s, "flow_plan", &p) {
			b.Fatal("no plan")
		}
		p.Current ^= 1
		if err := Set(s, "flow_plan", &p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDataMap is BenchmarkData through a map, as Get and Set were.
func BenchmarkDataMap(b *testing.B) {
	s := newBenchSession()
	for b.Loop() {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(s.Data, &m)
		var p benchPlan
		if json.Unmarshal(m["flow_plan"], &p) != nil {
			b.Fatal("no plan")
		}
		p.Current ^= 1
		raw, _ := json.Marshal(&p)
		data, err := replaceMap(s.Data, "flow_plan", raw)
		if err != nil {
			b.Fatal(err)
		}
		s.Data = data
	}
}

func newBenchSession() *store.Session {
	return &store.Session{Data: append(json.RawMessage(nil), benchData...)}
}
