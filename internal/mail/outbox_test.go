package mail_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/config"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/queue/sqlqueue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
	"github.com/gatehouse-idp/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
	"github.com/gatehouse-idp/gatehouse/internal/worker"
)

// recordingQueue keeps the arguments of what is enqueued, to check that no
// secret is stored in the clear.
type recordingQueue struct {
	queue.Backend
	mu   sync.Mutex
	args []string
}

func (q *recordingQueue) Enqueue(ctx context.Context, t queue.Task) (string, error) {
	q.mu.Lock()
	q.args = append(q.args, string(t.Args))
	q.mu.Unlock()
	return q.Backend.Enqueue(ctx, t)
}

func (q *recordingQueue) enqueued() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.args...)
}

// outboxEnv is an outbox and a running worker with its handler, on one
// store engine.
type outboxEnv struct {
	st     *sqlstore.Store
	q      *recordingQueue
	sqlq   *sqlqueue.Queue
	outbox *mail.Outbox
}

func openSQLite(t *testing.T) *sqlstore.Store {
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openPostgres(t *testing.T) *sqlstore.Store {
	st, err := sqlstore.OpenPostgres(context.Background(), testenv.PostgresDB(t), sqlstore.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// eachEngine runs fn against a worker on SQLite and, when configured, on
// PostgreSQL.
func eachEngine(t *testing.T, srv *mailtest.Server, fn func(t *testing.T, e *outboxEnv)) {
	for _, eng := range []struct {
		name string
		open func(t *testing.T) *sqlstore.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(eng.name, func(t *testing.T) {
			st := eng.open(t)
			t.Cleanup(func() { _ = st.Close() })
			if _, err := st.Migrate(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			sqlq := sqlqueue.New(st, sqlqueue.Options{})
			t.Cleanup(func() { _ = sqlq.Close() })
			q := &recordingQueue{Backend: sqlq}
			sealer, err := crypto.NewSealer("outbox-test-secret-key-0123456789", "email-task")
			if err != nil {
				t.Fatal(err)
			}
			o := &mail.Outbox{Queue: q, Sealer: sealer, Config: sender(t, srv).Config}
			w := &worker.Worker{Log: slog.New(slog.DiscardHandler), Store: st, Queue: q, ID: "w-" + eng.name,
				Handlers: queue.Handlers{mail.SendTask: o.Handle}}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("worker: %v", err)
				}
			})
			fn(t, &outboxEnv{st: st, q: q, sqlq: sqlq, outbox: o})
		})
	}
}

// runs waits until n runs of email_send have finished, and returns them in
// order.
func (e *outboxEnv) runs(t *testing.T, n int) []*store.SystemTask {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		rs, _, err := e.st.ListSystemTasks(context.Background(), store.SystemTaskFilter{Name: mail.SendTask, Ordering: "started"})
		if err != nil {
			t.Fatal(err)
		}
		finished := 0
		for _, r := range rs {
			if r.Status != store.TaskRunning {
				finished++
			}
		}
		if finished >= n {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d runs of %s finished: %+v", finished, n, mail.SendTask, rs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noSecrets fails when the queued arguments, or the dead tasks', show
// any of secrets.
func (e *outboxEnv) noSecrets(t *testing.T, secrets ...string) {
	t.Helper()
	stored := e.q.enqueued()
	dead, err := e.sqlq.DeadTasks(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dead {
		stored = append(stored, string(d.Args))
	}
	for _, a := range stored {
		for _, s := range secrets {
			if strings.Contains(a, s) {
				t.Errorf("queued arguments show %q: %s", s, a)
			}
		}
	}
}

const recoveryLink = "https://id.example.com/if/flow/recovery/?flow_token=SECRET-TOKEN-KEY"

func recoveryMessage() mail.Message {
	return mail.Message{To: "Dana <dana@example.com>", Subject: "Reset your password",
		Text: "Open " + recoveryLink + "\n", HTML: `<a href="` + recoveryLink + `">reset</a>`}
}

// A queued message arrives once, with the same Message-ID the run records
// as its object; the queue keeps nothing of it, and stored no secret.
func TestOutboxDelivers(t *testing.T) {
	srv := mailtest.Start(t)
	sent := 0
	eachEngine(t, srv, func(t *testing.T, e *outboxEnv) {
		if err := e.outbox.Send(context.Background(), recoveryMessage()); err != nil {
			t.Fatal(err)
		}
		m := srv.Wait(t, sent, 30*time.Second)
		sent++
		if !strings.Contains(m.Body, recoveryLink) || !strings.Contains(m.HTML, "SECRET-TOKEN-KEY") || m.To[0] != "dana@example.com" {
			t.Errorf("received %v: %q %q", m.To, m.Body, m.HTML)
		}
		r := e.runs(t, 1)[0]
		if r.Status != store.TaskSuccessful || r.Attempt != 1 || r.UID == "" ||
			m.Msg.Header.Get("Message-ID") != "<"+r.UID+"@example.com>" {
			t.Errorf("run %+v, Message-ID %q", r, m.Msg.Header.Get("Message-ID"))
		}
		if dead, _ := e.sqlq.DeadTasks(context.Background(), 10); len(dead) != 0 {
			t.Errorf("dead tasks: %+v", dead)
		}
		e.noSecrets(t, "SECRET-TOKEN-KEY", "dana@example.com", "Reset your password")
	})
}

// A permanent refusal (550, RFC 5321 §4.2.1) fails the task at once: the
// run is recorded with the server's reply and the task is dead, sealed.
func TestOutboxPermanentRefusal(t *testing.T) {
	srv := mailtest.Start(t)
	eachEngine(t, srv, func(t *testing.T, e *outboxEnv) {
		srv.Refuse(550, 1)
		before := srv.Refused()
		if err := e.outbox.Send(context.Background(), recoveryMessage()); err != nil {
			t.Fatal(err)
		}
		r := e.runs(t, 1)[0]
		if r.Status != store.TaskError || !strings.Contains(r.Error, "550") || !strings.Contains(r.Error, "not retried") {
			t.Errorf("run: %+v", r)
		}
		var dead []queue.Dead
		for deadline := time.Now().Add(30 * time.Second); len(dead) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			dead, _ = e.sqlq.DeadTasks(context.Background(), 10)
		}
		if len(dead) != 1 || dead[0].Attempts != 1 || !strings.Contains(dead[0].LastError, "550") {
			t.Errorf("dead tasks: %+v", dead)
		}
		time.Sleep(200 * time.Millisecond)
		if rs := e.runs(t, 1); len(rs) != 1 || srv.Refused() != before+1 {
			t.Errorf("retried: %d runs, %d refusals", len(rs), srv.Refused()-before)
		}
		e.noSecrets(t, "SECRET-TOKEN-KEY", "dana@example.com")
	})
	if srv.Count() != 0 {
		t.Errorf("%d messages delivered", srv.Count())
	}
}

// A transient refusal (451) is retried after the backoff, and the message
// then arrives.
func TestOutboxTransientRefusal(t *testing.T) {
	srv := mailtest.Start(t)
	sent := 0
	eachEngine(t, srv, func(t *testing.T, e *outboxEnv) {
		srv.Refuse(451, 1)
		if err := e.outbox.Send(context.Background(), recoveryMessage()); err != nil {
			t.Fatal(err)
		}
		m := srv.Wait(t, sent, time.Minute)
		sent++
		if !strings.Contains(m.Body, recoveryLink) {
			t.Errorf("received %q", m.Body)
		}
		rs := e.runs(t, 2)
		if len(rs) != 2 || rs[0].Status != store.TaskError || !strings.Contains(rs[0].Error, "451") ||
			rs[1].Status != store.TaskSuccessful || rs[1].Attempt != 2 || rs[0].UID != rs[1].UID {
			t.Errorf("runs: %+v %+v", rs[0], rs[len(rs)-1])
		}
	})
}

// Via sends with settings of its own (an email authenticator stage's),
// which travel sealed, password included.
func TestOutboxVia(t *testing.T) {
	srv := mailtest.Start(t)
	sent := 0
	eachEngine(t, srv, func(t *testing.T, e *outboxEnv) {
		own := e.outbox.Config
		own.From = "Codes <codes@example.org>"
		own.Username, own.Password = "", "SMTP-PASSWORD"
		// The global settings point nowhere: the route's must be used.
		e.outbox.Config.Port = 1
		if err := e.outbox.Via(own).Send(context.Background(), mail.Message{To: "eve@example.com", Subject: "Code", Text: "123456"}); err != nil {
			t.Fatal(err)
		}
		m := srv.Wait(t, sent, 30*time.Second)
		sent++
		if m.From != "codes@example.org" || strings.TrimSpace(m.Body) != "123456" {
			t.Errorf("received from %q: %q", m.From, m.Body)
		}
		e.noSecrets(t, "SMTP-PASSWORD", "123456", "eve@example.com")
	})
}

// What cannot be sent is refused by Send, and nothing is queued.
func TestOutboxRefusesInvalid(t *testing.T) {
	q := &recordingQueue{}
	sealer, err := crypto.NewSealer("outbox-test-secret-key-0123456789", "email-task")
	if err != nil {
		t.Fatal(err)
	}
	o := &mail.Outbox{Queue: q, Sealer: sealer, Config: config.Email{From: "id@example.com"}}
	for _, m := range []mail.Message{
		{To: "not an address", Subject: "x"},
		{To: "a@example.com", Subject: "x\r\nBcc: b@example.com"},
		{To: "a@example.com", Subject: "x", ID: "a@b"},
	} {
		if err := o.Send(context.Background(), m); !errors.Is(err, mail.ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", m, err)
		}
	}
	if err := o.Via(config.Email{From: "nobody"}).Send(context.Background(), mail.Message{To: "a@example.com"}); !errors.Is(err, mail.ErrInvalid) {
		t.Errorf("a route without a sender address: %v", err)
	}
	if n := len(q.enqueued()); n != 0 {
		t.Errorf("%d tasks queued", n)
	}
}

func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&textproto.Error{Code: 550, Msg: "no such user"}, true},
		{&textproto.Error{Code: 554, Msg: "transaction failed"}, true},
		{&textproto.Error{Code: 421, Msg: "closing"}, false},
		{&textproto.Error{Code: 451, Msg: "greylisted"}, false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{mail.ErrInvalid, true},
		{errors.New("other"), false},
	} {
		wrapped := errors.Join(errors.New("smtp x: RCPT TO"), tc.err)
		if got := mail.Permanent(wrapped); got != tc.want {
			t.Errorf("Permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
