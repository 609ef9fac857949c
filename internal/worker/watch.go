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
)

// dirWatch says what watchDir watches: a directory and the directories
// below it (not hidden ones; links are not followed below the top).
type dirWatch struct {
	// name is the setting, for the log ("blueprints_dir").
	name string
	dir  string
	// debounce: changed is signalled once changes have been quiet this
	// long. retry: a watch that failed is set up again after it.
	debounce, retry time.Duration
	// missing is the level a missing dir is logged at (other failures are
	// warnings).
	missing slog.Level
	// relevant, when set, picks the events that count; a new directory
	// always does (it is watched too, and what it holds is found by the
	// run it triggers). Chmod never counts.
	relevant func(fsnotify.Event) bool
}

// watchDir watches until ctx ends and signals changed (without blocking)
// after each burst of relevant changes. A failure to watch (no dir yet,
// the system's watch limit) is logged once per cause and retried; it never
// stops the process, and the task's schedule still runs.
func watchDir(ctx context.Context, log *slog.Logger, wd dirWatch, changed chan<- struct{}) {
	signal := func() {
		select {
		case changed <- struct{}{}:
		default: // a run is already pending
		}
	}
	lastErr := ""
	for first := true; ; first = false {
		err := wd.once(ctx, log, signal, !first)
		if ctx.Err() != nil {
			return
		}
		if msg := fmt.Sprint(err); msg != lastErr {
			level := slog.LevelWarn
			if errors.Is(err, fs.ErrNotExist) {
				level = wd.missing
			}
			log.Log(ctx, level, "cannot watch "+wd.name+"; retrying", "dir", wd.dir, "error", err, "retry_in", wd.retry.String())
			lastErr = msg
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wd.retry):
		}
	}
}

// once watches until ctx ends (nil) or the watch fails. With signalStart
// (a watch set up again after a failure) changed is signalled at once:
// files may have changed while nobody watched.
func (wd dirWatch) once(ctx context.Context, log *slog.Logger, changed func(), signalStart bool) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	root, err := filepath.EvalSymlinks(wd.dir)
	if err != nil {
		return err
	}
	if err := addTree(w, root); err != nil {
		return err
	}
	log.Info("watching "+wd.name, "dir", wd.dir)
	if signalStart {
		changed()
	}
	timer := time.NewTimer(wd.debounce)
	timer.Stop()
	defer timer.Stop()
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("the watch was closed")
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			if filepath.Clean(ev.Name) == root && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				changed()
				return fmt.Errorf("%s was removed", wd.dir)
			}
			newDir := false
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() && !strings.HasPrefix(fi.Name(), ".") {
					_ = addTree(w, ev.Name)
					newDir = true
				}
			}
			if !newDir && wd.relevant != nil && !wd.relevant(ev) {
				continue
			}
			log.Debug(wd.name+" changed", "path", ev.Name, "op", ev.Op.String())
			timer.Reset(wd.debounce)
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("the watch was closed")
			}
			// An overflow loses events: look at everything again.
			log.Warn(wd.name+" watch", "error", err)
			timer.Reset(wd.debounce)
			fire = timer.C
		case <-fire:
			fire = nil
			changed()
		}
	}
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
