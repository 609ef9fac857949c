package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
)

// POST /policies/all/{id}/test/ answers authentik's log_messages: what the
// expression logged (ak_logger, print), each a LogEvent; [] when it logged
// nothing; kept when the expression fails after logging.
func TestPolicyTestLogMessages(t *testing.T) {
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	var users struct {
		Results []struct {
			PK int64 `json:"pk"`
		} `json:"results"`
	}
	e.admin("GET", "/core/users/?username=akadmin", nil, &users)
	if len(users.Results) != 1 {
		t.Fatalf("akadmin: %+v", users)
	}
	admin := users.Results[0].PK

	type logEvent struct {
		Timestamp  time.Time      `json:"timestamp"`
		LogLevel   string         `json:"log_level"`
		Logger     string         `json:"logger"`
		Event      string         `json:"event"`
		Attributes map[string]any `json:"attributes"`
	}
	type result struct {
		Passing     bool       `json:"passing"`
		Messages    []string   `json:"messages"`
		LogMessages []logEvent `json:"log_messages"`
	}
	for _, tc := range []struct {
		name, expression string
		want             result
	}{
		{"silent", `return True`, result{Passing: true, Messages: []string{}, LogMessages: []logEvent{}}},
		{"logger and print", `ak_logger.warning("odd", user=request.user.username, n=1, nan=float("nan"), l=[1, float("inf")])
print("<b>printed</b>", context.get("k"))
ak_message("shown")
return False`, result{Messages: []string{"shown"}, LogMessages: []logEvent{
			{LogLevel: "warning", Logger: "logging-logger and print", Event: "odd",
				Attributes: map[string]any{"user": "akadmin", "n": 1.0, "nan": "NaN", "l": []any{1.0, "+Inf"}}},
			{LogLevel: "info", Logger: "logging-logger and print", Event: "<b>printed</b> v", Attributes: map[string]any{}},
		}}},
		{"fails after logging", `ak_logger.debug("first")
return 1 // 0`, result{LogMessages: []logEvent{
			{LogLevel: "debug", Logger: "logging-fails after logging", Event: "first", Attributes: map[string]any{}},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pol struct {
				PK string `json:"pk"`
			}
			e.admin("POST", "/policies/expression/", map[string]any{"name": "logging-" + tc.name, "expression": tc.expression}, &pol)
			before := time.Now()
			_, body := e.call(apitest.AdminToken, "POST", "/policies/all/"+pol.PK+"/test/",
				map[string]any{"user": admin, "context": map[string]any{"k": "v"}})
			var got result
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("%v: %s", err, body)
			}
			for i, l := range got.LogMessages {
				if l.Timestamp.Before(before.Add(-time.Second)) || l.Timestamp.After(time.Now().Add(time.Second)) {
					t.Errorf("log_messages[%d].timestamp = %v, not the run's", i, l.Timestamp)
				}
				got.LogMessages[i].Timestamp = time.Time{}
			}
			if tc.name == "fails after logging" {
				// The error is a message of its own.
				if len(got.Messages) != 1 || got.Passing {
					t.Errorf("failing policy: %s", body)
				}
				got.Messages = nil
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("test result (-want +got):\n%s\n%s", d, body)
			}
		})
	}
}
