package notify

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/gatehouse-idp/gatehouse/internal/expr"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// mappingTimeout bounds one run of a webhook body mapping.
const mappingTimeout = 2 * time.Second

// mappingVars are the names a webhook mapping sees besides request and
// context (authentik's NotificationWebhookMapping: notification).
var mappingVars = []string{"notification"}

// CompileMapping compiles a webhook body mapping's expression the way the
// transport runs it (for validation when a mapping is saved).
func CompileMapping(src string) (*expr.Program, error) {
	return expr.CompileOptions("webhook mapping", src, expr.Options{Vars: mappingVars})
}

var programs struct {
	mu sync.Mutex
	m  map[[32]byte]*expr.Program
}

func program(src string) (*expr.Program, error) {
	key := sha256.Sum256([]byte(src))
	programs.mu.Lock()
	p := programs.m[key]
	programs.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := CompileMapping(src)
	if err != nil {
		return nil, err
	}
	programs.mu.Lock()
	if programs.m == nil || len(programs.m) > 256 {
		programs.m = map[[32]byte]*expr.Program{}
	}
	programs.m[key] = p
	programs.mu.Unlock()
	return p, nil
}

// runMapping runs m with notification (body, severity, created, user,
// event; also request.context["notification"], as authentik has it) and
// returns the value it returned: the webhook's JSON body or headers. A
// mapping that fails is final: retrying runs the same code on the same input.
func runMapping(ctx context.Context, m *store.PropertyMapping, n *store.Notification, u *store.User, ev *store.Event, log *slog.Logger) (any, error) {
	prog, err := program(m.Expression)
	if err != nil {
		return nil, fmt.Errorf("webhook mapping %s: %v: %w", m.Name, err, errFinal)
	}
	note, err := notificationValue(n, u, ev)
	if err != nil {
		return nil, fmt.Errorf("webhook mapping %s: %v: %w", m.Name, err, errFinal)
	}
	ctx, cancel := context.WithTimeout(ctx, mappingTimeout)
	defer cancel()
	// authentik's mappings read request.context["notification"].
	res, err := prog.Run(ctx, expr.Env{Request: expr.Request{Context: map[string]any{"notification": note}}, Logger: log,
		Vars: map[string]any{"notification": note}})
	if err != nil {
		return nil, fmt.Errorf("webhook mapping %s: %v: %w", m.Name, err, errFinal)
	}
	return res.Value, nil
}

// notificationValue is the notification as a mapping sees it:
// notification.body, .severity, .created, .user.username (.email, .name,
// .pk), .event.action (.app, .client_ip, .context, .user, .created, .pk).
func notificationValue(n *store.Notification, u *store.User, ev *store.Event) (starlark.Value, error) {
	user := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"pk": starlark.MakeInt64(u.PK), "username": starlark.String(u.Username),
		"email": starlark.String(u.Email), "name": starlark.String(u.Name)})
	fields := starlark.StringDict{"body": starlark.String(n.Body), "severity": starlark.String(n.Severity),
		"created": starlark.String(n.Created.UTC().Format(time.RFC3339Nano)), "user": user, "event": starlark.None}
	if ev != nil {
		evctx, err := expr.ToStarlark(map[string]any(ev.Context))
		if err != nil {
			return nil, err
		}
		evuser, err := expr.ToStarlark(map[string]any(ev.User))
		if err != nil {
			return nil, err
		}
		ip := starlark.Value(starlark.None)
		if ev.ClientIP != nil {
			ip = starlark.String(*ev.ClientIP)
		}
		fields["event"] = starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"pk": starlark.String(ev.UUID.String()), "action": starlark.String(ev.Action), "app": starlark.String(ev.App),
			"client_ip": ip, "context": evctx, "user": evuser,
			"created": starlark.String(ev.Created.UTC().Format(time.RFC3339Nano))})
	}
	v := starlarkstruct.FromStringDict(starlarkstruct.Default, fields)
	v.Freeze()
	return v, nil
}
