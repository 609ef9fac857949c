package authenticatorvalidate

import (
	"context"
	"errors"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/mfa"
	"github.com/gatehouse-idp/gatehouse/internal/stage"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// totpClass validates TOTP devices (RFC 6238): a code of the device's
// length, within one time step of now, later than the last one accepted.
type totpClass struct{}

var _ Class = totpClass{}

func init() { register(store.DeviceTOTP, totpClass{}) }

// Challenge is empty: the user reads the code from their app.
func (totpClass) Challenge(context.Context, *flow.Run, *store.User, []*store.AuthenticatorDevice, *Settings) (map[string]any, error) {
	return map[string]any{}, nil
}

// Validate checks the response's code against every TOTP device of the
// user and records its use (mfa.VerifyTOTP).
func (totpClass) Validate(ctx context.Context, r *flow.Run, _ *store.User, devices []*store.AuthenticatorDevice, resp flow.Response, _ *Settings) (*store.AuthenticatorDevice, error) {
	if r.Executor.Secrets == nil {
		return nil, errors.New("no secret sealer configured (flow.Executor.Secrets) to open TOTP keys")
	}
	d, err := mfa.VerifyTOTP(ctx, r.Store(), r.Executor.Secrets, devices, stage.Code(resp), r.Now())
	return d, codeError(err)
}

// codeError turns mfa's failures into what the user sees.
func codeError(err error) error {
	var ce *mfa.CodeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return &UserError{Field: "code", Message: ce.Message, Code: "format"}
	case errors.Is(err, mfa.ErrReplayed):
		return &UserError{Field: "code", Message: "This code was used already; wait for the next one.", Code: "replayed"}
	case errors.Is(err, mfa.ErrWrongCode):
		return &UserError{Field: "code", Message: "Invalid code.", Code: "invalid"}
	}
	return err
}
