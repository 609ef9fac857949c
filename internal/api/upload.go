package api

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Uploads (a flow import, an icon) are multipart/form-data with a file
// field and a boolean clear. The operations read the body as is
// (SkipValidateBody) and parse it with readUpload, with a schema written
// here: huma's own multipart schema is OpenAPI 3.1 only, and the served
// document must downgrade to 3.0.

// uploadBody is the request body schema of an upload.
func uploadBody(fileDoc, clearDoc string, fileRequired bool) *huma.RequestBody {
	s := &huma.Schema{Type: "object", Properties: map[string]*huma.Schema{
		"file":  {Type: "string", Format: "binary", Description: fileDoc},
		"clear": {Type: "boolean", Description: clearDoc},
	}}
	if fileRequired {
		s.Required = []string{"file"}
	}
	return &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{"multipart/form-data": {Schema: s}}}
}

// readUpload parses an upload: the file's bytes (at most max; its name and
// the type the client gave are ignored) and clear. problem, when set, is
// the message for the client; tooLarge is the one for a file over max.
func readUpload(contentType string, body []byte, max int, tooLarge string) (file []byte, clear bool, problem string) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, false, "Send the file as multipart/form-data, in the field file."
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return file, clear, ""
		}
		if err != nil {
			return nil, false, "The multipart body could not be read."
		}
		switch part.FormName() {
		case "file":
			data, err := io.ReadAll(io.LimitReader(part, int64(max)+1))
			if err != nil {
				return nil, false, "The multipart body could not be read."
			}
			if len(data) > max {
				return nil, false, tooLarge
			}
			file = data
		case "clear":
			v, _ := io.ReadAll(io.LimitReader(part, 16))
			clear, _ = strconv.ParseBool(strings.TrimSpace(string(v)))
		}
	}
}
