package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	stageall "github.com/gatehouse-idp/gatehouse/internal/stage/all"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// UserSetting is authentik's UserSettingSerializer: one thing a user can
// set up from the user interface, and the flow that does it.
type UserSetting struct {
	ObjectUID    string `json:"object_uid" doc:"The stage's UUID."`
	Component    string `json:"component" doc:"The user interface element, e.g. ak-user-settings-authenticator-totp."`
	Title        string `json:"title"`
	ConfigureURL string `json:"configure_url" doc:"Where the stage's configure_flow runs."`
}

// userSettingStages are the stage models a user configures themselves
// (authentik's ConfigurableStage subclasses with ui_user_settings), by
// authentik model name: the component and the model's verbose name, the
// title unless the stage has a friendly_name.
var userSettingStages = map[string]struct{ component, verbose string }{
	"authentik_stages_authenticator_static.authenticatorstaticstage":     {"ak-user-settings-authenticator-static", "Static Authenticator Stage"},
	"authentik_stages_authenticator_totp.authenticatortotpstage":         {"ak-user-settings-authenticator-totp", "TOTP Authenticator Setup Stage"},
	"authentik_stages_authenticator_webauthn.authenticatorwebauthnstage": {"ak-user-settings-authenticator-webauthn", "WebAuthn Authenticator Setup Stage"},
	"authentik_stages_authenticator_sms.authenticatorsmsstage":           {"ak-user-settings-authenticator-sms", "SMS Authenticator Setup Stage"},
	"authentik_stages_authenticator_email.authenticatoremailstage":       {"ak-user-settings-authenticator-email", "Email Authenticator Setup Stage"},
	"authentik_stages_password.passwordstage":                            {"ak-user-settings-password", "Password Stage"},
}

type userSettingsOutput struct{ Body []UserSetting }

func (a *API) registerUserSettings() {
	huma.Register(a.huma, op(http.MethodGet, "/stages/all/user_settings/", "stages_all_user_settings_list", "stages",
		"List the stages the caller can set up", 200), a.userSettings)
}

// userSettings lists, for any signed-in user, the configurable stages whose
// configure_flow is set, with the URL of that flow (authentik's
// StageViewSet.user_settings; authentik links /flows/-/configure/<stage>/,
// which redirects to the same flow).
func (a *API) userSettings(ctx context.Context, _ *struct{}) (*userSettingsOutput, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	out := &userSettingsOutput{Body: []UserSetting{}}
	slugs := map[uuid.UUID]string{} // configure flows seen, "" if missing
	const size = 100
	for off := 0; ; off += size {
		ss, total, err := a.Store.ListStages(ctx, "", store.ListOptions{Ordering: "name", Page: store.Page{Offset: off, Limit: size}})
		if err != nil {
			return nil, a.storeError(err)
		}
		for _, s := range ss {
			us, err := a.userSetting(ctx, s, slugs)
			if err != nil {
				return nil, err
			}
			if us != nil {
				out.Body = append(out.Body, *us)
			}
		}
		if len(ss) < size || off+size >= total {
			return out, nil
		}
	}
}

// userSetting is s's entry, or nil when s is not configurable by users or
// has no (existing) configure_flow.
func (a *API) userSetting(ctx context.Context, s *store.Stage, slugs map[uuid.UUID]string) (*UserSetting, error) {
	t, ok := stageall.Lookup(s.Type)
	if !ok {
		return nil, nil
	}
	ui, ok := userSettingStages[t.ModelName]
	if !ok {
		return nil, nil
	}
	ref, _ := s.Settings["configure_flow"].(string)
	id, err := uuid.Parse(ref)
	if err != nil {
		return nil, nil
	}
	slug, seen := slugs[id]
	if !seen {
		f, err := a.Store.FlowByUUID(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, a.storeError(err)
		default:
			slug = f.Slug
		}
		slugs[id] = slug
	}
	if slug == "" {
		return nil, nil
	}
	title, _ := s.Settings["friendly_name"].(string)
	if title == "" {
		title = ui.verbose
	}
	return &UserSetting{ObjectUID: s.UUID.String(), Component: ui.component, Title: title,
		ConfigureURL: "/if/flow/" + slug + "/"}, nil
}
