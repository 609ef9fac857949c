package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
)

// makeNotificationFixtures adds a local transport, a rule using it, and a
// notification for akadmin (sent by the transport's test).
func (f *fixtures) makeNotificationFixtures(c *conformance) {
	c.t.Helper()
	var tr, rule struct {
		PK string `json:"pk"`
	}
	var m struct {
		PK string `json:"pk"`
	}
	c.admin("POST", "/propertymappings/notification/", map[string]any{"name": "conformance-hook-body",
		"expression": `return {"text": notification.body, "user": notification.user.username}`}, &m)
	f.webhookMapping = m.PK
	c.admin("POST", "/events/transports/", map[string]any{"name": "conformance-transport", "mode": "local"}, &tr)
	f.transport = tr.PK
	c.admin("POST", "/events/rules/", map[string]any{"name": "conformance-rule", "transports": []string{tr.PK},
		"severity": "alert", "destination_group": f.group}, &rule)
	f.rule = rule.PK
	c.admin("POST", "/events/transports/"+tr.PK+"/test/", nil, nil)
	var list struct {
		Results []struct {
			PK string `json:"pk"`
		} `json:"results"`
	}
	c.admin("GET", "/events/notifications/", nil, &list)
	if len(list.Results) == 0 {
		c.t.Fatal("the transport test left no notification")
	}
	f.note = list.Results[0].PK
}

func TestNotificationsAPI(t *testing.T) {
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	admin := apitest.AdminToken
	var u struct {
		PK int64 `json:"pk"`
	}
	e.admin("POST", "/core/users/", map[string]any{"username": "bob", "name": "Bob"}, &u)
	bob := e.tokenFor(u.PK, "bob-token")

	var tr struct {
		PK          string `json:"pk"`
		ModeVerbose string `json:"mode_verbose"`
	}
	e.badRequest("POST", "/events/transports/", map[string]any{"name": "hook", "mode": "webhook"}, "webhook_url")
	e.as(admin, "POST", "/events/transports/", map[string]any{"name": "local", "mode": "local"}, http.StatusCreated, &tr)
	if tr.ModeVerbose == "" {
		t.Errorf("transport = %+v", tr)
	}
	e.badRequest("POST", "/events/rules/", map[string]any{"name": "r", "transports": []string{"0190a7a0-0000-7000-8000-000000000000"}}, "transports")
	var rule struct {
		PK            string `json:"pk"`
		Severity      string `json:"severity"`
		TransportsObj []struct {
			Name string `json:"name"`
		} `json:"transports_obj"`
	}
	e.as(admin, "POST", "/events/rules/", map[string]any{"name": "r", "transports": []string{tr.PK}}, http.StatusCreated, &rule)
	if rule.Severity != "notice" || len(rule.TransportsObj) != 1 || rule.TransportsObj[0].Name != "local" {
		t.Fatalf("rule = %+v", rule)
	}
	// bob may not manage rules.
	e.as(bob, "GET", "/events/rules/"+rule.PK+"/", nil, http.StatusNotFound, nil)
	e.as(bob, "POST", "/events/rules/", map[string]any{"name": "bob's"}, http.StatusForbidden, nil)
	// A policy binds to the rule through /policies/bindings/.
	var pol struct {
		PK string `json:"pk"`
	}
	e.admin("POST", "/policies/event_matcher/", map[string]any{"name": "on-login-failed", "action": "login_failed"}, &pol)
	var binding struct {
		PK string `json:"pk"`
	}
	e.admin("POST", "/policies/bindings/", map[string]any{"target": rule.PK, "policy": pol.PK, "order": 0}, &binding)
	// Its event names what it binds (authentik's "Binding from ... to ...").
	var evs struct {
		Results []struct {
			Context struct {
				Model struct {
					Name string `json:"name"`
				} `json:"model"`
			} `json:"context"`
		} `json:"results"`
	}
	e.admin("GET", "/events/events/?action=model_created&context_model_pk="+binding.PK, nil, &evs)
	if len(evs.Results) != 1 || evs.Results[0].Context.Model.Name != "Binding #0 to Policy on-login-failed" {
		t.Errorf("binding events = %+v", evs)
	}

	// The test sends to the caller: a local notification for akadmin.
	var test struct {
		Messages []string `json:"messages"`
	}
	e.as(admin, "POST", "/events/transports/"+tr.PK+"/test/", nil, http.StatusOK, &test)
	if test.Messages == nil {
		t.Errorf("test = %+v", test)
	}
	type note struct {
		PK   string `json:"pk"`
		Body string `json:"body"`
		Seen bool   `json:"seen"`
	}
	var list struct {
		Results []note `json:"results"`
	}
	e.as(admin, "GET", "/events/notifications/?seen=false", nil, http.StatusOK, &list)
	if len(list.Results) != 1 || !strings.Contains(list.Results[0].Body, "Test Notification") {
		t.Fatalf("notifications = %+v", list.Results)
	}
	id := list.Results[0].PK
	// Another user neither sees nor changes it.
	e.as(bob, "GET", "/events/notifications/"+id+"/", nil, http.StatusNotFound, nil)
	e.as(bob, "DELETE", "/events/notifications/"+id+"/", nil, http.StatusNotFound, nil)
	e.as(bob, "GET", "/events/notifications/", nil, http.StatusOK, &list)
	if len(list.Results) != 0 {
		t.Errorf("bob's notifications = %+v", list.Results)
	}
	var n note
	e.as(admin, "PATCH", "/events/notifications/"+id+"/", map[string]any{"seen": true}, http.StatusOK, &n)
	if !n.Seen {
		t.Errorf("patched = %+v", n)
	}
	e.as(admin, "POST", "/events/transports/"+tr.PK+"/test/", nil, http.StatusOK, nil)
	e.as(admin, "POST", "/events/notifications/mark_all_seen/", nil, http.StatusNoContent, nil)
	e.as(admin, "GET", "/events/notifications/?seen=false", nil, http.StatusOK, &list)
	if len(list.Results) != 0 {
		t.Errorf("unseen after mark_all_seen: %+v", list.Results)
	}
	e.as(admin, "DELETE", "/events/notifications/"+id+"/", nil, http.StatusNoContent, nil)

	// A webhook mapping shapes the body; the transport refuses other mapping types.
	var m struct {
		PK string `json:"pk"`
	}
	e.badRequest("POST", "/propertymappings/notification/", map[string]any{"name": "bad", "expression": "return nope"}, "expression")
	e.admin("POST", "/propertymappings/notification/", map[string]any{"name": "body", "expression": `return {"b": notification.body}`}, &m)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b) // echoed: the test's messages show the body
	}))
	defer hook.Close()
	e.as(admin, "POST", "/events/transports/", map[string]any{"name": "mapped", "mode": "webhook", "webhook_url": hook.URL,
		"webhook_mapping_body": m.PK}, http.StatusCreated, &tr)
	e.as(admin, "POST", "/events/transports/"+tr.PK+"/test/", nil, http.StatusOK, &test)
	if len(test.Messages) != 2 || test.Messages[0] != "200" || !strings.Contains(test.Messages[1], `"b":"Test Notification from transport mapped"`) {
		t.Errorf("test of a mapped webhook = %+v", test)
	}

	// A webhook that cannot be reached: the test answers 503 with the error.
	e.as(admin, "POST", "/events/transports/", map[string]any{"name": "dead", "mode": "webhook", "webhook_url": "http://127.0.0.1:1/"}, http.StatusCreated, &tr)
	e.as(admin, "POST", "/events/transports/"+tr.PK+"/test/", nil, http.StatusServiceUnavailable, &test)
	if len(test.Messages) != 1 {
		t.Errorf("test of a dead webhook = %+v", test)
	}
	e.as(admin, "DELETE", "/events/transports/"+tr.PK+"/", nil, http.StatusNoContent, nil)
	e.as(admin, "DELETE", "/events/rules/"+rule.PK+"/", nil, http.StatusNoContent, nil)
}
