package blueprint

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// readFile reads a file for !File: path is relative to root, or absolute
// and inside root. It uses os.Root, so neither ".." nor a symbolic link can
// leave the root. found is false when the file does not exist (authentik
// then uses the default). Only regular files are read, at most maxBytes.
func readFile(root, path string, maxBytes int) (content string, found bool, err error) {
	if root == "" {
		return "", false, fmt.Errorf("%w: !File is disabled (no file root is configured)", ErrFileNotAllowed)
	}
	rel, err := relativeTo(root, path)
	if err != nil {
		return "", false, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return "", false, fmt.Errorf("!File: opening the file root: %w", err)
	}
	defer r.Close()
	// Stat first, so that a FIFO or a device is refused before it is
	// opened (opening a FIFO blocks until a writer comes).
	fi, err := r.Stat(rel)
	if err != nil {
		return "", false, statError(path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", false, fmt.Errorf("%w: %s is not a regular file", ErrFileNotAllowed, path)
	}
	if fi.Size() > int64(maxBytes) {
		return "", false, limitError(ErrTooLarge, "%s has %d bytes, more than the limit of %d", path, fi.Size(), maxBytes)
	}
	f, err := r.Open(rel)
	if err != nil {
		return "", false, statError(path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "", false, fmt.Errorf("%w: %s is not a regular file", ErrFileNotAllowed, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(maxBytes)+1))
	if err != nil {
		return "", false, fmt.Errorf("!File %s: %w", path, err)
	}
	if len(data) > maxBytes {
		return "", false, limitError(ErrTooLarge, "%s has more than %d bytes", path, maxBytes)
	}
	if !utf8.Valid(data) {
		return "", false, fmt.Errorf("!File %s: not UTF-8 text", path)
	}
	return strings.TrimSpace(string(data)), true, nil
}

// relativeTo checks a !File path and returns it relative to root: a local
// relative path ("secrets/x", no ".."), or an absolute path that is
// lexically inside root (so "/blueprints/secret" works with root
// "/blueprints").
func relativeTo(root, path string) (string, error) {
	if path == "" || strings.ContainsRune(path, 0) {
		return "", fmt.Errorf("%w: empty or invalid path", ErrFileNotAllowed)
	}
	if filepath.IsAbs(path) {
		absRoot, err := filepath.Abs(root)
		if err != nil {
			return "", fmt.Errorf("!File: %w", err)
		}
		rel, err := filepath.Rel(absRoot, filepath.Clean(path))
		if err != nil || !filepath.IsLocal(rel) {
			return "", fmt.Errorf("%w: %s is outside the file root", ErrFileNotAllowed, path)
		}
		return rel, nil
	}
	if !filepath.IsLocal(path) {
		return "", fmt.Errorf("%w: %s leaves the file root", ErrFileNotAllowed, path)
	}
	return path, nil
}

// statError classifies an error opening a file under the root: a missing
// file is not an error (the default applies); anything else, including a
// symbolic link out of the root, is refused.
func statError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("%w: %s: %v", ErrFileNotAllowed, path, err)
}
