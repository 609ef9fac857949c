package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func testSystemTasks(t *testing.T, s store.Store) {
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Runs: recorded, updated when finished, listed with filters.
	run := &store.SystemTask{TaskID: "q1", Name: "clean_expired_models", Status: store.TaskRunning, Attempt: 1,
		Worker: "w1", Started: base}
	if err := s.CreateSystemTask(ctx, run); err != nil {
		t.Fatal(err)
	}
	fin := base.Add(1500 * time.Millisecond)
	run.Status, run.Finished, run.DurationMS = store.TaskWarning, &fin, 1500
	run.Messages = []store.TaskMessage{{Time: fin, Level: "warning", Text: "deleted 3 sessions"}}
	if err := s.UpdateSystemTask(ctx, run); err != nil {
		t.Fatal(err)
	}
	got, err := s.SystemTaskByUUID(ctx, run.UUID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(run, got, cmpTime, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	if err := s.CreateSystemTask(ctx, &store.SystemTask{Name: "x", Status: "bogus", Started: base}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad status: %v", err)
	}
	for i, st := range []store.TaskStatus{store.TaskSuccessful, store.TaskError, store.TaskRunning} {
		if err := s.CreateSystemTask(ctx, &store.SystemTask{Name: "blueprints_discovery", Status: st,
			Started: base.Add(time.Duration(i+1) * time.Minute), Error: map[bool]string{true: "boom"}[st == store.TaskError]}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(ts []*store.SystemTask) (out []string) {
		for _, x := range ts {
			out = append(out, x.Name+":"+string(x.Status))
		}
		return out
	}
	for _, tc := range []struct {
		f     store.SystemTaskFilter
		want  []string
		total int
	}{
		{store.SystemTaskFilter{}, []string{"blueprints_discovery:running", "blueprints_discovery:error", "blueprints_discovery:successful", "clean_expired_models:warning"}, 4},
		{store.SystemTaskFilter{Name: "blueprints_discovery", Ordering: "started", Page: store.Page{Limit: 2}}, []string{"blueprints_discovery:successful", "blueprints_discovery:error"}, 3},
		{store.SystemTaskFilter{Status: store.TaskWarning}, []string{"clean_expired_models:warning"}, 1},
		{store.SystemTaskFilter{Name: "nope\x00"}, nil, 0},
	} {
		list, n, err := s.ListSystemTasks(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, names(list)); diff != "" || n != tc.total {
			t.Errorf("%+v: total %d (-want +got):\n%s", tc.f, n, diff)
		}
	}
	if _, _, err := s.ListSystemTasks(ctx, store.SystemTaskFilter{Ordering: "error"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ordering by an unknown field: %v", err)
	}
	// A run whose worker died is closed when the task runs again.
	lost := &store.SystemTask{TaskID: "q2", Name: "x", Status: store.TaskRunning, Attempt: 1, Started: base}
	if err := s.CreateSystemTask(ctx, lost); err != nil {
		t.Fatal(err)
	}
	if n, err := s.AbandonSystemTasks(ctx, "q2", "lost", base.Add(time.Minute)); n != 1 || err != nil {
		t.Errorf("AbandonSystemTasks = %d, %v", n, err)
	}
	if n, err := s.AbandonSystemTasks(ctx, "q2", "lost", base.Add(time.Minute)); n != 0 || err != nil {
		t.Errorf("AbandonSystemTasks again = %d, %v", n, err)
	}
	if got, err := s.SystemTaskByUUID(ctx, lost.UUID); err != nil || got.Status != store.TaskError || got.Error != "lost" ||
		got.Finished == nil || !got.Finished.Equal(base.Add(time.Minute)) {
		t.Errorf("abandoned run: %+v, %v", got, err)
	}
	if got, _ := s.SystemTaskByUUID(ctx, run.UUID); got.Status != store.TaskWarning {
		t.Errorf("another task's run changed: %+v", got)
	}
	// Retention: every run that started before the limit.
	if n, err := s.DeleteSystemTasksBefore(ctx, base.Add(2*time.Minute)); err != nil || n != 3 {
		t.Errorf("DeleteSystemTasksBefore = %d, %v; want 3", n, err)
	}
	if _, n, _ := s.ListSystemTasks(ctx, store.SystemTaskFilter{}); n != 2 {
		t.Errorf("%d runs left, want 2", n)
	}

	// Schedules: seeded once, claimed once per tick.
	sc := &store.TaskSchedule{Identifier: "clean_expired_models", Name: "clean_expired_models", Crontab: "*/5 * * * *", NextRun: base}
	if err := s.EnsureTaskSchedule(ctx, sc); err != nil {
		t.Fatal(err)
	}
	again := &store.TaskSchedule{Identifier: "clean_expired_models", Name: "other", Crontab: "0 * * * *", NextRun: base.Add(time.Hour)}
	if err := s.EnsureTaskSchedule(ctx, again); err != nil {
		t.Fatal(err)
	}
	if again.UUID != sc.UUID || again.Crontab != "*/5 * * * *" || again.Args != "{}" || !again.NextRun.Equal(base) {
		t.Errorf("ensure of an existing schedule: %+v", again)
	}
	due, err := s.DueTaskSchedules(ctx, base)
	if err != nil || len(due) != 1 {
		t.Fatalf("due: %v, %v", due, err)
	}
	next := base.Add(5 * time.Minute)
	ok1, err1 := s.ClaimTaskSchedule(ctx, sc.UUID, due[0].NextRun, next, base)
	ok2, err2 := s.ClaimTaskSchedule(ctx, sc.UUID, due[0].NextRun, next, base)
	if err1 != nil || err2 != nil || !ok1 || ok2 {
		t.Errorf("claims of one tick: %v %v, %v %v; want exactly the first", ok1, err1, ok2, err2)
	}
	if due, _ := s.DueTaskSchedules(ctx, base.Add(time.Minute)); len(due) != 0 {
		t.Errorf("due after the claim: %v", due)
	}
	got2, err := s.TaskScheduleByUUID(ctx, sc.UUID)
	if err != nil || !got2.NextRun.Equal(next) || got2.LastRun == nil || !got2.LastRun.Equal(base) {
		t.Fatalf("schedule after the claim: %+v, %v", got2, err)
	}
	got2.Paused = true
	if err := s.UpdateTaskSchedule(ctx, got2); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.DueTaskSchedules(ctx, base.Add(time.Hour)); len(due) != 0 {
		t.Errorf("a paused schedule is due: %v", due)
	}
	if ok, _ := s.ClaimTaskSchedule(ctx, sc.UUID, next, next.Add(time.Minute), base); ok {
		t.Error("a paused schedule was claimed")
	}
	list, n, err := s.ListTaskSchedules(ctx, store.ListOptions{Search: "expired"})
	if err != nil || n != 1 || len(list) != 1 || !list[0].Paused {
		t.Errorf("list schedules: %v %d %v", list, n, err)
	}

	// Workers: heartbeats, stale ones dropped.
	w1 := &store.WorkerStatus{ID: "w1", Hostname: "a", Version: "1", Started: base, LastSeen: base}
	w2 := &store.WorkerStatus{ID: "w2", Hostname: "b", Version: "1", Started: base.Add(time.Second), LastSeen: base}
	for _, w := range []*store.WorkerStatus{w1, w2} {
		if err := s.HeartbeatWorker(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	w1.LastSeen = base.Add(time.Minute)
	if err := s.HeartbeatWorker(ctx, w1); err != nil {
		t.Fatal(err)
	}
	ws, err := s.ListWorkers(ctx, base.Add(30*time.Second))
	if err != nil || len(ws) != 1 || ws[0].ID != "w1" || !ws[0].LastSeen.Equal(base.Add(time.Minute)) {
		t.Errorf("live workers: %v %v", ws, err)
	}
	if ws, _ := s.ListWorkers(ctx, base); len(ws) != 2 || ws[0].ID != "w1" {
		t.Errorf("all workers: %v", ws)
	}
	if n, err := s.DeleteWorkersBefore(ctx, base.Add(30*time.Second)); n != 1 || err != nil {
		t.Errorf("DeleteWorkersBefore = %d, %v", n, err)
	}
	if err := s.DeleteWorker(ctx, "w1"); err != nil {
		t.Error(err)
	}
	if err := s.DeleteWorker(ctx, "w1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete again: %v", err)
	}
}
