package adminui

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/gatehouse-idp/gatehouse/internal/web/apicall"
)

// maxUploadFile bounds a file the pages pass on to the API (a flow's
// blueprint, an icon); the API applies its own, smaller limits.
const maxUploadFile = 8 << 20

// forwardUpload passes a page's uploaded file (form field file) and clear
// on to an API upload operation as multipart/form-data, and returns the
// API's answer. Without a file, only clear is sent (the API says what is
// missing).
func (u *UI) forwardUpload(r *http.Request, path string, clear bool) (int, []byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 {
			f, err := fhs[0].Open()
			if err != nil {
				return 0, nil, err
			}
			defer func() { _ = f.Close() }()
			part, err := mw.CreateFormFile("file", "upload")
			if err != nil {
				return 0, nil, err
			}
			if _, err := io.Copy(part, io.LimitReader(f, maxUploadFile)); err != nil {
				return 0, nil, err
			}
		}
	}
	if clear {
		if err := mw.WriteField("clear", "true"); err != nil {
			return 0, nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return 0, nil, err
	}
	return apicall.CallRaw(u.API, r, http.MethodPost, path, mw.FormDataContentType(), &body)
}

// decodeError is the error of an API answer that is not a success (nil
// for a success).
func decodeError(status int, body []byte) error {
	return apicall.Decode("POST", "upload", status, body, nil)
}
