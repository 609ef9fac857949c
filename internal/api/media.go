package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse-idp/gatehouse/internal/media"
)

// Uploaded media: authentik's set_icon/set_icon_url on applications and
// set_background/set_background_url on flows. The file is checked by
// internal/media (type by content, size), stored under a random name and
// the object's field holds its path under /media/; the URL variants store
// an http(s) URL instead. An uploaded file is deleted when it is replaced
// or cleared through these operations.

// FilePathRequest is authentik's FilePathSerializer.
type FilePathRequest struct {
	URL string `json:"url" minLength:"1" maxLength:"2000"`
}

type mediaOutput struct {
	Body struct{}
}

// maxMediaBody bounds the whole multipart body; the file itself is
// bounded by media.MaxSize (a larger one is a 400, a body past this a 413).
const maxMediaBody = 4 * media.MaxSize

func (a *API) registerMedia() {
	upload := func(path, id, tag, summary string) huma.Operation {
		o := op(http.MethodPost, path, id, tag, summary, 200, 404)
		o.RequestBody = uploadBody("PNG, JPEG, GIF, WebP, ICO or SVG; at most 2 MiB",
			"Remove the current file (file is then ignored)", false)
		o.SkipValidateBody = true // readUpload checks it (upload.go)
		o.MaxBodyBytes = maxMediaBody
		return o
	}
	huma.Register(a.huma, upload("/core/applications/{slug}/set_icon/", "core_applications_set_icon_create", "core",
		"Upload an application's icon (multipart field file; clear removes it)"), a.setAppIcon)
	huma.Register(a.huma, op(http.MethodPost, "/core/applications/{slug}/set_icon_url/", "core_applications_set_icon_url_create", "core",
		"Set an application's icon to a URL", 200, 404), a.setAppIconURL)
	huma.Register(a.huma, upload("/flows/instances/{slug}/set_background/", "flows_instances_set_background_create", "flows",
		"Upload a flow's background (multipart field file; clear removes it)"), a.setFlowBackground)
	huma.Register(a.huma, op(http.MethodPost, "/flows/instances/{slug}/set_background_url/", "flows_instances_set_background_url_create", "flows",
		"Set a flow's background to a URL", 200, 404), a.setFlowBackgroundURL)
}

// setMedia applies an upload to a field: stores the file (or clears the
// field), saves the object, then deletes the file it replaced. A failed
// save deletes the new file instead.
func (a *API) setMedia(usage media.Usage, contentType string, body []byte, field *string, save func() error) error {
	if a.Media == nil {
		return fieldError("file", "This server keeps no uploaded media.")
	}
	file, clear, problem := readUpload(contentType, body, media.MaxSize, media.ErrTooLarge.Error()+".")
	if problem == "" && !clear && len(file) == 0 {
		problem = "No file was sent."
	}
	if problem != "" {
		return fieldError("file", problem)
	}
	old := *field
	if clear {
		*field = ""
	} else {
		p, err := a.Media.Save(usage, file)
		switch {
		case errors.Is(err, media.ErrType), errors.Is(err, media.ErrTooLarge), errors.Is(err, media.ErrEmpty):
			return fieldError("file", err.Error()+".")
		case err != nil:
			return err
		}
		*field = p
	}
	if err := save(); err != nil {
		if !clear {
			a.deleteMedia(*field)
		}
		return err
	}
	if old != *field {
		a.deleteMedia(old)
	}
	return nil
}

// setMediaURL points a field at a URL (or a path of an uploaded file).
func (a *API) setMediaURL(raw string, field *string, save func() error) error {
	m := a.Media
	if m == nil {
		m = &media.Store{}
	}
	if err := m.CheckURL(raw); err != nil {
		return fieldError("url", err.Error()+".")
	}
	old := *field
	*field = raw
	if err := save(); err != nil {
		return err
	}
	if old != raw {
		a.deleteMedia(old)
	}
	return nil
}

func (a *API) deleteMedia(value string) {
	if a.Media == nil {
		return
	}
	if err := a.Media.Delete(value); err != nil {
		a.Log.Warn("api: could not delete an uploaded file", "file", value, "error", err)
	}
}

func (a *API) setAppIcon(ctx context.Context, in *struct {
	AppSlugInput
	ContentType string `header:"Content-Type"`
	RawBody     []byte
}) (*mediaOutput, error) {
	app, err := a.loadApplication(ctx, permChangeApplication, in.Slug)
	if err != nil {
		return nil, err
	}
	before := app.MetaIcon
	err = a.setMedia(media.ApplicationIcons, in.ContentType, in.RawBody, &app.MetaIcon, func() error {
		return a.appError(a.Store.UpdateApplication(ctx, app))
	})
	if err != nil {
		return nil, err
	}
	a.auditField(ctx, modelRef{"authentik_core", "application", app.UUID.String(), app.Name}, "meta_icon", before, app.MetaIcon)
	return &mediaOutput{}, nil
}

func (a *API) setAppIconURL(ctx context.Context, in *struct {
	AppSlugInput
	Body FilePathRequest
}) (*mediaOutput, error) {
	app, err := a.loadApplication(ctx, permChangeApplication, in.Slug)
	if err != nil {
		return nil, err
	}
	before := app.MetaIcon
	err = a.setMediaURL(in.Body.URL, &app.MetaIcon, func() error {
		return a.appError(a.Store.UpdateApplication(ctx, app))
	})
	if err != nil {
		return nil, err
	}
	a.auditField(ctx, modelRef{"authentik_core", "application", app.UUID.String(), app.Name}, "meta_icon", before, app.MetaIcon)
	return &mediaOutput{}, nil
}

func (a *API) setFlowBackground(ctx context.Context, in *struct {
	FlowSlugInput
	ContentType string `header:"Content-Type"`
	RawBody     []byte
}) (*mediaOutput, error) {
	f, err := a.loadFlow(ctx, permChangeFlow, in.Slug)
	if err != nil {
		return nil, err
	}
	before := f.Background
	err = a.setMedia(media.FlowBackgrounds, in.ContentType, in.RawBody, &f.Background, func() error {
		return a.storeError(a.Store.UpdateFlow(ctx, f))
	})
	if err != nil {
		return nil, err
	}
	a.auditField(ctx, modelRef{"authentik_flows", "flow", f.UUID.String(), f.Name}, "background", before, f.Background)
	return &mediaOutput{}, nil
}

func (a *API) setFlowBackgroundURL(ctx context.Context, in *struct {
	FlowSlugInput
	Body FilePathRequest
}) (*mediaOutput, error) {
	f, err := a.loadFlow(ctx, permChangeFlow, in.Slug)
	if err != nil {
		return nil, err
	}
	before := f.Background
	err = a.setMediaURL(in.Body.URL, &f.Background, func() error {
		return a.storeError(a.Store.UpdateFlow(ctx, f))
	})
	if err != nil {
		return nil, err
	}
	a.auditField(ctx, modelRef{"authentik_flows", "flow", f.UUID.String(), f.Name}, "background", before, f.Background)
	return &mediaOutput{}, nil
}

// auditField records a model_updated event when one field changed.
func (a *API) auditField(ctx context.Context, ref modelRef, field, before, after string) {
	if before == after {
		return
	}
	a.audit(ctx, actionModelUpdated, ref, map[string]any{"diff": map[string]any{
		field: map[string]any{"previous_value": before, "new_value": after}}})
}
