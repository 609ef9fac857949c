// Package notify is authentik's notification pipeline: when an event is
// recorded, the notification rules whose bound policies match it tell
// their recipients through their transports.
//
//	event.Recorder.Write ──EventRecorded (rules exist? cached 2 s)──▶
//	    task event_trigger_dispatch {event} ──worker──▶ per rule: bindings
//	    evaluated in "any" mode with request.context["event"] (no bindings:
//	    no match) ──▶ recipients (destination_group's members, the event's
//	    user) ──▶ task event_notification_transport {transport, event, user,
//	    severity} per transport and recipient (send_once: the first only)
//	    ──worker──▶ local: a notifications row │ webhook / webhook_slack:
//	    POST JSON │ email: email/event_notification.html, rendered here
//	    and queued (task email_send, mail.Outbox)
//
// Deliveries are retried by the queue (5xx, 408, 429 and network errors);
// any other 4xx answer is final, and send_once transports run once.
// The pipeline records no events of its own that could be dispatched: the
// policy engine of the rules writes its configuration_error events through
// a recorder without a notifier, so a broken rule cannot feed itself.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/event"
	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/policy"
	"github.com/gatehouse-idp/gatehouse/internal/queue"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Task names.
const (
	// DispatchTask evaluates the rules for one event (authentik's event_trigger_dispatch).
	DispatchTask = "event_trigger_dispatch"
	// TransportTask delivers one notification (authentik's notification_transport).
	TransportTask = "event_notification_transport"
)

const (
	// ruleCacheTTL is how long "are there rules?" is remembered by the
	// process that records events; Invalidate forgets it at once.
	ruleCacheTTL = 2 * time.Second
	// deliveryAttempts bounds the runs of a delivery that is retried.
	deliveryAttempts = 5
	// deliveryTimeout bounds one delivery (and one webhook POST).
	deliveryTimeout = 15 * time.Second
	// maxRules bounds the rules one dispatch reads.
	maxRules = 1000
	// maxRecipients bounds the users one rule notifies.
	maxRecipients = 10000
)

// Service records the events' dispatch (EventRecorded, in the processes
// that record events) and runs it (Handlers, in the worker).
type Service struct {
	Store store.Store
	Queue queue.Queue
	Log   *slog.Logger
	// Mail sends email transports' messages with Templates: the outbox
	// (mail.Outbox), which queues them for the worker's SMTP delivery.
	Mail      Mailer
	Templates *mail.Templates
	// Version is named in Slack messages' footer.
	Version string
	// HTTP posts webhooks; nil: a client with deliveryTimeout that does
	// not follow redirects.
	HTTP *http.Client
	// Now is the clock (time.Now if nil).
	Now func() time.Time

	once      sync.Once
	engine    *policy.Engine
	caClients sync.Map // sha256 of a webhook_ca's PEM -> *http.Client
	mu        sync.Mutex
	interest  interest
	checked   time.Time
}

var _ event.Notifier = (*Service)(nil)

// Mailer sends one message (mail.Outbox, mail.Sender).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// Invalidate forgets what the rules match (a rule was created or deleted here).
func (s *Service) Invalidate() {
	s.mu.Lock()
	s.checked = time.Time{}
	s.mu.Unlock()
}

// dispatchArgs are DispatchTask's arguments: the whole event, so that the
// worker needs no read (and no wait for the event's commit).
type dispatchArgs struct {
	Event *store.Event `json:"event"`
}

// EventRecorded implements event.Notifier: it enqueues the event's
// dispatch when a rule may match it (interested). Failures are logged.
func (s *Service) EventRecorded(ctx context.Context, ev *store.Event) {
	if s == nil || s.Store == nil || s.Queue == nil || !s.interested(ctx, ev.Action) {
		return
	}
	args, err := json.Marshal(dispatchArgs{Event: ev})
	if err == nil {
		_, err = s.Queue.Enqueue(ctx, queue.Task{Name: DispatchTask, Args: args, MaxAttempts: 3, Timeout: time.Minute})
	}
	if err != nil {
		s.log().Error("notification rules: enqueueing the dispatch", "event", ev.UUID, "action", ev.Action, "error", err)
	}
}

// Handlers are the worker's handlers of the pipeline's tasks.
func (s *Service) Handlers() queue.Handlers {
	return queue.Handlers{DispatchTask: s.handleDispatch, TransportTask: s.handleTransport}
}

// AddHandlers adds the pipeline's handlers to hs (the worker's).
func (s *Service) AddHandlers(hs queue.Handlers) queue.Handlers {
	if hs == nil {
		hs = queue.Handlers{}
	}
	maps.Copy(hs, s.Handlers())
	return hs
}

// policies is the rules' policy engine: uncached (every event differs), and
// its configuration_error events are not dispatched (no recursion).
func (s *Service) policies() *policy.Engine {
	s.once.Do(func() {
		s.engine = newEngine(s.Store, s.log(), &event.Recorder{Store: s.Store, Log: s.log()})
	})
	return s.engine
}

func (s *Service) handleDispatch(ctx context.Context, j *queue.Job) error {
	var args dispatchArgs
	if err := json.Unmarshal(j.Args, &args); err != nil || args.Event == nil {
		s.log().Error("notification dispatch: a task without an event", "task", j.ID)
		return nil
	}
	_, err := s.Dispatch(ctx, args.Event)
	return err
}

// Delivery is one notification to deliver.
type Delivery struct {
	Transport uuid.UUID    `json:"transport"`
	Event     *store.Event `json:"event"`
	UserPK    int64        `json:"user_pk"`
	Severity  string       `json:"severity"`
}

// Dispatch evaluates the rules for ev and enqueues their deliveries,
// which it returns.
func (s *Service) Dispatch(ctx context.Context, ev *store.Event) ([]Delivery, error) {
	rules, _, err := s.Store.ListNotificationRules(ctx, store.ListOptions{Page: store.Page{Limit: maxRules}})
	if err != nil {
		return nil, fmt.Errorf("notification rules: %w", err)
	}
	// authentik: an event caused by a policy bound to a rule is not
	// dispatched (the likeliest loop).
	causedBy := policyOf(ev)
	type bound struct {
		rule     *store.NotificationRule
		bindings []*store.PolicyBinding
	}
	var candidates []bound
	for _, r := range rules {
		bs, err := s.Store.PolicyBindings(ctx, r.UUID)
		if err != nil {
			return nil, fmt.Errorf("bindings of rule %s: %w", r.Name, err)
		}
		for _, b := range bs {
			if causedBy != "" && b.PolicyUUID != nil && b.PolicyUUID.String() == causedBy {
				return nil, nil
			}
		}
		// authentik: a rule without bindings matches nothing.
		if len(bs) > 0 {
			candidates = append(candidates, bound{r, bs})
		}
	}
	var out []Delivery
	for _, c := range candidates {
		res, err := s.policies().Evaluate(ctx, c.rule.UUID, "any", policy.Request{Context: map[string]any{"event": ev}})
		if err != nil {
			s.log().Error("notification rule: evaluating", "rule", c.rule.Name, "error", err)
			continue
		}
		if !res.Passing {
			continue
		}
		users, err := s.recipients(ctx, c.rule, ev)
		if err != nil {
			return out, err
		}
		for _, tid := range c.rule.Transports {
			tr, err := s.Store.NotificationTransportByUUID(ctx, tid)
			if err != nil {
				s.log().Warn("notification rule: a transport is gone", "rule", c.rule.Name, "transport", tid, "error", err)
				continue
			}
			for _, pk := range users {
				d := Delivery{Transport: tr.UUID, Event: ev, UserPK: pk, Severity: c.rule.Severity}
				args, err := json.Marshal(d)
				if err != nil {
					return out, err
				}
				attempts := deliveryAttempts
				if tr.SendOnce {
					attempts = 1
				}
				if _, err := s.Queue.Enqueue(ctx, queue.Task{Name: TransportTask, Args: args, MaxAttempts: attempts,
					Timeout: deliveryTimeout + 5*time.Second}); err != nil {
					return out, fmt.Errorf("enqueueing a delivery: %w", err)
				}
				out = append(out, d)
				if tr.SendOnce {
					break
				}
			}
		}
	}
	return out, nil
}

// policyOf is the policy uuid an event says it came from, if any.
func policyOf(ev *store.Event) string {
	if v, ok := ev.Context["policy_uuid"].(string); ok {
		return v
	}
	if p, ok := ev.Context["policy"].(map[string]any); ok {
		if v, ok := p["pk"].(string); ok {
			return v
		}
	}
	return ""
}

// recipients are the rule's destination group's direct members and, with
// destination_event_user, the event's user (authentik), each once.
func (s *Service) recipients(ctx context.Context, r *store.NotificationRule, ev *store.Event) ([]int64, error) {
	var out []int64
	seen := map[int64]bool{}
	add := func(pk int64) {
		if pk > 0 && !seen[pk] && len(out) < maxRecipients {
			seen[pk] = true
			out = append(out, pk)
		}
	}
	if r.DestinationGroup != nil {
		pks, err := s.Store.GroupMembers(ctx, *r.DestinationGroup)
		if err != nil {
			return nil, fmt.Errorf("members of rule %s's group: %w", r.Name, err)
		}
		for _, pk := range pks {
			add(pk)
		}
	}
	if r.DestinationEventUser {
		add(eventUserPK(ev))
	}
	return out, nil
}

// eventUserPK is the pk of an event's user snapshot (0 for anonymous).
func eventUserPK(ev *store.Event) int64 {
	switch v := ev.User["pk"].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}
