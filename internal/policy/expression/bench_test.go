package expression_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/policy/expression"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// memStore answers the helpers from memory, so the benchmark measures the
// evaluation, not a database.
type memStore struct {
	users  map[string]*store.User
	groups map[int64][]*store.Group
}

var _ expression.Store = (*memStore)(nil)

func (m *memStore) UserByUsername(_ context.Context, name string) (*store.User, error) {
	if u, ok := m.users[name]; ok {
		return u, nil
	}
	return nil, store.ErrNotFound
}

func (m *memStore) UserByPK(_ context.Context, pk int64) (*store.User, error) {
	for _, u := range m.users {
		if u.PK == pk {
			return u, nil
		}
	}
	return nil, store.ErrNotFound
}

func (m *memStore) ListUsers(context.Context, store.UserFilter) ([]*store.User, int, error) {
	return nil, 0, nil
}

func (m *memStore) UserGroups(_ context.Context, pk int64, _ bool) ([]*store.Group, error) {
	return m.groups[pk], nil
}

func (m *memStore) UserIsSuperuser(context.Context, int64) (bool, error) { return false, nil }

func (m *memStore) ListDevices(context.Context, store.DeviceFilter) ([]*store.AuthenticatorDevice, int, error) {
	return nil, 0, nil
}

func benchStore() (*memStore, *store.User) {
	alice := &store.User{PK: 42, UUID: uuid.New(), Username: "alice", Name: "Alice", Email: "alice@example.com",
		IsActive: true, Type: store.UserInternal, Path: "users",
		Attributes: store.Attributes{"department": "it", "locale": "en"}}
	return &memStore{users: map[string]*store.User{"alice": alice},
		groups: map[int64][]*store.Group{42: {{Name: "staff"}, {Name: "it"}}}}, alice
}

// BenchmarkEvaluate is one expression policy evaluation (issue 4: <= 50 µs)
// through the Evaluator: the user's groups, the run, the result.
func BenchmarkEvaluate(b *testing.B) {
	st, alice := benchStore()
	e := &expression.Evaluator{Store: st}
	req := policy.Request{User: alice, ClientIP: "203.0.113.7", Path: "/if/flow/login/",
		Context: map[string]any{"geoip": map[string]any{"country": "GB"}}}
	for _, tc := range []struct{ name, src string }{
		{"simple", `return request.user.username == "alice"`},
		{"typical", `
user = request.user
if not user.is_active:
    ak_message("inactive")
    return False
if user.attributes.get("department") != "it" and not ak_is_group_member(user, name="it"):
    ak_message("IT only")
    return False
if context.get("geoip", {}).get("country") not in ["GB", "IE"]:
    return False
return ak_client_ip in ip_network("203.0.113.0/24")
`},
		{"logging", `ak_logger.info("checking", user=request.user.username)
return request.user.username == "alice"`},
	} {
		p := &store.Policy{Name: "bench-" + tc.name, Type: expression.Type, Settings: store.Attributes{"expression": tc.src}}
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				res, err := e.Evaluate(ctx, p, req)
				if err != nil || !res.Passing {
					b.Fatal(res, err)
				}
			}
		})
	}
}
