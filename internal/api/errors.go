package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// apiError is an error in Django REST Framework's shapes, as authentik sends them:
//
//	400 {"field": ["message"], "non_field_errors": ["message"]}
//	403/404/... {"detail": "message"}
type apiError struct {
	status int
	body   map[string]any
}

func (e *apiError) Error() string {
	b, _ := json.Marshal(e.body)
	return fmt.Sprintf("%d %s", e.status, b)
}

// GetStatus implements huma.StatusError.
func (e *apiError) GetStatus() int { return e.status }

// Schema implements huma.SchemaProvider: op documents errors with the two
// schemas below, so huma's default error schema is GenericError's.
func (e *apiError) Schema(r huma.Registry) *huma.Schema {
	return r.Schema(reflect.TypeFor[GenericError](), true, "")
}

// ValidationError is authentik's schema of a 400: messages by field name,
// non_field_errors for the object as a whole.
type ValidationError struct {
	NonFieldErrors []string `json:"non_field_errors,omitempty" nullable:"false"`
	Code           string   `json:"code,omitempty"`
	_              struct{} `additionalProperties:"true"`
}

// GenericError is authentik's schema of the other errors.
type GenericError struct {
	Detail string `json:"detail"`
	Code   string `json:"code,omitempty"`
}

func registerErrorSchemas(r huma.Registry) {
	r.Schema(reflect.TypeFor[ValidationError](), true, "")
	r.Schema(reflect.TypeFor[GenericError](), true, "")
}

// errorResponse documents an error status with its authentik schema.
func errorResponse(status int) *huma.Response {
	name := "GenericError"
	if status == http.StatusBadRequest {
		name = "ValidationError"
	}
	return &huma.Response{Description: http.StatusText(status), Content: map[string]*huma.MediaType{
		"application/json": {Schema: &huma.Schema{Ref: "#/components/schemas/" + name}}}}
}

// MarshalJSON writes the DRF body.
func (e *apiError) MarshalJSON() ([]byte, error) { return json.Marshal(e.body) }

func detailError(status int, msg string) *apiError {
	return &apiError{status: status, body: map[string]any{"detail": msg}}
}

// fieldError is a 400 naming one field ("non_field_errors" for the object).
func fieldError(field, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, body: map[string]any{field: []string{msg}}}
}

var (
	errNotAuthenticated = detailError(http.StatusForbidden, "Authentication credentials were not provided.")
	errPermission       = detailError(http.StatusForbidden, "You do not have permission to perform this action.")
	errNotFound         = detailError(http.StatusNotFound, "Not found.")
)

// storeError turns a store error into an API error; anything unexpected is a
// 500 whose detail does not leak internals (the log has them).
func (a *API) storeError(err error) error {
	var ce *store.ConflictError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		field := ce.Field
		if field == "" || strings.Contains(field, ",") {
			field = "non_field_errors"
		}
		return fieldError(apiField(field), fmt.Sprintf("%s with this %s already exists.", ce.Object, apiField(field)))
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrInvalid):
		return fieldError("non_field_errors", err.Error())
	}
	a.Log.Error("api: store error", "error", err)
	return detailError(http.StatusInternalServerError, "Internal error.")
}

// apiField maps column names that differ from the API's field names.
func apiField(col string) string {
	switch col {
	case "is_default":
		return "default"
	case "provider_pk":
		return "provider"
	case "key_hash":
		return "key"
	}
	return col
}

var missingProperty = regexp.MustCompile(`^expected required property (\w+) to be present$`)

func init() {
	// huma's error constructor is package-global by design; Gatehouse has one API.
	huma.NewError = newHumaError
}

// newHumaError renders huma's own errors (validation, parsing) in DRF's shapes.
func newHumaError(status int, msg string, errs ...error) huma.StatusError {
	if status == http.StatusUnprocessableEntity || status == http.StatusBadRequest {
		body := map[string]any{}
		add := func(field, m string) {
			list, _ := body[field].([]string)
			body[field] = append(list, m)
		}
		for _, e := range errs {
			var d *huma.ErrorDetail
			if errors.As(e, &d) {
				field := d.Location
				for _, p := range []string{"body.", "query.", "path.", "header."} {
					field = strings.TrimPrefix(field, p)
				}
				// huma reports a missing property on its parent object; DRF
				// (and authentik) name the missing field itself.
				if m := missingProperty.FindStringSubmatch(d.Message); m != nil && (field == "body" || field == "") {
					add(m[1], "This field is required.")
					continue
				}
				if field == "" || field == "body" || strings.ContainsAny(field, "[.") {
					if field != "" && field != "body" {
						add("non_field_errors", field+": "+d.Message)
					} else {
						add("non_field_errors", d.Message)
					}
					continue
				}
				add(field, d.Message)
			} else if e != nil {
				add("non_field_errors", e.Error())
			}
		}
		if len(body) == 0 {
			add("non_field_errors", msg)
		}
		return &apiError{status: http.StatusBadRequest, body: body}
	}
	if status >= 500 {
		return detailError(status, "Internal error.")
	}
	return detailError(status, msg)
}

func writeDetail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"detail": msg})
}
