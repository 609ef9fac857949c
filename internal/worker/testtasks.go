package worker

import (
	"context"
	"time"
)

// TestTasksEnv, set to 1, adds the test tasks (AddTestTasks) to the
// worker. The end-to-end tests use them; nothing else should.
const TestTasksEnv = "GATEHOUSE_TEST_TASKS"

// TestSleepTask is a test task: it sleeps TestSleep (or until its time
// limit), records that it finished, and succeeds. Its schedule is seeded
// paused; POST /api/v3/tasks/schedules/{id}/send/ runs it.
const TestSleepTask = "gatehouse_test_sleep"

// TestSleep is how long the test task sleeps.
const TestSleep = 5 * time.Second

// testLease is the lease grace in test mode, so that a task whose worker
// was killed is taken over within seconds.
const testLease = 2 * time.Second

// AddTestTasks adds the test tasks to w and shortens its lease grace.
func AddTestTasks(w *Worker) {
	w.Lease = testLease
	w.Tasks = append(w.Tasks, Task{
		Name:    TestSleepTask,
		Crontab: "0 0 1 1 *",
		Paused:  true,
		Timeout: 2 * TestSleep,
		Run: func(ctx context.Context) (string, error) {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(TestSleep):
			}
			return "slept " + TestSleep.String(), nil
		},
	})
}
