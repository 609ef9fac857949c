package sqlstore

import "time"

// SetEventCountRefresh sets how old the kept events count may get before a
// list recounts it (eventCountRefresh by default).
func SetEventCountRefresh(s *Store, d time.Duration) {
	s.eng.events.mu.Lock()
	defer s.eng.events.mu.Unlock()
	s.eng.events.refresh = d
}

// WaitEventCount waits for a running recount of the events to end.
func WaitEventCount(s *Store) { s.eng.events.wait() }
