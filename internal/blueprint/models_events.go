package blueprint

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/mail"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Notification rules and transports (authentik_events.notificationrule,
// authentik_events.notificationtransport), with the fields of authentik's
// serializers. A rule's policy bindings target the rule
// (authentik_policies.policybinding with target: !KeyOf rule), as in
// authentik's blueprints/default/events-default.yaml.

const (
	modelNotificationRule      = "authentik_events.notificationrule"
	modelNotificationTransport = "authentik_events.notificationtransport"
)

func eventKinds() []model { return []model{notificationTransportKind(), notificationRuleKind()} }

// byUUID is a kind's byPK for a model whose primary key is a uuid.
func byUUID[T any](get func(e *env, id uuid.UUID) (*T, error)) func(*env, any) (*T, error) {
	return func(e *env, pk any) (*T, error) {
		id, err := asUUID(pk)
		if err != nil {
			return nil, errNoPK
		}
		return get(e, id)
	}
}

// unindexed is a kind's lookup when no identifier is indexed in the store:
// every object is a candidate (the bulk index serves many entries).
func unindexed[T any](*env, map[string]any) ([]*T, bool, error) { return nil, false, nil }

func notificationTransportKind() model {
	type T = store.NotificationTransport
	return &kind[T]{
		name: modelNotificationTransport, perm: modelNotificationTransport,
		key: []string{"name"},
		fields: []field[T]{
			strField("name", func(o *T) *string { return &o.Name }, notEmpty, maxLen(200)),
			strField("mode", func(o *T) *string { return &o.Mode },
				oneOf(store.TransportLocal, store.TransportWebhook, store.TransportWebhookSlack, store.TransportEmail)),
			nullStrField("webhook_url", func(o *T) *string { return &o.WebhookURL }, maxLen(2000)),
			optUUIDField("webhook_ca", refKeyPair, func(o *T) **uuid.UUID { return &o.WebhookCA }),
			optUUIDField("webhook_mapping_body", refPropertyMapping, func(o *T) **uuid.UUID { return &o.WebhookMappingBody }),
			optUUIDField("webhook_mapping_headers", refPropertyMapping, func(o *T) **uuid.UUID { return &o.WebhookMappingHeaders }),
			// webhook_secret is Gatehouse's (the HMAC signature's key).
			func() field[T] {
				f := nullStrField("webhook_secret", func(o *T) *string { return &o.WebhookSecret }, maxLen(500))
				f.secret = true
				return f
			}(),
			boolField("send_once", func(o *T) *bool { return &o.SendOnce }),
			nullStrField("email_subject_prefix", func(o *T) *string { return &o.EmailSubjectPrefix }, maxLen(200)),
			nullStrField("email_template", func(o *T) *string { return &o.EmailTemplate }, maxLen(200)),
		},
		// authentik's defaults: mode local, its subject prefix and template.
		newObj: func() *T {
			return &T{Mode: store.TransportLocal, EmailSubjectPrefix: "authentik Notification: ", EmailTemplate: mail.TemplateEventNotification}
		},
		pk:     func(o *T) any { return o.UUID.String() },
		setPK:  func(o *T, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK:   byUUID(func(e *env, id uuid.UUID) (*T, error) { return e.st.NotificationTransportByUUID(e.ctx, id) }),
		lookup: unindexed[T],
		list: func(e *env) ([]*T, error) {
			return listAll(func(p store.Page) ([]*T, int, error) {
				return e.st.ListNotificationTransports(e.ctx, store.ListOptions{Ordering: "name", Page: p})
			})
		},
		check:  checkTransport,
		create: func(e *env, o *T) error { return e.st.CreateNotificationTransport(e.ctx, o) },
		update: func(e *env, o *T) error { return e.st.UpdateNotificationTransport(e.ctx, o) },
		remove: func(e *env, o *T) error { return e.st.DeleteNotificationTransport(e.ctx, o.UUID) },
	}
}

// checkTransport is the API's validation: a webhook needs an http(s) URL,
// an email template a valid name, and mappings must be webhook mappings.
func checkTransport(e *env, o *store.NotificationTransport) error {
	if o.Mode == store.TransportWebhook || o.Mode == store.TransportWebhookSlack {
		u, err := url.Parse(o.WebhookURL)
		if o.WebhookURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &fieldError{"webhook_url", errors.New("a webhook transport needs an http or https URL")}
		}
	}
	if o.EmailTemplate != "" {
		if err := mail.ValidTemplateName(o.EmailTemplate); err != nil {
			return &fieldError{"email_template", err}
		}
	}
	for name, id := range map[string]*uuid.UUID{"webhook_mapping_body": o.WebhookMappingBody, "webhook_mapping_headers": o.WebhookMappingHeaders} {
		if id == nil {
			continue
		}
		m, err := e.st.PropertyMappingByUUID(e.ctx, *id)
		if err != nil {
			return &fieldError{name, err}
		}
		if m.Type != store.NotificationMappingType {
			return &fieldError{name, fmt.Errorf("property mapping %q is not a webhook mapping", m.Name)}
		}
	}
	return nil
}

func notificationRuleKind() model {
	type R = store.NotificationRule
	group := func(o *R) **uuid.UUID { return &o.DestinationGroup }
	return &kind[R]{
		name: modelNotificationRule, perm: modelNotificationRule,
		key: []string{"name"},
		fields: []field[R]{
			strField("name", func(o *R) *string { return &o.Name }, notEmpty, maxLen(200)),
			uuidListField("transports", refTransport, func(o *R) *[]uuid.UUID { return &o.Transports }),
			strField("severity", func(o *R) *string { return &o.Severity },
				oneOf(store.SeverityNotice, store.SeverityWarning, store.SeverityAlert)),
			optUUIDField("destination_group", refGroup, group),
			// group is the field's name before authentik 2025.2, which its
			// events-default.yaml still uses.
			func() field[R] {
				f := optUUIDField("group", refGroup, group)
				f.noExport = true
				return f
			}(),
			boolField("destination_event_user", func(o *R) *bool { return &o.DestinationEventUser }),
		},
		newObj: func() *R { return &R{Severity: store.SeverityNotice} },
		pk:     func(o *R) any { return o.UUID.String() },
		setPK:  func(o *R, pk any) (err error) { o.UUID, err = asUUID(pk); return err },
		byPK:   byUUID(func(e *env, id uuid.UUID) (*R, error) { return e.st.NotificationRuleByUUID(e.ctx, id) }),
		lookup: unindexed[R],
		list:   listNotificationRules,
		create: func(e *env, o *R) error { return e.st.CreateNotificationRule(e.ctx, o) },
		update: func(e *env, o *R) error { return e.st.UpdateNotificationRule(e.ctx, o) },
		remove: func(e *env, o *R) error { e.forget(); return e.st.DeleteNotificationRule(e.ctx, o.UUID) },
	}
}

func listNotificationRules(e *env) ([]*store.NotificationRule, error) {
	return listAll(func(p store.Page) ([]*store.NotificationRule, int, error) {
		return e.st.ListNotificationRules(e.ctx, store.ListOptions{Ordering: "name", Page: p})
	})
}
