package mail

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
)

// SendTask is the queued task that delivers one message (authentik's
// send_mail).
const SendTask = "email_send"

const (
	// sendAttempts bounds the deliveries of one message: with the queue's
	// default backoff (5 s doubling, jittered) the last is about ten
	// minutes after the first, past a typical greylisting delay.
	sendAttempts = 8
	// sendSlack is added to the SMTP timeout for the task's time limit.
	sendSlack = 15 * time.Second
)

// Sealer encrypts what is queued (crypto.Sealer).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// Outbox sends mail through the task queue: Send checks a message, seals it
// and enqueues a SendTask; the worker's Handle delivers it over SMTP,
// retrying transient failures with the queue's backoff. So a flow does not
// wait for an SMTP server, and a server that is down for a while loses no
// message.
//
// Messages carry secrets (recovery links, one-time codes), so the task's
// arguments hold them only sealed: a task the queue keeps (a dead one, kept
// with its error until the worker's retention purges it) or a queue in Redis
// reveals nothing without the secret key. Finished tasks are deleted by the
// queue. Nothing logs the arguments.
type Outbox struct {
	Queue  queue.Queue
	Sealer Sealer
	// Config is the global email.* settings, with which Send's messages
	// are delivered.
	Config config.Email
	// TLSConfig overrides the SMTP TLS settings (tests trust their own CA).
	TLSConfig *tls.Config
	Log       *slog.Logger
}

// Send checks m and enqueues it for delivery with the global settings. An
// error means nothing was queued: a message that cannot be sent (ErrInvalid)
// or a queue that refused it.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	return o.enqueue(ctx, o.Config, false, m)
}

// Via queues messages to be delivered with cfg's SMTP settings instead of
// the global ones (an email authenticator stage's own). cfg travels sealed
// with each message, password included.
func (o *Outbox) Via(cfg config.Email) *Route { return &Route{o: o, cfg: cfg} }

// Route is an Outbox with SMTP settings of its own.
type Route struct {
	o   *Outbox
	cfg config.Email
}

// Send checks m and enqueues it for delivery with the route's settings.
func (r *Route) Send(ctx context.Context, m Message) error { return r.o.enqueue(ctx, r.cfg, true, m) }

// sendArgs are SendTask's arguments: the message id, recorded as the run's
// object, and the sealed envelope.
type sendArgs struct {
	UID    string `json:"uid"`
	Sealed string `json:"sealed"`
}

// envelope is what is sealed: the message and, for a Route, its settings.
type envelope struct {
	Message Message       `json:"message"`
	SMTP    *smtpSettings `json:"smtp,omitempty"`
}

// smtpSettings is config.Email as sealed; its password is a plain string
// (config.Secret marshals redacted).
type smtpSettings struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	UseTLS   bool   `json:"use_tls,omitempty"`
	UseSSL   bool   `json:"use_ssl,omitempty"`
	Timeout  int    `json:"timeout,omitempty"`
	From     string `json:"from"`
}

func (s *smtpSettings) config() config.Email {
	return config.Email{Host: s.Host, Port: s.Port, Username: s.Username, Password: config.Secret(s.Password),
		UseTLS: s.UseTLS, UseSSL: s.UseSSL, Timeout: s.Timeout, From: s.From}
}

func (o *Outbox) enqueue(ctx context.Context, cfg config.Email, own bool, m Message) error {
	if o.Queue == nil || o.Sealer == nil {
		return errors.New("mail outbox: no queue or sealer")
	}
	// What the SMTP server would refuse for certain is refused now, where
	// the caller can still tell the user.
	if _, _, err := check(cfg.From, m); err != nil {
		return err
	}
	if m.ID == "" {
		m.ID = NewID()
	}
	env := envelope{Message: m}
	if own {
		env.SMTP = &smtpSettings{Host: cfg.Host, Port: cfg.Port, Username: cfg.Username, Password: cfg.Password.Reveal(),
			UseTLS: cfg.UseTLS, UseSSL: cfg.UseSSL, Timeout: cfg.Timeout, From: cfg.From}
	}
	plain, err := json.Marshal(env)
	if err != nil {
		return err
	}
	sealed, err := o.Sealer.Seal(plain)
	if err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	args, err := json.Marshal(sendArgs{UID: m.ID, Sealed: sealed})
	if err != nil {
		return err
	}
	_, err = o.Queue.Enqueue(ctx, queue.Task{Name: SendTask, Args: args, MaxAttempts: sendAttempts,
		Timeout: timeout(cfg) + sendSlack})
	if err != nil {
		return fmt.Errorf("mail outbox: enqueueing: %w", err)
	}
	return nil
}

// Handle is SendTask's handler: it delivers one queued message. A
// permanent refusal (5yz) or a task that cannot be read fails without a
// retry (queue.Final); anything else is retried.
func (o *Outbox) Handle(ctx context.Context, j *queue.Job) error {
	var args sendArgs
	if err := json.Unmarshal(j.Args, &args); err != nil || args.Sealed == "" {
		return queue.Final(errors.New("a malformed email task"))
	}
	plain, err := o.Sealer.Open(args.Sealed)
	if err != nil {
		// The secret key changed since it was queued: never readable.
		return queue.Final(fmt.Errorf("email %s: cannot open the queued message: %w", args.UID, err))
	}
	var env envelope
	if err := json.Unmarshal(plain, &env); err != nil {
		return queue.Final(fmt.Errorf("email %s: a malformed queued message: %w", args.UID, err))
	}
	s := &Sender{Config: o.Config, TLSConfig: o.TLSConfig}
	if env.SMTP != nil {
		s.Config = env.SMTP.config()
	}
	err = s.Send(ctx, env.Message)
	switch {
	case err == nil:
		o.log().Info("email sent", "id", args.UID, "attempt", j.Attempt)
		return nil
	case Permanent(err):
		return queue.Final(fmt.Errorf("email %s refused, not retried: %w", args.UID, err))
	}
	return fmt.Errorf("email %s: %w", args.UID, err)
}

func (o *Outbox) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// timeout is the SMTP exchange's time limit (email.timeout, default 10 s).
func timeout(cfg config.Email) time.Duration {
	if t := time.Duration(cfg.Timeout) * time.Second; t > 0 {
		return t
	}
	return 10 * time.Second
}
