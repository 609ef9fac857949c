package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A notification rule on login_failed with a webhook and a local
// transport: a failed login through the flow executor API reaches the
// webhook (authentik's default body), and the destination group's member
// finds the local notification at /events/notifications/. The worker runs
// in the server (embedded on SQLite; worker.embedded on PostgreSQL).
func TestNotificationRuleOnLoginFailed(t *testing.T) {
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword,
		"GATEHOUSE_WORKER__EMBEDDED": "true"}, func(t *testing.T, s *apiServer) {
		type delivery struct {
			at   time.Time
			body map[string]any
		}
		got := make(chan delivery, 10)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			got <- delivery{time.Now(), m}
		}))
		t.Cleanup(hook.Close)

		me := s.must(200, "GET", "/core/users/me/", nil)["user"].(map[string]any)
		group := s.must(201, "POST", "/core/groups/", map[string]any{"name": "notified admins", "users": []any{me["pk"]}})
		webhook := s.must(201, "POST", "/events/transports/", map[string]any{"name": "hook", "mode": "webhook", "webhook_url": hook.URL})
		local := s.must(201, "POST", "/events/transports/", map[string]any{"name": "in-app", "mode": "local"})
		policy := s.must(201, "POST", "/policies/event_matcher/", map[string]any{"name": "failed logins", "action": "login_failed"})
		rule := s.must(201, "POST", "/events/rules/", map[string]any{"name": "failed logins", "severity": "warning",
			"transports": []any{webhook["pk"], local["pk"]}, "destination_group": group["pk"]})
		s.must(201, "POST", "/policies/bindings/", map[string]any{"target": rule["pk"], "policy": policy["pk"], "order": 0})

		c := newFlowClient(t, s)
		const flow = "default-authentication-flow"
		c.exec("GET", flow, nil)
		c.exec("POST", flow, map[string]any{"component": "ak-stage-identification", "uid_field": "akadmin"})
		sent := time.Now()
		ch := c.exec("POST", flow, map[string]any{"component": "ak-stage-password", "password": "wrong"})
		if component(ch) != "ak-stage-password" {
			t.Fatalf("wrong password = %v", ch)
		}
		var d delivery
		select {
		case d = <-got:
		case <-time.After(20 * time.Second):
			t.Fatal("no webhook delivery within 20 s")
		}
		t.Logf("wrong-password request (argon2id included) to webhook: %v", d.at.Sub(sent))
		if d.body["severity"] != "warning" || d.body["user_username"] != "akadmin" || d.body["event_user_username"] != "akadmin" ||
			!strings.HasPrefix(d.body["body"].(string), "login_failed: ") {
			t.Errorf("webhook body = %v", d.body)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			notes := results(s.must(200, "GET", "/events/notifications/", nil))
			if len(notes) == 1 {
				n := notes[0]
				ev, _ := n["event"].(map[string]any)
				if n["severity"] != "warning" || n["seen"] != false || ev["action"] != "login_failed" {
					t.Errorf("notification = %v", n)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("notifications = %v", notes)
			}
			time.Sleep(50 * time.Millisecond)
		}
		// One rule match, one delivery per transport.
		select {
		case extra := <-got:
			t.Errorf("a second webhook delivery: %v", extra.body)
		case <-time.After(300 * time.Millisecond):
		}
	})
}

// The latency from an event to its webhook delivery (docs/benchmarks.md):
// failed logins one after another, each event's webhook body carrying the
// event's creation time (a webhook mapping), measured at the receiver.
// GATEHOUSE_NOTIFY_SAMPLES sets the number of logins (default 20).
func TestNotificationLatency(t *testing.T) {
	samples := 20
	if v, err := strconv.Atoi(os.Getenv("GATEHOUSE_NOTIFY_SAMPLES")); err == nil && v > 0 {
		samples = v
	}
	eachEngineWith(t, map[string]string{"GATEHOUSE_BOOTSTRAP_PASSWORD": bootstrapPassword,
		"GATEHOUSE_WORKER__EMBEDDED": "true"}, func(t *testing.T, s *apiServer) {
		got := make(chan time.Duration, samples)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			now := time.Now()
			var m struct {
				Created time.Time `json:"created"`
			}
			if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
				t.Errorf("webhook body: %v", err)
				return
			}
			got <- now.Sub(m.Created)
		}))
		t.Cleanup(hook.Close)
		mapping := s.must(201, "POST", "/propertymappings/notification/", map[string]any{"name": "created",
			"expression": `return {"created": notification.event.created}`})
		webhook := s.must(201, "POST", "/events/transports/", map[string]any{"name": "hook", "mode": "webhook",
			"webhook_url": hook.URL, "webhook_mapping_body": mapping["pk"]})
		policy := s.must(201, "POST", "/policies/event_matcher/", map[string]any{"name": "failed logins", "action": "login_failed"})
		rule := s.must(201, "POST", "/events/rules/", map[string]any{"name": "failed logins",
			"transports": []any{webhook["pk"]}, "destination_event_user": true})
		s.must(201, "POST", "/policies/bindings/", map[string]any{"target": rule["pk"], "policy": policy["pk"], "order": 0})

		var lat []time.Duration
		for range samples {
			c := newFlowClient(t, s)
			c.passwordLogin("akadmin", "wrong")
			select {
			case d := <-got:
				lat = append(lat, d)
			case <-time.After(20 * time.Second):
				t.Fatal("no webhook delivery within 20 s")
			}
		}
		slices.Sort(lat)
		pct := func(p int) time.Duration { return lat[(len(lat)-1)*p/100] }
		t.Logf("event to webhook over %d events: p50 %v, p90 %v, p99 %v, max %v", len(lat), pct(50), pct(90), pct(99), lat[len(lat)-1])
		// A sanity bound (the target, 100 ms at p50, is recorded in docs/benchmarks.md).
		if pct(50) > time.Second {
			t.Errorf("p50 %v", pct(50))
		}
	})
}
