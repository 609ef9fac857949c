package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/core"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewBrand   = "authentik_brands.view_brand"
	permAddBrand    = "authentik_brands.add_brand"
	permChangeBrand = "authentik_brands.change_brand"
	permDeleteBrand = "authentik_brands.delete_brand"
)

// Brand is authentik's Brand serializer.
type Brand struct {
	BrandUUID          uuid.UUID      `json:"brand_uuid"`
	Domain             string         `json:"domain"`
	Default            bool           `json:"default"`
	BrandingTitle      string         `json:"branding_title"`
	BrandingLogo       string         `json:"branding_logo"`
	BrandingFavicon    string         `json:"branding_favicon"`
	BrandingCustomCSS  string         `json:"branding_custom_css"`
	FlowAuthentication *uuid.UUID     `json:"flow_authentication" nullable:"true"`
	FlowInvalidation   *uuid.UUID     `json:"flow_invalidation" nullable:"true"`
	FlowRecovery       *uuid.UUID     `json:"flow_recovery" nullable:"true"`
	FlowUnenrollment   *uuid.UUID     `json:"flow_unenrollment" nullable:"true"`
	FlowUserSettings   *uuid.UUID     `json:"flow_user_settings" nullable:"true"`
	FlowDeviceCode     *uuid.UUID     `json:"flow_device_code" nullable:"true"`
	DefaultApplication *uuid.UUID     `json:"default_application" nullable:"true"`
	WebCertificate     *uuid.UUID     `json:"web_certificate" nullable:"true"`
	Attributes         map[string]any `json:"attributes"`
}

// BrandRequest creates or replaces a brand; PATCH takes the same fields, all optional.
type BrandRequest struct {
	Domain             *string         `json:"domain,omitempty" minLength:"1" maxLength:"253"`
	Default            *bool           `json:"default,omitempty"`
	BrandingTitle      *string         `json:"branding_title,omitempty" maxLength:"200"`
	BrandingLogo       *string         `json:"branding_logo,omitempty" maxLength:"2000"`
	BrandingFavicon    *string         `json:"branding_favicon,omitempty" maxLength:"2000"`
	BrandingCustomCSS  *string         `json:"branding_custom_css,omitempty" maxLength:"100000"`
	FlowAuthentication *uuid.UUID      `json:"flow_authentication,omitempty"`
	FlowInvalidation   *uuid.UUID      `json:"flow_invalidation,omitempty"`
	FlowRecovery       *uuid.UUID      `json:"flow_recovery,omitempty"`
	FlowUnenrollment   *uuid.UUID      `json:"flow_unenrollment,omitempty"`
	FlowUserSettings   *uuid.UUID      `json:"flow_user_settings,omitempty"`
	FlowDeviceCode     *uuid.UUID      `json:"flow_device_code,omitempty"`
	DefaultApplication *uuid.UUID      `json:"default_application,omitempty"`
	WebCertificate     *uuid.UUID      `json:"web_certificate,omitempty"`
	Attributes         *map[string]any `json:"attributes,omitempty"`
}

// BrandIDInput is the path parameter. Exported because input structs embed it: huma
// ignores unexported embedded fields (no parameter, documented or parsed).
type BrandIDInput struct {
	ID uuid.UUID `path:"id" doc:"A UUID string identifying this Brand."`
}

type brandOutput struct{ Body *Brand }

type brandListOutput struct {
	Body struct {
		Pagination   Pagination   `json:"pagination"`
		Results      []*Brand     `json:"results"`
		Autocomplete Autocomplete `json:"autocomplete"`
	}
}

// CurrentBrand is what any visitor may know of the brand its Host selects.
type CurrentBrand struct {
	MatchedDomain      string         `json:"matched_domain"`
	BrandingTitle      string         `json:"branding_title"`
	BrandingLogo       string         `json:"branding_logo"`
	BrandingFavicon    string         `json:"branding_favicon"`
	BrandingCustomCSS  string         `json:"branding_custom_css"`
	UIFooterLinks      []any          `json:"ui_footer_links"`
	UITheme            string         `json:"ui_theme"`
	FlowAuthentication string         `json:"flow_authentication,omitempty"`
	FlowInvalidation   string         `json:"flow_invalidation,omitempty"`
	FlowRecovery       string         `json:"flow_recovery,omitempty"`
	FlowUnenrollment   string         `json:"flow_unenrollment,omitempty"`
	FlowUserSettings   string         `json:"flow_user_settings,omitempty"`
	FlowDeviceCode     string         `json:"flow_device_code,omitempty"`
	DefaultLocale      string         `json:"default_locale"`
	Flags              map[string]any `json:"flags"`
}

func (a *API) registerBrands() {
	const tag = "core"
	huma.Register(a.huma, op(http.MethodGet, "/core/brands/", "core_brands_list", tag, "List brands", 200), a.listBrands)
	huma.Register(a.huma, op(http.MethodPost, "/core/brands/", "core_brands_create", tag, "Create a brand", 201), a.createBrand)
	huma.Register(a.huma, public(op(http.MethodGet, "/core/brands/current/", "core_brands_current_retrieve", tag, "The brand of this request's host", 200)), a.currentBrand)
	huma.Register(a.huma, op(http.MethodGet, "/core/brands/{id}/", "core_brands_retrieve", tag, "Get a brand", 200, 404), a.getBrand)
	huma.Register(a.huma, op(http.MethodPut, "/core/brands/{id}/", "core_brands_update", tag, "Replace a brand", 200, 404), a.replaceBrand)
	huma.Register(a.huma, op(http.MethodPatch, "/core/brands/{id}/", "core_brands_partial_update", tag, "Update a brand", 200, 404), a.patchBrand)
	huma.Register(a.huma, op(http.MethodDelete, "/core/brands/{id}/", "core_brands_destroy", tag, "Delete a brand", 204, 404), a.deleteBrand)
}

func brandOut(b *store.Brand) *Brand {
	attrs := map[string]any(b.Attributes)
	if attrs == nil {
		attrs = map[string]any{}
	}
	return &Brand{BrandUUID: b.UUID, Domain: b.Domain, Default: b.Default, BrandingTitle: b.BrandingTitle,
		BrandingLogo: b.BrandingLogo, BrandingFavicon: b.BrandingFavicon, BrandingCustomCSS: b.BrandingCustomCSS,
		FlowAuthentication: b.FlowAuthentication, FlowInvalidation: b.FlowInvalidation, FlowRecovery: b.FlowRecovery,
		FlowUnenrollment: b.FlowUnenrollment, FlowUserSettings: b.FlowUserSettings, FlowDeviceCode: b.FlowDeviceCode,
		DefaultApplication: b.DefaultApplication, WebCertificate: b.WebCertificate, Attributes: attrs}
}

func (a *API) listBrands(ctx context.Context, in *ListParams) (*brandListOutput, error) {
	only, err := a.visible(ctx, permViewBrand)
	if err != nil {
		return nil, err
	}
	all, err := a.Store.ListBrands(ctx)
	if err != nil {
		return nil, a.storeError(err)
	}
	var match []*store.Brand
	for _, b := range all {
		if only != nil && !slices.Contains(only, b.UUID.String()) {
			continue
		}
		if in.Search != "" && !containsFold(b.Domain+" "+b.BrandingTitle, in.Search) {
			continue
		}
		match = append(match, b)
	}
	switch in.Ordering {
	case "", "domain":
	case "-domain":
		slices.Reverse(match)
	case "branding_title":
		slices.SortStableFunc(match, func(x, y *store.Brand) int { return strings.Compare(x.BrandingTitle, y.BrandingTitle) })
	default:
		return nil, fieldError("ordering", "cannot order by "+in.Ordering)
	}
	from, to := in.window(len(match))
	out := &brandListOutput{}
	out.Body.Results = []*Brand{}
	for _, b := range match[from:to] {
		out.Body.Results = append(out.Body.Results, brandOut(b))
	}
	out.Body.Pagination = paginate(*in, len(match), to-from)
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

func applyBrand(b *store.Brand, r BrandRequest) {
	str := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	id := func(dst **uuid.UUID, src *uuid.UUID) {
		if src != nil {
			if *src == uuid.Nil {
				*dst = nil
			} else {
				v := *src
				*dst = &v
			}
		}
	}
	str(&b.Domain, r.Domain)
	str(&b.BrandingTitle, r.BrandingTitle)
	str(&b.BrandingLogo, r.BrandingLogo)
	str(&b.BrandingFavicon, r.BrandingFavicon)
	str(&b.BrandingCustomCSS, r.BrandingCustomCSS)
	if r.Default != nil {
		b.Default = *r.Default
	}
	id(&b.FlowAuthentication, r.FlowAuthentication)
	id(&b.FlowInvalidation, r.FlowInvalidation)
	id(&b.FlowRecovery, r.FlowRecovery)
	id(&b.FlowUnenrollment, r.FlowUnenrollment)
	id(&b.FlowUserSettings, r.FlowUserSettings)
	id(&b.FlowDeviceCode, r.FlowDeviceCode)
	id(&b.DefaultApplication, r.DefaultApplication)
	id(&b.WebCertificate, r.WebCertificate)
	if r.Attributes != nil {
		b.Attributes = *r.Attributes
	}
}

func (a *API) createBrand(ctx context.Context, in *struct{ Body BrandRequest }) (*brandOutput, error) {
	if _, err := a.require(ctx, permAddBrand, ""); err != nil {
		return nil, err
	}
	if in.Body.Domain == nil {
		return nil, fieldError("domain", "This field is required.")
	}
	b := &store.Brand{}
	applyBrand(b, in.Body)
	if err := a.Store.CreateBrand(ctx, b); err != nil {
		return nil, a.brandError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_brands", "brand", b.UUID.String(), b.Domain}, nil)
	return &brandOutput{Body: brandOut(b)}, nil
}

// brandError explains the one-default rule.
func (a *API) brandError(err error) error {
	var ce *store.ConflictError
	if asConflict(err, &ce) && ce.Field == "is_default" {
		return fieldError("default", "Only a single brand can be set as default.")
	}
	return a.storeError(err)
}

func (a *API) loadBrand(ctx context.Context, perm string, id uuid.UUID) (*store.Brand, error) {
	if err := a.check(ctx, perm, permViewBrand, id.String()); err != nil {
		return nil, err
	}
	b, err := a.Store.BrandByUUID(ctx, id)
	return b, a.storeError(err)
}

func (a *API) getBrand(ctx context.Context, in *BrandIDInput) (*brandOutput, error) {
	b, err := a.loadBrand(ctx, permViewBrand, in.ID)
	if err != nil {
		return nil, err
	}
	return &brandOutput{Body: brandOut(b)}, nil
}

func (a *API) replaceBrand(ctx context.Context, in *struct {
	BrandIDInput
	Body BrandRequest
}) (*brandOutput, error) {
	if in.Body.Domain == nil {
		return nil, fieldError("domain", "This field is required.")
	}
	return a.updateBrand(ctx, in.ID, in.Body)
}

func (a *API) patchBrand(ctx context.Context, in *struct {
	BrandIDInput
	Body BrandRequest
}) (*brandOutput, error) {
	return a.updateBrand(ctx, in.ID, in.Body)
}

func (a *API) updateBrand(ctx context.Context, id uuid.UUID, r BrandRequest) (*brandOutput, error) {
	b, err := a.loadBrand(ctx, permChangeBrand, id)
	if err != nil {
		return nil, err
	}
	before := brandOut(b)
	applyBrand(b, r)
	if err := a.Store.UpdateBrand(ctx, b); err != nil {
		return nil, a.brandError(err)
	}
	after := brandOut(b)
	if d := diff(before, after); len(d) > 0 {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_brands", "brand", b.UUID.String(), b.Domain}, map[string]any{"diff": d})
	}
	return &brandOutput{Body: after}, nil
}

func (a *API) deleteBrand(ctx context.Context, in *BrandIDInput) (*noContent, error) {
	b, err := a.loadBrand(ctx, permDeleteBrand, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteBrand(ctx, b.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_brands", "brand", b.UUID.String(), b.Domain}, nil)
	return &noContent{}, nil
}

type currentBrandOutput struct{ Body CurrentBrand }

// currentBrand needs no authentication: the login page uses it.
func (a *API) currentBrand(ctx context.Context, _ *struct{}) (*currentBrandOutput, error) {
	all, err := a.Store.ListBrands(ctx)
	if err != nil {
		return nil, a.storeError(err)
	}
	b := core.MatchBrand(all, requestHost(ctx))
	out := &currentBrandOutput{}
	out.Body = CurrentBrand{UIFooterLinks: []any{}, UITheme: "automatic", DefaultLocale: "", Flags: map[string]any{},
		BrandingTitle: "Gatehouse"}
	if s, err := a.loadSettings(ctx); err == nil && s.FooterLinks != nil {
		out.Body.UIFooterLinks = s.FooterLinks
	}
	if b == nil {
		return out, nil
	}
	flow := func(id *uuid.UUID) string {
		if id == nil {
			return ""
		}
		return id.String()
	}
	out.Body.MatchedDomain, out.Body.BrandingTitle, out.Body.BrandingLogo = b.Domain, b.BrandingTitle, b.BrandingLogo
	out.Body.BrandingFavicon, out.Body.BrandingCustomCSS = b.BrandingFavicon, b.BrandingCustomCSS
	out.Body.FlowAuthentication, out.Body.FlowInvalidation = flow(b.FlowAuthentication), flow(b.FlowInvalidation)
	out.Body.FlowRecovery, out.Body.FlowUnenrollment = flow(b.FlowRecovery), flow(b.FlowUnenrollment)
	out.Body.FlowUserSettings, out.Body.FlowDeviceCode = flow(b.FlowUserSettings), flow(b.FlowDeviceCode)
	if t, ok := b.Attributes["settings"].(map[string]any); ok {
		if theme, ok := t["theme"].(map[string]any); ok {
			if base, ok := theme["base"].(string); ok {
				out.Body.UITheme = base
			}
		}
	}
	return out, nil
}
