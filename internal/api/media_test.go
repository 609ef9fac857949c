package api_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/api/apitest"
	"github.com/gatehouse-idp/gatehouse/internal/media"
)

// testPNG is a w x h PNG.
func testPNG(w, h int) []byte {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)))
	return buf.Bytes()
}

type mediaClient struct {
	t   *testing.T
	srv *apitest.Server
}

func (c mediaClient) do(method, path, contentType string, body []byte) (int, []byte, http.Header) {
	c.t.Helper()
	u := c.srv.URL + path
	if !strings.HasPrefix(path, media.Prefix) {
		u = c.srv.URL + "/api/v3" + path
	}
	req, _ := http.NewRequest(method, u, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apitest.AdminToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// upload sends fields as multipart/form-data; "file" is sent as a file
// named name with the Content-Type the client claims.
func (c mediaClient) upload(path, name, claimed string, file []byte, fields map[string]string) (int, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if file != nil {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{`form-data; name="file"; filename="` + name + `"`}
		h["Content-Type"] = []string{claimed}
		pw, _ := mw.CreatePart(h)
		_, _ = pw.Write(file)
	}
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	code, b, _ := c.do("POST", path, mw.FormDataContentType(), buf.Bytes())
	return code, b
}

func (c mediaClient) json(method, path string, in, out any) int {
	c.t.Helper()
	var body []byte
	if in != nil {
		body, _ = json.Marshal(in)
	}
	code, b, _ := c.do(method, path, "application/json", body)
	if out != nil && code/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return code
}

func (c mediaClient) files(usage media.Usage) []string {
	entries, _ := os.ReadDir(filepath.Join(c.srv.API.Media.Dir, string(usage)))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestApplicationIcon(t *testing.T) {
	c := mediaClient{t: t, srv: apitest.New(t)}
	if code := c.json("POST", "/core/applications/", map[string]any{"name": "Icons", "slug": "icons"}, nil); code != 201 {
		t.Fatalf("create: %d", code)
	}
	icon := func() string {
		var app struct {
			MetaIcon string `json:"meta_icon"`
		}
		c.json("GET", "/core/applications/icons/", nil, &app)
		return app.MetaIcon
	}
	// The type is the content's: a PNG named .txt and claimed text/plain is a PNG.
	data := testPNG(16, 16)
	if code, b := c.upload("/core/applications/icons/set_icon/", "icon.txt", "text/plain", data, nil); code != 200 || strings.TrimSpace(string(b)) != "{}" {
		t.Fatalf("set_icon: %d %s", code, b)
	}
	first := icon()
	if !strings.HasPrefix(first, "/media/application-icons/") || !strings.HasSuffix(first, ".png") {
		t.Fatalf("meta_icon = %q", first)
	}
	code, body, h := c.do("GET", first, "", nil)
	if code != 200 || !bytes.Equal(body, data) || h.Get("Content-Type") != "image/png" ||
		h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d %v", first, code, h)
	}

	// Refused uploads change nothing and store nothing.
	for name, up := range map[string]struct {
		file    []byte
		claimed string
	}{
		"too large":     {append(testPNG(1, 1), make([]byte, media.MaxSize)...), "image/png"},
		"html":          {[]byte("<html><script>alert(1)</script></html>"), "image/png"},
		"svg with code": {[]byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "image/svg+xml"},
		"empty":         {[]byte{}, "image/png"},
	} {
		if code, b := c.upload("/core/applications/icons/set_icon/", "x.png", up.claimed, up.file, nil); code != 400 || !strings.Contains(string(b), `"file"`) {
			t.Errorf("%s: %d %s", name, code, b)
		}
	}
	if code, b, _ := c.do("POST", "/core/applications/icons/set_icon/", "application/json", []byte(`{}`)); code != 400 {
		t.Errorf("JSON body: %d %s", code, b)
	}
	if got := c.files(media.ApplicationIcons); len(got) != 1 || icon() != first {
		t.Errorf("after refused uploads: files %v, meta_icon %q", got, icon())
	}

	// A new upload replaces the file; the old one is deleted.
	if code, b := c.upload("/core/applications/icons/set_icon/", "i.png", "image/png", testPNG(8, 8), nil); code != 200 {
		t.Fatalf("second set_icon: %d %s", code, b)
	}
	second := icon()
	if second == first || len(c.files(media.ApplicationIcons)) != 1 {
		t.Errorf("replaced: %q, files %v", second, c.files(media.ApplicationIcons))
	}
	if code, _, _ := c.do("GET", first, "", nil); code != 404 {
		t.Errorf("the replaced file is still served: %d", code)
	}

	// A URL instead; then the uploaded file goes.
	if code := c.json("POST", "/core/applications/icons/set_icon_url/", map[string]any{"url": "https://cdn.example.com/i.svg"}, nil); code != 200 {
		t.Fatalf("set_icon_url: %d", code)
	}
	if icon() != "https://cdn.example.com/i.svg" || len(c.files(media.ApplicationIcons)) != 0 {
		t.Errorf("after set_icon_url: %q, files %v", icon(), c.files(media.ApplicationIcons))
	}
	for _, bad := range []string{"javascript:alert(1)", "file:///etc/passwd", "/etc/passwd", "data:image/png;base64,AA"} {
		if code := c.json("POST", "/core/applications/icons/set_icon_url/", map[string]any{"url": bad}, nil); code != 400 {
			t.Errorf("set_icon_url %q: %d", bad, code)
		}
	}

	// clear empties the field.
	if code, b := c.upload("/core/applications/icons/set_icon/", "", "", nil, map[string]string{"clear": "true"}); code != 200 {
		t.Fatalf("clear: %d %s", code, b)
	}
	if icon() != "" {
		t.Errorf("after clear: %q", icon())
	}
	if code, _ := c.upload("/core/applications/nope/set_icon/", "i.png", "image/png", data, nil); code != 404 {
		t.Errorf("unknown application: %d", code)
	}
}

func TestFlowBackground(t *testing.T) {
	c := mediaClient{t: t, srv: apitest.New(t)}
	if code := c.json("POST", "/flows/instances/", map[string]any{"name": "BG", "slug": "bg", "title": "BG",
		"designation": "authentication"}, nil); code != 201 {
		t.Fatalf("create flow: %d", code)
	}
	bg := func() string {
		var f struct {
			Background string `json:"background"`
		}
		c.json("GET", "/flows/instances/bg/", nil, &f)
		return f.Background
	}
	if code, b := c.upload("/flows/instances/bg/set_background/", "bg.jpg", "image/jpeg", testPNG(64, 32), nil); code != 200 {
		t.Fatalf("set_background: %d %s", code, b)
	}
	p := bg()
	if !strings.HasPrefix(p, "/media/flow-backgrounds/") {
		t.Fatalf("background = %q", p)
	}
	if code, _, h := c.do("GET", p, "", nil); code != 200 || h.Get("Content-Type") != "image/png" {
		t.Errorf("GET %s: %d %s", p, code, h.Get("Content-Type"))
	}
	if code := c.json("POST", "/flows/instances/bg/set_background_url/", map[string]any{"url": "https://cdn.example.com/bg.jpg"}, nil); code != 200 {
		t.Fatalf("set_background_url: %d", code)
	}
	if bg() != "https://cdn.example.com/bg.jpg" || len(c.files(media.FlowBackgrounds)) != 0 {
		t.Errorf("after set_background_url: %q %v", bg(), c.files(media.FlowBackgrounds))
	}
}
