// Package store holds Gatehouse's domain types and the storage interfaces,
// split by aggregate. Consumers take the narrowest interface they need
// (store.Users, store.Tokens, ...); store.Store embeds them all.
//
// Implementations: internal/store/sqlstore (SQLite and PostgreSQL). Every
// implementation must pass internal/store/storetest.
package store

import (
	"context"
	"errors"
	"fmt"
)

// Sentinel errors. Implementations wrap them with %w, so callers classify
// with errors.Is.
var (
	// ErrNotFound: the object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint (a username, a token identifier, ...) is already taken.
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the object breaks a rule the store enforces (a missing
	// reference, a group that would be its own ancestor, ...).
	ErrInvalid = errors.New("invalid")
)

// ConflictError says which unique constraint a write broke. It matches
// ErrConflict with errors.Is.
type ConflictError struct {
	// Object is the aggregate ("user", "group", "token", ...).
	Object string
	// Field is the column whose value is taken, where the engine says so.
	Field string
	Err   error
}

func (e *ConflictError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s already exists", e.Object, e.Field)
	}
	return e.Object + ": already exists"
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Unwrap exposes the engine's error.
func (e *ConflictError) Unwrap() error { return e.Err }

// Store is every aggregate plus transactions and lifecycle.
type Store interface {
	Users
	Groups
	Tokens
	Brands
	Sessions
	Settings
	Roles
	Providers
	Applications
	Certificates
	Events
	Flows
	Policies
	Reputation
	Invitations
	Consents
	PropertyMappings
	OAuth2Providers
	OAuth2Grants
	BlueprintInstances
	Authenticators
	SystemTasks
	Notifications

	// InTx runs fn in one transaction: every call fn makes on tx commits
	// together, or none does when fn returns an error or panics.
	InTx(ctx context.Context, fn func(tx Store) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close() error
}

// Page selects a slice of a list. Zero Limit means the implementation's default.
type Page struct {
	Offset int
	Limit  int
}

// DefaultPageLimit is used when Page.Limit is zero.
const DefaultPageLimit = 100
