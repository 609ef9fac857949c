package storetest

import (
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Lookups by a string a client sends (a token identifier in a URL, a
// name) answer ErrNotFound for a value with a NUL byte, which PostgreSQL
// cannot hold in text, instead of an engine error (a 500 in the API).
func testNULLookups(t *testing.T, s store.Store) {
	const bad = "x\x00y"
	for name, lookup := range map[string]func() error{
		"TokenByIdentifier":    func() error { _, err := s.TokenByIdentifier(ctx, bad); return err },
		"GroupByName":          func() error { _, err := s.GroupByName(ctx, bad); return err },
		"UserByUsername":       func() error { _, err := s.UserByUsername(ctx, bad); return err },
		"FlowBySlug":           func() error { _, err := s.FlowBySlug(ctx, bad); return err },
		"DeviceByCredentialID": func() error { _, err := s.DeviceByCredentialID(ctx, bad); return err },
	} {
		wantErr(t, lookup(), store.ErrNotFound, name)
	}
}
