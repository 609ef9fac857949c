package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	policyall "github.com/gatehouse-idp/gatehouse/internal/policy/all"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// SignatureHeader carries a webhook body's HMAC-SHA256 under the
// transport's webhook_secret, hex encoded: "sha256=<hex>". authentik has no
// signature; receivers that do not know it ignore it.
const SignatureHeader = "X-Gatehouse-Signature"

// defaultSubjectPrefix is authentik's email subject prefix.
const defaultSubjectPrefix = "authentik Notification: "

func newEngine(st store.Store, log *slog.Logger, rec *event.Recorder) *policy.Engine {
	return policyall.Engine(st, log, rec)
}

// StatusError is a webhook's answer other than 2xx.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("webhook answered %d: %s", e.Code, e.Body)
}

// Final reports whether retrying cannot help: a 4xx other than 408 and 429.
func (e *StatusError) Final() bool {
	return e.Code >= 400 && e.Code < 500 && e.Code != http.StatusRequestTimeout && e.Code != http.StatusTooManyRequests
}

// errFinal marks delivery errors that retrying cannot fix (a broken
// mapping, a transport without a URL).
var errFinal = errors.New("not retried")

// Final reports whether err is a delivery failure retrying cannot fix.
func Final(err error) bool {
	var se *StatusError
	return errors.Is(err, errFinal) || (errors.As(err, &se) && se.Final())
}

func (s *Service) handleTransport(ctx context.Context, j *queue.Job) error {
	var d Delivery
	if err := json.Unmarshal(j.Args, &d); err != nil || d.Event == nil {
		s.log().Error("notification transport: a malformed task", "task", j.ID)
		return nil
	}
	l := s.log().With("transport", d.Transport, "user_pk", d.UserPK, "event", d.Event.UUID, "attempt", j.Attempt)
	tr, err := s.Store.NotificationTransportByUUID(ctx, d.Transport)
	if errors.Is(err, store.ErrNotFound) {
		l.Info("notification transport: the transport is gone")
		return nil
	}
	if err != nil {
		return err
	}
	u, err := s.Store.UserByPK(ctx, d.UserPK)
	if errors.Is(err, store.ErrNotFound) {
		l.Info("notification transport: the user is gone")
		return nil
	}
	if err != nil {
		return err
	}
	n := &store.Notification{Severity: d.Severity, Body: Summary(d.Event), EventUUID: &d.Event.UUID, UserPK: u.PK, Created: s.now()}
	_, err = s.Send(ctx, tr, n, u, d.Event)
	switch {
	case err == nil:
		l.Info("notification delivered", "mode", tr.Mode)
		return nil
	case Final(err):
		// Failed for good: the run is recorded with the error, the task
		// kept as dead, and not retried.
		l.Warn("notification refused; not retried", "mode", tr.Mode, "error", err)
		return queue.Final(err)
	}
	l.Warn("notification delivery failed", "mode", tr.Mode, "error", err)
	return err
}

// Summary is a notification's body for an event (authentik's Event.summary):
// the context's message, else "action: context".
func Summary(ev *store.Event) string {
	if m, ok := ev.Context["message"].(string); ok {
		return m
	}
	ctx, _ := json.Marshal(ev.Context)
	return ev.Action + ": " + string(ctx)
}

// sender delivers through one transport mode.
type sender func(s *Service, ctx context.Context, tr *store.NotificationTransport, n *store.Notification, u *store.User, ev *store.Event) ([]string, error)

// modes are the transport modes (authentik's TransportMode) and their senders.
var modes = map[string]sender{
	store.TransportLocal:        (*Service).sendLocal,
	store.TransportWebhook:      (*Service).sendWebhook,
	store.TransportWebhookSlack: (*Service).sendSlack,
	store.TransportEmail:        (*Service).sendEmail,
}

// Send delivers n (for user u, about ev, which may be nil) through tr and
// returns the transport's messages (a webhook's status and answer).
func (s *Service) Send(ctx context.Context, tr *store.NotificationTransport, n *store.Notification, u *store.User, ev *store.Event) ([]string, error) {
	send, ok := modes[tr.Mode]
	if !ok {
		return nil, fmt.Errorf("unknown transport mode %q: %w", tr.Mode, errFinal)
	}
	return send(s, ctx, tr, n, u, ev)
}

// sendLocal saves the notification for the user's notification drawer.
func (s *Service) sendLocal(ctx context.Context, _ *store.NotificationTransport, n *store.Notification, _ *store.User, _ *store.Event) ([]string, error) {
	if err := s.Store.CreateNotification(ctx, n); err != nil {
		return nil, fmt.Errorf("saving the notification: %w", err)
	}
	return nil, nil
}

// sendWebhook POSTs the mapping's body, or authentik's default body.
func (s *Service) sendWebhook(ctx context.Context, tr *store.NotificationTransport, n *store.Notification, u *store.User, ev *store.Event) ([]string, error) {
	body, err := s.webhookBody(ctx, tr, n, u, ev)
	if err != nil {
		return nil, err
	}
	headers, err := s.webhookHeaders(ctx, tr, n, u, ev)
	if err != nil {
		return nil, err
	}
	return s.post(ctx, tr, body, headers)
}

// webhookHeaders are the headers mapping's result: a dict of strings.
func (s *Service) webhookHeaders(ctx context.Context, tr *store.NotificationTransport, n *store.Notification, u *store.User, ev *store.Event) (map[string]string, error) {
	if tr.WebhookMappingHeaders == nil {
		return nil, nil
	}
	m, err := s.Store.PropertyMappingByUUID(ctx, *tr.WebhookMappingHeaders)
	if err != nil {
		return nil, fmt.Errorf("webhook header mapping: %w", err)
	}
	v, err := runMapping(ctx, m, n, u, ev, s.log())
	if err != nil {
		return nil, err
	}
	raw, ok := v.(map[string]any)
	if !ok && v != nil {
		return nil, fmt.Errorf("webhook header mapping %s returned %T, not a dict: %w", m.Name, v, errFinal)
	}
	out := map[string]string{}
	for k, val := range raw {
		str, ok := val.(string)
		if !ok {
			return nil, fmt.Errorf("webhook header mapping %s: header %q is not a string: %w", m.Name, k, errFinal)
		}
		out[k] = str
	}
	return out, nil
}

// sendSlack POSTs the Slack/Discord attachment payload.
func (s *Service) sendSlack(ctx context.Context, tr *store.NotificationTransport, n *store.Notification, u *store.User, ev *store.Event) ([]string, error) {
	return s.post(ctx, tr, s.slackBody(n, u, ev), nil)
}

// webhookBody is the mapping's result, or authentik's default body.
func (s *Service) webhookBody(ctx context.Context, tr *store.NotificationTransport, n *store.Notification, u *store.User, ev *store.Event) (any, error) {
	if tr.WebhookMappingBody == nil {
		body := map[string]any{"body": n.Body, "severity": n.Severity, "user_email": u.Email, "user_username": u.Username}
		if ev != nil && ev.User != nil {
			body["event_user_email"], body["event_user_username"] = ev.User["email"], ev.User["username"]
		}
		return body, nil
	}
	m, err := s.Store.PropertyMappingByUUID(ctx, *tr.WebhookMappingBody)
	if err != nil {
		return nil, fmt.Errorf("webhook mapping: %w", err)
	}
	return runMapping(ctx, m, n, u, ev, s.log())
}

func (s *Service) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return &http.Client{Timeout: deliveryTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// post sends body as JSON; messages are authentik's [status, answer].
func (s *Service) post(ctx context.Context, tr *store.NotificationTransport, body any, headers map[string]string) ([]string, error) {
	if tr.WebhookURL == "" {
		return nil, fmt.Errorf("the transport has no webhook_url: %w", errFinal)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("webhook body: %v: %w", err, errFinal)
	}
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tr.WebhookURL, bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("webhook_url: %v: %w", err, errFinal)
	}
	for k, v := range headers {
		if k == "" || strings.ContainsAny(k+v, "\r\n") {
			return nil, fmt.Errorf("webhook header mapping: invalid header %q: %w", k, errFinal)
		}
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "gatehouse")
	}
	if tr.WebhookSecret != "" {
		req.Header.Set(SignatureHeader, Sign(tr.WebhookSecret, raw))
	}
	client, err := s.webhookClient(ctx, tr)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if certificateRefused(err) {
		return nil, fmt.Errorf("%w: %w", err, errFinal)
	} else if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &StatusError{Code: resp.StatusCode, Body: string(answer)}
	}
	return []string{strconv.Itoa(resp.StatusCode), string(answer)}, nil
}

// Sign is the SignatureHeader value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// slackBody is authentik's Slack/Discord attachment payload.
func (s *Service) slackBody(n *store.Notification, u *store.User, ev *store.Event) map[string]any {
	fields := []map[string]any{
		{"title": "Severity", "value": n.Severity, "short": true},
		{"title": "Dispatched for user", "value": u.Username, "short": true},
	}
	if ev != nil {
		if name, ok := ev.User["username"].(string); ok {
			fields = append(fields, map[string]any{"title": "Event user", "value": name, "short": true})
		}
		for _, k := range sortedKeys(ev.Context) {
			v, ok := ev.Context[k].(string)
			// Discord's field limits: 25 fields, 256-byte titles, 1024-byte values.
			if !ok || len(fields) >= 25 {
				continue
			}
			fields = append(fields, map[string]any{"title": truncate(k, 256), "value": truncate(v, 1024)})
		}
	}
	return map[string]any{
		"username": "gatehouse",
		"attachments": []map[string]any{{
			"author_name": "gatehouse",
			"title":       n.Body,
			"color":       "#fd4b2d",
			"fields":      fields,
			"footer":      strings.TrimSpace("gatehouse " + s.Version),
		}},
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// sendEmail sends email/event_notification.html (or the transport's template)
// to the user; a user without an address is skipped (authentik).
func (s *Service) sendEmail(ctx context.Context, tr *store.NotificationTransport, n *store.Notification, u *store.User, ev *store.Event) ([]string, error) {
	if strings.TrimSpace(u.Email) == "" {
		return []string{"The user has no email address; not sent."}, nil
	}
	if s.Mail == nil || s.Templates == nil {
		return nil, fmt.Errorf("email is not configured: %w", errFinal)
	}
	prefix := tr.EmailSubjectPrefix
	if prefix == "" {
		prefix = defaultSubjectPrefix
	}
	tmpl := tr.EmailTemplate
	if tmpl == "" {
		tmpl = mail.TemplateEventNotification
	}
	kv := []mail.KeyValue{{Key: "user_email", Value: u.Email}, {Key: "user_username", Value: u.Username}}
	title := truncate(n.Body, 75)
	if ev != nil {
		if e, ok := ev.User["email"].(string); ok {
			kv = append(kv, mail.KeyValue{Key: "event_user_email", Value: e})
		}
		if name, ok := ev.User["username"].(string); ok {
			kv = append(kv, mail.KeyValue{Key: "event_user_username", Value: name})
		}
		title = ev.Action
		for _, k := range sortedKeys(ev.Context) {
			if v, ok := ev.Context[k].(string); ok {
				kv = append(kv, mail.KeyValue{Key: k, Value: v})
			}
		}
	}
	r, err := s.Templates.Render(tmpl, mail.Data{User: mail.User{Name: u.Name, Username: u.Username, Email: u.Email},
		Title: title, Body: n.Body, KeyValue: kv})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, errFinal)
	}
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	if err := s.Mail.Send(ctx, mail.Message{To: u.Email, Subject: prefix + title, Text: r.Text, HTML: r.HTML}); err != nil {
		if mail.Permanent(err) {
			return nil, fmt.Errorf("%w: %w", err, errFinal)
		}
		return nil, err
	}
	return []string{"Email to " + u.Email + " accepted for delivery."}, nil
}

// TestEvent is the event of a transport's test notification (authentik's
// notification_test); it is not stored.
func TestEvent(u *store.User, now time.Time) *store.Event {
	return &store.Event{UUID: uuid.Must(uuid.NewV7()), Action: "custom_notification_test", App: "gatehouse.notify",
		User: event.UserSnapshot(u), Context: store.Attributes{"foo": "bar"}, Created: now}
}
