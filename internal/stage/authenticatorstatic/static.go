// Package authenticatorstatic is authentik's static setup stage: it shows
// the user a set of single-use recovery codes and saves them (hashed, see
// mfa.HashStaticCode) as a static device when the user confirms they wrote
// them down. Once saved, the codes are never shown again.
//
// Until then the codes live only in the plan, sealed (flow.Executor.Secrets),
// so reloading the page shows the same codes and an abandoned setup writes
// nothing.
package authenticatorstatic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "authenticator_static"
	ModelName = "authentik_stages_authenticator_static.authenticatorstaticstage"
)

// The device model, as authentik's events name it.
const (
	DeviceApp   = "authentik_stages_authenticator_static"
	DeviceModel = "staticdevice"
)

// Settings are authentik's static setup stage fields.
type Settings struct {
	TokenCount  int `json:"token_count"`
	TokenLength int `json:"token_length"`
	// FriendlyName names the device ("Static Token" when empty).
	FriendlyName string `json:"friendly_name"`
	// ConfigureFlow is the flow (UUID) the user settings offer to set a
	// device up with this stage.
	ConfigureFlow string `json:"configure_flow"`
}

// Challenge is ak-stage-authenticator-static.
type Challenge struct {
	flow.Base
	// Codes are the recovery codes, shown this once.
	Codes []string `json:"codes"`
}

// Stage implements flow.Stage.
type Stage struct{ s Settings }

var _ flow.Stage = (*Stage)(nil)

// New builds the stage.
func New(attrs store.Attributes) (flow.Stage, error) {
	s := Settings{TokenCount: mfa.DefaultTokenCount, TokenLength: mfa.DefaultTokenLength}
	if err := stage.Decode(attrs, &s); err != nil {
		return nil, err
	}
	if s.TokenCount < 1 || s.TokenCount > mfa.MaxTokenCount {
		return nil, fmt.Errorf("authenticator_static: token_count must be between 1 and %d", mfa.MaxTokenCount)
	}
	if s.TokenLength < mfa.MinTokenLength || s.TokenLength > mfa.MaxTokenLength {
		return nil, fmt.Errorf("authenticator_static: token_length must be between %d and %d", mfa.MinTokenLength, mfa.MaxTokenLength)
	}
	if len(s.FriendlyName) > 200 {
		return nil, fmt.Errorf("authenticator_static: friendly_name is longer than 200 characters")
	}
	return &Stage{s: s}, nil
}

// stateKey holds the sealed codes being set up (a JSON list).
const stateKey = "codes_sealed"

var errNoSealer = errors.New("authenticator_static: no secret sealer configured (flow.Executor.Secrets)")

// codes returns the codes being set up, making and sealing new ones into
// the stage state on the first call.
func (st *Stage) codes(r *flow.Run) ([]string, error) {
	if r.Executor.Secrets == nil {
		return nil, errNoSealer
	}
	state := r.State()
	if sealed, ok := state[stateKey].(string); ok {
		var codes []string
		if raw, err := r.Executor.Secrets.Open(sealed); err == nil && json.Unmarshal(raw, &codes) == nil && len(codes) == st.s.TokenCount {
			return codes, nil
		}
	}
	codes := mfa.NewStaticCodes(st.s.TokenCount, st.s.TokenLength)
	raw, err := json.Marshal(codes)
	if err != nil {
		return nil, err
	}
	sealed, err := r.Executor.Secrets.Seal(raw)
	if err != nil {
		return nil, err
	}
	state[stateKey] = sealed
	return codes, nil
}

// Enter shows the codes, making them on the first visit.
func (st *Stage) Enter(ctx context.Context, r *flow.Run) (flow.Step, error) {
	u, err := stage.DeviceUser(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "No user to set up a device for."}, nil
	}
	codes, err := st.codes(r)
	if err != nil {
		return flow.Step{}, err
	}
	return flow.Step{Challenge: &Challenge{Base: flow.Base{Component: "ak-stage-authenticator-static", PendingUser: u.Username},
		Codes: codes}}, nil
}

// Submit is the user's "I have saved the codes": the device is saved.
func (st *Stage) Submit(ctx context.Context, r *flow.Run, _ flow.Response) (flow.Step, error) {
	u, err := stage.DeviceUser(ctx, r)
	if err != nil {
		return flow.Step{}, err
	}
	if u == nil {
		return flow.Step{Deny: "No user to set up a device for."}, nil
	}
	codes, err := st.codes(r)
	if err != nil {
		return flow.Step{}, err
	}
	name := st.s.FriendlyName
	if name == "" {
		name = "Static Token"
	}
	d := mfa.NewStaticDevice(u.PK, name, codes)
	if err := r.Store().CreateDevice(ctx, d); err != nil {
		return flow.Step{}, fmt.Errorf("saving the static device: %w", err)
	}
	delete(r.State(), stateKey)
	stage.DeviceCreated(ctx, r, u, DeviceApp, DeviceModel, d)
	return flow.Step{Done: true}, nil
}
