package expr

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// benchEnv is a realistic policy environment: a user with attributes and
// groups, an HTTP request, and a flow context.
func benchEnv() Env {
	return Env{
		Request: Request{
			User: &User{
				PK: 42, UUID: "9f3c2a54-3c1e-4d7a-9a57-0a8b7f0e4b11", Username: "alice", Name: "Alice Liddell",
				Email: "alice@example.com", IsActive: true, Type: "internal", Path: "users",
				Attributes: map[string]any{"department": "it", "locale": "en", "employee": map[string]any{"id": 1234, "since": "2019-04-01"}},
				Groups:     []string{"staff", "it", "vpn-users"},
			},
			HTTP: &HTTPRequest{
				Method: "GET", Path: "/application/o/authorize/", Host: "id.example.com", RemoteIP: "203.0.113.7",
				Header: http.Header{"User-Agent": {"Mozilla/5.0"}, "Accept-Language": {"en-GB,en;q=0.9"}},
			},
			Context: map[string]any{
				"application": "wiki",
				"prompt_data": map[string]any{"username": "alice", "email": "alice@example.com"},
				"geoip":       map[string]any{"country": "GB", "continent": "EU"},
			},
		},
	}
}

func BenchmarkRunSimple(b *testing.B) {
	p, err := Compile("bench", `return request.user.username == "alice"`)
	if err != nil {
		b.Fatal(err)
	}
	env := benchEnv()
	b.Run("background", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if ok, _, err := p.Bool(ctx, env); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("deadline", func(b *testing.B) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		b.ReportAllocs()
		for b.Loop() {
			if ok, _, err := p.Bool(ctx, env); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}

// typicalPolicy touches what real policies do: attributes, context,
// headers, a helper and a regex.
const typicalPolicy = `
user = request.user
if not user.is_active:
    ak_message("inactive")
    return False
if user.attributes.get("department") != "it" and not ak_is_group_member(user, name="it"):
    ak_message("IT only")
    return False
if context.get("geoip", {}).get("country") not in ["GB", "IE"]:
    return False
ua = request.http_request.headers.get("User-Agent", "")
return regex_match(ua, "^Mozilla/") and ak_client_ip in ip_network("203.0.113.0/24")
`

func BenchmarkRunTypical(b *testing.B) {
	p, err := Compile("bench", typicalPolicy)
	if err != nil {
		b.Fatal(err)
	}
	env := benchEnv()
	env.Helpers = &fakeHelpers{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := p.Bool(ctx, env); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("bench", typicalPolicy); err != nil {
			b.Fatal(err)
		}
	}
}
