package webauthn

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/mfa/webauthn/webauthntest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// fakeDevices is an in-memory Devices with the store's compare-and-swap.
type fakeDevices struct {
	mu    sync.Mutex
	byID  map[string]*store.AuthenticatorDevice
	users map[int64]*store.User
	swaps int
}

func newFake() *fakeDevices {
	return &fakeDevices{byID: map[string]*store.AuthenticatorDevice{}, users: map[int64]*store.User{}}
}

func (f *fakeDevices) add(u *store.User, d *store.AuthenticatorDevice) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d.PK = int64(len(f.byID) + 1)
	c := *d
	f.byID[d.CredentialID] = &c
	f.users[u.PK] = u
}

func (f *fakeDevices) DeviceByCredentialID(_ context.Context, id string) (*store.AuthenticatorDevice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.byID[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	c := *d
	return &c, nil
}

func (f *fakeDevices) SwapDevice(_ context.Context, d *store.AuthenticatorDevice, old int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur, ok := f.byID[d.CredentialID]
	if !ok || cur.Counter != old {
		return false, nil
	}
	c := *d
	f.byID[d.CredentialID] = &c
	f.swaps++
	return true, nil
}

func (f *fakeDevices) user(_ context.Context, pk int64) (*store.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[pk]
	if !ok {
		return nil, store.ErrNotFound
	}
	return u, nil
}

func (f *fakeDevices) stored(d *store.AuthenticatorDevice) *store.AuthenticatorDevice {
	got, _ := f.DeviceByCredentialID(context.Background(), d.CredentialID)
	return got
}

const origin = "http://localhost:9000"

func testRP(t testing.TB) *RP {
	t.Helper()
	r := httptest.NewRequest("GET", origin+"/if/flow/x/", nil)
	rp, err := ForRequest(r, "Gatehouse")
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

func alice() *store.User {
	return &store.User{PK: 7, UUID: uuid.New(), Username: "alice", Name: "Alice", IsActive: true}
}

// register runs a registration ceremony with a software authenticator.
func register(t testing.TB, rp *RP, u *store.User, a *webauthntest.Authenticator, o Registration) *store.AuthenticatorDevice {
	t.Helper()
	opts, sess, err := rp.BeginRegistration(u, o)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	d, err := rp.FinishRegistration(u, sess, resp, o, "key")
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return d
}

func TestForRequest(t *testing.T) {
	for host, want := range map[string]string{
		"localhost:9000":        "localhost|http://localhost:9000",
		"SSO.Example.com":       "sso.example.com|http://sso.example.com",
		"sso.example.com.:8443": "sso.example.com|http://sso.example.com.:8443",
		"127.0.0.1:9000":        "",
		"[::1]:9000":            "",
		"":                      "",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		rp, err := ForRequest(r, "")
		if want == "" {
			if !errors.Is(err, ErrNoDomain) {
				t.Errorf("%q: err = %v, want ErrNoDomain", host, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", host, err)
			continue
		}
		if got := rp.ID + "|" + rp.Origin; got != want {
			t.Errorf("%q: %s, want %s", host, got, want)
		}
	}
}

func TestRegistrationOptions(t *testing.T) {
	rp, u := testRP(t), alice()
	other := &store.AuthenticatorDevice{Type: store.DeviceWebAuthn, UserPK: u.PK, CredentialID: "AAEC",
		Data: store.Attributes{KeyPublicKey: "AAEC"}, Confirmed: true}
	opts, sess, err := rp.BeginRegistration(u, Registration{UserVerification: Required, ResidentKey: Required,
		Attachment: "platform", Hints: []string{"client-device", "bogus"}, Exclude: []*store.AuthenticatorDevice{other}})
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		RP   map[string]string `json:"rp"`
		User struct {
			ID, Name, DisplayName string
		} `json:"user"`
		Challenge string `json:"challenge"`
		Sel       struct {
			UserVerification, ResidentKey, AuthenticatorAttachment string
			RequireResidentKey                                     bool
		} `json:"authenticatorSelection"`
		Exclude     []map[string]any `json:"excludeCredentials"`
		Hints       []string         `json:"hints"`
		Attestation string           `json:"attestation"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	if o.RP["id"] != "localhost" || o.RP["name"] != "Gatehouse" || o.User.Name != "alice" || o.User.DisplayName != "Alice" ||
		o.User.ID != b64.EncodeToString(u.UUID[:]) || len(o.Challenge) < 22 {
		t.Errorf("options = %s", opts)
	}
	if o.Sel.UserVerification != "required" || o.Sel.ResidentKey != "required" || !o.Sel.RequireResidentKey ||
		o.Sel.AuthenticatorAttachment != "platform" || len(o.Exclude) != 1 || o.Exclude[0]["id"] != "AAEC" ||
		strings.Join(o.Hints, ",") != "client-device" || o.Attestation != "none" {
		t.Errorf("options = %s", opts)
	}
	if !strings.Contains(string(sess), o.Challenge) {
		t.Errorf("session %s does not hold the challenge", sess)
	}
}

func TestRegisterAndLogin(t *testing.T) {
	rp, u, fake := testRP(t), alice(), newFake()
	a := webauthntest.New(origin)
	a.BackupEligible = true
	d := register(t, rp, u, a, Registration{UserVerification: Preferred, ResidentKey: Preferred})
	if d.Type != store.DeviceWebAuthn || !d.Confirmed || d.UserPK != u.PK || d.CredentialID != b64.EncodeToString(a.CredentialID) ||
		d.Data[KeyAAGUID] != a.AAGUID.String() || d.Data[KeyAttestationFormat] != "none" || d.Data[KeyBackupEligible] != true ||
		d.Data[KeyRPID] != "localhost" || d.Data[KeyDeviceType] != "" || d.Data[KeyPublicKey] != b64.EncodeToString(a.COSEKey()) {
		t.Fatalf("device = %+v", d)
	}
	if ts, _ := d.Data[KeyTransports].([]any); len(ts) != 1 || ts[0] != "internal" {
		t.Errorf("transports = %v", d.Data[KeyTransports])
	}
	fake.add(u, d)
	devices := []*store.AuthenticatorDevice{fake.stored(d)}

	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= 2; i++ {
		opts, sess, err := rp.BeginLogin(u, devices, Login{UserVerification: Required})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(opts), d.CredentialID) || !strings.Contains(string(opts), `"userVerification":"required"`) {
			t.Errorf("request options = %s", opts)
		}
		resp, _ := a.Get(opts)
		used, err := rp.FinishLogin(context.Background(), fake, u, devices, sess, resp, Login{UserVerification: Required}, now)
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if used.Counter != int64(i) || used.LastUsed == nil || !used.LastUsed.Equal(now) || fake.stored(d).Counter != int64(i) {
			t.Errorf("after login %d: %+v", i, used)
		}
		// The same response again: the counter did not move on.
		if _, err := rp.FinishLogin(context.Background(), fake, u, []*store.AuthenticatorDevice{fake.stored(d)}, sess, resp, Login{}, now); !isCode(err, ErrCounter.Message) {
			t.Errorf("replayed assertion: %v", err)
		}
		devices = []*store.AuthenticatorDevice{fake.stored(d)}
	}
}

func isCode(err error, msg string) bool {
	var e *Error
	return errors.As(err, &e) && e.Message == msg
}

// A counter that does not grow is refused (§6.1.1): lower, equal, and zero
// after a non-zero counter; 0 after 0 (authenticators without a counter) is
// accepted.
func TestSignCounter(t *testing.T) {
	rp, u := testRP(t), alice()
	for _, c := range []struct {
		name          string
		stored, count uint32
		ok            bool
	}{
		{"greater", 5, 6, true},
		{"equal", 5, 5, false},
		{"lower", 5, 4, false},
		{"zero after non-zero", 5, 0, false},
		{"no counter", 0, 0, true},
		{"first count", 0, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := newFake()
			a := webauthntest.New(origin)
			a.SignCount = c.stored
			d := register(t, rp, u, a, Registration{UserVerification: Preferred, ResidentKey: Preferred})
			fake.add(u, d)
			opts, sess, err := rp.BeginLogin(u, []*store.AuthenticatorDevice{fake.stored(d)}, Login{})
			if err != nil {
				t.Fatal(err)
			}
			var o struct{ Challenge string }
			_ = json.Unmarshal(opts, &o)
			resp := a.Assert(o.Challenge, c.count)
			_, err = rp.FinishLogin(context.Background(), fake, u, []*store.AuthenticatorDevice{fake.stored(d)}, sess, resp, Login{}, time.Now())
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if !c.ok && !isCode(err, ErrCounter.Message) {
				t.Errorf("err = %v", err)
			}
			if got := fake.stored(d).Counter; (c.ok && got != int64(c.count)) || (!c.ok && got != int64(c.stored)) {
				t.Errorf("stored counter = %d", got)
			}
		})
	}
}

// Two concurrent uses of one counter value: only one is accepted.
func TestConcurrentAssertion(t *testing.T) {
	rp, u, fake := testRP(t), alice(), newFake()
	a := webauthntest.New(origin)
	d := register(t, rp, u, a, Registration{UserVerification: Preferred, ResidentKey: Preferred})
	fake.add(u, d)
	opts, sess, _ := rp.BeginLogin(u, []*store.AuthenticatorDevice{fake.stored(d)}, Login{})
	resp, _ := a.Get(opts)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		snapshot := fake.stored(d)
		wg.Go(func() {
			_, errs[i] = rp.FinishLogin(context.Background(), fake, u, []*store.AuthenticatorDevice{snapshot}, sess, resp, Login{}, time.Now())
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok != 1 || fake.swaps != 1 {
		t.Errorf("%d accepted, %d swaps; want 1", ok, fake.swaps)
	}
}

func TestLoginRefusals(t *testing.T) {
	rp, u := testRP(t), alice()
	for _, c := range []struct {
		name  string
		login Login
		tweak func(a *webauthntest.Authenticator)
		resp  func(a *webauthntest.Authenticator, opts []byte) []byte
	}{
		{name: "wrong origin", tweak: func(a *webauthntest.Authenticator) { a.Origin = "http://evil.example:9000" }},
		{name: "wrong rp id", tweak: func(a *webauthntest.Authenticator) { a.RPID = "evil.example" }},
		{name: "user not verified", login: Login{UserVerification: Required}, tweak: func(a *webauthntest.Authenticator) { a.UserVerified = false }},
		{name: "wrong challenge", resp: func(a *webauthntest.Authenticator, _ []byte) []byte { return a.Assert("AAAAAAAAAAAAAAAAAAAAAA", 9) }},
		{name: "other key", resp: func(a *webauthntest.Authenticator, opts []byte) []byte {
			b := webauthntest.New(origin)
			b.CredentialID, b.UserHandle = a.CredentialID, a.UserHandle
			r, _ := b.Get(opts)
			return r
		}},
		{name: "not allowed device type", login: Login{AllowedAAGUIDs: []string{uuid.NewString()}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := newFake()
			a := webauthntest.New(origin)
			d := register(t, rp, u, a, Registration{UserVerification: Preferred, ResidentKey: Preferred})
			fake.add(u, d)
			devices := []*store.AuthenticatorDevice{fake.stored(d)}
			opts, sess, err := rp.BeginLogin(u, devices, Login{UserVerification: c.login.UserVerification})
			if err != nil {
				t.Fatal(err)
			}
			if c.tweak != nil {
				c.tweak(a)
			}
			var resp []byte
			if c.resp != nil {
				resp = c.resp(a, opts)
			} else {
				resp, _ = a.Get(opts)
			}
			_, err = rp.FinishLogin(context.Background(), fake, u, devices, sess, resp, c.login, time.Now())
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if fake.swaps != 0 || fake.stored(d).Counter != 0 {
				t.Errorf("the device was updated")
			}
		})
	}
}

func TestRegistrationRefusals(t *testing.T) {
	rp, u := testRP(t), alice()
	for _, c := range []struct {
		name  string
		reg   Registration
		tweak func(a *webauthntest.Authenticator)
	}{
		{name: "wrong origin", tweak: func(a *webauthntest.Authenticator) { a.Origin = "https://localhost:9000" }},
		{name: "wrong rp id", tweak: func(a *webauthntest.Authenticator) { a.RPID = "example.com" }},
		{name: "user verification required", reg: Registration{UserVerification: Required}, tweak: func(a *webauthntest.Authenticator) { a.UserVerified = false }},
		{name: "device type restricted", reg: Registration{AllowedAAGUIDs: []string{"ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := webauthntest.New(origin)
			if c.tweak != nil {
				c.tweak(a)
			}
			opts, sess, err := rp.BeginRegistration(u, c.reg)
			if err != nil {
				t.Fatal(err)
			}
			resp, _ := a.Create(opts)
			d, err := rp.FinishRegistration(u, sess, resp, c.reg, "key")
			var e *Error
			if !errors.As(err, &e) || d != nil {
				t.Fatalf("FinishRegistration = %v, %v; want *Error", d, err)
			}
		})
	}
	// An allowed device type passes.
	a := webauthntest.New(origin)
	a.AAGUID = uuid.MustParse("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4")
	d := register(t, rp, u, a, Registration{AllowedAAGUIDs: []string{"EA9B8D66-4D01-1D21-3CE4-B6B48CB575D4"}})
	if d.Data[KeyDeviceType] != "Google Password Manager" {
		t.Errorf("device type = %v", d.Data[KeyDeviceType])
	}
}

func TestDiscoverableLogin(t *testing.T) {
	rp, u, fake := testRP(t), alice(), newFake()
	a := webauthntest.New(origin)
	d := register(t, rp, u, a, Registration{UserVerification: Required, ResidentKey: Required})
	fake.add(u, d)
	opts, sess, err := rp.BeginDiscoverableLogin(Login{UserVerification: Required})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(opts), "allowCredentials") {
		t.Errorf("discoverable options name credentials: %s", opts)
	}
	resp, _ := a.Get(opts)
	who, used, err := rp.FinishDiscoverableLogin(context.Background(), fake, fake.user, sess, resp, Login{UserVerification: Required}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if who.PK != u.PK || used.PK != d.PK || fake.stored(d).Counter != 1 {
		t.Errorf("user %v device %v", who, used)
	}

	// A credential nobody registered, a user handle of someone else, an
	// inactive owner.
	stranger := webauthntest.New(origin)
	stranger.UserHandle = u.UUID[:]
	opts, sess, _ = rp.BeginDiscoverableLogin(Login{})
	resp, _ = stranger.Get(opts)
	if _, _, err := rp.FinishDiscoverableLogin(context.Background(), fake, fake.user, sess, resp, Login{}, time.Now()); !isCode(err, "This passkey is not registered here.") {
		t.Errorf("unknown credential: %v", err)
	}
	a.UserHandle = uuid.New().NodeID()
	resp, _ = a.Get(opts)
	if _, _, err := rp.FinishDiscoverableLogin(context.Background(), fake, fake.user, sess, resp, Login{}, time.Now()); !isCode(err, "This passkey is not registered here.") {
		t.Errorf("foreign user handle: %v", err)
	}
	a.UserHandle = u.UUID[:]
	u.IsActive = false
	resp, _ = a.Get(opts)
	if _, _, err := rp.FinishDiscoverableLogin(context.Background(), fake, fake.user, sess, resp, Login{}, time.Now()); !isCode(err, "This passkey is not registered here.") {
		t.Errorf("inactive owner: %v", err)
	}
	// A login begun for a known user cannot be finished as a passkey login.
	u.IsActive = true
	_, userSess, _ := rp.BeginLogin(u, []*store.AuthenticatorDevice{fake.stored(d)}, Login{})
	resp, _ = a.Get(opts)
	if _, _, err := rp.FinishDiscoverableLogin(context.Background(), fake, fake.user, userSess, resp, Login{}, time.Now()); err == nil {
		t.Error("a user-bound session finished a passkey login")
	}
}

// Bad input never panics and is always an *Error: malformed JSON, truncated
// CBOR, wrong types, a missing or foreign session.
func TestBadInput(t *testing.T) {
	rp, u, fake := testRP(t), alice(), newFake()
	a := webauthntest.New(origin)
	regOpts, regSess, _ := rp.BeginRegistration(u, Registration{})
	good, _ := a.Create(regOpts)
	var full map[string]any
	_ = json.Unmarshal(good, &full)
	att := full["response"].(map[string]any)["attestationObject"].(string)
	truncated := strings.Replace(string(good), att, att[:len(att)/2], 1)
	for name, resp := range map[string]string{
		"empty":               ``,
		"null":                `null`,
		"number":              `42`,
		"array":               `[]`,
		"not json":            `{"id":`,
		"string not object":   `"hello"`,
		"no response":         `{"id":"AAEC","rawId":"AAEC","type":"public-key"}`,
		"bad base64":          `{"id":"!!","rawId":"!!","type":"public-key","response":{}}`,
		"truncated cbor":      truncated,
		"cbor garbage":        strings.Replace(string(good), att, "oWNmbXRkbm9uZQ", 1),
		"wrong type":          strings.Replace(string(good), `"public-key"`, `"password"`, 1),
		"too large":           `{"id":"` + strings.Repeat("A", MaxResponseBytes) + `"}`,
		"trailing data":       string(good) + `{}`,
		"id rawId mismatch":   strings.Replace(string(good), `"rawId":"`, `"rawId":"AA`, 1),
		"json in json string": string(must(json.Marshal(`{"id":1}`))),
	} {
		d, err := rp.FinishRegistration(u, regSess, []byte(resp), Registration{}, "key")
		var e *Error
		if !errors.As(err, &e) || d != nil {
			t.Errorf("registration, %s: %v %v", name, d, err)
		}
	}
	// The good response as a JSON string (an HTML form field) is accepted.
	if _, err := rp.FinishRegistration(u, regSess, must(json.Marshal(string(good))), Registration{}, "key"); err != nil {
		t.Errorf("response as a JSON string: %v", err)
	}
	if _, err := rp.FinishRegistration(u, nil, good, Registration{}, "key"); !isCode(err, "This security key request has expired; please try again.") {
		t.Errorf("no session: %v", err)
	}
	if _, err := rp.FinishRegistration(u, []byte("{"), good, Registration{}, "key"); err == nil {
		t.Error("bad session accepted")
	}

	d := register(t, rp, u, a, Registration{})
	fake.add(u, d)
	devs := []*store.AuthenticatorDevice{fake.stored(d)}
	opts, sess, _ := rp.BeginLogin(u, devs, Login{})
	goodA, _ := a.Get(opts)
	_ = json.Unmarshal(goodA, &full)
	ad := full["response"].(map[string]any)["authenticatorData"].(string)
	for name, resp := range map[string]string{
		"empty":              `{}`,
		"truncated authData": strings.Replace(string(goodA), ad, ad[:20], 1),
		"bad signature":      strings.Replace(string(goodA), `"signature":"`, `"signature":"AAAA`, 1),
		"numbers":            `{"id":1,"rawId":2,"type":3,"response":4}`,
	} {
		if _, err := rp.FinishLogin(context.Background(), fake, u, devs, sess, []byte(resp), Login{}, time.Now()); err == nil {
			t.Errorf("login, %s: accepted", name)
		} else if e := (*Error)(nil); !errors.As(err, &e) {
			t.Errorf("login, %s: %v is not an *Error", name, err)
		}
	}
	if fake.swaps != 0 {
		t.Error("a bad assertion updated the device")
	}
	// A session of a registration cannot finish a login.
	if _, err := rp.FinishLogin(context.Background(), fake, u, devs, regSess, goodA, Login{}, time.Now()); err == nil {
		t.Error("registration session finished a login")
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkAssertionVerify measures verifying one assertion: decoding the
// response JSON and authenticator data, checking challenge, origin, RP ID,
// flags and the ES256 signature, and the counter compare-and-swap (an
// in-memory store). The figure: <= 2 ms per verification.
func BenchmarkAssertionVerify(b *testing.B) {
	rp, u, fake := testRP(b), alice(), newFake()
	a := webauthntest.New(origin)
	a.FixedCount = true // counter 0: the same assertion stays valid
	d := register(b, rp, u, a, Registration{UserVerification: Preferred, ResidentKey: Preferred})
	fake.add(u, d)
	devs := []*store.AuthenticatorDevice{fake.stored(d)}
	opts, sess, err := rp.BeginLogin(u, devs, Login{})
	if err != nil {
		b.Fatal(err)
	}
	resp, _ := a.Get(opts)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rp.FinishLogin(ctx, fake, u, devs, sess, resp, Login{}, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
