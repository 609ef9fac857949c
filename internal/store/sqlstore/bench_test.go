package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
)

// seed fills a store with n users, each with a session and an API token.
func seed(b *testing.B, s *sqlstore.Store, n int) {
	b.Helper()
	ctx := context.Background()
	err := s.InTx(ctx, func(tx store.Store) error {
		for i := range n {
			u := &store.User{Username: fmt.Sprintf("user%05d", i), Email: fmt.Sprintf("user%05d@example.com", i), IsActive: true,
				Attributes: store.Attributes{"department": "engineering"}}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			if err := tx.CreateSession(ctx, &store.Session{Key: fmt.Sprintf("session%05d", i), UserPK: &u.PK,
				Expires: time.Now().Add(time.Hour)}); err != nil {
				return err
			}
			if err := tx.CreateToken(ctx, &store.Token{Identifier: fmt.Sprintf("token%05d", i),
				KeyHash: core.HashTokenKey(fmt.Sprintf("key%05d", i)), Intent: store.IntentAPI, UserPK: u.PK}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

func benchHotReads(b *testing.B, s *sqlstore.Store) {
	const n = 10000
	seed(b, s, n)
	ctx := context.Background()
	b.Run("UserByUsername", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.UserByUsername(ctx, fmt.Sprintf("user%05d", i%n)); err != nil {
					b.Fatal(err)
				}
				i += 7
			}
		})
	})
	b.Run("SessionByKey", func(b *testing.B) {
		now := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.SessionByKey(ctx, fmt.Sprintf("session%05d", i%n), now); err != nil {
					b.Fatal(err)
				}
				i += 7
			}
		})
	})
	b.Run("TokenByKey", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.TokenByKeyHash(ctx, core.HashTokenKey(fmt.Sprintf("key%05d", i%n))); err != nil {
					b.Fatal(err)
				}
				i += 7
			}
		})
	})
}

func BenchmarkSQLite(b *testing.B)   { benchHotReads(b, openSQLite(b)) }
func BenchmarkPostgres(b *testing.B) { benchHotReads(b, openPostgres(b)) }
