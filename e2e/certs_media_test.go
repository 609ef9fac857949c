package e2e

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"image"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/testenv"
)

// TestCertificatesAndMedia: the worker imports a certificate from
// cert_discovery_dir (and a Let's Encrypt layout, past a corrupt file); a
// brand for sni.example using it makes the HTTPS listener serve it to
// clients asking for sni.example (RFC 6066 §3 server_name), the self-signed
// certificate to others, and a new certificate for the brand without a
// restart; an uploaded application icon is served from /media/ with its
// type and cache headers, and refused uploads store nothing.
func TestCertificatesAndMedia(t *testing.T) {
	certDir := func(t *testing.T) (string, []byte) {
		dir := t.TempDir()
		cert, key, err := crypto.Generate(crypto.GenerateOptions{CommonName: "sni.example", SubjectAltNames: []string{"sni.example"}})
		if err != nil {
			t.Fatal(err)
		}
		le, leKey, err := crypto.Generate(crypto.GenerateOptions{CommonName: "le.example", SubjectAltNames: []string{"le.example"}})
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range map[string][]byte{"sni.example.pem": cert, "sni.example.key": key, "corrupt.pem": []byte("-----BEGIN CERTIFICATE-----\n!!\n"),
			"live/le.example/fullchain.pem": le, "live/le.example/privkey.pem": leKey} {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir, cert
	}
	t.Run("sqlite", func(t *testing.T) {
		dir, cert := certDir(t)
		dataDir := t.TempDir()
		env := baseEnv(dataDir)
		env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
		env["GATEHOUSE_CERT_DISCOVERY_DIR"] = dir
		p := start(t, env, "server")
		p.waitReady(30 * time.Second)
		testCertsAndMedia(t, p, dataDir, dir, cert)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.PostgresDB(t)
		dir, cert := certDir(t)
		env := postgresEnv(t, dsn)
		env["GATEHOUSE_SECRET_KEY"] = secretKey
		env["GATEHOUSE_BOOTSTRAP_TOKEN"] = bootstrapToken
		env["GATEHOUSE_CERT_DISCOVERY_DIR"] = dir
		p := start(t, env, "server")
		p.waitReady(30 * time.Second)
		// On PostgreSQL the worker is its own process.
		w := start(t, env, "worker")
		w.waitReady(30 * time.Second)
		testCertsAndMedia(t, p, env["GATEHOUSE_DATA_DIR"], dir, cert)
	})
}

func testCertsAndMedia(t *testing.T, p *proc, dataDir, certDir string, sniCert []byte) {
	s := &apiServer{t: t, base: p.url("http") + "/api/v3", token: bootstrapToken}

	// Discovery: both keypairs, with their keys, managed as authentik's.
	var kp map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for kp == nil || len(results(s.must(200, "GET", "/crypto/certificatekeypairs/?search=le.example", nil))) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the certificates were not discovered")
		}
		for _, k := range results(s.must(200, "GET", "/crypto/certificatekeypairs/?search=sni.example", nil)) {
			kp = k
		}
		time.Sleep(100 * time.Millisecond)
	}
	le := results(s.must(200, "GET", "/crypto/certificatekeypairs/?search=le.example", nil))[0]
	for _, k := range []map[string]any{kp, le} {
		if k["managed"] != "goauthentik.io/crypto/discovered/"+k["name"].(string) || k["private_key_available"] != true {
			t.Errorf("discovered keypair = %v", k)
		}
	}
	if kp["name"] != "sni.example" || le["name"] != "le.example" {
		t.Errorf("names: %v, %v", kp["name"], le["name"])
	}
	if n := len(results(s.must(200, "GET", "/crypto/certificatekeypairs/?search=corrupt", nil))); n != 0 {
		t.Errorf("the corrupt file was imported")
	}

	// A renewed file updates its keypair in place, a second or so later
	// (the worker watches the dir).
	renewed, renewedKey, err := crypto.Generate(crypto.GenerateOptions{CommonName: "le.example", SubjectAltNames: []string{"le.example"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"fullchain.pem": renewed, "privkey.pem": renewedKey} {
		if err := os.WriteFile(filepath.Join(certDir, "live", "le.example", name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		got := s.must(200, "GET", "/crypto/certificatekeypairs/"+le["pk"].(string)+"/", nil)
		if got["fingerprint_sha256"] != le["fingerprint_sha256"] {
			if got["private_key_available"] != true || got["name"] != "le.example" {
				t.Errorf("renewed keypair = %v", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not imported within 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// A brand for sni.example with that certificate.
	brandID := s.must(201, "POST", "/core/brands/", map[string]any{"domain": "sni.example", "branding_title": "SNI",
		"web_certificate": kp["pk"]})["brand_uuid"].(string)
	httpsAddr := strings.TrimPrefix(p.url("https"), "https://")
	served := func(name string) *x509.Certificate {
		t.Helper()
		c, err := tls.Dial("tcp", httpsAddr, &tls.Config{ServerName: name, InsecureSkipVerify: true}) //nolint:gosec // compared below
		if err != nil {
			t.Fatalf("TLS to %s as %q: %v", httpsAddr, name, err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0]
	}
	block, _ := pem.Decode(sniCert)
	want, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := served("sni.example"); !got.Equal(want) {
		t.Errorf("sni.example: served %s, want the discovered certificate", got.Subject)
	}
	// And it verifies as sni.example for a client that trusts it.
	roots := x509.NewCertPool()
	roots.AddCert(want)
	c, err := tls.Dial("tcp", httpsAddr, &tls.Config{ServerName: "sni.example", RootCAs: roots})
	if err != nil {
		t.Errorf("verified TLS as sni.example: %v", err)
	} else {
		c.Close()
	}
	selfSigned, err := os.ReadFile(filepath.Join(dataDir, crypto.SelfSignedCertFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ = pem.Decode(selfSigned)
	for _, name := range []string{"other.example", "localhost"} {
		if got := served(name); !bytes.Equal(got.Raw, block.Bytes) {
			t.Errorf("%s: served %s, want the self-signed certificate", name, got.Subject)
		}
	}

	// Another certificate for the brand is served without a restart (the
	// certificate cache lives 30 s).
	gen := s.must(200, "POST", "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": "sni-renewed.example",
		"subject_alt_name": "sni.example", "validity_days": 30})
	s.must(200, "PATCH", "/core/brands/"+brandID+"/", map[string]any{"web_certificate": gen["pk"]})
	wantFP := strings.ReplaceAll(gen["fingerprint_sha256"].(string), ":", "")
	deadline = time.Now().Add(45 * time.Second)
	for {
		sum := sha256.Sum256(served("sni.example").Raw)
		if strings.EqualFold(hex.EncodeToString(sum[:]), wantFP) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the brand's new certificate was not served within 45 s")
		}
		time.Sleep(time.Second)
	}

	// An application icon: uploaded, shown in meta_icon, served from /media/.
	s.must(201, "POST", "/core/applications/", map[string]any{"name": "Icon app", "slug": "icon-app"})
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewGray(image.Rect(0, 0, 24, 24))); err != nil {
		t.Fatal(err)
	}
	upload := func(file []byte) (int, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("file", "icon.png")
		_, _ = fw.Write(file)
		_ = mw.Close()
		req, _ := http.NewRequest("POST", s.base+"/core/applications/icon-app/set_icon/", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+bootstrapToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, b := upload(img.Bytes()); code != 200 {
		t.Fatalf("set_icon: %d %s", code, b)
	}
	icon := s.must(200, "GET", "/core/applications/icon-app/", nil)["meta_icon"].(string)
	if !strings.HasPrefix(icon, "/media/application-icons/") {
		t.Fatalf("meta_icon = %q", icon)
	}
	resp, body := get(t, http.DefaultClient, p.url("http")+icon)
	if resp.StatusCode != 200 || !bytes.Equal(body, img.Bytes()) || resp.Header.Get("Content-Type") != "image/png" ||
		resp.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET %s: %d %v", icon, resp.StatusCode, resp.Header)
	}
	mediaDir := filepath.Join(dataDir, "media", "application-icons")
	files := func() int {
		entries, err := os.ReadDir(mediaDir)
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	if n := files(); n != 1 {
		t.Errorf("%d files in %s, want 1", n, mediaDir)
	}
	// Refused: too large, not an image. Nothing is stored or changed.
	for name, file := range map[string][]byte{"too large": append(img.Bytes(), make([]byte, 3<<20)...),
		"html": []byte("<html><body><script>alert(1)</script></body></html>")} {
		if code, b := upload(file); code != 400 {
			t.Errorf("%s: %d %s", name, code, b)
		}
	}
	if n := files(); n != 1 {
		t.Errorf("after refused uploads: %d files", n)
	}
	if got := s.must(200, "GET", "/core/applications/icon-app/", nil)["meta_icon"]; got != icon {
		t.Errorf("meta_icon changed to %v", got)
	}
	for _, bad := range []string{"/media/../secret_key", "/media/application-icons/x.png", "/media/" + url.PathEscape("../gatehouse.db")} {
		if resp, _ := get(t, http.DefaultClient, p.url("http")+bad); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d", bad, resp.StatusCode)
		}
	}
}
