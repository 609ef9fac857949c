package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/notify"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

// The production shape (issue 7, "Scale-out"): one PostgreSQL, two
// `gatehouse server` processes on their own ports and two `gatehouse
// worker` processes; once with a Redis (which then also holds the task
// queue, worker.queue=redis) and once with PostgreSQL only. In order:
//
//   - sessions: users log in on one server and use the session on the
//     other; a logout on one ends the session on both;
//   - caches: a provider setting changed on A shows in B's discovery
//     document within a second;
//   - Redis (a private redis-server, no persistence) restarts: every
//     session still works on both servers, both are ready again, and
//     B's cache follows a change made on A again;
//   - 100 events, created on both servers, each reach a notification
//     webhook exactly once;
//   - a worker is killed with SIGKILL while it delivers a webhook; the
//     other worker delivers it once the lease is over; a new worker starts;
//   - a schedule made to fire every minute runs once per tick across the
//     workers (ticks that pass during the steps above, or the next one).
func TestScaleOut(t *testing.T) {
	// The two clusters share nothing (own database, Redis, ports and
	// webhook receiver) and spend most of their time waiting for ticks and
	// leases: they run side by side.
	t.Run("postgres", func(t *testing.T) { t.Parallel(); scaleOut(t, nil) })
	t.Run("postgres+redis", func(t *testing.T) { t.Parallel(); scaleOut(t, startRedis(t)) })
}

// scaleOutTickSlack is how long after a minute boundary its scheduled run
// must have started: the scheduler's tick plus a margin for a busy machine.
const scaleOutTickSlack = worker.DefaultTick + 7*time.Second

func scaleOut(t *testing.T, rs *redisServer) {
	began := time.Now()
	step := func(name string) { t.Logf("%5.1fs %s", time.Since(began).Seconds(), name) }
	dsn := testenv.PostgresDB(t)
	base := postgresEnv(t, dsn)
	base["GATEHOUSE_SECRET_KEY"] = secretKey
	base["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
	if rs != nil {
		maps.Copy(base, rs.env())
		base["GATEHOUSE_WORKER__QUEUE"] = "redis"
	}
	env := func(extra map[string]string) map[string]string {
		e := maps.Clone(base)
		e["GATEHOUSE_DATA_DIR"] = t.TempDir()
		maps.Copy(e, extra)
		return e
	}

	// The webhook receiver, started first so that it outlives the workers.
	hook := newScaleOutHook(t)

	// Two servers and two workers, all started at once on a new database,
	// as an orchestrator starts replicas: migrations and the bootstrap
	// (akadmin, default flows) run under locks, so each happens once. The
	// workers' test mode shortens the lease grace to 2 s, so a killed
	// worker's task is taken over quickly.
	a := start(t, env(nil), "server")
	b := start(t, env(nil), "server")
	workers := map[string]*proc{}
	startWorkers := func(n int) {
		var ps []*proc
		for range n {
			ps = append(ps, start(t, env(map[string]string{worker.TestTasksEnv: "1"}), "worker"))
		}
		for _, w := range ps {
			workers[w.waitLog("worker started", 60*time.Second)["id"].(string)] = w
		}
	}
	startWorkers(2)
	a.waitReady(60 * time.Second)
	b.waitReady(60 * time.Second)
	sA := &apiServer{t: t, base: a.url("http") + "/api/v3", token: bootstrapToken}
	sB := &apiServer{t: t, base: b.url("http") + "/api/v3", token: bootstrapToken}
	step("two servers and two workers ready")

	// A notification rule: every group created goes to the webhook, its
	// body naming the event and the group.
	mapping := sA.must(201, "POST", "/propertymappings/notification/", map[string]any{"name": "event and group",
		"expression": `return {"event": notification.event.pk, "group": notification.event.context["model"]["name"]}`})
	transport := sA.must(201, "POST", "/events/transports/", map[string]any{"name": "hook", "mode": "webhook",
		"webhook_url": hook.srv.URL, "webhook_mapping_body": mapping["pk"]})
	policy := sA.must(201, "POST", "/policies/event_matcher/", map[string]any{"name": "groups created",
		"action": "model_created", "model": "authentik_core.group"})
	rule := sA.must(201, "POST", "/events/rules/", map[string]any{"name": "groups created",
		"transports": []any{transport["pk"]}, "destination_event_user": true})
	sA.must(201, "POST", "/policies/bindings/", map[string]any{"target": rule["pk"], "policy": policy["pk"], "order": 0})

	// Sessions: users log in on one server and use the session on the
	// other. Both listen on 127.0.0.1, and cookies are not isolated by port
	// (RFC 6265 §8.5), so one cookie jar serves both, as one host name in
	// front of a load balancer would.
	type session struct {
		user string
		on   map[*apiServer]*flowClient // the same cookie jar, per server
	}
	var sessions []session
	for i, s := range []*apiServer{sA, sA, sB, sB} {
		u := newDevUser(t, sA, fmt.Sprintf("scale%d", i))
		c, ch := u.login(t, s)
		if component(ch) != "xak-flow-redirect" {
			t.Fatalf("%s: login on %s = %v", u.name, s.base, ch)
		}
		sess := session{user: u.name, on: map[*apiServer]*flowClient{}}
		for _, s := range []*apiServer{sA, sB} {
			sess.on[s] = &flowClient{t: t, s: s, http: c.http}
		}
		sessions = append(sessions, sess)
	}
	checkSessions := func(when string) {
		t.Helper()
		for _, sess := range sessions {
			for s, c := range sess.on {
				if code, me := c.me(); code != 200 || me["user"].(map[string]any)["username"] != sess.user {
					t.Errorf("%s: %s's session on %s: %d %v", when, sess.user, s.base, code, me)
				}
			}
		}
	}
	checkSessions("after the logins")
	// A logout on A ends the session on B at once.
	last := sessions[len(sessions)-1]
	sessions = sessions[:len(sessions)-1]
	if ch := last.on[sA].exec("GET", "default-invalidation-flow", nil); component(ch) != "xak-flow-redirect" {
		t.Fatalf("logout on A = %v", ch)
	}
	if code, _ := last.on[sB].me(); code != 403 {
		t.Errorf("%s logged out on A: me on B answers %d", last.user, code)
	}
	step("sessions shared")

	// Caches: B's discovery document (cached by B) follows a provider
	// setting changed on A within a second.
	authz := sA.must(200, "GET", "/flows/instances/default-provider-authorization-implicit-consent/", nil)
	inv := sA.must(200, "GET", "/flows/instances/default-provider-invalidation-flow/", nil)
	prov := sA.must(201, "POST", "/providers/oauth2/", map[string]any{"name": "scale-out", "authorization_flow": authz["pk"],
		"invalidation_flow": inv["pk"], "client_type": "confidential", "client_id": "scale-out-client",
		"redirect_uris": []map[string]any{{"matching_mode": "strict", "url": "https://app.example.com/callback"}}})
	sA.must(201, "POST", "/core/applications/", map[string]any{"name": "Scale-out", "slug": "scale-out", "provider": prov["pk"]})
	rootB := b.url("http")
	issuerOnB := func() string {
		t.Helper()
		resp, body := get(t, nil, rootB+"/application/o/scale-out/.well-known/openid-configuration")
		var doc struct {
			Issuer string `json:"issuer"`
		}
		if resp.StatusCode != 200 || json.Unmarshal(body, &doc) != nil {
			t.Fatalf("discovery on B: %d %s", resp.StatusCode, body)
		}
		return doc.Issuer
	}
	perProvider, global := rootB+"/application/o/scale-out/", rootB+"/"
	// setIssuerMode changes the provider on A, B having the old document
	// cached, and waits for B to show the change.
	setIssuerMode := func(when, mode, from, to string) {
		t.Helper()
		if got := issuerOnB(); got != from {
			t.Fatalf("%s: issuer on B = %q, want %q", when, got, from)
		}
		sA.must(200, "PATCH", fmt.Sprintf("/providers/oauth2/%v/", prov["pk"]), map[string]any{"issuer_mode": mode})
		changed := time.Now()
		for issuerOnB() != to {
			if time.Since(changed) > 10*time.Second {
				t.Fatalf("%s: B's discovery document still shows the old issuer after 10 s", when)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if took := time.Since(changed); took > time.Second {
			t.Errorf("%s: B showed A's provider change after %v, want at most 1 s", when, took.Round(time.Millisecond))
		} else {
			t.Logf("%s: B showed A's provider change after %v", when, took.Round(time.Millisecond))
		}
	}
	setIssuerMode("first change", "global", perProvider, global)
	step("cache invalidated across servers")

	// Redis restarts empty: nobody is logged out.
	if rs != nil {
		rs.restart()
		a.waitReady(30 * time.Second)
		b.waitReady(30 * time.Second)
		checkSessions("after the Redis restart")
		// The message bus over Redis is back: invalidations reach B.
		setIssuerMode("after the Redis restart", "per_provider", global, perProvider)
		step("Redis restarted")
	}

	// A schedule every minute, checked at the end (its ticks run during the
	// next steps). The test task only runs when its schedule fires.
	sleep := scheduleID(t, sA, worker.TestSleepTask)
	sA.must(200, "PATCH", "/tasks/schedules/"+sleep+"/", map[string]any{"crontab": "* * * * *", "paused": false})
	scheduledAt := time.Now()

	// 100 events on both servers at once: each delivered exactly once.
	const events = 100
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []*apiServer{sA, sB}[g%2]
			for i := g; i < events; i += 4 {
				if code, out := s.call(s.token, "POST", "/core/groups/", map[string]any{"name": fmt.Sprintf("scale-%03d", i)}); code != 201 {
					t.Errorf("create group %d: %d %v", i, code, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	sent := time.Now()
	poll(t, "100 deliveries", 60*time.Second, func() bool { return hook.distinct() >= events })
	t.Logf("100 events to their webhook deliveries: %v after the last was created", time.Since(sent).Round(time.Millisecond))
	time.Sleep(time.Second) // a duplicate would arrive now
	hook.checkOnce(t, events)
	step("100 events delivered once each")

	// A worker dies mid-delivery: the webhook holds the delivery of one
	// event until the worker running it is killed; the other worker
	// delivers it once the lease is over.
	sB.must(201, "POST", "/core/groups/", map[string]any{"name": scaleOutVictim})
	select {
	case <-hook.held:
	case <-time.After(30 * time.Second):
		t.Fatal("the held delivery did not arrive within 30 s")
	}
	var victim, taskID string
	poll(t, "the held delivery's run record", 10*time.Second, func() bool {
		for _, r := range taskRuns(t, sA, notify.TransportTask) {
			if r["status"] == "running" {
				victim, taskID = r["worker"].(string), r["task_id"].(string)
			}
		}
		return victim != ""
	})
	p := workers[victim]
	if p == nil {
		t.Fatalf("the delivery runs on %q, not one of our workers", victim)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(10 * time.Second)
	killed := time.Now()
	poll(t, "the held delivery to be made again", 60*time.Second, func() bool { return hook.count(scaleOutVictim) >= 2 })
	t.Logf("a delivery of the killed worker made again after %v", time.Since(killed).Round(100*time.Millisecond))
	var final map[string]any
	poll(t, "the taken-over run to be recorded", 10*time.Second, func() bool {
		for _, r := range taskRuns(t, sA, notify.TransportTask) {
			if r["task_id"] == taskID && r["status"] == "successful" {
				final = r
			}
		}
		return final != nil
	})
	if final["worker"] == victim || final["retries"].(float64) != 1 {
		t.Errorf("the held delivery finished on %v (retries %v); killed %s", final["worker"], final["retries"], victim)
	}
	// The replica is replaced, as an orchestrator would.
	startWorkers(1)
	step("killed worker's delivery finished on the other; a new worker started")

	// The schedule: one run per tick, and one replica claimed each tick.
	first := scheduledAt.UTC().Truncate(time.Minute).Add(time.Minute)
	if wait := time.Until(first.Add(scaleOutTickSlack)); wait > 0 {
		t.Logf("waiting %v for the schedule's first tick", wait.Round(time.Second))
		time.Sleep(wait)
	}
	checkedAt := time.Now()
	perTick := map[time.Time]map[string]bool{} // tick (UTC, as map keys compare locations): task ids
	for _, r := range taskRuns(t, sA, worker.TestSleepTask) {
		started, err := time.Parse(time.RFC3339Nano, r["started"].(string))
		if err != nil {
			t.Fatal(err)
		}
		tick := started.UTC().Truncate(time.Minute)
		if perTick[tick] == nil {
			perTick[tick] = map[string]bool{}
		}
		perTick[tick][r["task_id"].(string)] = true
	}
	ticks := 0
	for tick := first; !tick.Add(scaleOutTickSlack).After(checkedAt); tick = tick.Add(time.Minute) {
		ticks++
		if n := len(perTick[tick]); n != 1 {
			t.Errorf("the tick of %s ran %d tasks, want 1", tick.Format(time.TimeOnly), n)
		}
	}
	for tick, ids := range perTick {
		if tick.Before(first) || len(ids) > 1 {
			t.Errorf("tasks started in the minute of %s: %d (the schedule was set at %s)", tick.Format(time.TimeOnly), len(ids), scheduledAt.Format(time.TimeOnly))
		}
	}
	fired := map[string]int{} // by next_run: replicas that claimed the tick
	for _, w := range workers {
		for _, l := range w.logsWith("schedule fired") {
			if l["schedule"] == worker.TestSleepTask {
				fired[l["next_run"].(string)]++
			}
		}
	}
	for next, n := range fired {
		if n != 1 {
			t.Errorf("the tick before %s was claimed %d times", next, n)
		}
	}
	if len(fired) < ticks {
		t.Errorf("%d ticks claimed, want at least %d", len(fired), ticks)
	}
	step(fmt.Sprintf("the schedule fired once in each of %d ticks", ticks))
}

// scaleOutVictim is the group whose webhook delivery is held.
const scaleOutVictim = "scale-held"

// scaleOutHook is the webhook receiver: it counts deliveries by group and
// event, and holds the first delivery of scaleOutVictim until its sender
// goes away.
type scaleOutHook struct {
	srv     *httptest.Server
	held    chan struct{}
	mu      sync.Mutex
	byGroup map[string]int
	byEvent map[string]int
}

func newScaleOutHook(t *testing.T) *scaleOutHook {
	h := &scaleOutHook{held: make(chan struct{}), byGroup: map[string]int{}, byEvent: map[string]int{}}
	release := make(chan struct{})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Event, Group string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Event == "" {
			t.Errorf("webhook body: %v %+v", err, body)
			return
		}
		h.mu.Lock()
		h.byGroup[body.Group]++
		h.byEvent[body.Event]++
		first := body.Group == scaleOutVictim && h.byGroup[body.Group] == 1
		h.mu.Unlock()
		if first {
			close(h.held)
			select {
			case <-r.Context().Done(): // the worker died
			case <-release:
			}
		}
	}))
	t.Cleanup(h.srv.Close)
	t.Cleanup(func() { close(release) }) // runs before Close
	return h
}

func (h *scaleOutHook) distinct() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byGroup)
}

func (h *scaleOutHook) count(group string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byGroup[group]
}

// checkOnce checks that n groups' events were each delivered exactly once.
func (h *scaleOutHook) checkOnce(t *testing.T, n int) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.byGroup) != n || len(h.byEvent) != n {
		t.Errorf("deliveries for %d groups and %d events, want %d", len(h.byGroup), len(h.byEvent), n)
	}
	for _, m := range []map[string]int{h.byGroup, h.byEvent} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if m[k] != 1 {
				t.Errorf("%s delivered %d times", k, m[k])
			}
		}
	}
}

// poll calls check until it is true, failing t after limit.
func poll(t *testing.T, what string, limit time.Duration, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scheduleID is the id of the schedule of a task.
func scheduleID(t *testing.T, s *apiServer, task string) string {
	t.Helper()
	for _, sc := range results(s.must(200, "GET", "/tasks/schedules/?search="+url.QueryEscape(task), nil)) {
		if sc["identifier"] == task {
			return sc["id"].(string)
		}
	}
	t.Fatalf("no schedule %s", task)
	return ""
}

// taskRuns lists every recorded run of a task (all pages).
func taskRuns(t *testing.T, s *apiServer, task string) []map[string]any {
	t.Helper()
	var all []map[string]any
	for page := 1; ; page++ {
		out := s.must(200, "GET", fmt.Sprintf("/tasks/tasks/?actor_name=%s&page_size=100&page=%d", url.QueryEscape(task), page), nil)
		all = append(all, results(out)...)
		if out["pagination"].(map[string]any)["next"].(float64) == 0 {
			return all
		}
	}
}
