package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewSettings = "authentik_tenants.view_system_settings"
	permEditSettings = "authentik_tenants.edit_system_settings"
	settingsKey      = "system"
)

// Settings are the system settings (authentik's Settings serializer),
// stored as one JSON document.
type Settings struct {
	Avatars                    string         `json:"avatars"`
	DefaultUserChangeName      bool           `json:"default_user_change_name"`
	DefaultUserChangeEmail     bool           `json:"default_user_change_email"`
	DefaultUserChangeUsername  bool           `json:"default_user_change_username"`
	EventRetention             string         `json:"event_retention" doc:"authentik's duration form, e.g. days=365"`
	FooterLinks                []any          `json:"footer_links"`
	GDPRCompliance             bool           `json:"gdpr_compliance"`
	Impersonation              bool           `json:"impersonation"`
	ImpersonationRequireReason bool           `json:"impersonation_require_reason"`
	DefaultTokenDuration       string         `json:"default_token_duration"`
	DefaultTokenLength         int            `json:"default_token_length"`
	PaginationDefaultPageSize  int            `json:"pagination_default_page_size"`
	PaginationMaxPageSize      int            `json:"pagination_max_page_size"`
	Flags                      map[string]any `json:"flags"`
}

// PatchedSettingsRequest updates settings partially.
type PatchedSettingsRequest struct {
	Avatars                    *string         `json:"avatars,omitempty" maxLength:"500"`
	DefaultUserChangeName      *bool           `json:"default_user_change_name,omitempty"`
	DefaultUserChangeEmail     *bool           `json:"default_user_change_email,omitempty"`
	DefaultUserChangeUsername  *bool           `json:"default_user_change_username,omitempty"`
	EventRetention             *string         `json:"event_retention,omitempty" maxLength:"100"`
	FooterLinks                *[]any          `json:"footer_links,omitempty"`
	GDPRCompliance             *bool           `json:"gdpr_compliance,omitempty"`
	Impersonation              *bool           `json:"impersonation,omitempty"`
	ImpersonationRequireReason *bool           `json:"impersonation_require_reason,omitempty"`
	DefaultTokenDuration       *string         `json:"default_token_duration,omitempty" maxLength:"100"`
	DefaultTokenLength         *int            `json:"default_token_length,omitempty" minimum:"32" maximum:"512"`
	Flags                      *map[string]any `json:"flags,omitempty"`
}

func defaultSettings() Settings {
	return Settings{Avatars: "initials", DefaultUserChangeName: true, EventRetention: "days=365", FooterLinks: []any{},
		GDPRCompliance: true, Impersonation: true, ImpersonationRequireReason: true, DefaultTokenDuration: "minutes=30",
		DefaultTokenLength: 60, PaginationDefaultPageSize: 20, PaginationMaxPageSize: MaxPageSize, Flags: map[string]any{}}
}

var durationPart = regexp.MustCompile(`^(weeks|days|hours|minutes|seconds)=(\d+)$`)

// parseAuthentikDuration reads authentik's "days=365;hours=1" timedelta form.
func parseAuthentikDuration(s string) (time.Duration, error) {
	var total time.Duration
	unit := map[string]time.Duration{"weeks": 7 * 24 * time.Hour, "days": 24 * time.Hour, "hours": time.Hour,
		"minutes": time.Minute, "seconds": time.Second}
	for _, part := range regexp.MustCompile(`[;,]`).Split(s, -1) {
		m := durationPart.FindStringSubmatch(part)
		if m == nil {
			return 0, fmt.Errorf("%q is not of the form days=365;hours=1", s)
		}
		n, err := strconv.Atoi(m[2])
		if err != nil || n > 100000 {
			return 0, fmt.Errorf("%q is out of range", part)
		}
		total += time.Duration(n) * unit[m[1]]
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration", s)
	}
	return total, nil
}

func (s Settings) retention() time.Duration {
	d, err := parseAuthentikDuration(s.EventRetention)
	if err != nil {
		return 365 * 24 * time.Hour
	}
	return d
}

func (a *API) loadSettings(ctx context.Context) (Settings, error) {
	s := defaultSettings()
	raw, err := a.Store.Setting(ctx, settingsKey)
	if errors.Is(err, store.ErrNotFound) {
		return s, nil
	} else if err != nil {
		return s, err
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return defaultSettings(), fmt.Errorf("system settings: %w", err)
	}
	return s, nil
}

type settingsOutput struct{ Body Settings }

// Version is authentik's Version serializer.
type Version struct {
	VersionCurrent     string `json:"version_current"`
	VersionLatest      string `json:"version_latest"`
	VersionLatestValid bool   `json:"version_latest_valid"`
	BuildHash          string `json:"build_hash"`
	Outdated           bool   `json:"outdated"`
	OutpostOutdated    bool   `json:"outpost_outdated"`
}

// Config is authentik's root/config: what the server can do, for UIs.
type Config struct {
	ErrorReporting struct {
		Enabled          bool    `json:"enabled"`
		SentryDSN        string  `json:"sentry_dsn"`
		Environment      string  `json:"environment"`
		SendPII          bool    `json:"send_pii"`
		TracesSampleRate float64 `json:"traces_sample_rate"`
	} `json:"error_reporting"`
	Capabilities         []string `json:"capabilities"`
	CacheTimeout         int      `json:"cache_timeout"`
	CacheTimeoutFlows    int      `json:"cache_timeout_flows"`
	CacheTimeoutPolicies int      `json:"cache_timeout_policies"`
}

func (a *API) registerAdmin() {
	huma.Register(a.huma, op(http.MethodGet, "/admin/settings/", "admin_settings_retrieve", "admin", "System settings", 200), a.getSettings)
	huma.Register(a.huma, op(http.MethodPut, "/admin/settings/", "admin_settings_update", "admin", "Replace system settings", 200), a.putSettings)
	huma.Register(a.huma, op(http.MethodPatch, "/admin/settings/", "admin_settings_partial_update", "admin", "Update system settings", 200), a.patchSettings)
	huma.Register(a.huma, op(http.MethodGet, "/admin/version/", "admin_version_retrieve", "admin", "Version", 200), a.version)
	huma.Register(a.huma, public(op(http.MethodGet, "/root/config/", "root_config_retrieve", "root", "Server capabilities", 200)), a.rootConfig)
}

func (a *API) getSettings(ctx context.Context, _ *struct{}) (*settingsOutput, error) {
	if _, err := a.require(ctx, permViewSettings, ""); err != nil {
		return nil, err
	}
	s, err := a.loadSettings(ctx)
	if err != nil {
		return nil, a.storeError(err)
	}
	return &settingsOutput{Body: s}, nil
}

func (a *API) putSettings(ctx context.Context, in *struct{ Body PatchedSettingsRequest }) (*settingsOutput, error) {
	return a.patchSettings(ctx, in)
}

func (a *API) patchSettings(ctx context.Context, in *struct{ Body PatchedSettingsRequest }) (*settingsOutput, error) {
	if _, err := a.require(ctx, permEditSettings, ""); err != nil {
		return nil, err
	}
	s, err := a.loadSettings(ctx)
	if err != nil {
		return nil, a.storeError(err)
	}
	before := s
	p := in.Body
	setS := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setB := func(dst *bool, src *bool) {
		if src != nil {
			*dst = *src
		}
	}
	setS(&s.Avatars, p.Avatars)
	setS(&s.EventRetention, p.EventRetention)
	setS(&s.DefaultTokenDuration, p.DefaultTokenDuration)
	setB(&s.DefaultUserChangeName, p.DefaultUserChangeName)
	setB(&s.DefaultUserChangeEmail, p.DefaultUserChangeEmail)
	setB(&s.DefaultUserChangeUsername, p.DefaultUserChangeUsername)
	setB(&s.GDPRCompliance, p.GDPRCompliance)
	setB(&s.Impersonation, p.Impersonation)
	setB(&s.ImpersonationRequireReason, p.ImpersonationRequireReason)
	if p.FooterLinks != nil {
		s.FooterLinks = *p.FooterLinks
	}
	if p.DefaultTokenLength != nil {
		s.DefaultTokenLength = *p.DefaultTokenLength
	}
	if p.Flags != nil {
		s.Flags = *p.Flags
	}
	if _, err := parseAuthentikDuration(s.EventRetention); err != nil {
		return nil, fieldError("event_retention", err.Error())
	}
	if _, err := parseAuthentikDuration(s.DefaultTokenDuration); err != nil {
		return nil, fieldError("default_token_duration", err.Error())
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	if err := a.Store.PutSetting(ctx, settingsKey, raw); err != nil {
		return nil, a.storeError(err)
	}
	if d := diff(before, s); len(d) > 0 {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_tenants", "tenant", "system", "System settings"}, map[string]any{"diff": d})
	}
	return &settingsOutput{Body: s}, nil
}

func (a *API) version(ctx context.Context, _ *struct{}) (*struct{ Body Version }, error) {
	if _, err := caller(ctx); err != nil {
		return nil, err
	}
	// No update check: Gatehouse does not call home.
	return &struct{ Body Version }{Body: Version{VersionCurrent: a.Version, VersionLatest: a.Version,
		VersionLatestValid: false, BuildHash: a.BuildHash}}, nil
}

// rootConfig needs no authentication: the login page reads it.
func (a *API) rootConfig(ctx context.Context, _ *struct{}) (*struct{ Body Config }, error) {
	var c Config
	c.ErrorReporting.Environment = "customer"
	c.Capabilities = []string{}
	s, err := a.loadSettings(ctx)
	if err != nil {
		return nil, a.storeError(err)
	}
	if s.Impersonation {
		c.Capabilities = append(c.Capabilities, "can_impersonate")
	}
	c.CacheTimeout, c.CacheTimeoutFlows, c.CacheTimeoutPolicies = 300, 300, 300
	return &struct{ Body Config }{Body: c}, nil
}
