// Package webauthn is Gatehouse's WebAuthn relying party (W3C Web
// Authentication Level 3) over go-webauthn: registration and authentication
// ceremonies for the authenticator_webauthn stage, the authenticator_validate
// stage's webauthn class and passkey (discoverable credential) login in the
// identification stage.
//
// The relying party is the request's: RP ID is the host the browser used,
// without port (§5.1.3 "RP ID"), and the expected origin is scheme://host[:port]
// as the browser sees it (web.Scheme honours a trusted proxy's
// X-Forwarded-Proto). A credential is bound by the authenticator to its RP ID,
// so a page served under another host name cannot use it: that is what makes
// it phishing resistant. An IP address cannot be an RP ID (browsers refuse it),
// which ErrNoDomain reports.
//
// Ceremony state (the challenge, allowed credentials, user verification) is
// the go-webauthn SessionData kept server side in the flow stage's state,
// never taken from the client. Each Begin returns it encoded; the matching
// Finish takes it back. A device's sign counter (Counter) moves forward only
// through store.SwapDevice, so an assertion is accepted once, and a counter
// that does not grow is refused as a possible clone (§6.1.1 "Signature
// Counter Considerations", §7.2 step 22).
package webauthn

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/gatehouse-idp/gatehouse/internal/web"
)

// Error is a ceremony failure to show the user (a response_errors entry).
// Detail is for the log only.
type Error struct {
	Message string
	Code    string
	Detail  string
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return e.Message + ": " + e.Detail
	}
	return e.Message
}

func userError(code, msg string, cause error) *Error {
	e := &Error{Message: msg, Code: code}
	var pe *protocol.Error
	if errors.As(cause, &pe) {
		e.Detail = strings.TrimSpace(pe.Details + " " + pe.DevInfo)
	} else if cause != nil {
		e.Detail = cause.Error()
	}
	return e
}

// ErrNoDomain: the page was opened at an IP address (or without a host),
// which cannot be a WebAuthn RP ID.
var ErrNoDomain = &Error{Code: "invalid", Message: "Security keys and passkeys need this site to be opened by its domain name, not an IP address."}

// RP is the relying party for one request.
type RP struct {
	// ID is the RP ID: the request's host name without port.
	ID string
	// Origin is the page origin the browser reports in clientDataJSON.
	Origin string
	// Name is shown by the browser (the brand's title).
	Name string
}

// ForRequest derives the relying party of r: RP ID from the Host header (the
// host the browser addressed), origin from the scheme the client used and
// the same host. name is the brand title shown by the browser.
func ForRequest(r *http.Request, name string) (*RP, error) {
	host := r.Host
	if host == "" {
		return nil, ErrNoDomain
	}
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	hostname = strings.ToLower(strings.TrimSuffix(hostname, "."))
	if hostname == "" || net.ParseIP(strings.Trim(hostname, "[]")) != nil || protocol.ValidateRPID(hostname) != nil {
		return nil, ErrNoDomain
	}
	if name == "" {
		name = "Gatehouse"
	}
	return &RP{ID: hostname, Origin: web.Scheme(r.Context()) + "://" + strings.ToLower(host), Name: name}, nil
}

func (rp *RP) String() string { return fmt.Sprintf("%s (%s)", rp.ID, rp.Origin) }
