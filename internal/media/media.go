// Package media keeps uploaded images (application icons, flow backgrounds)
// in a directory and serves them under /media/.
//
// An upload is checked by its content, never by the name or Content-Type the
// client sent: PNG, JPEG, GIF, WebP and ICO by their signatures (and PNG,
// JPEG and GIF by decoding their headers), SVG by parsing it as XML. Stored
// names are random (128 bits, hex) with the extension of the sniffed type,
// in a folder per usage, so no part of a path comes from the client and a
// name never changes content: responses may be cached for a year
// ("immutable", RFC 8246).
//
// SVG is accepted because application icons are often SVG, and made safe
// in three layers: an SVG with scripts, event handler attributes,
// foreignObject, javascript: links or a DTD is refused at upload; every
// response carries "Content-Security-Policy: default-src 'none';
// style-src 'unsafe-inline'; sandbox" (a document opened directly runs no
// script and gets an opaque origin); and SVGs are sent with
// "Content-Disposition: attachment", so opening one downloads it (an <img>
// ignores the header). X-Content-Type-Options: nosniff keeps browsers to
// the declared type.
package media

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // DecodeConfig
	_ "image/jpeg" // DecodeConfig
	_ "image/png"  // DecodeConfig
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Prefix is the URL path media are served under.
const Prefix = "/media/"

// MaxSize bounds one upload.
const MaxSize = 2 << 20

// maxPixels bounds an image's width times height: a small file may
// declare a huge canvas that costs a browser gigabytes to decode.
const maxPixels = 64 << 20

// Usage is the folder of one kind of upload.
type Usage string

// Usages.
const (
	ApplicationIcons Usage = "application-icons"
	FlowBackgrounds  Usage = "flow-backgrounds"
)

var usages = map[Usage]bool{ApplicationIcons: true, FlowBackgrounds: true}

// Errors of Save, for the API's 400 answers; test with errors.Is.
var (
	ErrTooLarge = fmt.Errorf("the file is larger than %d MiB", MaxSize>>20)
	ErrType     = errors.New("the file is not a PNG, JPEG, GIF, WebP, ICO or SVG image")
	ErrEmpty    = errors.New("the file is empty")
)

// types maps the stored extension to the served Content-Type.
var types = map[string]string{
	".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
	".ico": "image/x-icon", ".svg": "image/svg+xml",
}

// namePattern is a stored file's name: what Save makes, nothing else.
var namePattern = regexp.MustCompile(`^[0-9a-f]{32}\.(png|jpg|gif|webp|ico|svg)$`)

// Store is the media directory.
type Store struct {
	Dir string
	// Rand makes the file names; nil is crypto/rand.
	Rand io.Reader
}

// Save checks data and stores it, returning the path to serve it at
// (Prefix + usage + "/" + name).
func (s *Store) Save(usage Usage, data []byte) (string, error) {
	if !usages[usage] {
		return "", fmt.Errorf("media: unknown usage %q", usage)
	}
	ext, err := Sniff(data)
	if err != nil {
		return "", err
	}
	var b [16]byte
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	name := hex.EncodeToString(b[:]) + ext
	dir := filepath.Join(s.Dir, string(usage))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("media: %w", err)
	}
	// Written aside and renamed, so a reader never sees half a file.
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return "", fmt.Errorf("media: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return "", fmt.Errorf("media: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("media: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return "", fmt.Errorf("media: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return "", fmt.Errorf("media: %w", err)
	}
	return Prefix + string(usage) + "/" + name, nil
}

// file maps a served path to the file, or reports that it is not one of
// ours (a URL somewhere else, a path Save cannot have made).
func (s *Store) file(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, Prefix)
	if !ok {
		return "", false
	}
	usage, name, ok := strings.Cut(rest, "/")
	if !ok || !usages[Usage(usage)] || !namePattern.MatchString(name) {
		return "", false
	}
	return filepath.Join(s.Dir, usage, name), true
}

// Owns reports that value (a meta_icon, a background) is a path Save made.
func (s *Store) Owns(value string) bool {
	_, ok := s.file(value)
	return ok
}

// Delete removes the file behind a path Save returned; anything else
// (a URL, an empty value, a file already gone) is left alone.
func (s *Store) Delete(value string) error {
	f, ok := s.file(value)
	if !ok {
		return nil
	}
	if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("media: %w", err)
	}
	return nil
}

// Handler serves the files under Prefix (it expects the full path).
func (s *Store) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p, ok := s.file(r.URL.Path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(p)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		ext := path.Ext(p)
		h.Set("Content-Type", types[ext])
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", `"`+strings.TrimSuffix(filepath.Base(p), ext)+`"`)
		if ext == ".svg" {
			h.Set("Content-Disposition", "attachment")
		}
		http.ServeContent(w, r, "", st.ModTime(), f)
	})
}

// Sniff returns the extension for data's image type, or an error wrapping
// ErrType, ErrTooLarge or ErrEmpty.
func Sniff(data []byte) (string, error) {
	switch {
	case len(data) == 0:
		return "", ErrEmpty
	case len(data) > MaxSize:
		return "", ErrTooLarge
	}
	switch http.DetectContentType(data) {
	case "image/png":
		return ".png", decodable(data)
	case "image/jpeg":
		return ".jpg", decodable(data)
	case "image/gif":
		return ".gif", decodable(data)
	case "image/webp":
		return ".webp", nil
	case "image/x-icon":
		return ".ico", checkICO(data)
	}
	if err := checkSVG(data); err != nil {
		return "", err
	}
	return ".svg", nil
}

// decodable checks an image's header and its size in pixels.
func decodable(data []byte) error {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrType, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return fmt.Errorf("%w: %dx%d pixels", ErrType, cfg.Width, cfg.Height)
	}
	return nil
}

// checkICO checks the ICONDIR header: reserved 0, type 1 (icon), at least
// one entry, and the directory inside the file.
func checkICO(data []byte) error {
	if len(data) < 6 || data[2] != 1 || data[3] != 0 {
		return fmt.Errorf("%w: not an icon file", ErrType)
	}
	n := int(data[4]) | int(data[5])<<8
	if n == 0 || 6+16*n > len(data) {
		return fmt.Errorf("%w: a broken icon directory", ErrType)
	}
	return nil
}

// svgNS is the SVG namespace (SVG 1.1 §5.1).
const svgNS = "http://www.w3.org/2000/svg"

// checkSVG accepts a well-formed XML document whose root is an svg element
// and that has nothing active: no script or foreignObject element, no on*
// event attribute, no javascript: or data: link, no DTD (entities) or
// processing instruction other than the XML declaration.
func checkSVG(data []byte) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrType, why) }
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	root := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if root {
				return ErrType
			}
			return bad("the SVG is not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root {
				if t.Name.Local != "svg" || (t.Name.Space != svgNS && t.Name.Space != "") {
					return ErrType
				}
				root = false
			}
			switch strings.ToLower(t.Name.Local) {
			case "script", "foreignobject", "iframe", "embed", "object", "handler", "listener":
				return bad("the SVG has a " + t.Name.Local + " element")
			}
			for _, a := range t.Attr {
				n := strings.ToLower(a.Name.Local)
				if strings.HasPrefix(n, "on") {
					return bad("the SVG has an event handler attribute " + a.Name.Local)
				}
				if n == "href" || n == "src" || n == "from" || n == "to" || n == "values" {
					v := strings.ToLower(strings.Join(strings.Fields(a.Value), ""))
					if strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:") || strings.HasPrefix(v, "vbscript:") {
						return bad("the SVG links to " + strings.SplitN(v, ":", 2)[0] + ": URLs")
					}
				}
			}
		case xml.Directive:
			return bad("the SVG has a DTD")
		case xml.ProcInst:
			if t.Target != "xml" {
				return bad("the SVG has a processing instruction")
			}
		case xml.CharData, xml.Comment, xml.EndElement:
		}
	}
	if root {
		return ErrType
	}
	return nil
}

// CheckURL accepts an absolute http or https URL for an image kept
// elsewhere, or a path Save made.
func (s *Store) CheckURL(raw string) error {
	if s.Owns(raw) {
		return nil
	}
	if len(raw) > 2000 {
		return errors.New("the URL is longer than 2000 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errors.New("enter an http or https URL")
	}
	return nil
}
