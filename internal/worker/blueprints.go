package worker

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
)

// BlueprintsDiscovery is authentik's blueprints_discovery, hourly and
// whenever trigger fires (the file watch): it makes instances for the files
// of the blueprints dir, applies those that changed, and marks those whose
// file has gone orphaned (see blueprint.Instances.Discover).
func BlueprintsDiscovery(inst *blueprint.Instances, trigger <-chan struct{}) Task {
	return Task{
		Name:     "blueprints_discovery",
		Interval: time.Hour,
		Trigger:  trigger,
		Run: func(ctx context.Context) (string, error) {
			res, err := inst.Discover(ctx)
			if err != nil {
				return "", err
			}
			return res.String(), nil
		},
	}
}

// watchRetry is how long WatchBlueprints waits before watching again
// after it could not (no dir yet, the watch limit reached).
const watchRetry = 30 * time.Second

// WatchBlueprints watches dir and everything below it until ctx ends, and
// signals changed once changes have been quiet for debounce: a blueprint
// file created, written, removed or renamed, or a directory. A missing dir
// is logged at info level (the default /blueprints outside a container).
func WatchBlueprints(ctx context.Context, log *slog.Logger, dir string, debounce time.Duration, changed chan<- struct{}) {
	watchDir(ctx, log, dirWatch{name: "blueprints_dir", dir: dir, debounce: debounce, retry: watchRetry,
		missing: slog.LevelInfo, relevant: blueprintEvent}, changed)
}

// blueprintEvent picks the events that may change what discovery finds.
func blueprintEvent(ev fsnotify.Event) bool {
	base := filepath.Base(ev.Name)
	if strings.HasPrefix(base, ".") {
		return false
	}
	if ext := filepath.Ext(base); ext == ".yaml" || ext == ".yml" {
		return true
	}
	// A directory removed or renamed takes its files with it.
	return ev.Has(fsnotify.Remove | fsnotify.Rename)
}
