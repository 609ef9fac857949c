package adminui

import (
	"net/http"
	"strconv"
	"strings"
)

// Certificate-key pairs beyond the list (system.go): generate a
// self-signed pair, import PEM, look at one, download its certificate and
// key, delete.

func generateForm() *form {
	return &form{ID: "generate-form", Crumbs: []crumb{{Prefix + "system/certificates/", "Certificates"}},
		Action: Prefix + "system/certificates/generate/", Submit: "Generate", Cancel: Prefix + "system/certificates/",
		Intro: "A new key and a self-signed certificate for it. Clients will not trust it unless told to; import a CA-signed certificate for public use.",
		Fields: []field{
			{Name: "common_name", Label: "Common name", Required: true, Max: 250, Help: "Also the pair's name, e.g. sso.example.com."},
			{Name: "subject_alt_name", Label: "Subject alternative names", Max: 4000, Help: "DNS names or IP addresses, comma-separated."},
			{Name: "validity_days", Label: "Valid for (days)", Kind: "number", Value: "365", Required: true},
			{Name: "alg", Label: "Key type", Kind: "select", Value: "ecdsa", Required: true, Options: []option{
				{Value: "ecdsa", Label: "ECDSA P-256 (recommended)"}, {Value: "rsa", Label: "RSA 2048"}, {Value: "ed25519", Label: "Ed25519"}}},
		}}
}

func (u *UI) newCertificate(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "form", page{Title: "Generate a certificate", Section: "certificates", Data: generateForm()})
}

func (u *UI) generateCertificate(w http.ResponseWriter, r *http.Request) {
	f := generateForm()
	f.read(r)
	var created certificate
	days, err := strconv.Atoi(f.get("validity_days"))
	if err != nil {
		err = f.invalid("validity_days", "Enter a whole number of days.")
	} else {
		err = u.do(r, http.MethodPost, "/crypto/certificatekeypairs/generate/", map[string]any{"common_name": f.get("common_name"),
			"subject_alt_name": f.get("subject_alt_name"), "validity_days": days, "alg": f.get("alg")}, &created)
	}
	if u.written(w, r, page{Title: "Generate a certificate", Section: "certificates"}, f, err, nil) {
		back(w, r, Prefix+"system/certificates/"+created.PK+"/", "certificate-generated")
	}
}

func importForm() *form {
	return &form{ID: "import-form", Crumbs: []crumb{{Prefix + "system/certificates/", "Certificates"}},
		Action: Prefix + "system/certificates/import/", Submit: "Import", Cancel: Prefix + "system/certificates/",
		Fields: []field{
			{Name: "name", Label: "Name", Required: true, Max: 250},
			{Name: "certificate_data", Label: "Certificate (PEM)", Kind: "textarea", Required: true, Max: 1 << 20,
				Help: "-----BEGIN CERTIFICATE----- ...; intermediates may follow the leaf."},
			{Name: "key_data", Label: "Private key (PEM)", Kind: "textarea", Max: 1 << 20,
				Help: "Needed to sign tokens or serve HTTPS with it; stored encrypted."},
		}}
}

func (u *UI) newImport(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, "form", page{Title: "Import a certificate", Section: "certificates", Data: importForm()})
}

func (u *UI) importCertificate(w http.ResponseWriter, r *http.Request) {
	f := importForm()
	f.read(r)
	body := map[string]any{"name": f.get("name"), "certificate_data": strings.TrimSpace(f.get("certificate_data")) + "\n"}
	if k := strings.TrimSpace(f.get("key_data")); k != "" {
		body["key_data"] = k + "\n"
	}
	var created certificate
	err := u.do(r, http.MethodPost, "/crypto/certificatekeypairs/", body, &created)
	// The key is never sent back into the page.
	f.set("key_data", "")
	if u.written(w, r, page{Title: "Import a certificate", Section: "certificates"}, f, err, nil) {
		back(w, r, Prefix+"system/certificates/"+created.PK+"/", "certificate-imported")
	}
}

func (u *UI) loadCertificate(w http.ResponseWriter, r *http.Request) (*certificate, bool) {
	return loadByID[certificate](u, w, r, "/crypto/certificatekeypairs/")
}

func (u *UI) certificateDetail(w http.ResponseWriter, r *http.Request) {
	c, ok := u.loadCertificate(w, r)
	if !ok {
		return
	}
	u.render(w, r, "certificate", page{Title: c.Name, Section: "certificates", Notice: noticeOf(r), Data: c})
}

// downloadPEM answers the pair's certificate or private key (what, the
// API's view_ operation) as a PEM file to save.
func (u *UI) downloadPEM(what, suffix string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := u.loadCertificate(w, r)
		if !ok {
			return
		}
		var pem struct {
			Data string `json:"data"`
		}
		if err := u.do(r, http.MethodGet, "/crypto/certificatekeypairs/"+c.PK+"/"+what+"/", nil, &pem); err != nil {
			u.fail(w, r, err)
			return
		}
		if pem.Data == "" {
			u.fail(w, r, &apiError{Status: http.StatusNotFound})
			return
		}
		name := strings.Map(func(c rune) rune {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' {
				return c
			}
			return '_'
		}, c.Name)
		h := w.Header()
		h.Set("Content-Type", "application/x-pem-file")
		h.Set("Content-Disposition", `attachment; filename="`+name+suffix+`"`)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write([]byte(pem.Data))
	}
}

func (u *UI) confirmDeleteCertificate(w http.ResponseWriter, r *http.Request) {
	c, ok := u.loadCertificate(w, r)
	if !ok {
		return
	}
	u.render(w, r, "confirm", page{Title: "Delete certificate", Section: "certificates", Data: confirmation{
		Heading: "Delete the certificate “" + c.Name + "”?",
		Text:    "Providers, brands and sources using it fall back to their defaults or stop working until given another. The key cannot be recovered.",
		Action:  r.URL.Path, Button: "Delete certificate", Back: Prefix + "system/certificates/" + c.PK + "/"}})
}

func (u *UI) deleteCertificate(w http.ResponseWriter, r *http.Request) {
	u.deleteByID(w, r, "/crypto/certificatekeypairs/", Prefix+"system/certificates/", "certificate-deleted")
}
