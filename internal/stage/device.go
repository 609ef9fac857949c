package stage

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

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

// PendingDevice loads the unconfirmed device of type typ that this run of
// a setup stage made (its PK kept in the stage state under key), or nil.
func PendingDevice(ctx context.Context, r *flow.Run, u *store.User, key, typ string) (*store.AuthenticatorDevice, error) {
	pk, ok := r.State()[key].(float64)
	if !ok {
		return nil, nil
	}
	d, err := r.Store().Device(ctx, int64(pk))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if d.UserPK != u.PK || d.Type != typ || d.Confirmed {
		return nil, nil
	}
	return d, nil
}

// DropStale deletes the user's unconfirmed devices of type typ that this
// stage made in earlier, abandoned runs, and returns the latest of their
// lastSent times: a new device keeps that throttle, so that starting the
// stage over and over does not send a code each time.
func DropStale(ctx context.Context, r *flow.Run, u *store.User, typ string, lastSent func(*store.AuthenticatorDevice) time.Time) (time.Time, error) {
	ds, _, err := r.Store().ListDevices(ctx, store.DeviceFilter{UserPK: u.PK, Type: typ, Page: store.Page{Limit: 1000}})
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, d := range ds {
		if !d.Confirmed && d.Data["stage"] == r.Stage.UUID.String() {
			if t := lastSent(d); t.After(last) {
				last = t
			}
			if err := r.Store().DeleteDevice(ctx, d.PK); err != nil && !errors.Is(err, store.ErrNotFound) {
				return time.Time{}, err
			}
		}
	}
	return last, nil
}

// Present reports whether a response field was given (null and "" are not).
func Present(resp flow.Response, key string) bool {
	raw, ok := resp[key]
	if !ok {
		return false
	}
	s := strings.TrimSpace(string(raw))
	return s != "null" && s != `""`
}
