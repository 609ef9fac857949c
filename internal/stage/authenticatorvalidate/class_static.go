package authenticatorvalidate

import (
	"context"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// staticClass validates recovery codes: each one is accepted once.
type staticClass struct{}

var _ Class = staticClass{}

func init() { register(store.DeviceStatic, staticClass{}) }

// Challenge is empty: the user reads a code from their list.
func (staticClass) Challenge(context.Context, *flow.Run, *store.User, []*store.AuthenticatorDevice, *Settings) (map[string]any, error) {
	return map[string]any{}, nil
}

// Validate uses up the response's code on the static device that holds it
// (mfa.VerifyStatic).
func (staticClass) Validate(ctx context.Context, r *flow.Run, _ *store.User, devices []*store.AuthenticatorDevice, resp flow.Response, _ *Settings) (*store.AuthenticatorDevice, error) {
	d, err := mfa.VerifyStatic(ctx, r.Store(), devices, stage.Code(resp), r.Now())
	return d, codeError(err)
}
