package mail_test

import (
	"context"
	"errors"
	"mime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
)

func sender(t *testing.T, srv *mailtest.Server) *mail.Sender {
	port, _ := strconv.Atoi(srv.Port())
	return &mail.Sender{Config: config.Email{Host: "127.0.0.1", Port: port, Timeout: 5, From: "Gatehouse <gatehouse@example.com>"}}
}

func TestSend(t *testing.T) {
	srv := mailtest.Start(t)
	text := "Héllo Dana,\n\nopen " + "https://id.example.com/if/flow/recovery/?flow_token=" + strings.Repeat("x", 100) + "\n"
	if err := sender(t, srv).Send(context.Background(), mail.Message{To: "Dana <dana@example.com>", Subject: "Réinitialiser", Text: text}); err != nil {
		t.Fatal(err)
	}
	m := srv.Wait(t, 0, 5*time.Second)
	if m.From != "gatehouse@example.com" || len(m.To) != 1 || m.To[0] != "dana@example.com" {
		t.Errorf("envelope %q -> %v", m.From, m.To)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(m.Msg.Header.Get("Subject"))
	if err != nil || subj != "Réinitialiser" {
		t.Errorf("subject %q %v", subj, err)
	}
	if got := strings.ReplaceAll(m.Body, "\r\n", "\n"); got != text {
		t.Errorf("body %q, want %q", got, text)
	}
	if m.Msg.Header.Get("Message-Id") == "" || m.Msg.Header.Get("Date") == "" {
		t.Errorf("headers %v", m.Msg.Header)
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	srv := mailtest.Start(t)
	s := sender(t, srv)
	for _, m := range []mail.Message{
		{To: "dana@example.com\r\nBcc: eve@example.com", Subject: "x"},
		{To: "dana@example.com", Subject: "x\nBcc: eve@example.com"},
		{To: "not an address", Subject: "x"},
	} {
		if err := s.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("Send(%q) = %v, want ErrInvalid", m.To, err)
		}
	}
	if srv.Count() != 0 {
		t.Errorf("%d messages delivered", srv.Count())
	}
}

func TestSendUnreachable(t *testing.T) {
	s := &mail.Sender{Config: config.Email{Host: "127.0.0.1", Port: 1, Timeout: 2, From: "g@example.com"}}
	if err := s.Send(context.Background(), mail.Message{To: "a@example.com", Subject: "x", Text: "x"}); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable server: %v", err)
	}
}
