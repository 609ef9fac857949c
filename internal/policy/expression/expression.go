// Package expression is authentik's expression policy: a Python-like
// function body (run as Starlark by internal/expr) that returns whether the
// request passes, e.g. `return request.user.username == "alice"`.
package expression

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/gatehouse-idp/gatehouse/internal/expr"
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Type is the registry key; ModelName authentik's.
const (
	Type      = "expression"
	ModelName = "authentik_policies_expression.expressionpolicy"
)

// Store is what the helpers read.
type Store interface {
	UserByUsername(ctx context.Context, username string) (*store.User, error)
	UserByPK(ctx context.Context, pk int64) (*store.User, error)
	ListUsers(ctx context.Context, f store.UserFilter) ([]*store.User, int, error)
	UserGroups(ctx context.Context, userPK int64, inherited bool) ([]*store.Group, error)
	UserIsSuperuser(ctx context.Context, userPK int64) (bool, error)
	ListDevices(ctx context.Context, f store.DeviceFilter) ([]*store.AuthenticatorDevice, int, error)
}

// Evaluator runs expression policies; compiled programs are cached by source.
type Evaluator struct {
	Store Store
	Log   *slog.Logger

	mu    sync.Mutex
	cache map[[32]byte]*expr.Program
}

var _ policy.Evaluator = (*Evaluator)(nil)

func source(s store.Attributes) (string, error) {
	src, _ := s["expression"].(string)
	if strings.TrimSpace(src) == "" {
		return "", errors.New("expression is required")
	}
	return src, nil
}

// Validate compiles the expression at save time: what Starlark cannot run
// is refused then, with the line and a hint, instead of at login.
func Validate(s store.Attributes) error {
	src, err := source(s)
	if err != nil {
		return err
	}
	_, err = compile(src)
	return err
}

func compile(src string) (*expr.Program, error) {
	return expr.CompileOptions("expression", src, expr.Options{})
}

func (e *Evaluator) program(src string) (*expr.Program, error) {
	key := sha256.Sum256([]byte(src))
	e.mu.Lock()
	defer e.mu.Unlock()
	if p, ok := e.cache[key]; ok {
		return p, nil
	}
	p, err := compile(src)
	if err != nil {
		return nil, err
	}
	if e.cache == nil {
		e.cache = map[[32]byte]*expr.Program{}
	}
	e.cache[key] = p
	return p, nil
}

// planValue is context["flow_plan"]: expressions may set keys of its
// .context (authentik: context["flow_plan"].context["pending_user"] = user).
type planValue struct{ ctx *starlark.Dict }

func (v *planValue) String() string        { return "FlowPlan" }
func (v *planValue) Type() string          { return "FlowPlan" }
func (v *planValue) Freeze()               {}
func (v *planValue) Truth() starlark.Bool  { return true }
func (v *planValue) Hash() (uint32, error) { return 0, errors.New("FlowPlan is not hashable") }
func (v *planValue) AttrNames() []string   { return []string{"context"} }
func (v *planValue) Attr(name string) (starlark.Value, error) {
	if name == "context" {
		return v.ctx, nil
	}
	return nil, nil
}

// Evaluate runs the policy's expression for the request.
func (e *Evaluator) Evaluate(ctx context.Context, p *store.Policy, req policy.Request) (policy.Result, error) {
	src, err := source(p.Settings)
	if err != nil {
		return policy.Result{}, err
	}
	prog, err := e.program(src)
	if err != nil {
		return policy.Result{}, err
	}
	h := &helpers{e: e}
	user, err := h.exprUser(ctx, req.User)
	if err != nil {
		return policy.Result{}, err
	}
	plan := &planValue{ctx: starlark.NewDict(4)}
	pctx := map[string]any{}
	for k, v := range req.Context {
		pctx[k] = v
	}
	pctx["flow_plan"] = plan
	env := expr.Env{Request: expr.Request{User: user, Obj: req.Obj, Context: pctx,
		HTTP: &expr.HTTPRequest{Path: req.Path, RemoteIP: req.ClientIP}}, Helpers: h, Logger: e.Log}
	ok, res, err := prog.Bool(ctx, env)
	if err != nil {
		return policy.Result{Messages: res.Messages, Log: logOf(p.Name, res.Log)}, err
	}
	out := policy.Result{Passing: ok, Messages: res.Messages, Log: logOf(p.Name, res.Log)}
	for _, item := range plan.ctx.Items() {
		k, isStr := starlark.AsString(item[0])
		if !isStr {
			continue
		}
		if out.PlanContext == nil {
			out.PlanContext = map[string]any{}
		}
		if u, isUser := expr.UserOf(item[1]); isUser {
			su, err := e.Store.UserByPK(ctx, u.PK)
			if err != nil {
				return policy.Result{}, fmt.Errorf("flow_plan.context[%q]: %w", k, err)
			}
			out.PlanContext[k] = su
			continue
		}
		if v, err := expr.FromStarlark(item[1]); err == nil {
			out.PlanContext[k] = v
		}
	}
	return out, nil
}

// logOf is the expression's log as the policy's, under the policy's name
// (authentik's ak_logger is get_logger(policy name)).
func logOf(name string, log []expr.LogEntry) []policy.LogEntry {
	if len(log) == 0 {
		return nil
	}
	out := make([]policy.LogEntry, len(log))
	for i, l := range log {
		out[i] = policy.LogEntry{Time: l.Time, Level: l.Level, Logger: name, Event: l.Message, Attributes: l.Attributes}
	}
	return out
}

// helpers backs the ak_* functions with the store.
type helpers struct{ e *Evaluator }

var _ expr.Helpers = (*helpers)(nil)

func (h *helpers) exprUser(ctx context.Context, u *store.User) (*expr.User, error) {
	return User(ctx, h.e.Store, u)
}

// User is u as expressions see it (request.user): with its direct groups
// and superuser status.
func User(ctx context.Context, st Store, u *store.User) (*expr.User, error) {
	if u == nil {
		return nil, nil
	}
	groups, err := st.UserGroups(ctx, u.PK, false)
	if err != nil {
		return nil, err
	}
	su, err := st.UserIsSuperuser(ctx, u.PK)
	if err != nil {
		return nil, err
	}
	out := &expr.User{PK: u.PK, UUID: u.UUID.String(), Username: u.Username, Name: u.Name, Email: u.Email,
		IsActive: u.IsActive, IsSuperuser: su, Type: string(u.Type), Path: u.Path, Attributes: u.Attributes,
		HasUsablePassword: u.PasswordHash != "" && !strings.HasPrefix(u.PasswordHash, "!")}
	for _, g := range groups {
		out.Groups = append(out.Groups, g.Name)
	}
	return out, nil
}

// IsGroupMember: ak_is_group_member(user, name="...") (groups inherited down the tree).
func (h *helpers) IsGroupMember(ctx context.Context, u *expr.User, filter map[string]any) (bool, error) {
	if u == nil {
		return false, nil
	}
	name, _ := filter["name"].(string)
	groups, err := h.e.Store.UserGroups(ctx, u.PK, true)
	if err != nil {
		return false, err
	}
	for _, g := range groups {
		if g.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// UserBy: ak_user_by(username=... | email=... | pk=...).
func (h *helpers) UserBy(ctx context.Context, filter map[string]any) (*expr.User, error) {
	var (
		u   *store.User
		err error
	)
	switch {
	case filter["username"] != nil:
		name, _ := filter["username"].(string)
		u, err = h.e.Store.UserByUsername(ctx, name)
	case filter["pk"] != nil:
		var pk int64
		switch v := filter["pk"].(type) {
		case int64:
			pk = v
		case int:
			pk = int64(v)
		case float64:
			pk = int64(v)
		}
		u, err = h.e.Store.UserByPK(ctx, pk)
	case filter["email"] != nil:
		email, _ := filter["email"].(string)
		var us []*store.User
		us, _, err = h.e.Store.ListUsers(ctx, store.UserFilter{Email: email, Page: store.Page{Limit: 1}})
		if err == nil && len(us) == 1 {
			u = us[0]
		} else if err == nil {
			err = store.ErrNotFound
		}
	default:
		return nil, errors.New("ak_user_by needs username=, email= or pk=")
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return h.exprUser(ctx, u)
}

// UserHasAuthenticator: ak_user_has_authenticator(user, device_type=None),
// whether the user has a confirmed device, of device_type when given
// (authentik's device class names: static, totp, webauthn, email, sms; any
// other name, duo included, matches nothing).
func (h *helpers) UserHasAuthenticator(ctx context.Context, u *expr.User, deviceType string) (bool, error) {
	if u == nil || u.PK == 0 {
		return false, nil // no user, or one not saved yet (PK 0 would not filter)
	}
	if deviceType != "" && !slices.Contains(store.DeviceTypes, deviceType) {
		return false, nil
	}
	_, n, err := h.e.Store.ListDevices(ctx, store.DeviceFilter{UserPK: u.PK, Type: deviceType, ConfirmedOnly: true,
		Page: store.Page{Limit: 1}})
	return n > 0, err
}

// CallPolicy: ak_call_policy is not available yet.
func (h *helpers) CallPolicy(context.Context, string, *expr.Request, map[string]any) (expr.PolicyResult, error) {
	return expr.PolicyResult{}, expr.ErrNotAvailable
}

// CreateEvent: ak_create_event is not available yet.
func (h *helpers) CreateEvent(context.Context, string, *expr.Request, map[string]any) error {
	return expr.ErrNotAvailable
}
