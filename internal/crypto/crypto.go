// Package crypto holds key material Gatehouse makes for itself: the
// installation's secret key in embedded mode and the self-signed certificate
// of the HTTPS listener. Certificate keypairs managed through the API come
// with the core directory.
package crypto

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreateSecretKey returns the key stored at path, creating it (0600,
// 64 characters from 48 random bytes) when the file does not exist.
func LoadOrCreateSecretKey(path string) (key string, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key = strings.TrimSpace(string(b))
		if len(key) < 16 {
			return "", false, fmt.Errorf("secret key file %s holds fewer than 16 characters", path)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("read secret key: %w", err)
	}
	raw := make([]byte, 48)
	_, _ = rand.Read(raw)
	key = base64.RawURLEncoding.EncodeToString(raw)
	if err := writeFileAtomic(path, []byte(key+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("save secret key: %w", err)
	}
	return key, true, nil
}

// writeFileAtomic writes data to a temporary file in the same directory, syncs
// it and renames it over path, so a crash leaves the old file or the new one,
// never half of one.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }() // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
