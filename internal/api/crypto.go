package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/google/uuid"

	"github.com/gatehouse-idp/gatehouse/internal/crypto"
	"github.com/gatehouse-idp/gatehouse/internal/store"
)

const (
	permViewKeyPair     = "authentik_crypto.view_certificatekeypair"
	permAddKeyPair      = "authentik_crypto.add_certificatekeypair"
	permChangeKeyPair   = "authentik_crypto.change_certificatekeypair"
	permDeleteKeyPair   = "authentik_crypto.delete_certificatekeypair"
	permViewCertificate = "authentik_crypto.view_certificatekeypair_certificate"
	permViewPrivateKey  = "authentik_crypto.view_certificatekeypair_key"
)

// CertificateKeyPair is authentik's serializer; PEM data is never in it.
type CertificateKeyPair struct {
	PK                     uuid.UUID  `json:"pk"`
	Name                   string     `json:"name"`
	FingerprintSHA256      *string    `json:"fingerprint_sha256"`
	FingerprintSHA1        *string    `json:"fingerprint_sha1"`
	CertExpiry             *time.Time `json:"cert_expiry"`
	CertSubject            *string    `json:"cert_subject"`
	PrivateKeyAvailable    bool       `json:"private_key_available"`
	KeyType                *string    `json:"key_type"`
	CertificateDownloadURL string     `json:"certificate_download_url"`
	PrivateKeyDownloadURL  string     `json:"private_key_download_url"`
	Managed                *string    `json:"managed"`
}

// CertificateKeyPairRequest imports a certificate (and optionally its key).
type CertificateKeyPairRequest struct {
	Name            string `json:"name" minLength:"1" maxLength:"250"`
	CertificateData string `json:"certificate_data" minLength:"1" maxLength:"1048576"`
	KeyData         string `json:"key_data,omitempty" maxLength:"1048576"`
}

// PatchedCertificateKeyPairRequest renames or replaces data.
type PatchedCertificateKeyPairRequest struct {
	Name            *string `json:"name,omitempty" minLength:"1" maxLength:"250"`
	CertificateData *string `json:"certificate_data,omitempty" minLength:"1" maxLength:"1048576"`
	KeyData         *string `json:"key_data,omitempty" maxLength:"1048576"`
}

// CertificateGenerationRequest is authentik's generate/ body.
type CertificateGenerationRequest struct {
	CommonName     string `json:"common_name" minLength:"1" maxLength:"250"`
	SubjectAltName string `json:"subject_alt_name,omitempty" maxLength:"4000" doc:"Comma-separated DNS names or IPs"`
	ValidityDays   int    `json:"validity_days" minimum:"1" maximum:"36500"`
	Alg            string `json:"alg,omitempty" enum:"rsa,ecdsa,ed25519" doc:"Key type (default ecdsa P-256; rsa is 2048 bits)"`
}

// KeyPairIDInput is the path parameter. Exported because input structs embed it: huma
// ignores unexported embedded fields (no parameter, documented or parsed).
type KeyPairIDInput struct {
	ID uuid.UUID `path:"id" doc:"A UUID string identifying this Certificate-Key Pair."`
}

type keyPairOutput struct{ Body *CertificateKeyPair }

type keyPairListInput struct {
	ListParams
	HasKey string `query:"has_key" enum:"true,false,"`
}

type keyPairListOutput struct {
	Body struct {
		Pagination   Pagination            `json:"pagination"`
		Results      []*CertificateKeyPair `json:"results"`
		Autocomplete Autocomplete          `json:"autocomplete"`
	}
}

type pemOutput struct {
	Body struct {
		Data string `json:"data"`
	}
}

func (a *API) registerCrypto() {
	const tag = "crypto"
	base := "/crypto/certificatekeypairs/"
	huma.Register(a.huma, op(http.MethodGet, base, "crypto_certificatekeypairs_list", tag, "List certificate-key pairs", 200), a.listKeyPairs)
	huma.Register(a.huma, op(http.MethodPost, base, "crypto_certificatekeypairs_create", tag, "Import a certificate-key pair", 201), a.createKeyPair)
	huma.Register(a.huma, op(http.MethodPost, base+"generate/", "crypto_certificatekeypairs_generate_create", tag, "Generate a self-signed certificate-key pair", 200), a.generateKeyPair)
	huma.Register(a.huma, op(http.MethodGet, base+"{id}/", "crypto_certificatekeypairs_retrieve", tag, "Get a certificate-key pair", 200, 404), a.getKeyPair)
	huma.Register(a.huma, op(http.MethodPatch, base+"{id}/", "crypto_certificatekeypairs_partial_update", tag, "Update a certificate-key pair", 200, 404), a.patchKeyPair)
	huma.Register(a.huma, op(http.MethodDelete, base+"{id}/", "crypto_certificatekeypairs_destroy", tag, "Delete a certificate-key pair", 204, 404), a.deleteKeyPair)
	huma.Register(a.huma, op(http.MethodGet, base+"{id}/view_certificate/", "crypto_certificatekeypairs_view_certificate_retrieve", tag, "The certificate (PEM)", 200, 404), a.viewCertificate)
	huma.Register(a.huma, op(http.MethodGet, base+"{id}/view_private_key/", "crypto_certificatekeypairs_view_private_key_retrieve", tag, "The private key (PEM)", 200, 404), a.viewPrivateKey)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func keyPairOut(k *store.CertificateKeyPair) *CertificateKeyPair {
	base := Prefix + "/crypto/certificatekeypairs/" + k.UUID.String()
	return &CertificateKeyPair{PK: k.UUID, Name: k.Name, FingerprintSHA256: strPtr(k.FingerprintSHA256),
		FingerprintSHA1: strPtr(k.FingerprintSHA1), CertExpiry: k.CertExpiry, CertSubject: strPtr(k.CertSubject),
		PrivateKeyAvailable: k.KeySealed != "", KeyType: strPtr(k.KeyType), Managed: strPtr(k.Managed),
		CertificateDownloadURL: base + "/view_certificate/?download", PrivateKeyDownloadURL: base + "/view_private_key/?download"}
}

// fillKeyPair checks the PEM data (the key must match the certificate) and
// seals the key.
func (a *API) fillKeyPair(k *store.CertificateKeyPair, certPEM, keyPEM string) error {
	var key []byte
	if strings.TrimSpace(keyPEM) != "" {
		key = []byte(keyPEM)
	}
	info, err := crypto.Inspect([]byte(certPEM), key)
	switch {
	case errors.Is(err, crypto.ErrInvalidCertificate):
		return fieldError("certificate_data", err.Error())
	case errors.Is(err, crypto.ErrInvalidKey), errors.Is(err, crypto.ErrKeyMismatch):
		return fieldError("key_data", err.Error())
	case err != nil:
		return fieldError("non_field_errors", err.Error())
	}
	k.CertificateData = certPEM
	k.KeySealed = ""
	if key != nil {
		norm, err := crypto.NormalizeKeyPEM(key)
		if err != nil {
			return fieldError("key_data", err.Error())
		}
		if k.KeySealed, err = a.keySealer.Seal(norm); err != nil {
			return err
		}
	}
	exp := info.NotAfter.UTC()
	k.KeyType, k.CertExpiry, k.CertSubject = string(info.KeyType), &exp, info.Subject
	k.FingerprintSHA256, k.FingerprintSHA1, k.KID = info.FingerprintSHA256, info.FingerprintSHA1, info.KID
	return nil
}

func (a *API) listKeyPairs(ctx context.Context, in *keyPairListInput) (*keyPairListOutput, error) {
	only, err := a.visible(ctx, permViewKeyPair)
	if err != nil {
		return nil, err
	}
	var hasKey *bool
	if in.HasKey != "" {
		v := in.HasKey == "true"
		hasKey = &v
	}
	ks, total, err := a.Store.ListKeyPairs(ctx, hasKey, in.options(only))
	if err != nil {
		return nil, a.listError(err)
	}
	out := &keyPairListOutput{}
	out.Body.Results = []*CertificateKeyPair{}
	for _, k := range ks {
		out.Body.Results = append(out.Body.Results, keyPairOut(k))
	}
	out.Body.Pagination = paginate(in.ListParams, total, len(ks))
	out.Body.Autocomplete = Autocomplete{}
	return out, nil
}

func (a *API) createKeyPair(ctx context.Context, in *struct{ Body CertificateKeyPairRequest }) (*keyPairOutput, error) {
	if _, err := a.require(ctx, permAddKeyPair, ""); err != nil {
		return nil, err
	}
	k := &store.CertificateKeyPair{Name: in.Body.Name}
	if err := a.fillKeyPair(k, in.Body.CertificateData, in.Body.KeyData); err != nil {
		return nil, err
	}
	if err := a.Store.CreateKeyPair(ctx, k); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_crypto", "certificatekeypair", k.UUID.String(), k.Name}, nil)
	return &keyPairOutput{Body: keyPairOut(k)}, nil
}

func (a *API) generateKeyPair(ctx context.Context, in *struct{ Body CertificateGenerationRequest }) (*keyPairOutput, error) {
	if _, err := a.require(ctx, permAddKeyPair, ""); err != nil {
		return nil, err
	}
	b := in.Body
	kt := crypto.KeyTypeEC
	switch b.Alg {
	case "rsa":
		kt = crypto.KeyTypeRSA
	case "ed25519":
		kt = crypto.KeyTypeED25519
	}
	var sans []string
	for _, s := range strings.Split(b.SubjectAltName, ",") {
		if s = strings.TrimSpace(s); s != "" {
			sans = append(sans, s)
		}
	}
	certPEM, keyPEM, err := crypto.Generate(crypto.GenerateOptions{CommonName: b.CommonName, SubjectAltNames: sans,
		Validity: time.Duration(b.ValidityDays) * 24 * time.Hour, KeyType: kt, Now: a.now()})
	if err != nil {
		return nil, fieldError("non_field_errors", err.Error())
	}
	k := &store.CertificateKeyPair{Name: b.CommonName}
	if err := a.fillKeyPair(k, string(certPEM), string(keyPEM)); err != nil {
		return nil, err
	}
	if err := a.Store.CreateKeyPair(ctx, k); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelCreated, modelRef{"authentik_crypto", "certificatekeypair", k.UUID.String(), k.Name}, nil)
	return &keyPairOutput{Body: keyPairOut(k)}, nil
}

func (a *API) loadKeyPair(ctx context.Context, perm string, id uuid.UUID) (*store.CertificateKeyPair, error) {
	if err := a.check(ctx, perm, permViewKeyPair, id.String()); err != nil {
		return nil, err
	}
	k, err := a.Store.KeyPairByUUID(ctx, id)
	return k, a.storeError(err)
}

func (a *API) getKeyPair(ctx context.Context, in *KeyPairIDInput) (*keyPairOutput, error) {
	k, err := a.loadKeyPair(ctx, permViewKeyPair, in.ID)
	if err != nil {
		return nil, err
	}
	return &keyPairOutput{Body: keyPairOut(k)}, nil
}

func (a *API) patchKeyPair(ctx context.Context, in *struct {
	KeyPairIDInput
	Body PatchedCertificateKeyPairRequest
}) (*keyPairOutput, error) {
	k, err := a.loadKeyPair(ctx, permChangeKeyPair, in.ID)
	if err != nil {
		return nil, err
	}
	before := keyPairOut(k)
	b := in.Body
	if b.Name != nil {
		k.Name = *b.Name
	}
	if b.CertificateData != nil || b.KeyData != nil {
		certPEM := k.CertificateData
		if b.CertificateData != nil {
			certPEM = *b.CertificateData
		}
		keyPEM := ""
		if b.KeyData != nil {
			keyPEM = *b.KeyData
		} else if k.KeySealed != "" {
			old, err := a.keySealer.Open(k.KeySealed)
			if err != nil {
				return nil, err
			}
			keyPEM = string(old)
		}
		if err := a.fillKeyPair(k, certPEM, keyPEM); err != nil {
			return nil, err
		}
	}
	if err := a.Store.UpdateKeyPair(ctx, k); err != nil {
		return nil, a.storeError(err)
	}
	after := keyPairOut(k)
	if d := diff(before, after); len(d) > 0 {
		a.audit(ctx, actionModelUpdated, modelRef{"authentik_crypto", "certificatekeypair", k.UUID.String(), k.Name}, map[string]any{"diff": d})
	}
	return &keyPairOutput{Body: after}, nil
}

func (a *API) deleteKeyPair(ctx context.Context, in *KeyPairIDInput) (*noContent, error) {
	k, err := a.loadKeyPair(ctx, permDeleteKeyPair, in.ID)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteKeyPair(ctx, k.UUID); err != nil {
		return nil, a.storeError(err)
	}
	a.audit(ctx, actionModelDeleted, modelRef{"authentik_crypto", "certificatekeypair", k.UUID.String(), k.Name}, nil)
	return &noContent{}, nil
}

func (a *API) viewCertificate(ctx context.Context, in *KeyPairIDInput) (*pemOutput, error) {
	k, err := a.loadKeyPair(ctx, permViewCertificate, in.ID)
	if err != nil {
		return nil, err
	}
	a.audit(ctx, actionSecretView, modelRef{"authentik_crypto", "certificatekeypair", k.UUID.String(), k.Name},
		map[string]any{"type": "certificate"})
	out := &pemOutput{}
	out.Body.Data = k.CertificateData
	return out, nil
}

func (a *API) viewPrivateKey(ctx context.Context, in *KeyPairIDInput) (*pemOutput, error) {
	k, err := a.loadKeyPair(ctx, permViewPrivateKey, in.ID)
	if err != nil {
		return nil, err
	}
	out := &pemOutput{}
	if k.KeySealed != "" {
		key, err := a.keySealer.Open(k.KeySealed)
		if err != nil {
			a.Log.Error("api: private key does not open (was secret_key changed?)", "keypair", k.Name, "error", err)
			return nil, detailError(http.StatusInternalServerError, "Internal error.")
		}
		out.Body.Data = string(key)
	}
	a.audit(ctx, actionSecretView, modelRef{"authentik_crypto", "certificatekeypair", k.UUID.String(), k.Name},
		map[string]any{"type": "private_key"})
	return out, nil
}
