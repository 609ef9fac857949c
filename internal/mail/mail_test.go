package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
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

// A message with an HTML part is multipart/alternative (RFC 2046 §5.1.4):
// the text part first, then the HTML part, each UTF-8 and quoted-printable
// with lines of at most 76 characters (RFC 2045 §6.7).
func TestSendMultipart(t *testing.T) {
	srv := mailtest.Start(t)
	link := "https://id.example.com/if/flow/recovery/?flow_token=" + strings.Repeat("x", 100)
	text := "Héllo Dana,\n\nopen " + link + "\n"
	html := `<p style="color:#1f2937">Héllo Dana, <a href="` + link + `">open</a> = ünïcode</p>`
	if err := sender(t, srv).Send(context.Background(), mail.Message{To: "dana@example.com", Subject: "Réinitialiser",
		Text: text, HTML: html}); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(t, 0, 5*time.Second)
	msg, err := netmail.ReadMessage(bytes.NewReader(got.Raw))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("MIME-Version") != "1.0" {
		t.Errorf("MIME-Version %q", msg.Header.Get("MIME-Version"))
	}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || typ != "multipart/alternative" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextRawPart() // keeps the transfer encoding to check it
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ptyp, pparams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil || pparams["charset"] != "utf-8" {
			t.Errorf("part Content-Type %q: %v", p.Header.Get("Content-Type"), err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("%s: Content-Transfer-Encoding %q", ptyp, cte)
		}
		raw, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(raw), "\r\n") {
			if len(line) > 76 || strings.ContainsFunc(line, func(r rune) bool { return r > 126 }) {
				t.Errorf("%s: line not quoted-printable: %q", ptyp, line)
			}
		}
		body, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"text/plain": text, "text/html": html}[ptyp]
		if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != want {
			t.Errorf("%s body %q, want %q", ptyp, got, want)
		}
		types = append(types, ptyp)
	}
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts %v, want text/plain then text/html", types)
	}
	// mailtest decodes both parts the same way.
	if body := strings.ReplaceAll(got.Body, "\r\n", "\n"); body != text || !strings.Contains(got.HTML, "ünïcode") {
		t.Errorf("mailtest: text %q html %q", got.Body, got.HTML)
	}
}
