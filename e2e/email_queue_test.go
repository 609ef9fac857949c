package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/mail/mailtest"
)

// Bad input: an SMTP server that refuses. The recovery flow answers at once
// (the mail is queued); a permanent refusal (550) ends the email_send task
// after one run, recorded with the server's reply; a transient one (451) is
// retried and the link then arrives.
func TestEmailRefusedBySMTP(t *testing.T) {
	smtpd := mailtest.Start(t)
	env := mailEnv(smtpd)
	ivy := smtpd.To("ivy@example.com")
	eachEngineWith(t, env, func(t *testing.T, s *apiServer) {
		before := ivy.Count()
		u := s.must(201, "POST", "/core/users/", map[string]any{"username": "ivy", "name": "Ivy", "email": "ivy@example.com"})
		s.must(204, "POST", fmt.Sprintf("/core/users/%v/set_password/", u["pk"]), map[string]any{"password": "old-password-1"})
		s.setDefaultBrandDomain("127.0.0.1")
		askRecovery := func() {
			t.Helper()
			c := newFlowClient(t, s)
			c.exec("GET", "default-recovery-flow", nil)
			if ch := c.exec("POST", "default-recovery-flow", map[string]any{"component": "ak-stage-identification", "uid_field": "ivy"}); component(ch) != "ak-stage-email" {
				t.Fatalf("after identification: %v", ch)
			}
		}
		runs := func() []map[string]any {
			return results(s.must(200, "GET", "/tasks/tasks/?actor_name=email_send&ordering=started&page_size=100", nil))
		}
		// finished waits for n finished runs of email_send, oldest first.
		finished := func(n int) []map[string]any {
			t.Helper()
			deadline := time.Now().Add(45 * time.Second)
			for {
				var done []map[string]any
				for _, r := range runs() {
					if r["status"] != "running" {
						done = append(done, r)
					}
				}
				if len(done) >= n {
					return done
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d email_send runs finished: %v", len(done), n, done)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}

		smtpd.Refuse(550, 1)
		askRecovery()
		r := finished(1)[0]
		if r["status"] != "error" || !strings.Contains(fmt.Sprint(r["error"]), "550") || !strings.Contains(fmt.Sprint(r["error"]), "not retried") {
			t.Errorf("the refused run: %v", r)
		}
		smtpd.Refuse(451, 1)
		askRecovery()
		m := ivy.Wait(t, before, 45*time.Second)
		if !strings.Contains(m.Body, "flow_token=") {
			t.Errorf("the link: %q", m.Body)
		}
		rs := finished(3)
		if len(rs) != 3 || rs[1]["status"] != "error" || !strings.Contains(fmt.Sprint(rs[1]["error"]), "451") ||
			rs[2]["status"] != "successful" || rs[1]["task_id"] != rs[2]["task_id"] || rs[0]["task_id"] == rs[1]["task_id"] {
			t.Errorf("runs: %v", rs)
		}
		if n := ivy.Count() - before; n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})
}
