// Package mail sends email over SMTP (RFC 5321) with the settings of the
// email.* configuration section: implicit TLS (use_ssl, RFC 8314) or
// STARTTLS (use_tls, RFC 3207), optional PLAIN authentication (RFC 4954),
// and a timeout for the whole exchange. Messages carry a text part and an
// HTML part (multipart/alternative); Templates renders both from the
// built-in templates or the administrator's files under email.template_dir.
// The server does not talk SMTP itself: its Outbox queues each message for
// the worker, which retries what a server refuses for now (4yz) and gives
// up on what it refuses for good (5yz).
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/config"
)

// Message is one email: a text part and, optionally, an HTML part. With
// both it is sent as multipart/alternative (RFC 2046 §5.1.4), the text part
// first, so a client shows the richest part it can.
type Message struct {
	To      string
	Subject string
	Text    string
	// HTML is the alternative HTML body; empty sends text alone.
	HTML string
	// ID is the left part of the Message-ID (RFC 5322 §3.6.4); empty: a
	// random one. The outbox fixes it when a message is queued, so every
	// attempt to deliver it sends the same Message-ID.
	ID string
}

// Sender sends messages through one SMTP server.
type Sender struct {
	Config config.Email
	// TLSConfig overrides the TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
}

// ErrInvalid is returned for a message that cannot be sent as given.
var ErrInvalid = errors.New("invalid message")

// Send delivers m. The recipient and subject must be single lines (no
// header injection); the recipient must be an address.
func (s *Sender) Send(ctx context.Context, m Message) error {
	from, to, err := check(s.Config.From, m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout(s.Config))
	defer cancel()
	addr := net.JoinHostPort(s.Config.Host, strconv.Itoa(s.Config.Port))
	tlsConf := s.TLSConfig
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: s.Config.Host, MinVersion: tls.VersionTLS12}
	}
	var conn net.Conn
	d := &net.Dialer{}
	if s.Config.UseSSL {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, s.Config.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", addr, err)
	}
	defer c.Close()
	// The host's FQDN is seldom known in a container; "localhost" is what
	// most clients send then.
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("smtp %s: EHLO: %w", addr, err)
	}
	if s.Config.UseTLS {
		if err := c.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("smtp %s: STARTTLS: %w", addr, err)
		}
	}
	if s.Config.Username != "" {
		auth := smtp.PlainAuth("", s.Config.Username, s.Config.Password.Reveal(), s.Config.Host)
		if err := c.Auth(auth); err != nil {
			return fmt.Errorf("smtp %s: AUTH: %w", addr, err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp %s: MAIL FROM: %w", addr, err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("smtp %s: RCPT TO: %w", addr, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	if _, err := w.Write(compose(from, to, m)); err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp %s: DATA: %w", addr, err)
	}
	return c.Quit()
}

// check refuses a message that cannot be sent as given, and parses its
// sender (email.from) and recipient.
func check(sender string, m Message) (from, to *mail.Address, err error) {
	if strings.ContainsAny(m.To+m.Subject+m.ID, "\r\n") {
		return nil, nil, fmt.Errorf("%w: line break in a header", ErrInvalid)
	}
	if strings.ContainsAny(m.ID, "<>@ \t") {
		return nil, nil, fmt.Errorf("%w: message id %q", ErrInvalid, m.ID)
	}
	if to, err = mail.ParseAddress(m.To); err != nil {
		return nil, nil, fmt.Errorf("%w: recipient: %v", ErrInvalid, err)
	}
	if from, err = mail.ParseAddress(sender); err != nil {
		return nil, nil, fmt.Errorf("%w: email.from: %v", ErrInvalid, err)
	}
	return from, to, nil
}

// Permanent reports whether a failed Send cannot succeed by trying again:
// the server's permanent negative completion reply, a 5yz code (RFC 5321
// §4.2.1: "the SMTP client SHOULD NOT repeat the exact request"), or a
// message refused before it was sent (ErrInvalid). A 4yz reply (transient,
// e.g. greylisting or a full mailbox) and network or TLS failures may
// succeed later.
func Permanent(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500 && te.Code <= 599
	}
	return errors.Is(err, ErrInvalid)
}

// compose builds the RFC 5322 message: UTF-8 parts, quoted-printable
// (RFC 2045 §6.7), so long lines and non-ASCII text survive any relay.
func compose(from, to *mail.Address, m Message) []byte {
	var b bytes.Buffer
	id := m.ID
	if id == "" {
		id = NewID()
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n",
		from.String(), to.String(), mime.QEncoding.Encode("utf-8", m.Subject), time.Now().Format(time.RFC1123Z),
		id, domain)
	if m.HTML == "" {
		writePart(&b, "text/plain", m.Text)
		return b.Bytes()
	}
	mw := multipart.NewWriter(&b)
	// The boundary is 30 random bytes (multipart.Writer), so no part
	// contains it (RFC 2046 §5.1.1).
	fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=%q\r\n\r\n", mw.Boundary())
	for _, p := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", p.typ+"; charset=utf-8")
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		w, _ := mw.CreatePart(h) // writes to a bytes.Buffer: no error
		qp := quotedprintable.NewWriter(w)
		_, _ = qp.Write([]byte(p.body)) // text mode: line breaks become CRLF
		_ = qp.Close()
	}
	_ = mw.Close()
	return b.Bytes()
}

// NewID is a random Message-ID left part: 96 bits, hex.
func NewID() string {
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	return hex.EncodeToString(id)
}

// writePart writes the headers and quoted-printable body of a single-part
// message.
func writePart(b *bytes.Buffer, typ, body string) {
	fmt.Fprintf(b, "Content-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", typ)
	qp := quotedprintable.NewWriter(b)
	_, _ = qp.Write([]byte(body)) // text mode: line breaks become CRLF
	_ = qp.Close()
}
