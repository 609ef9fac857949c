package blueprint_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/blueprint"
	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// rulesByName lists the notification rules with their bindings' policies'
// actions and their transports' names.
func rulesByName(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	rules, _, err := st.ListNotificationRules(ctx, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rules {
		var parts []string
		bs, err := st.PolicyBindings(ctx, r.UUID)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			p, err := st.PolicyByUUID(ctx, *b.PolicyUUID)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, p.Type+":"+p.Settings["action"].(string))
		}
		for _, id := range r.Transports {
			tr, err := st.NotificationTransportByUUID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, tr.Mode)
		}
		group := "no group"
		if r.DestinationGroup != nil {
			g, err := st.GroupByUUID(ctx, *r.DestinationGroup)
			if err != nil {
				t.Fatal(err)
			}
			group = g.Name
		}
		slices.Sort(parts)
		out[r.Name] = r.Severity + " " + group + " " + strings.Join(parts, ",")
	}
	return out
}

// The default notification rules (authentik's events-default.yaml) are
// applied with the default flows: the admin group is told of configuration
// errors and warnings, updates and exceptions, by email and in the
// interface. Applying them again changes nothing, and an administrator's
// change is kept.
func TestEventsDefault(t *testing.T) {
	ctx := context.Background()
	st := bootstrapped(t, false)
	if _, err := blueprint.ApplyDefaults(ctx, st); err != nil {
		t.Fatal(err)
	}
	const transports = "email,local"
	want := map[string]string{
		"default-notify-configuration-error":   "alert " + core.AdminGroupName + " event_matcher:configuration_error," + transports,
		"default-notify-configuration-warning": "warning " + core.AdminGroupName + " event_matcher:configuration_warning," + transports,
		"default-notify-update":                "alert " + core.AdminGroupName + " event_matcher:update_available," + transports,
		"default-notify-exception":             "alert " + core.AdminGroupName + " " + transports + ",event_matcher:policy_exception,event_matcher:property_mapping_exception",
	}
	got := rulesByName(t, st)
	for name, w := range want {
		// The sorted parts: the transports' modes sort among the actions.
		wp, gp := strings.Fields(w), strings.Fields(got[name])
		if len(gp) != len(wp) || wp[0] != gp[0] {
			t.Errorf("%s = %q, want %q", name, got[name], w)
			continue
		}
		a := strings.Split(wp[len(wp)-1], ",")
		b := strings.Split(gp[len(gp)-1], ",")
		slices.Sort(a)
		if !slices.Equal(a, b) || strings.Join(wp[1:len(wp)-1], " ") != strings.Join(gp[1:len(gp)-1], " ") {
			t.Errorf("%s = %q, want %q", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("rules: %v", got)
	}
	tr, _, err := st.ListNotificationTransports(ctx, store.ListOptions{Search: "default-email-transport"})
	if err != nil || len(tr) != 1 || tr[0].EmailTemplate != "email/event_notification.html" || tr[0].EmailSubjectPrefix == "" {
		t.Fatalf("email transport: %+v %v", tr, err)
	}
	// An administrator's change stays (state created).
	tr[0].EmailSubjectPrefix = "[ops] "
	if err := st.UpdateNotificationTransport(ctx, tr[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := blueprint.ApplyDefaults(ctx, st); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.NotificationTransportByUUID(ctx, tr[0].UUID); again.EmailSubjectPrefix != "[ops] " {
		t.Errorf("the administrator's prefix was reset: %q", again.EmailSubjectPrefix)
	}
	if diff := rulesByName(t, st); len(diff) != len(want) {
		t.Errorf("after a second application: %v", diff)
	}
}

// authentik's own events-default.yaml applies as it is: the group it names
// is made, rules use the old field name group, and the bootstrap blueprint
// it applies first is one of authentik's (a warning).
func TestAuthentikEventsDefault(t *testing.T) {
	st := bootstrapped(t, false)
	res := apply(t, st, parseFile(t, "authentik-events-default.yaml"), blueprint.Options{})
	if res.Created != 2+1+5+4+5 || len(res.Warnings) != 1 {
		t.Errorf("applied: %+v %v", countsOf(res), res.Warnings)
	}
	got := rulesByName(t, st)
	if r := got["default-notify-update"]; !strings.HasPrefix(r, "alert authentik Admins ") {
		t.Errorf("default-notify-update = %q", r)
	}
	if again := apply(t, st, parseFile(t, "authentik-events-default.yaml"), blueprint.Options{}); again.Changed() {
		t.Errorf("applied again: %+v", countsOf(again))
	}
}

// Rules and transports export with references by !KeyOf and import into
// an empty instance as they were.
func TestEventsExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	a := bootstrapped(t, false)
	hook := `version: 1
entries:
- model: authentik_crypto.certificatekeypair
  id: ca
  identifiers: {name: hook ca}
  attrs:
    certificate_data: |
` + indent(testCertPEM(t), "      ") + `
- model: authentik_events.notificationtransport
  id: hook
  identifiers: {name: hook}
  attrs: {mode: webhook, webhook_url: "https://hook.example.com/in", webhook_ca: !KeyOf ca, send_once: true}
- model: authentik_policies_event_matcher.eventmatcherpolicy
  id: match
  identifiers: {name: match login_failed}
  attrs: {action: login_failed}
- model: authentik_events.notificationrule
  id: rule
  identifiers: {name: failures}
  attrs: {severity: warning, destination_event_user: true, transports: [!KeyOf hook]}
- model: authentik_policies.policybinding
  identifiers: {order: 0, policy: !KeyOf match, target: !KeyOf rule}
`
	apply(t, a, parse(t, hook), blueprint.Options{})
	out, err := blueprint.Export(ctx, a, blueprint.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"model: authentik_events.notificationrule", "model: authentik_events.notificationtransport", "webhook_ca: !KeyOf"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
	b := openStore(t)
	res := apply(t, b, parse(t, string(out)), blueprint.Options{})
	if len(res.Warnings) != 0 {
		t.Errorf("import: %v", res.Warnings)
	}
	if ga, gb := rulesByName(t, a), rulesByName(t, b); ga["failures"] != "warning no group event_matcher:login_failed,webhook" || ga["failures"] != gb["failures"] {
		t.Errorf("rule: exported %q, imported %q", ga["failures"], gb["failures"])
	}
	trs, _, err := b.ListNotificationTransports(ctx, store.ListOptions{Search: "hook"})
	if err != nil || len(trs) != 1 || trs[0].WebhookCA == nil || !trs[0].SendOnce || trs[0].WebhookURL != "https://hook.example.com/in" {
		t.Errorf("imported transport: %+v %v", trs, err)
	}
	if again := apply(t, b, parse(t, string(out)), blueprint.Options{}); again.Changed() {
		t.Errorf("applied again: %+v", countsOf(again))
	}
}

// Bad values are refused with the field named.
func TestEventsModelsRefuse(t *testing.T) {
	st := bootstrapped(t, false)
	for _, tc := range []struct{ entry, want string }{
		{`{model: authentik_events.notificationtransport, identifiers: {name: a}, attrs: {mode: pager}}`, "mode"},
		{`{model: authentik_events.notificationtransport, identifiers: {name: a}, attrs: {mode: webhook}}`, "webhook_url"},
		{`{model: authentik_events.notificationtransport, identifiers: {name: a}, attrs: {mode: email, email_template: ../x.html}}`, "email_template"},
		{`{model: authentik_events.notificationrule, identifiers: {name: r}, attrs: {severity: loud}}`, "severity"},
		{`{model: authentik_events.notificationrule, identifiers: {name: r}, attrs: {transports: [` + uuid.NewString() + `]}}`, "transports"},
	} {
		_, err := blueprint.Apply(context.Background(), st, parse(t, "version: 1\nentries:\n- "+tc.entry+"\n"), blueprint.Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.entry, err, tc.want)
		}
	}
}

func testCertPEM(t *testing.T) string {
	t.Helper()
	certPEM, _, err := crypto.Generate(crypto.GenerateOptions{CommonName: "hook ca", Validity: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return string(certPEM)
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
}
