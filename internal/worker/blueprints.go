package worker

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
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
// signals changed (without blocking) once changes have been quiet for
// debounce: a blueprint file created, written, removed or renamed, or a
// directory. A failure to watch (the dir does not exist yet, the system's
// watch limit) is logged and retried; it never stops the process, and the
// hourly discovery still runs.
func WatchBlueprints(ctx context.Context, log *slog.Logger, dir string, debounce time.Duration, changed chan<- struct{}) {
	signal := func() {
		select {
		case changed <- struct{}{}:
		default: // a run is already pending
		}
	}
	first, lastErr := true, ""
	for {
		err := watchOnce(ctx, log, dir, debounce, signal, !first)
		if ctx.Err() != nil {
			return
		}
		first = false
		// Say it once per different cause, not every retry.
		if msg := fmt.Sprint(err); msg != lastErr {
			level := slog.LevelWarn
			if errors.Is(err, fs.ErrNotExist) {
				level = slog.LevelInfo // the default /blueprints outside a container
			}
			log.Log(ctx, level, "cannot watch the blueprints dir; retrying", "dir", dir, "error", err, "retry_in", watchRetry.String())
			lastErr = msg
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(watchRetry):
		}
	}
}

// watchOnce watches until ctx ends (nil) or the watch fails. With
// signalStart (a watch set up again after a failure), changed is signalled
// at once: files may have changed while nobody watched.
func watchOnce(ctx context.Context, log *slog.Logger, dir string, debounce time.Duration, changed func(), signalStart bool) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := addTree(w, dir); err != nil {
		return err
	}
	log.Info("watching blueprint files", "dir", dir)
	if signalStart {
		changed()
	}
	var fire <-chan time.Time
	timer := time.NewTimer(debounce)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("the watch was closed")
			}
			if filepath.Clean(ev.Name) == filepath.Clean(dir) && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				changed()
				return fmt.Errorf("%s was removed", dir)
			}
			if !relevant(w, ev) {
				continue
			}
			log.Debug("blueprint file changed", "path", ev.Name, "op", ev.Op.String())
			timer.Reset(debounce)
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("the watch was closed")
			}
			// An overflow loses events: look at everything again.
			log.Warn("blueprint file watch", "error", err)
			timer.Reset(debounce)
			fire = timer.C
		case <-fire:
			fire = nil
			changed()
		}
	}
}

// relevant tells the events that may change what discovery finds; a new
// directory is watched too.
func relevant(w *fsnotify.Watcher, ev fsnotify.Event) bool {
	base := filepath.Base(ev.Name)
	if strings.HasPrefix(base, ".") || ev.Op == fsnotify.Chmod {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() {
			_ = addTree(w, ev.Name) // files made before the watch are found by the discovery this triggers
			return true
		}
	}
	if ext := filepath.Ext(base); ext == ".yaml" || ext == ".yml" {
		return true
	}
	// A directory removed or renamed takes its files with it.
	return ev.Has(fsnotify.Remove | fsnotify.Rename)
}

// addTree watches dir and its subdirectories (not hidden ones; symbolic
// links are not followed).
func addTree(w *fsnotify.Watcher, dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			return fs.SkipDir
		}
		if err := w.Add(p); err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		return nil
	})
}
