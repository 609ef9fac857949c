package media_test

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/media"
)

func encode(t testing.TB, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, nil)
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hugePNG is a valid PNG header declaring width x height pixels.
func hugePNG(t testing.TB, width, height uint32) []byte {
	b := encode(t, "png")
	// Signature (8), IHDR length (4), "IHDR" (4), width, height, ..., CRC.
	binary.BigEndian.PutUint32(b[16:], width)
	binary.BigEndian.PutUint32(b[20:], height)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

var (
	webp = append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 32)...)
	ico  = append([]byte{0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0x10, 0, 0, 0, 22, 0, 0, 0}, make([]byte, 16)...)
	svg  = `<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1" style="fill:red"/><a href="https://example.com/">x</a></svg>`
)

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		ext  string
		err  error
	}{
		{"png", encode(t, "png"), ".png", nil},
		{"jpeg", encode(t, "jpeg"), ".jpg", nil},
		{"gif", encode(t, "gif"), ".gif", nil},
		{"webp", webp, ".webp", nil},
		{"ico", ico, ".ico", nil},
		{"svg", []byte(svg), ".svg", nil},
		{"svg without namespace", []byte(`<svg viewBox="0 0 1 1"></svg>`), ".svg", nil},
		{"empty", nil, "", media.ErrEmpty},
		{"too large", append(encode(t, "png"), make([]byte, media.MaxSize)...), "", media.ErrTooLarge},
		{"text", []byte("hello, world"), "", media.ErrType},
		{"html", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), "", media.ErrType},
		{"xml not svg", []byte(`<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>`), "", media.ErrType},
		{"svg in another namespace", []byte(`<svg xmlns="urn:x"/>`), "", media.ErrType},
		{"truncated png", encode(t, "png")[:20], "", media.ErrType},
		{"png of 100000x100000 pixels", hugePNG(t, 100000, 100000), "", media.ErrType},
		{"cursor", append([]byte{0, 0, 2, 0, 1, 0}, make([]byte, 16)...), "", media.ErrType},
		{"ico with a broken directory", []byte{0, 0, 1, 0, 9, 0, 1, 2}, "", media.ErrType},
		{"svg with script", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "", media.ErrType},
		{"svg with SCRIPT", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><SCRIPT>alert(1)</SCRIPT></svg>`), "", media.ErrType},
		{"svg with onload", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "", media.ErrType},
		{"svg with foreignObject", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div/></foreignObject></svg>`), "", media.ErrType},
		{"svg with javascript link", []byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href=" java&#x09;script:alert(1)">x</a></svg>`), "", media.ErrType},
		{"svg with data link", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/svg+xml,&lt;svg/&gt;"/></svg>`), "", media.ErrType},
		{"svg animating href", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><a><set attributeName="href" to="javascript:alert(1)"/></a></svg>`), "", media.ErrType},
		{"svg with a DTD", []byte(`<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>`), "", media.ErrType},
		{"svg with a stylesheet PI", []byte(`<?xml-stylesheet href="x.css"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "", media.ErrType},
		{"svg not well-formed", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><g></svg>`), "", media.ErrType},
		{"two roots", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg><script/>`), "", media.ErrType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ext, err := media.Sniff(tc.data)
			if tc.err == nil {
				if err != nil || ext != tc.ext {
					t.Fatalf("Sniff = %q, %v; want %q", ext, err, tc.ext)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("Sniff = %q, %v; want %v", ext, err, tc.err)
			}
		})
	}
}

var storedName = regexp.MustCompile(`^/media/application-icons/[0-9a-f]{32}\.png$`)

func TestSaveServeDelete(t *testing.T) {
	dir := t.TempDir()
	s := &media.Store{Dir: dir}
	data := encode(t, "png")
	p, err := s.Save(media.ApplicationIcons, data)
	if err != nil {
		t.Fatal(err)
	}
	if !storedName.MatchString(p) || !s.Owns(p) {
		t.Fatalf("Save = %q", p)
	}
	p2, _ := s.Save(media.ApplicationIcons, data)
	if p2 == p {
		t.Error("two uploads got one name")
	}
	if _, err := s.Save("../../etc", data); err == nil {
		t.Error("an unknown usage was accepted")
	}
	if _, err := s.Save(media.FlowBackgrounds, []byte("<html>")); !errors.Is(err, media.ErrType) {
		t.Errorf("html saved: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, string(media.FlowBackgrounds))); len(entries) != 0 {
		t.Errorf("a refused upload left %d files", len(entries))
	}

	h := s.Handler()
	get := func(method, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
		return w
	}
	w := get("GET", p)
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), data) {
		t.Fatalf("GET %s = %d", p, w.Code)
	}
	for k, v := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff",
		"Cache-Control": "public, max-age=31536000, immutable"} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if !strings.Contains(w.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("CSP = %q", w.Header().Get("Content-Security-Policy"))
	}
	// Conditional requests and HEAD.
	etag := w.Header().Get("ETag")
	req := httptest.NewRequest("GET", p, nil)
	req.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", w.Code)
	}
	if w := get("HEAD", p); w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD = %d, %d bytes", w.Code, w.Body.Len())
	}
	if w := get("POST", p); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d", w.Code)
	}

	// Only names Save makes are served: no way out of the dir.
	if err := os.WriteFile(filepath.Join(dir, "secret_key"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "application-icons", "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(p)
	for _, bad := range []string{"/media/secret_key", "/media/application-icons/../secret_key",
		"/media/application-icons/notes.txt", "/media/application-icons/%2e%2e/secret_key",
		"/media/application-icons/" + strings.ToUpper(name[:32]) + ".png", "/media/other/" + name,
		"/media/application-icons/" + strings.TrimSuffix(name, ".png") + ".svg", "/media/application-icons/",
		"/media/application-icons/" + name + "/x", "/media/"} {
		if w := get("GET", bad); w.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d", bad, w.Code)
		}
	}

	// SVG is served as an attachment.
	sp, err := s.Save(media.ApplicationIcons, []byte(svg))
	if err != nil {
		t.Fatal(err)
	}
	w = get("GET", sp)
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/svg+xml" || w.Header().Get("Content-Disposition") != "attachment" {
		t.Errorf("SVG: %d %v", w.Code, w.Header())
	}

	// Delete removes our files only.
	if err := s.Delete(p); err != nil {
		t.Fatal(err)
	}
	if w := get("GET", p); w.Code != http.StatusNotFound {
		t.Errorf("deleted file served: %d", w.Code)
	}
	for _, v := range []string{"", "https://example.com/x.png", "/media/secret_key", p} {
		if err := s.Delete(v); err != nil {
			t.Errorf("Delete(%q) = %v", v, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "secret_key")); err != nil {
		t.Error("Delete removed a file it does not own")
	}
}

func TestCheckURL(t *testing.T) {
	s := &media.Store{}
	for raw, ok := range map[string]bool{
		"https://cdn.example.com/icon.png": true, "http://cdn.example.com/x": true,
		"/media/application-icons/0123456789abcdef0123456789abcdef.png": true,
		"javascript:alert(1)": false, "data:image/png;base64,AAAA": false, "/etc/passwd": false,
		"//cdn.example.com/x.png": false, "https://user:pw@cdn.example.com/x": false, "ftp://x/y": false,
		"https://" + strings.Repeat("a", 2000) + ".example/": false, "": false,
	} {
		if err := s.CheckURL(raw); (err == nil) != ok {
			t.Errorf("CheckURL(%.40q) = %v, want ok=%v", raw, err, ok)
		}
	}
}

// FuzzSniff: Sniff never panics, fails only with its sentinels, and an
// SVG it accepts has no script element.
func FuzzSniff(f *testing.F) {
	f.Add(encode(f, "png"))
	f.Add(encode(f, "gif"))
	f.Add(webp)
	f.Add(ico)
	f.Add([]byte(svg))
	f.Add([]byte(`<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ext, err := media.Sniff(data)
		if err != nil {
			if !errors.Is(err, media.ErrType) && !errors.Is(err, media.ErrEmpty) && !errors.Is(err, media.ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if ext != ".svg" {
			return
		}
		dec := xml.NewDecoder(bytes.NewReader(data))
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if se, ok := tok.(xml.StartElement); ok && strings.EqualFold(se.Name.Local, "script") {
				t.Fatalf("an SVG with a script element was accepted: %q", data)
			}
		}
	})
}
