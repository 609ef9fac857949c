// Package mailtest runs a real SMTP server (emersion/go-smtp) on loopback
// for tests, and collects what it receives.
package mailtest

import (
	"bytes"
	"io"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Received is one delivered message.
type Received struct {
	From string
	To   []string
	Msg  *mail.Message
	Body string // decoded text body (the text/plain part of a multipart message)
	HTML string // decoded HTML body, if any
	Raw  []byte // the message as received, for tests that parse it themselves
}

// Server is a receiving SMTP server.
type Server struct {
	Addr string
	mu   sync.Mutex
	msgs []Received
	got  chan struct{}
	// refuse: the reply code for the next refuseLeft recipients; refused
	// counts the recipients refused so far.
	refuse, refuseLeft, refused int
}

// Refuse makes the server refuse the next n recipients (RCPT TO) with code:
// a 4yz (transient) or 5yz (permanent) reply, RFC 5321 §4.2.1.
func (s *Server) Refuse(code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse, s.refuseLeft = code, n
}

// Refused is how many recipients were refused.
func (s *Server) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// Start listens on 127.0.0.1 and stops at the end of the test.
func Start(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: l.Addr().String(), got: make(chan struct{}, 100)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "mail.test"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Port is the server's port.
func (s *Server) Port() string { _, p, _ := net.SplitHostPort(s.Addr); return p }

// Wait returns the n-th message (0-based), waiting up to timeout for it.
func (s *Server) Wait(t testing.TB, n int, timeout time.Duration) Received {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		if len(s.msgs) > n {
			m := s.msgs[n]
			s.mu.Unlock()
			return m
		}
		s.mu.Unlock()
		select {
		case <-s.got:
		case <-deadline:
			t.Fatalf("no message %d within %v", n, timeout)
		}
	}
}

// Count is how many messages arrived.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

type session struct {
	s    *Server
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.refuseLeft > 0 {
		x.s.refuseLeft--
		x.s.refused++
		return &smtp.SMTPError{Code: x.s.refuse, EnhancedCode: smtp.EnhancedCode{x.s.refuse / 100, 0, 0},
			Message: "refused by the test server"}
	}
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	text, html, err := decode(m)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.msgs = append(x.s.msgs, Received{From: x.from, To: x.to, Msg: m, Body: text, HTML: html, Raw: raw})
	x.s.mu.Unlock()
	x.s.got <- struct{}{}
	return nil
}

// Mailbox is the messages to one recipient.
type Mailbox struct {
	s    *Server
	addr string
}

// To is the mailbox of addr: tests that count what one user received are
// not disturbed by other mail (the administrators' notifications).
func (s *Server) To(addr string) *Mailbox { return &Mailbox{s: s, addr: addr} }

func (b *Mailbox) messages() []Received {
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	var out []Received
	for _, m := range b.s.msgs {
		for _, to := range m.To {
			if to == b.addr {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Count is how many messages to the mailbox arrived.
func (b *Mailbox) Count() int { return len(b.messages()) }

// Wait returns the mailbox's n-th message (0-based), waiting up to timeout.
func (b *Mailbox) Wait(t testing.TB, n int, timeout time.Duration) Received {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ms := b.messages(); len(ms) > n {
			return ms[n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %d to %s within %v", n, b.addr, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
