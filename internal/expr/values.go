package expr

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Request is an expression's "request", authentik's PolicyRequest.
type Request struct {
	// User is request.user; nil is the anonymous user.
	User *User
	// HTTP is request.http_request; nil is None.
	HTTP *HTTPRequest
	// Obj is request.obj: the object the policy is evaluated for (an
	// application, a source...), any value ToStarlark accepts, or nil.
	Obj any
	// Context is request.context and the top-level context.
	Context map[string]any
}

// User is what an expression sees of a user (request.user, ak_user_by).
type User struct {
	PK          int64
	UUID        string
	Username    string
	Name        string
	Email       string
	IsActive    bool
	IsSuperuser bool
	Type        string // internal, external, service_account, internal_service_account
	Path        string
	Attributes  map[string]any
	Groups      []string // names of the groups the user is a direct member of
	// HasUsablePassword answers user.has_usable_password().
	HasUsablePassword bool
}

// HTTPRequest is request.http_request: what an expression may see of
// the HTTP request.
type HTTPRequest struct {
	Method   string
	Path     string
	Host     string
	RemoteIP string // the client address, after trusted-proxy handling
	Header   http.Header
	Query    url.Values
}

// requestValue is request. Its fields are converted on first access.
type requestValue struct {
	req    *Request
	user   starlark.Value
	http   starlark.Value
	obj    starlark.Value
	ctx    *starlark.Dict
	frozen bool
}

var (
	_ starlark.HasAttrs = (*requestValue)(nil)
	_ starlark.HasAttrs = (*userValue)(nil)
	_ starlark.HasAttrs = (*httpValue)(nil)
	_ starlark.HasAttrs = (*headersValue)(nil)
	_ starlark.Mapping  = (*headersValue)(nil)
)

func (r *requestValue) String() string {
	return fmt.Sprintf("<PolicyRequest user=%s>", (&userValue{u: r.req.User}).String())
}
func (r *requestValue) Type() string          { return "PolicyRequest" }
func (r *requestValue) Truth() starlark.Bool  { return true }
func (r *requestValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: PolicyRequest") }
func (r *requestValue) Freeze() {
	if r.frozen {
		return
	}
	r.frozen = true
	for _, v := range []starlark.Value{r.user, r.http, r.obj} {
		if v != nil {
			v.Freeze()
		}
	}
	if r.ctx != nil {
		r.ctx.Freeze()
	}
}

var requestAttrs = []string{"context", "http_request", "obj", "user"}

func (r *requestValue) AttrNames() []string { return requestAttrs }

func (r *requestValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "user":
		if r.user == nil {
			r.user = newUserValue(r.req.User)
		}
		return r.user, nil
	case "http_request":
		if r.http == nil {
			r.http = starlark.None
			if r.req.HTTP != nil {
				r.http = &httpValue{h: r.req.HTTP}
			}
		}
		return r.http, nil
	case "obj":
		if r.obj == nil {
			v, err := ToStarlark(r.req.Obj)
			if err != nil {
				return nil, fmt.Errorf("request.obj: %w", err)
			}
			r.obj = v
		}
		return r.obj, nil
	case "context":
		return r.context()
	}
	return nil, nil
}

// context is request.context, which is also the top-level context: the
// same dict, so changes through one show through the other.
func (r *requestValue) context() (*starlark.Dict, error) {
	if r.ctx == nil {
		v, err := ToStarlark(r.req.Context)
		if err != nil {
			return nil, err
		}
		d, ok := v.(*starlark.Dict)
		if !ok {
			d = new(starlark.Dict) // a nil map
		}
		r.ctx = d
	}
	return r.ctx, nil
}

// userValue is a user. Django's str(user) is the username, and so is ours.
type userValue struct {
	u      *User // nil: the anonymous user
	attrs  *starlark.Dict
	groups *starlark.List
	frozen bool
}

func newUserValue(u *User) *userValue { return &userValue{u: u} }

func (v *userValue) String() string {
	if v.u == nil {
		return "AnonymousUser"
	}
	return v.u.Username
}
func (v *userValue) Type() string         { return "User" }
func (v *userValue) Truth() starlark.Bool { return true }
func (v *userValue) Hash() (uint32, error) {
	if v.u == nil {
		return starlark.String("").Hash()
	}
	return starlark.MakeInt64(v.u.PK).Hash()
}
func (v *userValue) Freeze() {
	v.frozen = true
	if v.attrs != nil {
		v.attrs.Freeze()
	}
	if v.groups != nil {
		v.groups.Freeze()
	}
}

// CompareSameType makes == compare users by identity (pk and username).
func (v *userValue) CompareSameType(op syntax.Token, y starlark.Value, _ int) (bool, error) {
	w := y.(*userValue)
	eq := v.u == w.u || v.u != nil && w.u != nil && v.u.PK == w.u.PK && v.u.Username == w.u.Username
	switch op {
	case syntax.EQL:
		return eq, nil
	case syntax.NEQ:
		return !eq, nil
	}
	return false, fmt.Errorf("%s %s %s not implemented", v.Type(), op, y.Type())
}

var userAttrs = []string{"ak_groups", "attributes", "email", "groups", "has_usable_password", "is_active", "is_anonymous",
	"is_authenticated", "is_superuser", "name", "path", "pk", "type", "username", "uuid"}

func (v *userValue) AttrNames() []string { return userAttrs }

func (v *userValue) Attr(name string) (starlark.Value, error) {
	u := v.u
	if u == nil {
		u = &User{}
	}
	switch name {
	case "username":
		return starlark.String(u.Username), nil
	case "name":
		return starlark.String(u.Name), nil
	case "email":
		return starlark.String(u.Email), nil
	case "pk":
		if v.u == nil {
			return starlark.None, nil
		}
		return starlark.MakeInt64(u.PK), nil
	case "uuid":
		if v.u == nil {
			return starlark.None, nil
		}
		return starlark.String(u.UUID), nil
	case "is_active":
		return starlark.Bool(u.IsActive), nil
	case "is_superuser":
		return starlark.Bool(u.IsSuperuser), nil
	case "is_authenticated":
		return starlark.Bool(v.u != nil), nil
	case "has_usable_password":
		usable := u.HasUsablePassword
		return starlark.NewBuiltin("has_usable_password", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Bool(usable), nil
		}), nil
	case "is_anonymous":
		return starlark.Bool(v.u == nil), nil
	case "type":
		return starlark.String(u.Type), nil
	case "path":
		return starlark.String(u.Path), nil
	case "attributes":
		if v.attrs == nil {
			a, err := ToStarlark(u.Attributes)
			if err != nil {
				return nil, fmt.Errorf("user.attributes: %w", err)
			}
			d, ok := a.(*starlark.Dict)
			if !ok {
				d = new(starlark.Dict)
			}
			if v.frozen {
				d.Freeze()
			}
			v.attrs = d
		}
		return v.attrs, nil
	case "groups":
		if v.groups == nil {
			elems := make([]starlark.Value, len(u.Groups))
			for i, g := range u.Groups {
				elems[i] = starlark.String(g)
			}
			v.groups = starlark.NewList(elems)
			if v.frozen {
				v.groups.Freeze()
			}
		}
		return v.groups, nil
	case "ak_groups":
		return &groupSetValue{names: u.Groups}, nil
	}
	return nil, nil
}

// groupSetValue is user.ak_groups, Django's related manager as authentik
// expressions use it: `[g.name for g in request.user.ak_groups.all()]`.
type groupSetValue struct{ names []string }

func (v *groupSetValue) String() string        { return "<ak_groups>" }
func (v *groupSetValue) Type() string          { return "GroupSet" }
func (v *groupSetValue) Truth() starlark.Bool  { return len(v.names) > 0 }
func (v *groupSetValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: GroupSet") }
func (v *groupSetValue) Freeze()               {}
func (v *groupSetValue) AttrNames() []string   { return []string{"all", "count"} }

func (v *groupSetValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "all":
		return starlark.NewBuiltin("all", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			elems := make([]starlark.Value, len(v.names))
			for i, n := range v.names {
				elems[i] = groupValue(n)
			}
			return starlark.NewList(elems), nil
		}), nil
	case "count":
		return starlark.NewBuiltin("count", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.MakeInt(len(v.names)), nil
		}), nil
	}
	return nil, nil
}

// groupValue is one group of ak_groups.all(): its name.
type groupValue string

func (g groupValue) String() string        { return "<Group " + string(g) + ">" }
func (g groupValue) Type() string          { return "Group" }
func (g groupValue) Truth() starlark.Bool  { return true }
func (g groupValue) Hash() (uint32, error) { return starlark.String(g).Hash() }
func (g groupValue) Freeze()               {}
func (g groupValue) AttrNames() []string   { return []string{"name"} }

func (g groupValue) Attr(name string) (starlark.Value, error) {
	if name == "name" {
		return starlark.String(g), nil
	}
	return nil, nil
}

// httpValue is request.http_request.
type httpValue struct {
	h       *HTTPRequest
	headers *headersValue
	query   *headersValue
}

func (v *httpValue) String() string        { return fmt.Sprintf("<HttpRequest %s %s>", v.h.Method, v.h.Path) }
func (v *httpValue) Type() string          { return "HttpRequest" }
func (v *httpValue) Truth() starlark.Bool  { return true }
func (v *httpValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: HttpRequest") }
func (v *httpValue) Freeze()               {}

var httpAttrs = []string{"GET", "headers", "host", "method", "path", "remote_ip"}

func (v *httpValue) AttrNames() []string { return httpAttrs }

func (v *httpValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "method":
		return starlark.String(v.h.Method), nil
	case "path":
		return starlark.String(v.h.Path), nil
	case "host":
		return starlark.String(v.h.Host), nil
	case "remote_ip":
		return starlark.String(v.h.RemoteIP), nil
	case "headers":
		if v.headers == nil {
			v.headers = &headersValue{typ: "headers", values: v.h.Header, fold: true}
		}
		return v.headers, nil
	case "GET":
		if v.query == nil {
			v.query = &headersValue{typ: "QueryDict", values: v.h.Query}
		}
		return v.query, nil
	}
	return nil, nil
}

// headersValue is a read-only mapping of names to the first of their
// values: HTTP headers (case-insensitive, as Django's request.headers)
// or query parameters (as Django's request.GET).
type headersValue struct {
	typ    string
	values map[string][]string
	fold   bool // case-insensitive keys
}

func (h *headersValue) String() string        { return "<" + h.typ + ">" }
func (h *headersValue) Type() string          { return h.typ }
func (h *headersValue) Truth() starlark.Bool  { return len(h.values) > 0 }
func (h *headersValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", h.typ) }
func (h *headersValue) Freeze()               {}
func (h *headersValue) Len() int              { return len(h.values) }

func (h *headersValue) lookup(key string) (string, bool) {
	if h.fold {
		vs := http.Header(h.values).Values(key)
		if len(vs) == 0 {
			return "", false
		}
		return vs[0], true
	}
	vs, ok := h.values[key]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// Get implements h[key] and "key in h".
func (h *headersValue) Get(k starlark.Value) (starlark.Value, bool, error) {
	key, ok := k.(starlark.String)
	if !ok {
		return nil, false, nil
	}
	v, ok := h.lookup(string(key))
	if !ok {
		return nil, false, nil
	}
	return starlark.String(v), true, nil
}

func (h *headersValue) keys() []string {
	keys := make([]string, 0, len(h.values))
	for k := range h.values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (h *headersValue) Iterate() starlark.Iterator {
	keys := h.keys()
	elems := make([]starlark.Value, len(keys))
	for i, k := range keys {
		elems[i] = starlark.String(k)
	}
	return starlark.NewList(elems).Iterate()
}

var headersAttrs = []string{"get", "items", "keys"}

func (h *headersValue) AttrNames() []string { return headersAttrs }

func (h *headersValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "get":
		return starlark.NewBuiltin("get", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var key string
			var dflt starlark.Value = starlark.None
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &key, &dflt); err != nil {
				return nil, err
			}
			if v, ok := h.lookup(key); ok {
				return starlark.String(v), nil
			}
			return dflt, nil
		}), nil
	case "keys":
		return starlark.NewBuiltin("keys", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			keys := h.keys()
			if err := state(thread).charge(int64(len(keys)) * slotSize); err != nil {
				return nil, err
			}
			elems := make([]starlark.Value, len(keys))
			for i, k := range keys {
				elems[i] = starlark.String(k)
			}
			return starlark.NewList(elems), nil
		}), nil
	case "items":
		return starlark.NewBuiltin("items", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			keys := h.keys()
			if err := state(thread).charge(int64(len(keys)) * (slotSize + 32)); err != nil {
				return nil, err
			}
			elems := make([]starlark.Value, len(keys))
			for i, k := range keys {
				v, _ := h.lookup(k)
				elems[i] = starlark.Tuple{starlark.String(k), starlark.String(v)}
			}
			return starlark.NewList(elems), nil
		}), nil
	}
	return nil, nil
}

// ipValue is an IP address, as Python's ipaddress.ip_address: the type of
// ak_client_ip.
type ipValue struct{ addr netip.Addr }

func clientIP(s string) starlark.Value {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return starlark.None
	}
	return ipValue{a.Unmap()}
}

func (v ipValue) String() string        { return v.addr.String() }
func (v ipValue) Type() string          { return "ip_address" }
func (v ipValue) Truth() starlark.Bool  { return true }
func (v ipValue) Hash() (uint32, error) { return starlark.String(v.addr.String()).Hash() }
func (v ipValue) Freeze()               {}

func (v ipValue) CompareSameType(op syntax.Token, y starlark.Value, _ int) (bool, error) {
	c := v.addr.Compare(y.(ipValue).addr)
	switch op {
	case syntax.EQL:
		return c == 0, nil
	case syntax.NEQ:
		return c != 0, nil
	case syntax.LT:
		return c < 0, nil
	case syntax.LE:
		return c <= 0, nil
	case syntax.GT:
		return c > 0, nil
	case syntax.GE:
		return c >= 0, nil
	}
	return false, fmt.Errorf("ip_address %s ip_address not implemented", op)
}

var ipAttrs = []string{"is_global", "is_link_local", "is_loopback", "is_multicast", "is_private", "is_unspecified", "version"}

func (v ipValue) AttrNames() []string { return ipAttrs }

func (v ipValue) Attr(name string) (starlark.Value, error) {
	a := v.addr
	switch name {
	case "version":
		if a.Is4() {
			return starlark.MakeInt(4), nil
		}
		return starlark.MakeInt(6), nil
	case "is_private":
		return starlark.Bool(a.IsPrivate()), nil
	case "is_loopback":
		return starlark.Bool(a.IsLoopback()), nil
	case "is_global":
		return starlark.Bool(a.IsGlobalUnicast() && !a.IsPrivate()), nil
	case "is_multicast":
		return starlark.Bool(a.IsMulticast()), nil
	case "is_link_local":
		return starlark.Bool(a.IsLinkLocalUnicast()), nil
	case "is_unspecified":
		return starlark.Bool(a.IsUnspecified()), nil
	}
	return nil, nil
}

// networkValue is an IP network, as Python's ipaddress.ip_network:
// "ak_client_ip in ip_network('10.0.0.0/8')".
type networkValue struct{ prefix netip.Prefix }

var _ starlark.Container = networkValue{}

func (v networkValue) String() string        { return v.prefix.String() }
func (v networkValue) Type() string          { return "ip_network" }
func (v networkValue) Truth() starlark.Bool  { return true }
func (v networkValue) Hash() (uint32, error) { return starlark.String(v.prefix.String()).Hash() }
func (v networkValue) Freeze()               {}

// Has implements "x in network" for an ip_address or a string.
func (v networkValue) Has(x starlark.Value) (bool, error) {
	switch x := x.(type) {
	case ipValue:
		return v.prefix.Contains(x.addr), nil
	case starlark.String:
		a, err := netip.ParseAddr(string(x))
		if err != nil {
			return false, nil
		}
		return v.prefix.Contains(a.Unmap()), nil
	}
	return false, nil
}

var networkAttrs = []string{"network_address", "num_addresses", "prefixlen", "version"}

func (v networkValue) AttrNames() []string { return networkAttrs }

func (v networkValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "network_address":
		return ipValue{v.prefix.Addr()}, nil
	case "prefixlen":
		return starlark.MakeInt(v.prefix.Bits()), nil
	case "version":
		return ipValue{v.prefix.Addr()}.Attr("version")
	case "num_addresses":
		n := v.prefix.Addr().BitLen() - v.prefix.Bits()
		return starlark.MakeInt(1).Lsh(uint(n)), nil
	}
	return nil, nil
}

// UserOf returns the user behind a Starlark value that an expression got from
// request.user or ak_user_by (for callers that read values an expression
// stored, e.g. context["flow_plan"].context["pending_user"]).
func UserOf(v starlark.Value) (*User, bool) {
	uv, ok := v.(*userValue)
	if !ok || uv.u == nil {
		return nil, false
	}
	return uv.u, true
}
