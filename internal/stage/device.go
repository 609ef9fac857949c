package stage

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-idp/gatehouse/internal/flow"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// DeviceUser is the user an authenticator setup stage configures a device
// for: the plan's pending user (a login or enrollment flow), else the
// signed-in user (a stage_configuration flow run from the user settings).
// It is nil when there is neither.
func DeviceUser(ctx context.Context, r *flow.Run) (*store.User, error) {
	u, err := r.PendingUser(ctx)
	if err != nil || u != nil {
		return u, err
	}
	return r.User, nil
}

// DeviceCreated records the model_created event of a new MFA device, as
// authentik's model signals do: app and modelName are authentik's (e.g.
// "authentik_stages_authenticator_totp", "totpdevice").
func DeviceCreated(ctx context.Context, r *flow.Run, user *store.User, app, modelName string, d *store.AuthenticatorDevice) {
	if r.Executor.Events == nil {
		return
	}
	r.Executor.Events.Record(ctx, r.Request, "model_created", user, map[string]any{
		"model": map[string]any{"app": app, "model_name": modelName, "pk": d.PK, "name": d.Name},
	})
}

// Code reads a response's code field: a JSON string, or a JSON number as
// typed (authentik's CharField takes both); anything else reads as "",
// which code parsers refuse with "Please enter a code.".
func Code(resp flow.Response) string {
	if s := resp.String("code"); s != "" {
		return s
	}
	var n json.Number
	if json.Unmarshal(resp["code"], &n) == nil {
		return n.String()
	}
	return ""
}
