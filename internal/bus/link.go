package bus

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// Link tracks a backend's connection for Health: up, or down since when
// and why.
type Link struct {
	what string
	mu   sync.Mutex
	up   bool
	err  error
	at   time.Time
}

// NewLink is a link not connected yet; what names it in Health's error.
func NewLink(what string) *Link {
	return &Link{what: what, err: errors.New("not connected yet"), at: time.Now()}
}

// Set records the connection's state (err: why it is down).
func (l *Link) Set(up bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if up != l.up {
		l.at = time.Now()
	}
	l.up, l.err = up, err
}

// Health is nil while connected.
func (l *Link) Health() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.up {
		return nil
	}
	return fmt.Errorf("%s down for %s: %w", l.what, time.Since(l.at).Round(time.Second), l.err)
}
