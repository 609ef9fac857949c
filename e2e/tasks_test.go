package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// The task queue across processes, on PostgreSQL, with the SQL queue and
// with the Redis Streams one: `gatehouse server` and two `gatehouse worker`
// replicas. 100 runs of clean_expired_models sent
// through the API are each recorded exactly once; a slow test task
// (GATEHOUSE_TEST_TASKS=1) whose worker is killed with SIGKILL mid-run is
// finished by the other worker once its lease is over; /tasks/workers/
// lists both workers, then the survivor only.
func TestTaskQueueAcrossWorkers(t *testing.T) {
	t.Run("sql", func(t *testing.T) { taskQueueAcrossWorkers(t, nil) })
	t.Run("redis", func(t *testing.T) {
		u, err := url.Parse(testenv.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		// A database of its own, emptied before and after.
		const db = "11"
		rdb := redis.NewClient(&redis.Options{Addr: u.Host, DB: 11})
		defer rdb.Close()
		flush := func() {
			if err := rdb.FlushDB(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
		}
		flush()
		defer flush()
		taskQueueAcrossWorkers(t, map[string]string{"GATEHOUSE_REDIS__HOST": u.Hostname(), "GATEHOUSE_REDIS__PORT": u.Port(),
			"GATEHOUSE_REDIS__DB": db, "GATEHOUSE_WORKER__QUEUE": "redis"})
	})
}

func taskQueueAcrossWorkers(t *testing.T, extra map[string]string) {
	dsn := testenv.PostgresDB(t)
	env := postgresEnv(t, dsn)
	for k, v := range extra {
		env[k] = v
	}
	env["GATEHOUSE_SECRET_KEY"] = secretKey
	env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
	srv := start(t, env, "server")
	srv.waitReady(60 * time.Second)
	s := &apiServer{t: t, base: srv.url("http") + "/api/v3", token: bootstrapToken}

	workers := map[string]*proc{}
	for range 2 {
		wenv := map[string]string{}
		for k, v := range env {
			wenv[k] = v
		}
		wenv["GATEHOUSE_DATA_DIR"] = t.TempDir()
		wenv["GATEHOUSE_TEST_TASKS"] = "1"
		w := start(t, wenv, "worker")
		started := w.waitLog("worker started", 60*time.Second)
		if want := map[bool]string{true: "redis", false: "sql"}[extra != nil]; w.waitLog("task queue", time.Second)["backend"] != want {
			t.Errorf("the worker's queue is not %s", want)
		}
		workers[started["id"].(string)] = w
	}

	poll := func(what string, limit time.Duration, check func() bool) {
		t.Helper()
		began := time.Now()
		for !check() {
			if time.Since(began) > limit {
				t.Fatalf("%s: not within %s", what, limit)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	liveWorkers := func() []string {
		out := s.must(200, "GET", "/tasks/workers/", nil)
		var ids []string
		for _, w := range out["_"].([]any) {
			ids = append(ids, w.(map[string]any)["worker_id"].(string))
		}
		return ids
	}
	poll("both workers listed", 30*time.Second, func() bool { return len(liveWorkers()) == 2 })
	for _, id := range liveWorkers() {
		if workers[id] == nil {
			t.Errorf("/tasks/workers/ lists %s, not one of ours", id)
		}
	}

	schedule := func(name string) string {
		var id string
		poll("schedule "+name, 30*time.Second, func() bool {
			for _, sc := range results(s.must(200, "GET", "/tasks/schedules/?search="+name, nil)) {
				if sc["identifier"] == name {
					id = sc["id"].(string)
				}
			}
			return id != ""
		})
		return id
	}
	// runs lists every recorded run of a task (all pages).
	runs := func(name string) []map[string]any {
		var all []map[string]any
		for page := 1; ; page++ {
			out := s.must(200, "GET", fmt.Sprintf("/tasks/tasks/?actor_name=%s&page_size=100&page=%d", url.QueryEscape(name), page), nil)
			all = append(all, results(out)...)
			if out["pagination"].(map[string]any)["next"].(float64) == 0 {
				return all
			}
		}
	}
	count := func(rs []map[string]any, status string) int {
		n := 0
		for _, r := range rs {
			if r["status"] == status {
				n++
			}
		}
		return n
	}

	// The scheduled runs stop; the runs each worker enqueued at start end.
	clean := schedule("clean_expired_models")
	s.must(200, "PATCH", "/tasks/schedules/"+clean+"/", map[string]any{"paused": true})
	var before []map[string]any
	stable := 0
	poll("the runs at start to finish", 60*time.Second, func() bool {
		rs := runs("clean_expired_models")
		if len(rs) > 0 && count(rs, "running") == 0 && len(rs) == len(before) {
			stable++
		} else {
			stable = 0
		}
		before = rs
		return stable >= 5
	})
	seen := map[string]bool{}
	for _, r := range before {
		seen[r["task_id"].(string)] = true
	}

	// 100 runs sent at once; each recorded once, successful.
	const sends = 100
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range sends / 4 {
				if code, out := s.call(s.token, "POST", "/tasks/schedules/"+clean+"/send/", nil); code != 204 {
					t.Errorf("send %d: %d %v", g, code, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	var after []map[string]any
	poll("100 recorded runs", 120*time.Second, func() bool {
		after = runs("clean_expired_models")
		return count(after, "successful") >= len(before)+sends && count(after, "running") == 0
	})
	time.Sleep(time.Second) // a duplicate would show up now
	after = runs("clean_expired_models")
	perTask, byWorker := map[string]int{}, map[string]int{}
	for _, r := range after {
		id := r["task_id"].(string)
		if seen[id] {
			continue
		}
		perTask[id]++
		byWorker[r["worker"].(string)]++
		if r["status"] != "successful" || r["retries"].(float64) != 0 || len(r["messages"].([]any)) != 1 {
			t.Errorf("run: %v", r)
		}
	}
	if len(perTask) != sends {
		t.Errorf("%d distinct tasks recorded, want %d", len(perTask), sends)
	}
	for id, n := range perTask {
		if n != 1 {
			t.Errorf("task %s recorded %d times", id, n)
		}
	}
	t.Logf("runs per worker: %v", byWorker)

	// A slow task; its worker is killed mid-run; the other finishes it.
	sleep := schedule("gatehouse_test_sleep")
	s.must(204, "POST", "/tasks/schedules/"+sleep+"/send/", nil)
	var victim string
	poll("the slow task to start", 60*time.Second, func() bool {
		for _, r := range runs("gatehouse_test_sleep") {
			if r["status"] == "running" {
				victim = r["worker"].(string)
			}
		}
		return victim != ""
	})
	p := workers[victim]
	if p == nil {
		t.Fatalf("the slow task runs on %q, not one of ours", victim)
	}
	killedAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(30 * time.Second)
	var done map[string]any
	poll("the slow task to finish on the other worker", 120*time.Second, func() bool {
		for _, r := range runs("gatehouse_test_sleep") {
			if r["status"] == "successful" {
				done = r
			}
		}
		return done != nil
	})
	if done["worker"] == victim || done["retries"].(float64) != 1 {
		t.Errorf("the slow task finished on %v (retries %v); killed %s", done["worker"], done["retries"], victim)
	}
	t.Logf("taken over and finished %s after the kill", time.Since(killedAt).Round(time.Second))
	// The killed run's record is closed by the attempt that took over.
	if rs := runs("gatehouse_test_sleep"); len(rs) != 2 || count(rs, "error") != 1 || count(rs, "successful") != 1 {
		t.Errorf("slow task records: %v", rs)
	}

	// The killed worker's heartbeat goes stale.
	poll("the killed worker to leave /tasks/workers/", 60*time.Second, func() bool {
		ids := liveWorkers()
		return len(ids) == 1 && ids[0] != victim
	})
	if !strings.Contains(srv.output(), `"ready"`) {
		t.Error("the server never logged ready")
	}
}
