package lifecycle

import (
	"context"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/provider/oauth2"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// expiredSessionLogout tells the relying parties of expired sessions
// (clean_expired_models): the server's OAuth2 provider when this process
// has one, else (a worker) one that only makes and queues logout tokens,
// with the store, the key sealer and the queue.
func (p *Process) expiredSessionLogout(st store.Store) (func(context.Context, *store.Session), error) {
	if p.oauth != nil {
		return p.oauth.SessionEnded, nil
	}
	sealer, err := crypto.NewSealer(p.secretKey, "certificate-private-key")
	if err != nil {
		return nil, err
	}
	s := &oauth2.Server{Log: p.Log.With("component", "oauth2"), SecretKey: p.secretKey, Store: st, KeySealer: sealer, Queue: p.queue}
	return s.SessionEnded, nil
}
