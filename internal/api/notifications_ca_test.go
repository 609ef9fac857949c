package api_test

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
)

// webhook_ca (authentik's): a keypair reference, refused when it does not
// exist, kept and shown, and cleared with the nil uuid.
func TestNotificationTransportWebhookCA(t *testing.T) {
	e := &oauth2Env{t: t, srv: apitest.New(t)}
	admin := apitest.AdminToken
	var kp struct {
		PK string `json:"pk"`
	}
	certPEM, _ := testKeyPair(t)
	e.admin("POST", "/crypto/certificatekeypairs/", map[string]any{"name": "webhook ca", "certificate_data": certPEM}, &kp)
	e.badRequest("POST", "/events/transports/", map[string]any{"name": "hook", "mode": "webhook", "webhook_url": "https://hook.internal/",
		"webhook_ca": uuid.NewString()}, "webhook_ca")
	var tr struct {
		PK        string  `json:"pk"`
		WebhookCA *string `json:"webhook_ca"`
	}
	e.as(admin, "POST", "/events/transports/", map[string]any{"name": "hook", "mode": "webhook", "webhook_url": "https://hook.internal/",
		"webhook_ca": kp.PK}, http.StatusCreated, &tr)
	if tr.WebhookCA == nil || *tr.WebhookCA != kp.PK {
		t.Fatalf("created: %+v", tr)
	}
	tr.WebhookCA = nil
	e.as(admin, "GET", "/events/transports/"+tr.PK+"/", nil, http.StatusOK, &tr)
	if tr.WebhookCA == nil || *tr.WebhookCA != kp.PK {
		t.Errorf("read back: %+v", tr)
	}
	e.as(admin, "PATCH", "/events/transports/"+tr.PK+"/", map[string]any{"webhook_ca": uuid.Nil.String()}, http.StatusOK, &tr)
	if tr.WebhookCA != nil {
		t.Errorf("cleared: %+v", tr)
	}
}
