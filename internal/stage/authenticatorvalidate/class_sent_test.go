package authenticatorvalidate_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatoremail"
	"github.com/gatehouse-idp/gatehouse/internal/stage/authenticatorsms"
	"github.com/gatehouse-idp/gatehouse/internal/stage/stagetest"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// sentSetup makes a setup stage of typ and a confirmed device of user u
// made by it, and limits the default flow's validate stage to the class.
func sentSetup(t *testing.T, s *stagetest.Server, u *store.User, typ, class string, settings, data store.Attributes) (*store.Stage, *store.AuthenticatorDevice) {
	t.Helper()
	ctx := context.Background()
	setup := &store.Stage{Name: "setup-" + class, Type: typ, Settings: settings}
	if err := s.Store.CreateStage(ctx, setup); err != nil {
		t.Fatal(err)
	}
	data["stage"] = setup.UUID.String()
	d := &store.AuthenticatorDevice{UserPK: u.PK, Type: class, Name: class + " device", Confirmed: true, Data: data}
	if err := s.Store.CreateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	v, err := s.Store.StageByName(ctx, "default-authentication-mfa-validation")
	if err != nil {
		t.Fatal(err)
	}
	v.Settings = store.Attributes{"device_classes": []any{class}, "not_configured_action": "deny"}
	if err := s.Store.UpdateStage(ctx, v); err != nil {
		t.Fatal(err)
	}
	return setup, d
}

const validateFlow = "default-authentication-flow"

func pick(c *stagetest.Client, class string, d *store.AuthenticatorDevice) stagetest.Challenge {
	return c.Post(validateFlow, map[string]any{"component": "ak-stage-authenticator-validate",
		"selected_challenge": map[string]any{"device_class": class, "device_uid": strconv.FormatInt(d.PK, 10), "challenge": map[string]any{}}})
}

func answerCode(c *stagetest.Client, code any) stagetest.Challenge {
	return c.Post(validateFlow, map[string]any{"component": "ak-stage-authenticator-validate", "code": code})
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// Email: picking the class mails a code (once a minute at most), which
// logs in once; a wrong or reused code fails; codes are fresh each login.
func TestEmailClass(t *testing.T) {
	s := stagetest.New(t)
	smtpd := mailtest.Start(t)
	port, _ := strconv.Atoi(smtpd.Port())
	s.Executor.Mail = &mail.Sender{Config: config.Email{Host: "127.0.0.1", Port: port, From: "id@example.com", Timeout: 10}}
	alice := s.User("alice", "alice-password")
	_, d := sentSetup(t, s, alice, authenticatoremail.Type, store.DeviceEmail,
		store.Attributes{"use_global_settings": true, "subject": "Sign-in code"}, store.Attributes{"email": "alice@example.com"})

	c := s.Client()
	ch := c.Password("alice", "alice-password")
	if ch.Component() != "ak-stage-authenticator-validate" {
		t.Fatalf("after the password: %v", ch)
	}
	if smtpd.Count() != 0 {
		t.Fatal("a code was mailed before the class was picked")
	}
	// A code before one was sent.
	if ch := answerCode(c, "123456"); ch.Error("code") == "" {
		t.Fatalf("a code before any was sent: %v", ch)
	}
	ch = pick(c, store.DeviceEmail, d)
	sel, _ := ch["selected_challenge"].(map[string]any)
	if sel == nil || sel["challenge"].(map[string]any)["email"] != "a****@example.com" || ch.Error("code") != "" {
		t.Fatalf("after picking email: %v", ch)
	}
	m := smtpd.Wait(t, 0, 10*time.Second)
	first := sixDigits.FindString(m.Body)
	if len(m.To) != 1 || m.To[0] != "alice@example.com" || m.Msg.Header.Get("Subject") != "Sign-in code" || first == "" {
		t.Fatalf("mail to %v %q: %q", m.To, m.Msg.Header.Get("Subject"), m.Body)
	}
	// Picking again within the minute sends nothing and is no error.
	if ch := pick(c, store.DeviceEmail, d); ch.Error("code") != "" || ch.Error("non_field_errors") != "" {
		t.Fatalf("picking again: %v", ch)
	}
	if smtpd.Count() != 1 {
		t.Fatalf("%d messages after picking twice", smtpd.Count())
	}
	wrong := "000000"
	if wrong == first {
		wrong = "000001"
	}
	for _, bad := range []any{wrong, "12a456", strings.Repeat("4", 100)} {
		if ch := answerCode(c, bad); ch.Component() != "ak-stage-authenticator-validate" || ch.Error("code") == "" {
			t.Fatalf("code %v: %v", bad, ch)
		}
	}
	if ch := answerCode(c, first); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("the right code: %v", ch)
	}
	got, _ := s.Store.Device(context.Background(), d.PK)
	if got.LastUsed == nil {
		t.Error("LastUsed not recorded")
	}

	// The same code again, in a new login: refused. A new code is sent at
	// once (the last one was used); picking again within the minute sends
	// nothing; five wrong codes void it, and a new one must wait.
	c2 := s.Client()
	c2.Password("alice", "alice-password")
	if ch := answerCode(c2, first); ch.Error("code") == "" {
		t.Fatalf("a used code: %v", ch)
	}
	if ch := pick(c2, store.DeviceEmail, d); ch.Error("code") != "" {
		t.Fatalf("picking after a login: %v", ch)
	}
	second := sixDigits.FindString(smtpd.Wait(t, 1, 10*time.Second).Body)
	wrong = "000000"
	if wrong == second {
		wrong = "000001"
	}
	c3 := s.Client() // the wrong codes in another login: its own failure count stays low
	c3.Password("alice", "alice-password")
	for range 5 {
		answerCode(c3, wrong)
	}
	if ch := answerCode(c2, second); ch.Error("code") == "" {
		t.Fatalf("a code after five wrong tries: %v", ch)
	}
	if ch := pick(c2, store.DeviceEmail, d); !strings.Contains(ch.Error("code"), "wait") {
		t.Fatalf("picking within a minute of the last code, which is void: %v", ch)
	}
	if smtpd.Count() != 2 {
		t.Fatalf("%d messages", smtpd.Count())
	}
	s.Now = s.Now.Add(61 * time.Second)
	if ch := pick(c2, store.DeviceEmail, d); ch.Error("code") != "" {
		t.Fatalf("picking after a minute: %v", ch)
	}
	third := sixDigits.FindString(smtpd.Wait(t, 2, 10*time.Second).Body)
	if third != second {
		if ch := answerCode(c2, second); ch.Error("code") == "" {
			t.Fatalf("the old code after a new one: %v", ch)
		}
	}
	second = third
	if ch := answerCode(c2, second); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("the new code: %v", ch)
	}
}

// SMS: the webhook of the stage that made the device gets the code; a
// failing gateway is a clear message; a verify_only device or one whose
// stage is gone cannot be sent codes.
func TestSMSClass(t *testing.T) {
	s := stagetest.New(t)
	var mu sync.Mutex
	var bodies []map[string]any
	status := http.StatusOK
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, m)
		w.WriteHeader(status)
	}))
	defer gw.Close()
	last := func() map[string]any {
		mu.Lock()
		defer mu.Unlock()
		if len(bodies) == 0 {
			t.Fatal("nothing at the gateway")
		}
		return bodies[len(bodies)-1]
	}
	bob := s.User("bob", "bob-password")
	setup, d := sentSetup(t, s, bob, authenticatorsms.Type, store.DeviceSMS,
		store.Attributes{"provider": "generic", "from_number": "Gatehouse", "account_sid": gw.URL, "auth_type": "bearer", "auth": "t0ken"},
		store.Attributes{"phone_number": "+4915112345678"})

	c := s.Client()
	c.Password("bob", "bob-password")
	mu.Lock()
	status = http.StatusServiceUnavailable
	mu.Unlock()
	if ch := pick(c, store.DeviceSMS, d); !strings.Contains(ch.Error("non_field_errors"), "answered 503") {
		t.Fatalf("a failing gateway: %v", ch)
	}
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	ch := pick(c, store.DeviceSMS, d) // not throttled: the failed code was withdrawn
	sel, _ := ch["selected_challenge"].(map[string]any)
	if ch.Error("non_field_errors") != "" || sel == nil || sel["challenge"].(map[string]any)["phone_number"] != "+*********5678" {
		t.Fatalf("after picking sms: %v", ch)
	}
	body := last()
	code, _ := body["Body"].(string)
	if body["To"] != "+4915112345678" || body["From"] != "Gatehouse" || !sixDigits.MatchString(code) {
		t.Fatalf("webhook body %v", body)
	}
	if ch := answerCode(c, code); ch.Component() != "xak-flow-redirect" {
		t.Fatalf("the right code: %v", ch)
	}
	c = s.Client()
	c.Password("bob", "bob-password")
	if ch := answerCode(c, code); ch.Error("code") == "" {
		t.Fatalf("a used code: %v", ch)
	}

	// verify_only: only a hash is kept, which cannot receive codes.
	ctx := context.Background()
	d.Data["phone_number"] = authenticatorsms.HashPhoneNumber("+4915112345678")
	if err := s.Store.UpdateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	c = s.Client()
	c.Password("bob", "bob-password")
	if ch := pick(c, store.DeviceSMS, d); !strings.Contains(ch.Error("code"), "no phone") {
		t.Fatalf("a verify_only device: %v", ch)
	}

	// The setup stage is gone: its webhook is unknown.
	d.Data["phone_number"] = "+4915112345678"
	if err := s.Store.UpdateDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.DeleteStage(ctx, setup.UUID); err != nil {
		t.Fatal(err)
	}
	c = s.Client()
	c.Password("bob", "bob-password")
	if ch := pick(c, store.DeviceSMS, d); !strings.Contains(ch.Error("non_field_errors"), "removed") {
		t.Fatalf("a device whose stage is gone: %v", ch)
	}
}
