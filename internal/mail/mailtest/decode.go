package mailtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// decode reads a message's text and HTML bodies: the body itself for a
// single-part message (by its type), the text/plain and text/html parts of
// a multipart/alternative one (RFC 2046 §5.1.4), undoing quoted-printable.
func decode(m *mail.Message) (text, html string, err error) {
	typ, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		typ = "text/plain" // RFC 2045 §5.2 default
	}
	if !strings.HasPrefix(typ, "multipart/") {
		body, err := decodePart(m.Body, m.Header.Get("Content-Transfer-Encoding"))
		if typ == "text/html" {
			return "", body, err
		}
		return body, "", err
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return text, html, nil
		}
		if err != nil {
			return "", "", err
		}
		ptyp, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return "", "", fmt.Errorf("part: %w", err)
		}
		// NextPart undoes quoted-printable itself.
		body, err := decodePart(p, "")
		if err != nil {
			return "", "", err
		}
		switch ptyp {
		case "text/plain":
			text = body
		case "text/html":
			html = body
		}
	}
}

func decodePart(r io.Reader, cte string) (string, error) {
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	var b bytes.Buffer
	_, err := io.Copy(&b, r)
	return b.String(), err
}
