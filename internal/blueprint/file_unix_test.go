//go:build unix

package blueprint

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestFileRefusesFIFO(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	bp := oneEntry(t, "", "!File [pipe, d]")
	r := testResolver(t, bp)
	r.FileRoot = root
	// Opening a FIFO for reading blocks until a writer comes: !File must
	// refuse it without opening it.
	fast(t, 2*time.Second, func() {
		if _, err := r.Attrs(&bp.Entries[0]); !errors.Is(err, ErrFileNotAllowed) {
			t.Errorf("Attrs: %v, want ErrFileNotAllowed", err)
		}
	})
}
