package api_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// makeSessionFixtures adds a second signed-in session of akadmin (deleted by
// core_authenticated_sessions_destroy, so not the one the session cases use)
// and a consent of akadmin to an application of its own.
func (f *fixtures) makeSessionFixtures(c *conformance) {
	c.t.Helper()
	ctx := context.Background()
	admin, err := c.srv.Store.UserByUsername(ctx, "akadmin")
	if err != nil {
		c.t.Fatal(err)
	}
	s := &store.Session{Key: "conformance-second-session", UserPK: &admin.PK, LastIP: "192.0.2.7",
		LastUserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", LastUsed: time.Now(), Expires: time.Now().Add(time.Hour)}
	if err := c.srv.Store.CreateSession(ctx, s); err != nil {
		c.t.Fatal(err)
	}
	// Its own application: the application cases delete f.app.
	app := &store.Application{Name: "Conformance consent", Slug: "conformance-consent", PolicyEngineMode: "any"}
	if err := c.srv.Store.CreateApplication(ctx, app); err != nil {
		c.t.Fatal(err)
	}
	consent := &store.UserConsent{UserPK: admin.PK, ApplicationUUID: app.UUID, Permissions: "openid email"}
	if err := c.srv.Store.SaveConsent(ctx, consent); err != nil {
		c.t.Fatal(err)
	}
	f.devices["/core/authenticated_sessions/"] = s.UUID.String()
	f.devices["/core/user_consent/"] = consent.UUID.String()
}

// sessionEnv has alice and bob, each with two signed-in sessions and a
// consent, and two applications.
type sessionEnv struct {
	*deviceEnv
	aliceSessions, bobSessions []*store.Session
	aliceConsent, bobConsent   *store.UserConsent
}

func newSessionEnv(t *testing.T) *sessionEnv {
	t.Helper()
	e := &sessionEnv{deviceEnv: newDeviceEnv(t)}
	ctx := context.Background()
	now := time.Now().UTC()
	for i, u := range []int64{e.alice, e.alice, e.bob, e.bob} {
		s := &store.Session{Key: "session-" + strconv.Itoa(i), UserPK: &u, LastIP: "198.51.100." + strconv.Itoa(i),
			LastUserAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/130.0 Safari/537.36", LastUsed: now.Add(-time.Duration(i) * time.Minute),
			Expires: now.Add(time.Hour)}
		if err := e.srv.Store.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if u == e.alice {
			e.aliceSessions = append(e.aliceSessions, s)
		} else {
			e.bobSessions = append(e.bobSessions, s)
		}
	}
	e.admin("POST", "/core/applications/", map[string]any{"name": "Wiki", "slug": "wiki"}, nil)
	app, err := e.srv.Store.ApplicationBySlug(ctx, "wiki")
	if err != nil {
		t.Fatal(err)
	}
	e.aliceConsent = &store.UserConsent{UserPK: e.alice, ApplicationUUID: app.UUID, Permissions: "openid"}
	e.bobConsent = &store.UserConsent{UserPK: e.bob, ApplicationUUID: app.UUID, Permissions: "openid"}
	for _, c := range []*store.UserConsent{e.aliceConsent, e.bobConsent} {
		if err := e.srv.Store.SaveConsent(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func TestAuthenticatedSessionsOwnOnly(t *testing.T) {
	e := newSessionEnv(t)
	var list struct {
		Results []struct {
			UUID      string `json:"uuid"`
			User      int64  `json:"user"`
			LastIP    string `json:"last_ip"`
			UserAgent struct {
				UserAgent struct{ Family string } `json:"user_agent"`
				OS        struct{ Family string } `json:"os"`
			} `json:"user_agent"`
		} `json:"results"`
	}
	e.as(e.aliceTk, "GET", "/core/authenticated_sessions/", nil, 200, &list)
	if len(list.Results) != 2 {
		t.Fatalf("alice sees %d sessions, want her 2: %+v", len(list.Results), list.Results)
	}
	for _, r := range list.Results {
		if r.User != e.alice {
			t.Errorf("alice sees a session of user %d", r.User)
		}
		if r.UserAgent.UserAgent.Family != "Chrome" || r.UserAgent.OS.Family != "Windows" {
			t.Errorf("parsed user agent = %+v", r.UserAgent)
		}
	}
	if list.Results[0].LastIP != "198.51.100.0" {
		t.Errorf("first session = %+v, want the most recently used", list.Results[0])
	}
	// Another user's session: a 404 for retrieve and delete, a 403 for ?user=.
	bobs := "/core/authenticated_sessions/" + e.bobSessions[0].UUID.String() + "/"
	e.as(e.aliceTk, "GET", bobs, nil, 404, nil)
	e.as(e.aliceTk, "DELETE", bobs, nil, 404, nil)
	e.as(e.aliceTk, "GET", "/core/authenticated_sessions/?user="+strconv.FormatInt(e.bob, 10), nil, 403, nil)
	if _, err := e.srv.Store.SessionByKey(context.Background(), e.bobSessions[0].Key, time.Now()); err != nil {
		t.Errorf("bob's session after alice's delete: %v", err)
	}
	// Her own: deleted.
	e.as(e.aliceTk, "DELETE", "/core/authenticated_sessions/"+e.aliceSessions[1].UUID.String()+"/", nil, 204, nil)
	if _, err := e.srv.Store.SessionByKey(context.Background(), e.aliceSessions[1].Key, time.Now()); err == nil {
		t.Error("alice's deleted session still works")
	}
	e.as(e.aliceTk, "GET", "/core/authenticated_sessions/not-a-uuid/", nil, 404, nil)
	// An admin names the user.
	e.as(apitest.AdminToken, "GET", "/core/authenticated_sessions/?user="+strconv.FormatInt(e.bob, 10), nil, 200, &list)
	if len(list.Results) != 2 || list.Results[0].User != e.bob {
		t.Errorf("admin's list of bob's sessions = %+v", list.Results)
	}
}

func TestUserConsentOwnOnly(t *testing.T) {
	e := newSessionEnv(t)
	var list struct {
		Results []struct {
			PK   string `json:"pk"`
			User struct {
				PK int64 `json:"pk"`
			} `json:"user"`
			Application struct {
				Slug string `json:"slug"`
			} `json:"application"`
			Expiring bool `json:"expiring"`
		} `json:"results"`
	}
	e.as(e.aliceTk, "GET", "/core/user_consent/", nil, 200, &list)
	if len(list.Results) != 1 || list.Results[0].User.PK != e.alice || list.Results[0].Application.Slug != "wiki" || list.Results[0].Expiring {
		t.Fatalf("alice's consents = %+v", list.Results)
	}
	bobs := "/core/user_consent/" + e.bobConsent.UUID.String() + "/"
	e.as(e.aliceTk, "GET", bobs, nil, 404, nil)
	e.as(e.aliceTk, "DELETE", bobs, nil, 404, nil)
	e.as(e.aliceTk, "GET", "/core/user_consent/?user="+strconv.FormatInt(e.bob, 10), nil, 403, nil)
	e.as(e.aliceTk, "DELETE", "/core/user_consent/"+e.aliceConsent.UUID.String()+"/", nil, 204, nil)
	e.as(e.aliceTk, "GET", "/core/user_consent/", nil, 200, &list)
	if len(list.Results) != 0 {
		t.Errorf("after revoking: %+v", list.Results)
	}
	e.as(apitest.AdminToken, "GET", bobs, nil, 200, nil)
}

func TestApplicationsListPolicyChecked(t *testing.T) {
	e := newSessionEnv(t)
	ctx := context.Background()
	e.admin("POST", "/core/applications/", map[string]any{"name": "Payroll", "slug": "payroll"}, nil)
	e.admin("POST", "/core/applications/", map[string]any{"name": "Blog", "slug": "blog", "meta_launch_url": "https://blog.example.com/"}, nil)
	payroll, err := e.srv.Store.ApplicationBySlug(ctx, "payroll")
	if err != nil {
		t.Fatal(err)
	}
	// Payroll is for bob only (a user binding).
	bob := e.bob
	if err := e.srv.Store.CreatePolicyBinding(ctx, &store.PolicyBinding{TargetUUID: payroll.UUID, UserPK: &bob, Enabled: true, Timeout: 30}); err != nil {
		t.Fatal(err)
	}
	slugs := func(token, query string) []string {
		var list struct {
			Results []struct {
				Slug string `json:"slug"`
			} `json:"results"`
		}
		e.as(token, "GET", "/core/applications/"+query, nil, 200, &list)
		var out []string
		for _, r := range list.Results {
			out = append(out, r.Slug)
		}
		return out
	}
	for _, tc := range []struct {
		name, token, query string
		want               []string
	}{
		{"alice", e.aliceTk, "", []string{"blog", "wiki"}},
		{"bob", e.bobTk, "", []string{"blog", "payroll", "wiki"}},
		{"alice with a launch URL", e.aliceTk, "?only_with_launch_url=true", []string{"blog"}},
		{"alice searching", e.aliceTk, "?search=wik", []string{"wiki"}},
		{"admin, full list", apitest.AdminToken, "", []string{"blog", "payroll", "wiki"}},
		{"admin for alice", apitest.AdminToken, "?for_user=" + strconv.FormatInt(e.alice, 10), []string{"blog", "wiki"}},
		{"alice for herself", e.aliceTk, "?for_user=" + strconv.FormatInt(e.alice, 10), []string{"blog", "wiki"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slugs(tc.token, tc.query)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	e.as(e.aliceTk, "GET", "/core/applications/?for_user="+strconv.FormatInt(e.bob, 10), nil, 403, nil)
}
