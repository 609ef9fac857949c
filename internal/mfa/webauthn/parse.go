package webauthn

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
)

// MaxResponseBytes bounds a credential response. Real ones are a few KiB
// (a packed attestation with a certificate chain is the largest).
const MaxResponseBytes = 64 << 10

// credentialJSON returns the credential object of a response field: a JSON
// object (the flow executor API, as authentik's UI posts it) or a JSON
// string holding one (an HTML form field).
func credentialJSON(raw []byte) ([]byte, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) || bytes.Equal(raw, []byte(`""`)) {
		return nil, &Error{Code: "required", Message: "No security key response was sent."}
	}
	if len(raw) > MaxResponseBytes {
		return nil, &Error{Code: "invalid", Message: "The security key response is too large."}
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, &Error{Code: "invalid", Message: "The security key response is not valid JSON.", Detail: err.Error()}
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &Error{Code: "invalid", Message: "The security key response must be a JSON object."}
	}
	return raw, nil
}

// ParseCreation decodes a registration response, the PublicKeyCredential of
// navigator.credentials.create() in its JSON form (W3C WebAuthn L3 §5.1,
// RegistrationResponseJSON): clientDataJSON and the CBOR attestation object
// (§6.5.4) are decoded but not yet verified. Every failure is an *Error.
func ParseCreation(raw []byte) (p *protocol.ParsedCredentialCreationData, err error) {
	body, e := credentialJSON(raw)
	if e != nil {
		return nil, e
	}
	defer func() {
		if r := recover(); r != nil { // a decoder bug must not take the request down
			p, err = nil, &Error{Code: "invalid", Message: "The security key response could not be read.", Detail: fmt.Sprint("panic: ", r)}
		}
	}()
	p, err = protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return nil, userError("invalid", "The security key response could not be read.", err)
	}
	return p, nil
}

// ParseAssertion decodes an authentication response, the PublicKeyCredential
// of navigator.credentials.get() in its JSON form (§5.1,
// AuthenticationResponseJSON): clientDataJSON and authenticatorData (§6.1)
// are decoded but not yet verified. Every failure is an *Error.
func ParseAssertion(raw []byte) (p *protocol.ParsedCredentialAssertionData, err error) {
	body, e := credentialJSON(raw)
	if e != nil {
		return nil, e
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, &Error{Code: "invalid", Message: "The security key response could not be read.", Detail: fmt.Sprint("panic: ", r)}
		}
	}()
	p, err = protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, userError("invalid", "The security key response could not be read.", err)
	}
	return p, nil
}
