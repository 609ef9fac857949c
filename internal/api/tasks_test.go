package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// makeTaskFixtures adds a schedule and a recorded run of its task.
func (f *fixtures) makeTaskFixtures(c *conformance) {
	c.t.Helper()
	ctx := context.Background()
	sc := &store.TaskSchedule{Identifier: "conformance_task", Name: "conformance_task", Crontab: "0 * * * *",
		NextRun: time.Now().Add(time.Hour)}
	if err := c.srv.Store.EnsureTaskSchedule(ctx, sc); err != nil {
		c.t.Fatal(err)
	}
	f.schedule = sc.UUID.String()
	end := time.Now()
	run := &store.SystemTask{TaskID: "q", Name: "conformance_task", Status: store.TaskWarning, Attempt: 2,
		Started: end.Add(-time.Second), Finished: &end, DurationMS: 1000,
		Messages: []store.TaskMessage{{Time: end, Level: "warning", Text: "careful"}}}
	if err := c.srv.Store.CreateSystemTask(ctx, run); err != nil {
		c.t.Fatal(err)
	}
	f.taskRun = run.UUID.String()
}

type taskJSON struct {
	MessageID        string  `json:"message_id"`
	ActorName        string  `json:"actor_name"`
	Status           string  `json:"status"`
	State            string  `json:"state"`
	AggregatedStatus string  `json:"aggregated_status"`
	Retries          int     `json:"retries"`
	Duration         float64 `json:"duration"`
	Error            string  `json:"error"`
	Messages         []struct {
		Event    string `json:"event"`
		LogLevel string `json:"log_level"`
	} `json:"messages"`
}

type scheduleJSON struct {
	ID             string    `json:"id"`
	Identifier     string    `json:"identifier"`
	ActorName      string    `json:"actor_name"`
	Crontab        string    `json:"crontab"`
	Paused         bool      `json:"paused"`
	NextRun        time.Time `json:"next_run"`
	LastTaskStatus *string   `json:"last_task_status"`
}

func TestTasksAPI(t *testing.T) {
	ctx := context.Background()
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	st := e.srv.Store
	base := time.Now().Add(-time.Hour).UTC()
	for i, r := range []struct {
		name   string
		status store.TaskStatus
		err    string
	}{
		{"clean_expired_models", store.TaskSuccessful, ""},
		{"clean_expired_models", store.TaskError, "sessions: boom"},
		{"blueprints_discovery", store.TaskRunning, ""},
	} {
		if err := st.CreateSystemTask(ctx, &store.SystemTask{Name: r.name, Status: r.status, Error: r.err, Attempt: 1,
			Started: base.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(query string) (out []string) {
		t.Helper()
		var page struct {
			Results []taskJSON `json:"results"`
		}
		e.admin("GET", "/tasks/tasks/"+query, nil, &page)
		for _, r := range page.Results {
			out = append(out, r.ActorName+":"+r.Status+":"+r.AggregatedStatus)
		}
		return out
	}
	for query, want := range map[string][]string{
		"": {"blueprints_discovery:running:consumed", "clean_expired_models:error:error", "clean_expired_models:successful:done"},
		"?actor_name=clean_expired_models&ordering=started": {"clean_expired_models:successful:done", "clean_expired_models:error:error"},
		"?aggregated_status=error":                          {"clean_expired_models:error:error"},
		"?status=running":                                   {"blueprints_discovery:running:consumed"},
		"?status=running&aggregated_status=done":            nil,
	} {
		if got := list(query); !cmp.Equal(got, want) {
			t.Errorf("list %q = %v, want %v", query, got, want)
		}
	}
	e.badRequest("GET", "/tasks/tasks/?ordering=error", nil, "ordering")
	var page struct {
		Results []taskJSON `json:"results"`
	}
	e.admin("GET", "/tasks/tasks/?aggregated_status=error", nil, &page)
	var one taskJSON
	e.admin("GET", "/tasks/tasks/"+page.Results[0].MessageID+"/", nil, &one)
	if one.Error != "sessions: boom" || one.State != "rejected" || one.Messages == nil {
		t.Errorf("retrieve: %+v", one)
	}
	e.as(apitest.AdminToken, "GET", "/tasks/tasks/"+uuid.NewString()+"/", nil, 404, nil)

	// Schedules: list, patch (crontab checked, next run moved), send.
	sc := &store.TaskSchedule{Identifier: "clean_expired_models", Name: "clean_expired_models", Crontab: "2-59/5 * * * *",
		NextRun: time.Now().Add(time.Minute), TimeoutMS: 60000}
	if err := st.EnsureTaskSchedule(ctx, sc); err != nil {
		t.Fatal(err)
	}
	var scheds struct {
		Results []scheduleJSON `json:"results"`
	}
	e.admin("GET", "/tasks/schedules/", nil, &scheds)
	if len(scheds.Results) != 1 || scheds.Results[0].LastTaskStatus == nil || *scheds.Results[0].LastTaskStatus != "error" ||
		scheds.Results[0].ActorName != "clean_expired_models" {
		t.Fatalf("schedules: %+v", scheds.Results)
	}
	item := "/tasks/schedules/" + sc.UUID.String() + "/"
	e.badRequest("PATCH", item, map[string]any{"crontab": "61 * * * *"}, "crontab")
	var got scheduleJSON
	e.admin("PATCH", item, map[string]any{"crontab": "0 3 * * *", "paused": true}, &got)
	if got.Crontab != "0 3 * * *" || !got.Paused || got.NextRun.UTC().Hour() != 3 || got.NextRun.Minute() != 0 {
		t.Errorf("patched: %+v", got)
	}
	for range 3 {
		e.as(apitest.AdminToken, "POST", item+"send/", nil, 204, nil)
	}
	b := e.srv.API.Queue.(queue.Backend)
	jobs, err := b.Claim(ctx, "test", 10, time.Second)
	if err != nil || len(jobs) != 3 || jobs[0].Name != "clean_expired_models" || jobs[0].Timeout != time.Minute {
		t.Errorf("sent tasks: %v %v", jobs, err)
	}
	e.as(apitest.AdminToken, "POST", "/tasks/schedules/"+uuid.NewString()+"/send/", nil, 404, nil)

	// Workers: only those with a recent heartbeat.
	for id, seen := range map[string]time.Time{"live": time.Now(), "stale": time.Now().Add(-time.Hour)} {
		if err := st.HeartbeatWorker(ctx, &store.WorkerStatus{ID: id, Hostname: "h", Version: "test", Started: seen, LastSeen: seen}); err != nil {
			t.Fatal(err)
		}
	}
	var workers []struct {
		WorkerID        string `json:"worker_id"`
		VersionMatching bool   `json:"version_matching"`
	}
	e.admin("GET", "/tasks/workers/", nil, &workers)
	if len(workers) != 1 || workers[0].WorkerID != "live" || !workers[0].VersionMatching {
		t.Errorf("workers: %+v", workers)
	}

	// Permissions: authentik_tasks.* and authentik_tasks_schedules.*.
	var u struct {
		PK int64 `json:"pk"`
	}
	e.admin("POST", "/core/users/", map[string]any{"username": "ops", "name": "Ops"}, &u)
	ops := e.tokenFor(u.PK, "ops-token")
	e.as(ops, "GET", "/tasks/tasks/", nil, 403, nil)
	e.as(ops, "GET", "/tasks/workers/", nil, 403, nil)
	e.as(ops, "GET", item, nil, 404, nil)
	e.grant(u.PK, "authentik_tasks.view_task", "authentik_tasks.view_workerstatus", "authentik_tasks_schedules.view_schedule")
	e.as(ops, "GET", "/tasks/tasks/", nil, 200, nil)
	e.as(ops, "GET", "/tasks/workers/", nil, 200, nil)
	e.as(ops, "GET", item, nil, 200, nil)
	e.as(ops, "POST", item+"send/", nil, 403, nil)
	e.as(ops, "PATCH", item, map[string]any{"paused": false}, 403, nil)
	e.grant(u.PK, "authentik_tasks_schedules.view_schedule", "authentik_tasks_schedules.change_schedule")
	e.as(ops, "POST", item+"send/", nil, 204, nil)
	code, body := e.call(apitest.AdminToken, http.MethodGet, "/rbac/permissions/?page_size=100&search=schedule", nil)
	if code != 200 || !strings.Contains(string(body), "authentik_tasks_schedules") {
		t.Errorf("permissions list: %d %s", code, body)
	}
}
