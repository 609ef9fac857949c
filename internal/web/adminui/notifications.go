package adminui

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/gatehouse-idp/gatehouse/internal/web/apicall"
)

// Notification rules (which events notify whom, with which severity) and
// transports (how: a local notification, a webhook, Slack or Discord, an
// email).

type transport struct {
	PK                 string `json:"pk"`
	Name               string `json:"name"`
	Mode               string `json:"mode"`
	ModeVerbose        string `json:"mode_verbose"`
	WebhookURL         string `json:"webhook_url"`
	SendOnce           bool   `json:"send_once"`
	EmailSubjectPrefix string `json:"email_subject_prefix"`
	EmailTemplate      string `json:"email_template"`
	// The webhook mode's property mappings (authentik's
	// webhook_mapping_body and webhook_mapping_headers).
	WebhookMappingBody    *string `json:"webhook_mapping_body"`
	WebhookMappingHeaders *string `json:"webhook_mapping_headers"`
}

type rule struct {
	PK                   string      `json:"pk"`
	Name                 string      `json:"name"`
	Severity             string      `json:"severity"`
	Transports           []string    `json:"transports"`
	TransportsObj        []transport `json:"transports_obj"`
	DestinationGroup     *string     `json:"destination_group"`
	DestinationEventUser bool        `json:"destination_event_user"`
	DestinationGroupObj  *struct {
		Name string `json:"name"`
	} `json:"destination_group_obj"`
}

type rulesData struct {
	Query string
	Rules []rule
	Pager pager
}

func (u *UI) rules(w http.ResponseWriter, r *http.Request) {
	d := rulesData{Query: query(r, "q")}
	q := url.Values{"ordering": {"name"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	var err error
	if d.Rules, d.Pager, err = listPage[rule](u, r, "/events/rules/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "rules", page{Title: "Notification rules", Section: "rules", Notice: noticeOf(r), Data: d})
}

var severities = []option{{Value: "notice", Label: "Notice"}, {Value: "warning", Label: "Warning"}, {Value: "alert", Label: "Alert"}}

// maxChoices bounds the groups and transports a rule form offers.
const maxChoices = 1000

func (u *UI) ruleForm(r *http.Request, ru *rule) (*form, error) {
	ts, err := listAll[transport](u, r, "/events/transports/", url.Values{"ordering": {"name"}}, maxChoices)
	if err != nil {
		return nil, err
	}
	gs, err := listAll[roleGroup](u, r, "/core/groups/", url.Values{"ordering": {"name"}}, maxChoices)
	if err != nil && !forbidden(err) {
		return nil, err
	}
	f := &form{ID: "rule-form", Crumbs: []crumb{{Prefix + "events/rules/", "Notification rules"}}, Action: Prefix + "events/rules/new/",
		Submit: "Create rule", Cancel: Prefix + "events/rules/",
		Intro: "A rule matches the events its bound policies pass (bind them through the API or a blueprint; a rule without policies matches nothing) and notifies through its transports."}
	if ru == nil {
		ru = &rule{Severity: "notice", DestinationEventUser: false}
	} else {
		f.Action, f.Submit = Prefix+"events/rules/"+url.PathEscape(ru.PK)+"/edit/", "Save"
	}
	tOpts := []option{}
	for _, t := range ts {
		tOpts = append(tOpts, option{Value: t.PK, Label: t.Name + " (" + t.ModeVerbose + ")"})
	}
	gOpts := []option{{Value: "", Label: "No group"}}
	for _, g := range gs {
		gOpts = append(gOpts, option{Value: g.PK, Label: g.Name})
	}
	f.Fields = []field{
		{Name: "name", Label: "Name", Value: ru.Name, Required: true, Max: 200},
		{Name: "severity", Label: "Severity", Kind: "select", Value: ru.Severity, Required: true, Options: severities},
		{Name: "transports", Label: "Transports", Kind: "multi", Values: ru.Transports, Options: tOpts,
			Help: "Hold Ctrl (⌘ on a Mac) to choose several."},
		{Name: "destination_group", Label: "Notify the members of", Kind: "select", Value: deref(ru.DestinationGroup), Options: gOpts},
		{Name: "destination_event_user", Label: "Notify the user the event is about", Kind: "checkbox", Value: onIf(ru.DestinationEventUser)},
	}
	return f, nil
}

func ruleBody(f *form) map[string]any {
	group := f.get("destination_group")
	if group == "" {
		group = "00000000-0000-0000-0000-000000000000"
	}
	ts := f.field("transports").Values
	if ts == nil {
		ts = []string{}
	}
	return map[string]any{"name": f.get("name"), "severity": f.get("severity"), "transports": ts,
		"destination_group": group, "destination_event_user": f.on("destination_event_user")}
}

func (u *UI) newRule(w http.ResponseWriter, r *http.Request) {
	f, err := u.ruleForm(r, nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "form", page{Title: "New notification rule", Section: "rules", Data: f})
}

func (u *UI) createRule(w http.ResponseWriter, r *http.Request) {
	f, err := u.ruleForm(r, nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	f.read(r)
	err = u.do(r, http.MethodPost, "/events/rules/", ruleBody(f), nil)
	if u.written(w, r, page{Title: "New notification rule", Section: "rules"}, f, err, nil) {
		back(w, r, Prefix+"events/rules/", "rule-created")
	}
}

func (u *UI) loadRule(w http.ResponseWriter, r *http.Request) (*rule, bool) {
	return loadByID[rule](u, w, r, "/events/rules/")
}

func (u *UI) editRule(w http.ResponseWriter, r *http.Request) {
	ru, ok := u.loadRule(w, r)
	if !ok {
		return
	}
	f, err := u.ruleForm(r, ru)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "form", page{Title: "Edit rule " + ru.Name, Section: "rules", Data: f})
}

func (u *UI) saveRule(w http.ResponseWriter, r *http.Request) {
	ru, ok := u.loadRule(w, r)
	if !ok {
		return
	}
	f, err := u.ruleForm(r, ru)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	f.read(r)
	err = u.do(r, http.MethodPatch, "/events/rules/"+ru.PK+"/", ruleBody(f), nil)
	if u.written(w, r, page{Title: "Edit rule " + ru.Name, Section: "rules"}, f, err, nil) {
		back(w, r, Prefix+"events/rules/", "rule-saved")
	}
}

func (u *UI) confirmDeleteRule(w http.ResponseWriter, r *http.Request) {
	ru, ok := u.loadRule(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete notification rule", Section: "rules", Data: confirmation{
		Heading: "Delete the notification rule “" + ru.Name + "”?",
		Text:    "Its events no longer notify anyone. Notifications already sent are kept.",
		Action:  r.URL.Path, Button: "Delete rule", Back: Prefix + "events/rules/"}})
}

func (u *UI) deleteRule(w http.ResponseWriter, r *http.Request) {
	u.deleteByID(w, r, "/events/rules/", Prefix+"events/rules/", "rule-deleted")
}

type transportsData struct {
	Query      string
	Transports []transport
	Pager      pager
	// Tested is the transport just tested, with the test's messages.
	Tested   *transport
	Messages []string
	Failed   bool
}

func (u *UI) transportsPage(w http.ResponseWriter, r *http.Request, d transportsData) {
	d.Query = query(r, "q")
	q := url.Values{"ordering": {"name"}}
	if d.Query != "" {
		q.Set("search", d.Query)
	}
	var err error
	if d.Transports, d.Pager, err = listPage[transport](u, r, "/events/transports/", q); err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "transports", page{Title: "Notification transports", Section: "transports", Notice: noticeOf(r), Data: d})
}

func (u *UI) transports(w http.ResponseWriter, r *http.Request) {
	u.transportsPage(w, r, transportsData{})
}

var transportModes = []option{{Value: "local", Label: "Local (in the user interface)"}, {Value: "webhook", Label: "Webhook (generic JSON)"},
	{Value: "webhook_slack", Label: "Slack or Discord webhook"}, {Value: "email", Label: "Email"}}

// mappingChoice is a webhook mapping in the transport form's selects.
type mappingChoice struct {
	PK   string `json:"pk"`
	Name string `json:"name"`
}

// noMapping clears a transport's mapping (the API's nil UUID).
const noMapping = "00000000-0000-0000-0000-000000000000"

// transportForm is the create (t nil) or edit form. The webhook mapping
// selects are there when the visitor may list the webhook mappings; they
// offer none and each mapping.
func (u *UI) transportForm(r *http.Request, t *transport) (*form, error) {
	ms, err := listAll[mappingChoice](u, r, "/propertymappings/notification/", url.Values{"ordering": {"name"}}, maxChoices)
	if forbidden(err) {
		ms, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	f := &form{ID: "transport-form", Crumbs: []crumb{{Prefix + "events/transports/", "Notification transports"}},
		Action: Prefix + "events/transports/new/", Submit: "Create transport", Cancel: Prefix + "events/transports/"}
	secretHelp := "Signs webhook bodies (X-Gatehouse-Signature: sha256=HMAC). Empty: unsigned."
	if t == nil {
		t = &transport{Mode: "local"}
	} else {
		f.Action, f.Submit = Prefix+"events/transports/"+url.PathEscape(t.PK)+"/edit/", "Save"
		secretHelp = "Empty keeps the current secret."
	}
	f.Fields = []field{
		{Name: "name", Label: "Name", Value: t.Name, Required: true, Max: 200},
		{Name: "mode", Label: "Mode", Kind: "select", Value: t.Mode, Required: true, Options: transportModes},
		{Name: "webhook_url", Label: "Webhook URL", Kind: "url", Value: t.WebhookURL, Max: 2000, Help: "For the webhook modes."},
		{Name: "webhook_secret", Label: "Webhook secret", Kind: "password", Max: 500, Help: secretHelp},
	}
	if ms != nil {
		opts := []option{{Value: "", Label: "None"}}
		for _, m := range ms {
			opts = append(opts, option{Value: m.PK, Label: m.Name})
		}
		body, headers := deref(t.WebhookMappingBody), deref(t.WebhookMappingHeaders)
		f.Fields = append(f.Fields,
			field{Name: "webhook_mapping_body", Label: "Webhook body mapping", Kind: "select", Value: body, Options: withChoice(opts, body),
				Help: "For the generic webhook mode: its expression returns the JSON body. None: the default body."},
			field{Name: "webhook_mapping_headers", Label: "Webhook headers mapping", Kind: "select", Value: headers, Options: withChoice(opts, headers),
				Help: "For the generic webhook mode: its expression returns extra request headers. None: no extra headers."})
	}
	f.Fields = append(f.Fields,
		field{Name: "send_once", Label: "Send once (no retries, one delivery for all recipients)", Kind: "checkbox", Value: onIf(t.SendOnce)},
		field{Name: "email_subject_prefix", Label: "Email subject prefix", Value: t.EmailSubjectPrefix, Max: 200},
		field{Name: "email_template", Label: "Email template", Value: t.EmailTemplate, Max: 200, Help: "Empty: email/event_notification.html."})
	return f, nil
}

// withChoice keeps the current value among the options even when the list
// did not bring it (past maxChoices).
func withChoice(opts []option, v string) []option {
	for _, o := range opts {
		if o.Value == v {
			return opts
		}
	}
	return append(opts[:len(opts):len(opts)], option{Value: v, Label: v})
}

func transportBody(f *form) map[string]any {
	body := map[string]any{"name": f.get("name"), "mode": f.get("mode"), "webhook_url": f.get("webhook_url"),
		"send_once": f.on("send_once"), "email_subject_prefix": f.get("email_subject_prefix"), "email_template": f.get("email_template")}
	if s := f.get("webhook_secret"); s != "" {
		body["webhook_secret"] = s
	}
	for _, name := range []string{"webhook_mapping_body", "webhook_mapping_headers"} {
		if f.field(name) == nil {
			continue // not offered: left as it is
		}
		v := f.get(name)
		if v == "" {
			v = noMapping
		}
		body[name] = v
	}
	return body
}

func (u *UI) newTransport(w http.ResponseWriter, r *http.Request) {
	f, err := u.transportForm(r, nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "form", page{Title: "New notification transport", Section: "transports", Data: f})
}

func (u *UI) createTransport(w http.ResponseWriter, r *http.Request) {
	f, err := u.transportForm(r, nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	f.read(r)
	err = u.do(r, http.MethodPost, "/events/transports/", transportBody(f), nil)
	f.set("webhook_secret", "")
	if u.written(w, r, page{Title: "New notification transport", Section: "transports"}, f, err, nil) {
		back(w, r, Prefix+"events/transports/", "transport-created")
	}
}

func (u *UI) loadTransport(w http.ResponseWriter, r *http.Request) (*transport, bool) {
	return loadByID[transport](u, w, r, "/events/transports/")
}

func (u *UI) editTransport(w http.ResponseWriter, r *http.Request) {
	t, ok := u.loadTransport(w, r)
	if !ok {
		return
	}
	f, err := u.transportForm(r, t)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, "form", page{Title: "Edit transport " + t.Name, Section: "transports", Data: f})
}

func (u *UI) saveTransport(w http.ResponseWriter, r *http.Request) {
	t, ok := u.loadTransport(w, r)
	if !ok {
		return
	}
	f, err := u.transportForm(r, t)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	f.read(r)
	err = u.do(r, http.MethodPatch, "/events/transports/"+t.PK+"/", transportBody(f), nil)
	f.set("webhook_secret", "")
	if u.written(w, r, page{Title: "Edit transport " + t.Name, Section: "transports"}, f, err, nil) {
		back(w, r, Prefix+"events/transports/", "transport-saved")
	}
}

// testTransport sends a test notification to the visitor through the
// transport and shows what the transport reported.
func (u *UI) testTransport(w http.ResponseWriter, r *http.Request) {
	t, ok := u.loadTransport(w, r)
	if !ok {
		return
	}
	status, body, err := apicall.Call(u.API, r, http.MethodPost, "/events/transports/"+t.PK+"/test/", nil)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var out struct {
		Messages []string `json:"messages"`
	}
	if status != http.StatusOK && status != http.StatusServiceUnavailable || json.Unmarshal(body, &out) != nil {
		u.fail(w, r, apiErrorOf(status, body))
		return
	}
	d := transportsData{Tested: t, Messages: out.Messages, Failed: status != http.StatusOK}
	if d.Failed {
		w.WriteHeader(http.StatusBadGateway)
	}
	u.transportsPage(w, r, d)
}

// apiErrorOf is the error of an API answer read with apicall.Call.
func apiErrorOf(status int, body []byte) error {
	e := &apiError{Status: status}
	var m struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &m) == nil {
		e.Detail = m.Detail
	}
	return e
}

func (u *UI) confirmDeleteTransport(w http.ResponseWriter, r *http.Request) {
	t, ok := u.loadTransport(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete notification transport", Section: "transports", Data: confirmation{
		Heading: "Delete the transport “" + t.Name + "”?",
		Text:    "The rules using it no longer send through it.",
		Action:  r.URL.Path, Button: "Delete transport", Back: Prefix + "events/transports/"}})
}

func (u *UI) deleteTransport(w http.ResponseWriter, r *http.Request) {
	u.deleteByID(w, r, "/events/transports/", Prefix+"events/transports/", "transport-deleted")
}
