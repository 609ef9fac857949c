package api

// Webhook body mappings (/propertymappings/notification/, authentik's
// NotificationWebhookMapping): property mappings whose expression sees
// notification and request and returns a notification transport's JSON body.

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/notify"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewWebhookMapping   = "authentik_events.view_notificationwebhookmapping"
	permAddWebhookMapping    = "authentik_events.add_notificationwebhookmapping"
	permChangeWebhookMapping = "authentik_events.change_notificationwebhookmapping"
	permDeleteWebhookMapping = "authentik_events.delete_notificationwebhookmapping"
)

func init() {
	mappingKinds[store.NotificationMappingType] = mappingKind{"ak-property-mapping-notification-form", "Webhook Mapping",
		"authentik_events.notificationwebhookmapping"}
	permissionModels = append(permissionModels,
		permModel{"authentik_events", "notificationwebhookmapping", "Webhook Mapping", nil})
}

// WebhookMappingRequest creates, replaces or (all optional) patches a
// webhook mapping. Create and replace need name and expression.
type WebhookMappingRequest struct {
	Name       *string `json:"name,omitempty" minLength:"1" maxLength:"250"`
	Expression *string `json:"expression,omitempty" minLength:"1" maxLength:"65536" doc:"Returns the webhook's JSON body; sees notification (body, severity, created, user, event) and request"`
}

type webhookMappingInput struct {
	PMUUIDInput
	Body WebhookMappingRequest
}

type webhookMappingOutput struct{ Body PropertyMapping }

func (a *API) registerWebhookMappings() {
	const tag = "propertymappings"
	base := "/propertymappings/notification/"
	huma.Register(a.huma, op(http.MethodGet, base, "propertymappings_notification_list", tag, "List webhook mappings", 200), a.listWebhookMappings)
	huma.Register(a.huma, op(http.MethodPost, base, "propertymappings_notification_create", tag, "Create a webhook mapping", 201), a.createWebhookMapping)
	huma.Register(a.huma, op(http.MethodGet, base+"{pm_uuid}/", "propertymappings_notification_retrieve", tag, "Get a webhook mapping", 200, 404), a.getWebhookMapping)
	huma.Register(a.huma, op(http.MethodPut, base+"{pm_uuid}/", "propertymappings_notification_update", tag, "Replace a webhook mapping", 200, 404), a.replaceWebhookMapping)
	huma.Register(a.huma, op(http.MethodPatch, base+"{pm_uuid}/", "propertymappings_notification_partial_update", tag, "Update a webhook mapping", 200, 404), a.patchWebhookMapping)
	huma.Register(a.huma, op(http.MethodDelete, base+"{pm_uuid}/", "propertymappings_notification_destroy", tag, "Delete a webhook mapping", 204, 404), a.deleteWebhookMapping)
}

func webhookMappingRef(m *store.PropertyMapping) modelRef {
	return modelRef{"authentik_events", "notificationwebhookmapping", m.UUID.String(), m.Name}
}

func applyWebhookMapping(m *store.PropertyMapping, r WebhookMappingRequest, full bool) error {
	if err := noNUL(textField{"name", r.Name}, textField{"expression", r.Expression}); err != nil {
		return err
	}
	if full && r.Name == nil {
		return fieldError("name", "This field is required.")
	}
	if full && r.Expression == nil {
		return fieldError("expression", "This field is required.")
	}
	if r.Name != nil {
		m.Name = *r.Name
	}
	if r.Expression != nil {
		if _, err := notify.CompileMapping(*r.Expression); err != nil {
			return fieldError("expression", err.Error())
		}
		m.Expression = *r.Expression
	}
	return nil
}

func (a *API) listWebhookMappings(ctx context.Context, in *ListParams) (*listOf[PropertyMapping], error) {
	only, err := a.visible(ctx, permViewWebhookMapping)
	if err != nil {
		return nil, err
	}
	if err := noNUL(textField{"search", &in.Search}); err != nil {
		return nil, err
	}
	ms, total, err := a.Store.ListPropertyMappings(ctx, store.NotificationMappingType, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &listOf[PropertyMapping]{}
	out.Body.Results = []PropertyMapping{}
	for _, m := range ms {
		out.Body.Results = append(out.Body.Results, propertyMappingOut(m))
	}
	out.Body.Pagination, out.Body.Autocomplete = paginate(*in, total, len(ms)), Autocomplete{}
	return out, nil
}

func (a *API) createWebhookMapping(ctx context.Context, in *struct{ Body WebhookMappingRequest }) (*webhookMappingOutput, error) {
	if _, err := a.require(ctx, permAddWebhookMapping, ""); err != nil {
		return nil, err
	}
	m := &store.PropertyMapping{Type: store.NotificationMappingType, Settings: store.Attributes{}}
	if err := applyWebhookMapping(m, in.Body, true); err != nil {
		return nil, err
	}
	if err := a.Store.CreatePropertyMapping(ctx, m); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, webhookMappingRef(m), nil)
	return &webhookMappingOutput{Body: propertyMappingOut(m)}, nil
}

func (a *API) getWebhookMapping(ctx context.Context, in *PMUUIDInput) (*webhookMappingOutput, error) {
	m, err := a.loadPropertyMapping(ctx, permViewWebhookMapping, permViewWebhookMapping, store.NotificationMappingType, in.PMUUID)
	if err != nil {
		return nil, err
	}
	return &webhookMappingOutput{Body: propertyMappingOut(m)}, nil
}

func (a *API) writeWebhookMapping(ctx context.Context, id uuid.UUID, r WebhookMappingRequest, full bool) (*webhookMappingOutput, error) {
	m, err := a.loadPropertyMapping(ctx, permChangeWebhookMapping, permViewWebhookMapping, store.NotificationMappingType, id)
	if err != nil {
		return nil, err
	}
	if err := applyWebhookMapping(m, r, full); err != nil {
		return nil, err
	}
	if err := a.Store.UpdatePropertyMapping(ctx, m); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelUpdated, webhookMappingRef(m), nil)
	return &webhookMappingOutput{Body: propertyMappingOut(m)}, nil
}

func (a *API) replaceWebhookMapping(ctx context.Context, in *webhookMappingInput) (*webhookMappingOutput, error) {
	return a.writeWebhookMapping(ctx, in.PMUUID, in.Body, true)
}

func (a *API) patchWebhookMapping(ctx context.Context, in *webhookMappingInput) (*webhookMappingOutput, error) {
	return a.writeWebhookMapping(ctx, in.PMUUID, in.Body, false)
}

func (a *API) deleteWebhookMapping(ctx context.Context, in *PMUUIDInput) (*noContent, error) {
	m, err := a.loadPropertyMapping(ctx, permDeleteWebhookMapping, permViewWebhookMapping, store.NotificationMappingType, in.PMUUID)
	if err != nil {
		return nil, err
	}
	return a.removePropertyMapping(ctx, m)
}
