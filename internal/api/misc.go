package api

import (
	"encoding/base64"
	"errors"
	"html"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func htmlEscape(s string) string { return html.EscapeString(s) }

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func asConflict(err error, target **store.ConflictError) bool { return errors.As(err, target) }
