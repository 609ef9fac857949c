package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	mfawebauthn "github.com/gatehouse-idp/gatehouse/internal/mfa/webauthn"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Device management: authentik's /authenticators/ endpoints.
//
//	/authenticators/{class}/            the caller's own confirmed devices
//	                                    (list, retrieve, rename, delete);
//	                                    another user's device is a 404
//	/authenticators/all/                every confirmed device of the caller
//	/authenticators/admin/{class}/      every device, by RBAC permission on
//	                                    the class's model (view_totpdevice, ...)
//	/authenticators/admin/all/          every device the caller may view
//
// Deleting a device has no side effect of its own: a user left without a
// device is handled by the authenticator_validate stage at the next login
// (its not_configured_action: skip, deny or configure).

// deviceClass is one device type as authentik names it.
type deviceClass struct {
	typ     string // store.DeviceTOTP, ...: the store's type and the URL segment
	app     string // authentik's app label
	object  string // authentik's model class name (Device.type is app.Object)
	verbose string // verbose_name
}

// deviceClasses are the device types, in authentik's order.
var deviceClasses = []deviceClass{
	{store.DeviceStatic, "authentik_stages_authenticator_static", "StaticDevice", "Static Device"},
	{store.DeviceTOTP, "authentik_stages_authenticator_totp", "TOTPDevice", "TOTP Device"},
	{store.DeviceWebAuthn, "authentik_stages_authenticator_webauthn", "WebAuthnDevice", "WebAuthn Device"},
	{store.DeviceSMS, "authentik_stages_authenticator_sms", "SMSDevice", "SMS Device"},
	{store.DeviceEmail, "authentik_stages_authenticator_email", "EmailDevice", "Email Device"},
}

func deviceClassOf(typ string) (deviceClass, bool) {
	for _, c := range deviceClasses {
		if c.typ == typ {
			return c, true
		}
	}
	return deviceClass{}, false
}

// model is the Django model name (totpdevice).
func (c deviceClass) model() string { return strings.ToLower(c.object) }

// perm is the permission for action (view, change, delete) on the class.
func (c deviceClass) perm(action string) string { return c.app + "." + action + "_" + c.model() }

func (c deviceClass) ref(d *store.AuthenticatorDevice) modelRef {
	return modelRef{App: c.app, Model: c.model(), PK: d.PK, Name: d.Name}
}

// maxDeviceName is authentik's (django-otp's) Device.name max_length.
const maxDeviceName = 64

// DeviceRequest renames a device (PUT): the name is the only writable field.
type DeviceRequest struct {
	Name string `json:"name" minLength:"1" maxLength:"64" doc:"The human-readable name of this device."`
}

// PatchedDeviceRequest renames a device (PATCH).
type PatchedDeviceRequest struct {
	Name *string `json:"name,omitempty" minLength:"1" maxLength:"64" doc:"The human-readable name of this device."`
}

// DeviceIDInput is the path parameter of one device.
type DeviceIDInput struct {
	ID int64 `path:"id" doc:"A unique integer value identifying this device."`
}

// DeviceListInput are the user's list parameters.
type DeviceListInput struct {
	ListParams
	Name string `query:"name" maxLength:"64" doc:"Only devices with exactly this name."`
}

// AdminDeviceListInput are the admin list parameters.
type AdminDeviceListInput struct {
	DeviceListInput
	User int64 `query:"user" minimum:"0" doc:"Only this user's devices."`
}

// AllDevicesInput is admin/all's user filter.
type AllDevicesInput struct {
	User int64 `query:"user" minimum:"0" doc:"Only this user's devices."`
}

// TOTPDevice is authentik's TOTPDeviceSerializer. The secret is never shown.
type TOTPDevice struct {
	Name string      `json:"name"`
	PK   int64       `json:"pk"`
	User PartialUser `json:"user"`
}

// StaticDeviceToken is one recovery code (authentik's StaticDeviceTokenSerializer).
type StaticDeviceToken struct {
	Token string `json:"token"`
}

// StaticDevice is authentik's StaticDeviceSerializer. token_set is always
// empty: Gatehouse keeps only hashes of the codes, which are shown once when
// the device is set up; authentik stores them in clear and lists them here.
type StaticDevice struct {
	Name     string              `json:"name"`
	TokenSet []StaticDeviceToken `json:"token_set" doc:"Always empty: codes are hashed at rest and shown only at setup."`
	PK       int64               `json:"pk"`
	User     PartialUser         `json:"user"`
}

// WebAuthnDeviceType is authentik's WebAuthnDeviceTypeSerializer: the
// authenticator model named by its AAGUID.
type WebAuthnDeviceType struct {
	AAGUID      string  `json:"aaguid"`
	Description string  `json:"description"`
	Icon        *string `json:"icon" nullable:"true"`
}

// WebAuthnDevice is authentik's WebAuthnDeviceSerializer.
type WebAuthnDevice struct {
	PK         int64               `json:"pk"`
	Name       string              `json:"name"`
	CreatedOn  time.Time           `json:"created_on"`
	DeviceType *WebAuthnDeviceType `json:"device_type"` // nullable: see registerAuthenticators
	AAGUID     string              `json:"aaguid"`
	User       PartialUser         `json:"user"`
}

// EmailDevice is authentik's EmailDeviceSerializer.
type EmailDevice struct {
	Name  string      `json:"name"`
	PK    int64       `json:"pk"`
	Email string      `json:"email"`
	User  PartialUser `json:"user"`
}

// SMSDevice is authentik's SMSDeviceSerializer.
type SMSDevice struct {
	Name        string      `json:"name"`
	PK          int64       `json:"pk"`
	PhoneNumber string      `json:"phone_number"`
	User        PartialUser `json:"user"`
}

// Device is authentik's DeviceSerializer: a device of any class, as the
// user settings list them.
type Device struct {
	VerboseName       string     `json:"verbose_name"`
	VerboseNamePlural string     `json:"verbose_name_plural"`
	MetaModelName     string     `json:"meta_model_name"`
	PK                string     `json:"pk"`
	Name              string     `json:"name"`
	Type              string     `json:"type" doc:"The model's label, e.g. authentik_stages_authenticator_totp.TOTPDevice."`
	Confirmed         bool       `json:"confirmed"`
	Created           time.Time  `json:"created"`
	LastUpdated       time.Time  `json:"last_updated"`
	LastUsed          *time.Time `json:"last_used" nullable:"true"`
	ExtraDescription  *string    `json:"extra_description" nullable:"true"`
	ExternalID        *string    `json:"external_id" nullable:"true"`
}

type deviceListOutput struct{ Body []Device }

// deviceOut is one device of a class.
type deviceOut[T any] struct{ Body T }

func (a *API) registerAuthenticators() {
	const tag = "authenticators"
	huma.Register(a.huma, op(http.MethodGet, "/authenticators/all/", "authenticators_all_list", tag,
		"List the caller's devices of every class", 200), a.listOwnDevices)
	huma.Register(a.huma, op(http.MethodGet, "/authenticators/admin/all/", "authenticators_admin_all_list", tag,
		"List devices of every class (admin)", 200), a.listAllDevices)
	registerDeviceClass(a, store.DeviceStatic, func(d *store.AuthenticatorDevice, u PartialUser) StaticDevice {
		return StaticDevice{Name: d.Name, TokenSet: []StaticDeviceToken{}, PK: d.PK, User: u}
	})
	registerDeviceClass(a, store.DeviceTOTP, func(d *store.AuthenticatorDevice, u PartialUser) TOTPDevice {
		return TOTPDevice{Name: d.Name, PK: d.PK, User: u}
	})
	registerDeviceClass(a, store.DeviceWebAuthn, func(d *store.AuthenticatorDevice, u PartialUser) WebAuthnDevice {
		return WebAuthnDevice{PK: d.PK, Name: d.Name, CreatedOn: d.Created, DeviceType: webAuthnDeviceType(d),
			AAGUID: webAuthnAAGUID(d), User: u}
	})
	registerDeviceClass(a, store.DeviceSMS, func(d *store.AuthenticatorDevice, u PartialUser) SMSDevice {
		return SMSDevice{Name: d.Name, PK: d.PK, PhoneNumber: dataString(d, "phone_number"), User: u}
	})
	registerDeviceClass(a, store.DeviceEmail, func(d *store.AuthenticatorDevice, u PartialUser) EmailDevice {
		return EmailDevice{Name: d.Name, PK: d.PK, Email: dataString(d, "email"), User: u}
	})
	// device_type is null when the authenticator's model is not known.
	wd := a.huma.OpenAPI().Components.Schemas.Map()["WebAuthnDevice"]
	wd.Properties["device_type"] = nullable(wd.Properties["device_type"])
}

// registerDeviceClass registers the user's and the admin's operations of
// one class; out is the class's serializer.
func registerDeviceClass[T any](a *API, typ string, out func(*store.AuthenticatorDevice, PartialUser) T) {
	c, ok := deviceClassOf(typ)
	if !ok {
		panic("api: unknown device class " + typ)
	}
	const tag = "authenticators"
	v := c.verbose
	serialize := func(ctx context.Context, d *store.AuthenticatorDevice, users map[int64]PartialUser) (T, error) {
		u, err := a.deviceUser(ctx, d.UserPK, users)
		return out(d, u), err
	}
	list := func(ctx context.Context, f store.DeviceFilter, in DeviceListInput, only map[int64]bool) (*listOf[T], error) {
		ds, total, err := a.listDevices(ctx, f, in, only)
		if err != nil {
			return nil, err
		}
		o := &listOf[T]{}
		o.Body.Results = []T{}
		users := map[int64]PartialUser{}
		for _, d := range ds {
			s, err := serialize(ctx, d, users)
			if err != nil {
				return nil, err
			}
			o.Body.Results = append(o.Body.Results, s)
		}
		o.Body.Pagination, o.Body.Autocomplete = paginate(in.ListParams, total, len(ds)), Autocomplete{}
		return o, nil
	}
	rename := func(ctx context.Context, d *store.AuthenticatorDevice, name string) (*deviceOut[T], error) {
		if err := a.renameDevice(ctx, c, d, name); err != nil {
			return nil, err
		}
		s, err := serialize(ctx, d, nil)
		return &deviceOut[T]{Body: s}, err
	}
	remove := func(ctx context.Context, d *store.AuthenticatorDevice) (*noContent, error) {
		if err := a.Store.DeleteDevice(ctx, d.PK); err != nil {
			return nil, a.storeError(err)
		}
		a.audit(ctx, actionModelDeleted, c.ref(d), nil)
		return &noContent{}, nil
	}

	// The caller's own devices.
	base := "/authenticators/" + c.typ + "/"
	id := "authenticators_" + c.typ + "_"
	huma.Register(a.huma, op(http.MethodGet, base, id+"list", tag, "List your "+v+"s", 200),
		func(ctx context.Context, in *DeviceListInput) (*listOf[T], error) {
			p, err := caller(ctx)
			if err != nil {
				return nil, err
			}
			return list(ctx, store.DeviceFilter{UserPK: p.User.PK, Type: c.typ, ConfirmedOnly: true}, *in, nil)
		})
	huma.Register(a.huma, op(http.MethodGet, base+"{id}/", id+"retrieve", tag, "Get one of your "+v+"s", 200, 404),
		func(ctx context.Context, in *DeviceIDInput) (*deviceOut[T], error) {
			d, err := a.ownDevice(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			s, err := serialize(ctx, d, nil)
			return &deviceOut[T]{Body: s}, err
		})
	huma.Register(a.huma, op(http.MethodPut, base+"{id}/", id+"update", tag, "Rename one of your "+v+"s", 200, 404),
		func(ctx context.Context, in *struct {
			DeviceIDInput
			Body DeviceRequest
		}) (*deviceOut[T], error) {
			d, err := a.ownDevice(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			return rename(ctx, d, in.Body.Name)
		})
	huma.Register(a.huma, op(http.MethodPatch, base+"{id}/", id+"partial_update", tag, "Rename one of your "+v+"s", 200, 404),
		func(ctx context.Context, in *struct {
			DeviceIDInput
			Body PatchedDeviceRequest
		}) (*deviceOut[T], error) {
			d, err := a.ownDevice(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			if in.Body.Name == nil {
				s, err := serialize(ctx, d, nil)
				return &deviceOut[T]{Body: s}, err
			}
			return rename(ctx, d, *in.Body.Name)
		})
	huma.Register(a.huma, op(http.MethodDelete, base+"{id}/", id+"destroy", tag, "Delete one of your "+v+"s", 204, 404),
		func(ctx context.Context, in *DeviceIDInput) (*noContent, error) {
			d, err := a.ownDevice(ctx, c, in.ID)
			if err != nil {
				return nil, err
			}
			return remove(ctx, d)
		})

	// Every user's devices, by permission.
	base = "/authenticators/admin/" + c.typ + "/"
	id = "authenticators_admin_" + c.typ + "_"
	huma.Register(a.huma, op(http.MethodGet, base, id+"list", tag, "List "+v+"s (admin)", 200),
		func(ctx context.Context, in *AdminDeviceListInput) (*listOf[T], error) {
			only, err := a.visibleDevices(ctx, c)
			if err != nil {
				return nil, err
			}
			if err := a.userFilter(ctx, in.User); err != nil {
				return nil, err
			}
			return list(ctx, store.DeviceFilter{UserPK: in.User, Type: c.typ}, in.DeviceListInput, only)
		})
	huma.Register(a.huma, op(http.MethodGet, base+"{id}/", id+"retrieve", tag, "Get a "+v+" (admin)", 200, 404),
		func(ctx context.Context, in *DeviceIDInput) (*deviceOut[T], error) {
			d, err := a.adminDevice(ctx, c, "view", in.ID)
			if err != nil {
				return nil, err
			}
			s, err := serialize(ctx, d, nil)
			return &deviceOut[T]{Body: s}, err
		})
	huma.Register(a.huma, op(http.MethodPut, base+"{id}/", id+"update", tag, "Rename a "+v+" (admin)", 200, 404),
		func(ctx context.Context, in *struct {
			DeviceIDInput
			Body DeviceRequest
		}) (*deviceOut[T], error) {
			d, err := a.adminDevice(ctx, c, "change", in.ID)
			if err != nil {
				return nil, err
			}
			return rename(ctx, d, in.Body.Name)
		})
	huma.Register(a.huma, op(http.MethodPatch, base+"{id}/", id+"partial_update", tag, "Rename a "+v+" (admin)", 200, 404),
		func(ctx context.Context, in *struct {
			DeviceIDInput
			Body PatchedDeviceRequest
		}) (*deviceOut[T], error) {
			d, err := a.adminDevice(ctx, c, "change", in.ID)
			if err != nil {
				return nil, err
			}
			if in.Body.Name == nil {
				s, err := serialize(ctx, d, nil)
				return &deviceOut[T]{Body: s}, err
			}
			return rename(ctx, d, *in.Body.Name)
		})
	huma.Register(a.huma, op(http.MethodDelete, base+"{id}/", id+"destroy", tag, "Delete a "+v+" (admin)", 204, 404),
		func(ctx context.Context, in *DeviceIDInput) (*noContent, error) {
			d, err := a.adminDevice(ctx, c, "delete", in.ID)
			if err != nil {
				return nil, err
			}
			return remove(ctx, d)
		})
}

// deviceUser is the device owner as embedded in a device; users caches
// them for one answer (nil: no cache).
func (a *API) deviceUser(ctx context.Context, pk int64, users map[int64]PartialUser) (PartialUser, error) {
	if u, ok := users[pk]; ok {
		return u, nil
	}
	u, err := a.Store.UserByPK(ctx, pk)
	if err != nil {
		return PartialUser{}, a.storeError(err)
	}
	pu := a.partialUser(u)
	if users != nil {
		users[pk] = pu
	}
	return pu, nil
}

// ownDevice loads one of the caller's confirmed devices of class c. Any
// other device, another user's included, does not exist for the caller.
func (a *API) ownDevice(ctx context.Context, c deviceClass, pk int64) (*store.AuthenticatorDevice, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	d, err := a.Store.Device(ctx, pk)
	if err != nil {
		return nil, a.storeError(err)
	}
	if d.UserPK != p.User.PK || d.Type != c.typ || !d.Confirmed {
		return nil, errNotFound
	}
	return d, nil
}

// visibleDevices is which devices of class c the caller may list on the
// admin paths: nil for all (the global view permission), else the PKs it
// holds view permission on. A caller with neither is refused (403), as
// authentik's admin device views refuse non-admins.
func (a *API) visibleDevices(ctx context.Context, c deviceClass) (map[int64]bool, error) {
	only, err := a.visible(ctx, c.perm("view"))
	if err != nil {
		return nil, err
	}
	if only == nil {
		return nil, nil
	}
	if len(only) == 0 {
		return nil, errPermission
	}
	pks := map[int64]bool{}
	for _, s := range only {
		if pk, err := strconv.ParseInt(s, 10, 64); err == nil {
			pks[pk] = true
		}
	}
	return pks, nil
}

// adminDevice loads a device of class c for action (view, change, delete)
// on the admin paths: the caller needs the permission globally or on the
// device.
func (a *API) adminDevice(ctx context.Context, c deviceClass, action string, pk int64) (*store.AuthenticatorDevice, error) {
	if _, err := a.visibleDevices(ctx, c); err != nil {
		return nil, err
	}
	if err := a.check(ctx, c.perm(action), c.perm("view"), strconv.FormatInt(pk, 10)); err != nil {
		return nil, err
	}
	d, err := a.Store.Device(ctx, pk)
	if err != nil {
		return nil, a.storeError(err)
	}
	if d.Type != c.typ {
		return nil, errNotFound
	}
	return d, nil
}

// userFilter checks the ?user= of an admin list (0: none).
func (a *API) userFilter(ctx context.Context, pk int64) error {
	if pk == 0 {
		return nil
	}
	if _, err := a.Store.UserByPK(ctx, pk); errors.Is(err, store.ErrNotFound) {
		return fieldError("user", `Invalid pk "`+strconv.FormatInt(pk, 10)+`" - object does not exist.`)
	} else if err != nil {
		return a.storeError(err)
	}
	return nil
}

// listDevices pages through the devices f selects. The store pages when it
// can; an exact name or object permissions (only) are applied here, over
// every match, so that counts and pages stay right.
func (a *API) listDevices(ctx context.Context, f store.DeviceFilter, in DeviceListInput, only map[int64]bool) ([]*store.AuthenticatorDevice, int, error) {
	f.Search, f.Ordering = in.Search, in.Ordering
	if f.Ordering == "" {
		f.Ordering = "name" // authentik's ordering
	}
	if in.Name == "" && only == nil {
		f.Page = in.page()
		ds, total, err := a.Store.ListDevices(ctx, f)
		if err != nil {
			return nil, 0, a.listError(err)
		}
		return ds, total, nil
	}
	if in.Name != "" && f.Search == "" {
		f.Search = in.Name // narrows the scan; the exact match is below
	}
	all, err := a.eachDevice(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	var match []*store.AuthenticatorDevice
	for _, d := range all {
		if (in.Name == "" || d.Name == in.Name) && (only == nil || only[d.PK]) {
			match = append(match, d)
		}
	}
	from, to := in.window(len(match))
	return match[from:to], len(match), nil
}

// eachDevice lists every device f selects, page by page.
func (a *API) eachDevice(ctx context.Context, f store.DeviceFilter) ([]*store.AuthenticatorDevice, error) {
	var out []*store.AuthenticatorDevice
	const size = 500
	for off := 0; ; off += size {
		f.Page = store.Page{Offset: off, Limit: size}
		ds, total, err := a.Store.ListDevices(ctx, f)
		if err != nil {
			return nil, a.listError(err)
		}
		out = append(out, ds...)
		if len(ds) < size || off+size >= total {
			return out, nil
		}
	}
}

// renameDevice sets d's name, and only its name (store.RenameDevice), so
// that a rename racing a login cannot write back a code the login has just
// used.
func (a *API) renameDevice(ctx context.Context, c deviceClass, d *store.AuthenticatorDevice, name string) error {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return fieldError("name", "This field may not be blank.")
	case strings.ContainsRune(name, 0):
		return fieldError("name", "Null characters are not allowed.")
	case len([]rune(name)) > maxDeviceName:
		return fieldError("name", "Ensure this field has no more than 64 characters.")
	}
	previous := d.Name
	err := a.Store.RenameDevice(ctx, d.PK, name)
	if err == nil {
		var cur *store.AuthenticatorDevice
		if cur, err = a.Store.Device(ctx, d.PK); err == nil {
			*d = *cur
		}
	}
	if err != nil {
		return a.storeError(err)
	}
	if previous != name {
		a.audit(ctx, actionModelUpdated, c.ref(d), map[string]any{"diff": map[string]any{
			"name": map[string]any{"previous_value": previous, "new_value": name}}})
	}
	return nil
}

// device is a device as the all-classes lists show it.
func device(d *store.AuthenticatorDevice) (Device, bool) {
	c, ok := deviceClassOf(d.Type)
	if !ok {
		return Device{}, false
	}
	o := Device{VerboseName: c.verbose, VerboseNamePlural: c.verbose + "s", MetaModelName: c.app + "." + c.model(),
		PK: strconv.FormatInt(d.PK, 10), Name: d.Name, Type: c.app + "." + c.object, Confirmed: d.Confirmed,
		Created: d.Created, LastUpdated: d.LastUpdated, LastUsed: d.LastUsed}
	if dt := webAuthnDeviceType(d); d.Type == store.DeviceWebAuthn && dt != nil {
		desc, aaguid := dt.Description, dt.AAGUID
		o.ExtraDescription, o.ExternalID = &desc, &aaguid
	}
	return o, true
}

// sortDevices orders devices by class (authentik's order), then by PK.
func sortDevices(ds []*store.AuthenticatorDevice) {
	rank := func(typ string) int {
		return slices.IndexFunc(deviceClasses, func(c deviceClass) bool { return c.typ == typ })
	}
	slices.SortStableFunc(ds, func(x, y *store.AuthenticatorDevice) int {
		if d := rank(x.Type) - rank(y.Type); d != 0 {
			return d
		}
		return int(x.PK - y.PK)
	})
}

func (a *API) listOwnDevices(ctx context.Context, _ *struct{}) (*deviceListOutput, error) {
	p, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := a.eachDevice(ctx, store.DeviceFilter{UserPK: p.User.PK, ConfirmedOnly: true, Ordering: "pk"})
	if err != nil {
		return nil, err
	}
	return devicesOut(ds, nil), nil
}

func (a *API) listAllDevices(ctx context.Context, in *AllDevicesInput) (*deviceListOutput, error) {
	visible := map[string]map[int64]bool{} // by class; nil: all of it
	for _, c := range deviceClasses {
		only, err := a.visibleDevices(ctx, c)
		if errors.Is(err, errPermission) {
			continue
		} else if err != nil {
			return nil, err
		}
		visible[c.typ] = only
	}
	if len(visible) == 0 {
		return nil, errPermission
	}
	if err := a.userFilter(ctx, in.User); err != nil {
		return nil, err
	}
	ds, err := a.eachDevice(ctx, store.DeviceFilter{UserPK: in.User, Ordering: "pk"})
	if err != nil {
		return nil, err
	}
	return devicesOut(ds, visible), nil
}

// devicesOut lists ds in the all-classes shape; visible (when not nil)
// keeps the classes and objects the caller may view.
func devicesOut(ds []*store.AuthenticatorDevice, visible map[string]map[int64]bool) *deviceListOutput {
	sortDevices(ds)
	out := &deviceListOutput{Body: []Device{}}
	for _, d := range ds {
		if visible != nil {
			only, ok := visible[d.Type]
			if !ok || (only != nil && !only[d.PK]) {
				continue
			}
		}
		if o, ok := device(d); ok {
			out.Body = append(out.Body, o)
		}
	}
	return out
}

// dataString is a string attribute of a device's Data ("" if absent).
func dataString(d *store.AuthenticatorDevice, key string) string {
	s, _ := d.Data[key].(string)
	return s
}

// unknownAAGUID is the AAGUID of an authenticator that does not tell its
// model (W3C WebAuthn Level 3, §6.5.1: all zeros for "none" attestation);
// authentik shows it for devices without one.
const unknownAAGUID = "00000000-0000-0000-0000-000000000000"

func webAuthnAAGUID(d *store.AuthenticatorDevice) string {
	if s := mfawebauthn.AAGUID(d); s != "" {
		return s
	}
	return unknownAAGUID
}

// webAuthnDeviceType is the authenticator model of a WebAuthn device, when
// it is known: the name recorded at registration, else the name of its
// AAGUID now. Gatehouse has no icons (authentik's come from the FIDO
// metadata service).
func webAuthnDeviceType(d *store.AuthenticatorDevice) *WebAuthnDeviceType {
	desc := dataString(d, mfawebauthn.KeyDeviceType)
	if desc == "" {
		desc = mfawebauthn.DeviceTypeName(mfawebauthn.AAGUID(d))
	}
	if desc == "" {
		return nil
	}
	return &WebAuthnDeviceType{AAGUID: webAuthnAAGUID(d), Description: desc}
}
