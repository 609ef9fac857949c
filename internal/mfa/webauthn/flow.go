package webauthn

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/flow"
)

// ForRun is the relying party of a flow request, named after the brand the
// request's host matches.
func ForRun(ctx context.Context, r *flow.Run) (*RP, error) {
	name := ""
	if brands, err := r.Store().ListBrands(ctx); err == nil {
		if b := core.MatchBrand(brands, r.Request.Host); b != nil {
			name = b.BrandingTitle
		}
	}
	return ForRequest(r.Request, name)
}

// A begun ceremony lives in the current stage's state (server side: the
// plan is in the session store) under a key: the session data, and the
// options shown, so that showing the challenge again (the executor enters
// a stage again before handing it a response, a page reload) offers the
// same ceremony rather than replacing the one the browser is answering.
// Finishing drops it, successful or not: a challenge is answered once.

func optionsKey(key string) string { return key + "_options" }

// SaveCeremony keeps a begun ceremony under key.
func SaveCeremony(r *flow.Run, key string, options json.RawMessage, session []byte) {
	st := r.State()
	st[key] = string(session)
	st[optionsKey(key)] = string(options)
}

// PendingOptions returns the options of the ceremony kept under key, when
// there is one that has not expired.
func PendingOptions(r *flow.Run, key string) (json.RawMessage, bool) {
	st := r.State()
	opts, _ := st[optionsKey(key)].(string)
	session := LoadSession(r, key)
	if opts == "" || session == nil {
		return nil, false
	}
	var s struct {
		Expires time.Time `json:"expires"`
	}
	if json.Unmarshal(session, &s) != nil || (!s.Expires.IsZero() && time.Now().After(s.Expires)) {
		return nil, false
	}
	return json.RawMessage(opts), true
}

// LoadSession returns the session data kept under key (nil when none).
func LoadSession(r *flow.Run, key string) []byte {
	s, _ := r.State()[key].(string)
	if s == "" {
		return nil
	}
	return []byte(s)
}

// DropSession forgets the ceremony under key.
func DropSession(r *flow.Run, key string) {
	st := r.State()
	delete(st, key)
	delete(st, optionsKey(key))
}
