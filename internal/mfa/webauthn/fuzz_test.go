package webauthn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/mfa/webauthn/webauthntest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// The fuzz targets feed arbitrary bytes to the entry points that take a
// browser's response (the corpus is in testdata/fuzz): every outcome is a
// result or an *Error, never a panic, and a registration never yields a
// device from a response that is not the authenticator's.

func FuzzParseCreation(f *testing.F) {
	rp, u := testRP(f), alice()
	opts, sess, _ := rp.BeginRegistration(u, Registration{})
	a := webauthntest.New(origin)
	good, _ := a.Create(opts)
	f.Add(good)
	f.Add([]byte(`{"id":"AAEC","rawId":"AAEC","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseCreation(b); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseCreation error %v is not an *Error", err)
			}
		}
		d, err := rp.FinishRegistration(u, sess, b, Registration{}, "key")
		if err == nil && (d.CredentialID != b64.EncodeToString(a.CredentialID) || d.Data[KeyPublicKey] != b64.EncodeToString(a.COSEKey())) {
			t.Fatalf("a device that is not the authenticator's: %+v", d)
		}
	})
}

func FuzzParseAssertion(f *testing.F) {
	rp, u, fake := testRP(f), alice(), newFake()
	a := webauthntest.New(origin)
	d := register(f, rp, u, a, Registration{})
	fake.add(u, d)
	devs := []*store.AuthenticatorDevice{fake.stored(d)}
	opts, sess, _ := rp.BeginLogin(u, devs, Login{})
	good, _ := a.Get(opts)
	f.Add(good)
	f.Add([]byte(`{"id":"AAEC","rawId":"AAEC","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AA","signature":"AA"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := ParseAssertion(b); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseAssertion error %v is not an *Error", err)
			}
		}
		// Verification against a fresh copy of the device: only an
		// untouched (or equivalent) assertion may pass.
		fresh := newFake()
		fresh.add(u, devs[0])
		_, _ = rp.FinishLogin(context.Background(), fresh, u, devs, sess, b, Login{}, time.Now())
		_, _, _ = rp.FinishDiscoverableLogin(context.Background(), fresh, fresh.user, sess, b, Login{}, time.Now())
	})
}
