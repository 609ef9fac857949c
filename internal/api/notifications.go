package api

// Notification rules, transports and the caller's notifications
// (/events/rules/, /events/transports/, /events/notifications/), with
// authentik's paths and fields. Rules match events through the policies
// bound to them (/policies/bindings/ with target = the rule's pk).

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/notify"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewRule        = "authentik_events.view_notificationrule"
	permAddRule         = "authentik_events.add_notificationrule"
	permChangeRule      = "authentik_events.change_notificationrule"
	permDeleteRule      = "authentik_events.delete_notificationrule"
	permViewTransport   = "authentik_events.view_notificationtransport"
	permAddTransport    = "authentik_events.add_notificationtransport"
	permChangeTransport = "authentik_events.change_notificationtransport"
	permDeleteTransport = "authentik_events.delete_notificationtransport"
)

// notifier passes the API's events to the notification pipeline, once
// lifecycle has set Notifications.
type notifier struct{ a *API }

func (n notifier) EventRecorded(ctx context.Context, ev *store.Event) {
	if s := n.a.Notifications; s != nil {
		s.EventRecorded(ctx, ev)
	}
}

// NotificationTransport is authentik's NotificationTransport serializer.
// webhook_secret is write-only.
type NotificationTransport struct {
	PK                    uuid.UUID  `json:"pk"`
	Name                  string     `json:"name"`
	Mode                  string     `json:"mode" enum:"local,webhook,webhook_slack,email"`
	ModeVerbose           string     `json:"mode_verbose"`
	WebhookURL            string     `json:"webhook_url"`
	WebhookMappingBody    *uuid.UUID `json:"webhook_mapping_body" nullable:"true"`
	WebhookMappingHeaders *uuid.UUID `json:"webhook_mapping_headers" nullable:"true"`
	WebhookCA             *uuid.UUID `json:"webhook_ca" nullable:"true" doc:"When set, the selected certificate is used to validate the certificate of the webhook server."`
	SendOnce              bool       `json:"send_once"`
	EmailSubjectPrefix    string     `json:"email_subject_prefix"`
	EmailTemplate         string     `json:"email_template"`
}

// NotificationTransportRequest creates, replaces or (all optional) patches a transport.
type NotificationTransportRequest struct {
	Name                  *string    `json:"name,omitempty" minLength:"1" maxLength:"200"`
	Mode                  *string    `json:"mode,omitempty" enum:"local,webhook,webhook_slack,email"`
	WebhookURL            *string    `json:"webhook_url,omitempty" maxLength:"2000"`
	WebhookMappingBody    *uuid.UUID `json:"webhook_mapping_body,omitempty" nullable:"true"`
	WebhookMappingHeaders *uuid.UUID `json:"webhook_mapping_headers,omitempty" nullable:"true"`
	WebhookCA             *uuid.UUID `json:"webhook_ca,omitempty" nullable:"true" doc:"When set, the selected certificate is used to validate the certificate of the webhook server."`
	WebhookSecret         *string    `json:"webhook_secret,omitempty" maxLength:"500" doc:"Signs webhook bodies: X-Gatehouse-Signature: sha256=<hex HMAC-SHA256> (write-only; empty: unsigned)"`
	SendOnce              *bool      `json:"send_once,omitempty"`
	EmailSubjectPrefix    *string    `json:"email_subject_prefix,omitempty" maxLength:"200"`
	EmailTemplate         *string    `json:"email_template,omitempty" maxLength:"200"`
}

// NotificationRule is authentik's NotificationRule serializer.
type NotificationRule struct {
	PK                   uuid.UUID                `json:"pk"`
	Name                 string                   `json:"name"`
	Transports           []uuid.UUID              `json:"transports"`
	TransportsObj        []*NotificationTransport `json:"transports_obj"`
	Severity             string                   `json:"severity" enum:"notice,warning,alert"`
	DestinationGroup     *uuid.UUID               `json:"destination_group" nullable:"true"`
	DestinationGroupObj  *PartialGroup            `json:"destination_group_obj,omitempty"`
	DestinationEventUser bool                     `json:"destination_event_user"`
}

// NotificationRuleRequest creates, replaces or (all optional) patches a rule.
type NotificationRuleRequest struct {
	Name                 *string      `json:"name,omitempty" minLength:"1" maxLength:"200"`
	Transports           *[]uuid.UUID `json:"transports,omitempty" maxItems:"100"`
	Severity             *string      `json:"severity,omitempty" enum:"notice,warning,alert"`
	DestinationGroup     *uuid.UUID   `json:"destination_group,omitempty" nullable:"true"`
	DestinationEventUser *bool        `json:"destination_event_user,omitempty"`
}

// Notification is authentik's Notification serializer.
type Notification struct {
	PK             uuid.UUID `json:"pk"`
	Severity       string    `json:"severity" enum:"notice,warning,alert"`
	Body           string    `json:"body"`
	Created        time.Time `json:"created"`
	Event          *Event    `json:"event,omitempty"`
	Seen           bool      `json:"seen"`
	Hyperlink      *string   `json:"hyperlink" nullable:"true"`
	HyperlinkLabel *string   `json:"hyperlink_label" nullable:"true"`
}

// NotificationRequest patches a notification: only seen changes.
type NotificationRequest struct {
	Seen *bool `json:"seen,omitempty"`
}

// NotificationTransportTest is authentik's NotificationTransportTest serializer.
type NotificationTransportTest struct {
	Messages []string `json:"messages"`
}

// RuleIDInput is the pbm_uuid path parameter (authentik's name).
type RuleIDInput struct {
	ID uuid.UUID `path:"pbm_uuid"`
}

// UUIDInput is a uuid path parameter.
type UUIDInput struct {
	ID uuid.UUID `path:"uuid"`
}

type notificationListInput struct {
	ListParams
	Seen     string `query:"seen" enum:"true,false," doc:"Only seen (true) or unseen (false) notifications"`
	Severity string `query:"severity" enum:"notice,warning,alert," doc:"Only notifications of this severity"`
}

func (a *API) registerNotifications() {
	const tag = "events"
	rules := "/events/rules/"
	huma.Register(a.huma, op(http.MethodGet, rules, "events_rules_list", tag, "List notification rules", 200), a.listRules)
	huma.Register(a.huma, op(http.MethodPost, rules, "events_rules_create", tag, "Create a notification rule", 201), a.createRule)
	huma.Register(a.huma, op(http.MethodGet, rules+"{pbm_uuid}/", "events_rules_retrieve", tag, "Get a notification rule", 200, 404), a.getRule)
	huma.Register(a.huma, op(http.MethodPut, rules+"{pbm_uuid}/", "events_rules_update", tag, "Replace a notification rule", 200, 404), a.replaceRule)
	huma.Register(a.huma, op(http.MethodPatch, rules+"{pbm_uuid}/", "events_rules_partial_update", tag, "Update a notification rule", 200, 404), a.patchRule)
	huma.Register(a.huma, op(http.MethodDelete, rules+"{pbm_uuid}/", "events_rules_destroy", tag, "Delete a notification rule", 204, 404), a.deleteRule)

	tr := "/events/transports/"
	huma.Register(a.huma, op(http.MethodGet, tr, "events_transports_list", tag, "List notification transports", 200), a.listTransports)
	huma.Register(a.huma, op(http.MethodPost, tr, "events_transports_create", tag, "Create a notification transport", 201), a.createTransport)
	huma.Register(a.huma, op(http.MethodGet, tr+"{uuid}/", "events_transports_retrieve", tag, "Get a notification transport", 200, 404), a.getTransport)
	huma.Register(a.huma, op(http.MethodPut, tr+"{uuid}/", "events_transports_update", tag, "Replace a notification transport", 200, 404), a.replaceTransport)
	huma.Register(a.huma, op(http.MethodPatch, tr+"{uuid}/", "events_transports_partial_update", tag, "Update a notification transport", 200, 404), a.patchTransport)
	huma.Register(a.huma, op(http.MethodDelete, tr+"{uuid}/", "events_transports_destroy", tag, "Delete a notification transport", 204, 404), a.deleteTransport)
	huma.Register(a.huma, op(http.MethodPost, tr+"{uuid}/test/", "events_transports_test_create", tag,
		"Send a test notification to the caller through the transport", 200, 404, 503), a.testTransport)

	n := "/events/notifications/"
	huma.Register(a.huma, op(http.MethodGet, n, "events_notifications_list", tag, "List the caller's notifications", 200), a.listNotifications)
	huma.Register(a.huma, op(http.MethodPost, n+"mark_all_seen/", "events_notifications_mark_all_seen_create", tag, "Mark all of the caller's notifications seen", 204), a.markAllSeen)
	huma.Register(a.huma, op(http.MethodGet, n+"{uuid}/", "events_notifications_retrieve", tag, "Get one of the caller's notifications", 200, 404), a.getNotification)
	huma.Register(a.huma, op(http.MethodPatch, n+"{uuid}/", "events_notifications_partial_update", tag, "Mark a notification seen or unseen", 200, 404), a.patchNotification)
	huma.Register(a.huma, op(http.MethodDelete, n+"{uuid}/", "events_notifications_destroy", tag, "Delete one of the caller's notifications", 204, 404), a.deleteNotification)
}

// invalidateRules tells the pipeline that the rules changed.
func (a *API) invalidateRules() {
	if a.Notifications != nil {
		a.Notifications.Invalidate()
	}
}

var modeVerbose = map[string]string{store.TransportLocal: "Local (notifications within gatehouse)",
	store.TransportWebhook: "Generic Webhook", store.TransportWebhookSlack: "Slack Webhook (Slack/Discord)", store.TransportEmail: "Email"}

func transportOut(t *store.NotificationTransport) *NotificationTransport {
	return &NotificationTransport{PK: t.UUID, Name: t.Name, Mode: t.Mode, ModeVerbose: modeVerbose[t.Mode], WebhookURL: t.WebhookURL,
		WebhookMappingBody: t.WebhookMappingBody, WebhookMappingHeaders: t.WebhookMappingHeaders, WebhookCA: t.WebhookCA, SendOnce: t.SendOnce, EmailSubjectPrefix: t.EmailSubjectPrefix, EmailTemplate: t.EmailTemplate}
}

func transportRef(t *store.NotificationTransport) modelRef {
	return modelRef{"authentik_events", "notificationtransport", t.UUID.String(), t.Name}
}

func (a *API) applyTransport(ctx context.Context, t *store.NotificationTransport, r NotificationTransportRequest, full bool) error {
	if full && (r.Name == nil || r.Mode == nil) {
		field := "name"
		if r.Name != nil {
			field = "mode"
		}
		return fieldError(field, "This field is required.")
	}
	if r.Name != nil {
		t.Name = *r.Name
	}
	if r.Mode != nil {
		t.Mode = *r.Mode
	}
	if r.WebhookURL != nil {
		t.WebhookURL = *r.WebhookURL
	}
	for _, f := range []struct {
		name string
		in   *uuid.UUID
		out  **uuid.UUID
	}{{"webhook_mapping_body", r.WebhookMappingBody, &t.WebhookMappingBody}, {"webhook_mapping_headers", r.WebhookMappingHeaders, &t.WebhookMappingHeaders}} {
		if f.in == nil {
			continue
		}
		if *f.in == uuid.Nil {
			*f.out = nil
			continue
		}
		m, err := a.Store.PropertyMappingByUUID(ctx, *f.in)
		if errors.Is(err, store.ErrNotFound) || (err == nil && m.Type != store.NotificationMappingType) {
			return fieldError(f.name, "Invalid pk - object does not exist.")
		}
		if err != nil {
			return a.storeError(err)
		}
		if _, err := notify.CompileMapping(m.Expression); err != nil {
			return fieldError(f.name, "The mapping's expression does not compile as a webhook mapping: "+err.Error())
		}
		id := m.UUID
		*f.out = &id
	}
	if r.WebhookCA != nil {
		ca, err := a.webhookCA(ctx, *r.WebhookCA)
		if err != nil {
			return err
		}
		t.WebhookCA = ca
	}
	if r.WebhookSecret != nil {
		t.WebhookSecret = *r.WebhookSecret
	}
	if r.SendOnce != nil {
		t.SendOnce = *r.SendOnce
	}
	if r.EmailSubjectPrefix != nil {
		t.EmailSubjectPrefix = *r.EmailSubjectPrefix
	}
	if r.EmailTemplate != nil {
		t.EmailTemplate = *r.EmailTemplate
	}
	// authentik's validation: a webhook needs a URL.
	if t.Mode == store.TransportWebhook || t.Mode == store.TransportWebhookSlack {
		u, err := url.Parse(t.WebhookURL)
		if t.WebhookURL == "" {
			return fieldError("webhook_url", "Webhook URL may not be empty.")
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fieldError("webhook_url", "Enter a valid URL.")
		}
	}
	if t.EmailTemplate != "" {
		if err := mail.ValidTemplateName(t.EmailTemplate); err != nil {
			return fieldError("email_template", "Invalid template name.")
		}
	}
	return nil
}

func (a *API) listTransports(ctx context.Context, in *ListParams) (*listOf[*NotificationTransport], error) {
	only, err := a.visible(ctx, permViewTransport)
	if err != nil {
		return nil, err
	}
	ts, total, err := a.Store.ListNotificationTransports(ctx, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[*NotificationTransport]{}
	out.Body.Results = []*NotificationTransport{}
	for _, t := range ts {
		out.Body.Results = append(out.Body.Results, transportOut(t))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(*in, total, len(ts)), Autocomplete{}
	return out, nil
}

func (a *API) createTransport(ctx context.Context, in *struct{ Body NotificationTransportRequest }) (*struct{ Body *NotificationTransport }, error) {
	if _, err := a.require(ctx, permAddTransport, ""); err != nil {
		return nil, err
	}
	t := &store.NotificationTransport{}
	if err := a.applyTransport(ctx, t, in.Body, true); err != nil {
		return nil, err
	}
	if err := a.Store.CreateNotificationTransport(ctx, t); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, transportRef(t), nil)
	return &struct{ Body *NotificationTransport }{Body: transportOut(t)}, nil
}

func (a *API) loadTransport(ctx context.Context, perm string, id uuid.UUID) (*store.NotificationTransport, error) {
	if err := a.check(ctx, perm, permViewTransport, id.String()); err != nil {
		return nil, err
	}
	t, err := a.Store.NotificationTransportByUUID(ctx, id)
	return t, a.storeError(err)
}

func (a *API) getTransport(ctx context.Context, in *UUIDInput) (*struct{ Body *NotificationTransport }, error) {
	t, err := a.loadTransport(ctx, permViewTransport, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body *NotificationTransport }{Body: transportOut(t)}, nil
}

func (a *API) writeTransport(ctx context.Context, id uuid.UUID, r NotificationTransportRequest, full bool) (*struct{ Body *NotificationTransport }, error) {
	t, err := a.loadTransport(ctx, permChangeTransport, id)
	if err != nil {
		return nil, err
	}
	if err := a.applyTransport(ctx, t, r, full); err != nil {
		return nil, err
	}
	if err := a.Store.UpdateNotificationTransport(ctx, t); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelUpdated, transportRef(t), nil)
	return &struct{ Body *NotificationTransport }{Body: transportOut(t)}, nil
}

func (a *API) replaceTransport(ctx context.Context, in *struct {
	UUIDInput
	Body NotificationTransportRequest
}) (*struct{ Body *NotificationTransport }, error) {
	return a.writeTransport(ctx, in.ID, in.Body, true)
}

func (a *API) patchTransport(ctx context.Context, in *struct {
	UUIDInput
	Body NotificationTransportRequest
}) (*struct{ Body *NotificationTransport }, error) {
	return a.writeTransport(ctx, in.ID, in.Body, false)
}

func (a *API) deleteTransport(ctx context.Context, in *UUIDInput) (*noContent, error) {
	t, err := a.loadTransport(ctx, permDeleteTransport, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteNotificationTransport(ctx, t.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, transportRef(t), nil)
	return &noContent{}, nil
}

// testTransport sends a test notification to the caller now (authentik's
// transport test): 200 with the transport's messages, or 503 with the
// delivery's error as the only message.
func (a *API) testTransport(ctx context.Context, in *UUIDInput) (*struct {
	Status int
	Body   NotificationTransportTest
}, error) {
	t, err := a.loadTransport(ctx, permChangeTransport, in.ID)
	if err != nil {
		return nil, err
	}
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	svc := a.Notifications
	if svc == nil {
		svc = &notify.Service{Store: a.Store, Log: a.Log}
	}
	now := a.Now()
	ev := notify.TestEvent(p.User, now)
	n := &store.Notification{Severity: store.SeverityNotice, Body: "Test Notification from transport " + t.Name,
		UserPK: p.User.PK, Created: now}
	out := &struct {
		Status int
		Body   NotificationTransportTest
	}{Status: http.StatusOK}
	msgs, err := svc.Send(ctx, t, n, p.User, ev)
	if err != nil {
		out.Status, msgs = http.StatusServiceUnavailable, []string{err.Error()}
	}
	if msgs == nil {
		msgs = []string{}
	}
	out.Body.Messages = msgs
	return out, nil
}

func ruleRef(r *store.NotificationRule) modelRef {
	return modelRef{"authentik_events", "notificationrule", r.UUID.String(), r.Name}
}

func (a *API) ruleOut(ctx context.Context, r *store.NotificationRule) *NotificationRule {
	o := &NotificationRule{PK: r.UUID, Name: r.Name, Transports: r.Transports, TransportsObj: []*NotificationTransport{},
		Severity: r.Severity, DestinationGroup: r.DestinationGroup, DestinationEventUser: r.DestinationEventUser}
	if o.Transports == nil {
		o.Transports = []uuid.UUID{}
	}
	for _, id := range r.Transports {
		if t, err := a.Store.NotificationTransportByUUID(ctx, id); err == nil {
			o.TransportsObj = append(o.TransportsObj, transportOut(t))
		}
	}
	if r.DestinationGroup != nil {
		if g, err := a.Store.GroupByUUID(ctx, *r.DestinationGroup); err == nil {
			pg := partialGroup(g)
			o.DestinationGroupObj = &pg
		}
	}
	return o
}

func (a *API) applyRule(ctx context.Context, r *store.NotificationRule, in NotificationRuleRequest, full bool) error {
	if full && in.Name == nil {
		return fieldError("name", "This field is required.")
	}
	if in.Name != nil {
		r.Name = *in.Name
	}
	if in.Severity != nil {
		r.Severity = *in.Severity
	}
	if r.Severity == "" {
		r.Severity = store.SeverityNotice
	}
	if in.DestinationEventUser != nil {
		r.DestinationEventUser = *in.DestinationEventUser
	}
	if in.DestinationGroup != nil {
		if *in.DestinationGroup == uuid.Nil {
			r.DestinationGroup = nil
		} else {
			if _, err := a.Store.GroupByUUID(ctx, *in.DestinationGroup); errors.Is(err, store.ErrNotFound) {
				return fieldError("destination_group", "Invalid pk - object does not exist.")
			} else if err != nil {
				return a.storeError(err)
			}
			g := *in.DestinationGroup
			r.DestinationGroup = &g
		}
	}
	if in.Transports != nil {
		ids := []uuid.UUID{}
		for _, id := range *in.Transports {
			if _, err := a.Store.NotificationTransportByUUID(ctx, id); errors.Is(err, store.ErrNotFound) {
				return fieldError("transports", "Invalid pk \""+id.String()+"\" - object does not exist.")
			} else if err != nil {
				return a.storeError(err)
			}
			if !containsUUID(ids, id) {
				ids = append(ids, id)
			}
		}
		r.Transports = ids
	}
	return nil
}

func containsUUID(ids []uuid.UUID, id uuid.UUID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (a *API) listRules(ctx context.Context, in *ListParams) (*listOf[*NotificationRule], error) {
	only, err := a.visible(ctx, permViewRule)
	if err != nil {
		return nil, err
	}
	rs, total, err := a.Store.ListNotificationRules(ctx, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[*NotificationRule]{}
	out.Body.Results = []*NotificationRule{}
	for _, r := range rs {
		out.Body.Results = append(out.Body.Results, a.ruleOut(ctx, r))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(*in, total, len(rs)), Autocomplete{}
	return out, nil
}

func (a *API) createRule(ctx context.Context, in *struct{ Body NotificationRuleRequest }) (*struct{ Body *NotificationRule }, error) {
	if _, err := a.require(ctx, permAddRule, ""); err != nil {
		return nil, err
	}
	r := &store.NotificationRule{}
	if err := a.applyRule(ctx, r, in.Body, true); err != nil {
		return nil, err
	}
	if err := a.Store.CreateNotificationRule(ctx, r); err != nil {
		return nil, a.storeError(err)
	}
	a.invalidateRules()
	a.audit(ctx, actionModelCreated, ruleRef(r), nil)
	return &struct{ Body *NotificationRule }{Body: a.ruleOut(ctx, r)}, nil
}

func (a *API) loadRule(ctx context.Context, perm string, id uuid.UUID) (*store.NotificationRule, error) {
	if err := a.check(ctx, perm, permViewRule, id.String()); err != nil {
		return nil, err
	}
	r, err := a.Store.NotificationRuleByUUID(ctx, id)
	return r, a.storeError(err)
}

func (a *API) getRule(ctx context.Context, in *RuleIDInput) (*struct{ Body *NotificationRule }, error) {
	r, err := a.loadRule(ctx, permViewRule, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body *NotificationRule }{Body: a.ruleOut(ctx, r)}, nil
}

func (a *API) writeRule(ctx context.Context, id uuid.UUID, body NotificationRuleRequest, full bool) (*struct{ Body *NotificationRule }, error) {
	r, err := a.loadRule(ctx, permChangeRule, id)
	if err != nil {
		return nil, err
	}
	if err := a.applyRule(ctx, r, body, full); err != nil {
		return nil, err
	}
	if err := a.Store.UpdateNotificationRule(ctx, r); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelUpdated, ruleRef(r), nil)
	return &struct{ Body *NotificationRule }{Body: a.ruleOut(ctx, r)}, nil
}

func (a *API) replaceRule(ctx context.Context, in *struct {
	RuleIDInput
	Body NotificationRuleRequest
}) (*struct{ Body *NotificationRule }, error) {
	return a.writeRule(ctx, in.ID, in.Body, true)
}

func (a *API) patchRule(ctx context.Context, in *struct {
	RuleIDInput
	Body NotificationRuleRequest
}) (*struct{ Body *NotificationRule }, error) {
	return a.writeRule(ctx, in.ID, in.Body, false)
}

func (a *API) deleteRule(ctx context.Context, in *RuleIDInput) (*noContent, error) {
	r, err := a.loadRule(ctx, permDeleteRule, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteNotificationRule(ctx, r.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.invalidateRules()
	a.audit(ctx, actionModelDeleted, ruleRef(r), nil)
	return &noContent{}, nil
}

func (a *API) notificationOut(ctx context.Context, n *store.Notification) *Notification {
	o := &Notification{PK: n.UUID, Severity: n.Severity, Body: n.Body, Created: n.Created, Seen: n.Seen}
	if n.Hyperlink != "" {
		h, l := n.Hyperlink, n.HyperlinkLabel
		o.Hyperlink, o.HyperlinkLabel = &h, &l
	}
	if n.EventUUID != nil {
		if ev, err := a.Store.EventByUUID(ctx, *n.EventUUID); err == nil {
			o.Event = eventOut(ev)
		}
	}
	return o
}

func (a *API) listNotifications(ctx context.Context, in *notificationListInput) (*listOf[*Notification], error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	f := store.NotificationFilter{UserPK: p.User.PK, Severity: in.Severity, Ordering: in.Ordering, Page: in.page()}
	if in.Seen != "" {
		seen := in.Seen == "true"
		f.Seen = &seen
	}
	ns, total, err := a.Store.ListNotifications(ctx, f)
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[*Notification]{}
	out.Body.Results = []*Notification{}
	for _, n := range ns {
		out.Body.Results = append(out.Body.Results, a.notificationOut(ctx, n))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(in.ListParams, total, len(ns)), Autocomplete{}
	return out, nil
}

// ownNotification loads one of the caller's notifications; anyone else's is not found.
func (a *API) ownNotification(ctx context.Context, id uuid.UUID) (*store.Notification, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	n, err := a.Store.NotificationByUUID(ctx, id)
	if err != nil {
		return nil, a.storeError(err)
	}
	if n.UserPK != p.User.PK {
		return nil, errNotFound
	}
	return n, nil
}

func (a *API) getNotification(ctx context.Context, in *UUIDInput) (*struct{ Body *Notification }, error) {
	n, err := a.ownNotification(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return &struct{ Body *Notification }{Body: a.notificationOut(ctx, n)}, nil
}

func (a *API) patchNotification(ctx context.Context, in *struct {
	UUIDInput
	Body NotificationRequest
}) (*struct{ Body *Notification }, error) {
	n, err := a.ownNotification(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if in.Body.Seen != nil {
		n.Seen = *in.Body.Seen
		if err := a.Store.UpdateNotification(ctx, n); err != nil {
			return nil, a.storeError(err)
		}
	}
	return &struct{ Body *Notification }{Body: a.notificationOut(ctx, n)}, nil
}

func (a *API) deleteNotification(ctx context.Context, in *UUIDInput) (*noContent, error) {
	n, err := a.ownNotification(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteNotification(ctx, n.UUID); err != nil {
		return nil, a.storeError(err)
	}
	return &noContent{}, nil
}

func (a *API) markAllSeen(ctx context.Context, _ *struct{}) (*noContent, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := a.Store.MarkNotificationsSeen(ctx, p.User.PK); err != nil {
		return nil, a.storeError(err)
	}
	return &noContent{}, nil
}

// webhookCA checks a transport's webhook_ca: a keypair whose certificate
// data is PEM certificates (the CA the webhook server's certificate must
// chain to). uuid.Nil clears it.
func (a *API) webhookCA(ctx context.Context, id uuid.UUID) (*uuid.UUID, error) {
	if id == uuid.Nil {
		return nil, nil
	}
	kp, err := a.Store.KeyPairByUUID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fieldError("webhook_ca", "Invalid pk - object does not exist.")
	} else if err != nil {
		return nil, a.storeError(err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM([]byte(kp.CertificateData)) {
		return nil, fieldError("webhook_ca", "The keypair holds no PEM certificate.")
	}
	return &kp.UUID, nil
}
