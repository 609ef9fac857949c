package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// NotificationGrace is how long a notification is kept before
// notification_cleanup may delete it: one just marked seen, or sent by a
// transport's test (which has no event), stays a while.
const NotificationGrace = 24 * time.Hour

// NotificationCleanup is authentik's notification_cleanup: every 8 hours
// it deletes the notifications that were seen, or whose event is gone
// (expired through the event retention, or deleted), once they are older
// than NotificationGrace.
func NotificationCleanup(st store.Notifications, now func() time.Time) Task {
	return Task{
		Name:     "notification_cleanup",
		Interval: 8 * time.Hour,
		Crontab:  "13 */8 * * *",
		Timeout:  10 * time.Minute,
		Run: func(ctx context.Context) (string, error) {
			n, err := st.DeleteStaleNotifications(ctx, now().Add(-NotificationGrace))
			if err != nil {
				return "", fmt.Errorf("notifications: %w", err)
			}
			return fmt.Sprintf("deleted %d notifications", n), nil
		},
	}
}
