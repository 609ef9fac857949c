package store

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Notification severities (authentik's NotificationSeverity).
const (
	SeverityNotice  = "notice"
	SeverityWarning = "warning"
	SeverityAlert   = "alert"
)

// Transport modes (authentik's TransportMode).
const (
	TransportLocal        = "local"
	TransportWebhook      = "webhook"
	TransportWebhookSlack = "webhook_slack"
	TransportEmail        = "email"
)

// NotificationMappingType is the PropertyMapping type of webhook body
// mappings (authentik's NotificationWebhookMapping).
const NotificationMappingType = "notification_webhook"

// NotificationRule says who is told about the events its bound policies
// match (authentik's NotificationRule): the policy bindings target its
// UUID. Transports are kept in order, as a JSON list.
type NotificationRule struct {
	UUID       uuid.UUID `bun:"uuid,pk"`
	Name       string
	Transports []uuid.UUID
	Severity   string
	// DestinationGroup's direct members are notified, and the event's user
	// when DestinationEventUser is set.
	DestinationGroup     *uuid.UUID `bun:"destination_group"`
	DestinationEventUser bool       `bun:"destination_event_user"`
}

// NotificationTransport delivers notifications (authentik's NotificationTransport).
type NotificationTransport struct {
	UUID       uuid.UUID `bun:"uuid,pk"`
	Name       string
	Mode       string
	WebhookURL string `bun:"webhook_url"`
	// WebhookMappingBody is a property mapping whose expression returns
	// the webhook's JSON body; nil sends the default body.
	WebhookMappingBody *uuid.UUID `bun:"webhook_mapping_body"`
	// WebhookMappingHeaders is a property mapping whose expression returns
	// headers to add to the webhook's request; nil adds none.
	WebhookMappingHeaders *uuid.UUID `bun:"webhook_mapping_headers"`
	// WebhookCA is a certificate-key pair whose certificate (a CA, or the
	// server's own) verifies the webhook server's TLS certificate instead
	// of the system roots; nil uses the system roots.
	WebhookCA *uuid.UUID `bun:"webhook_ca"`
	// WebhookSecret, when set, signs the webhook body (HMAC-SHA256 in the
	// X-Gatehouse-Signature header).
	WebhookSecret      string `bun:"webhook_secret"`
	SendOnce           bool   `bun:"send_once"`
	EmailSubjectPrefix string `bun:"email_subject_prefix"`
	EmailTemplate      string `bun:"email_template"`
}

// Notification is one user's in-app notification (authentik's Notification).
type Notification struct {
	UUID      uuid.UUID `bun:"uuid,pk"`
	Severity  string
	Body      string
	Hyperlink string
	// HyperlinkLabel names the link.
	HyperlinkLabel string     `bun:"hyperlink_label"`
	Created        time.Time  `bun:"created"`
	EventUUID      *uuid.UUID `bun:"event_uuid"`
	UserPK         int64      `bun:"user_pk"`
	Seen           bool
}

// NotificationFilter narrows ListNotifications.
type NotificationFilter struct {
	UserPK   int64
	Seen     *bool
	Severity string
	// Ordering: created, severity, seen ("-" descending; default -created).
	Ordering string
	Page     Page
}

// Notifications is the notification aggregate: rules, transports and the
// users' notifications.
type Notifications interface {
	CreateNotificationRule(ctx context.Context, r *NotificationRule) error
	NotificationRuleByUUID(ctx context.Context, id uuid.UUID) (*NotificationRule, error)
	UpdateNotificationRule(ctx context.Context, r *NotificationRule) error
	DeleteNotificationRule(ctx context.Context, id uuid.UUID) error
	// ListNotificationRules: Search on name; Ordering name, severity.
	ListNotificationRules(ctx context.Context, o ListOptions) ([]*NotificationRule, int, error)

	CreateNotificationTransport(ctx context.Context, t *NotificationTransport) error
	NotificationTransportByUUID(ctx context.Context, id uuid.UUID) (*NotificationTransport, error)
	UpdateNotificationTransport(ctx context.Context, t *NotificationTransport) error
	// DeleteNotificationTransport also takes it out of every rule.
	DeleteNotificationTransport(ctx context.Context, id uuid.UUID) error
	// ListNotificationTransports: Search on name; Ordering name, mode.
	ListNotificationTransports(ctx context.Context, o ListOptions) ([]*NotificationTransport, int, error)

	CreateNotification(ctx context.Context, n *Notification) error
	NotificationByUUID(ctx context.Context, id uuid.UUID) (*Notification, error)
	UpdateNotification(ctx context.Context, n *Notification) error
	DeleteNotification(ctx context.Context, id uuid.UUID) error
	ListNotifications(ctx context.Context, f NotificationFilter) ([]*Notification, int, error)
	// MarkNotificationsSeen marks every notification of the user seen.
	MarkNotificationsSeen(ctx context.Context, userPK int64) (int, error)
	// DeleteStaleNotifications deletes the notifications created before t
	// that were seen or whose event is gone (expired or deleted): what
	// authentik's notification_cleanup deletes. It returns how many.
	DeleteStaleNotifications(ctx context.Context, before time.Time) (int, error)
}
