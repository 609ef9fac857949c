package mailtest

import (
	"io"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// decodeBody reads a single-part body, undoing quoted-printable.
func decodeBody(m *mail.Message) (string, error) {
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}
