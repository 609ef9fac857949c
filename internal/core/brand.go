package core

import (
	"net"
	"strings"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// MatchBrand picks the brand for a request's Host, as authentik does: a
// brand whose domain the host ends with (case-insensitive; the longest such
// domain when several match), else the default brand, else nil.
func MatchBrand(brands []*store.Brand, host string) *store.Brand {
	if b := brandByDomain(brands, host); b != nil {
		return b
	}
	for _, b := range brands {
		if b.Default {
			return b
		}
	}
	return nil
}

// HostOfBrand reports whether host is a brand's domain (or under one): a
// host an administrator configured, so links the server mails out may point
// at it. The Host header alone is the client's word (password-reset
// poisoning sends victims links to an attacker's host).
func HostOfBrand(brands []*store.Brand, host string) bool {
	return brandByDomain(brands, host) != nil
}

func brandByDomain(brands []*store.Brand, host string) *store.Brand {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var best *store.Brand
	for _, b := range brands {
		d := strings.ToLower(b.Domain)
		if d == "" || !strings.HasSuffix(host, d) {
			continue
		}
		// "example.com" matches "example.com" and "sso.example.com", not "badexample.com".
		if len(host) > len(d) && host[len(host)-len(d)-1] != '.' {
			continue
		}
		if best == nil || len(d) > len(best.Domain) {
			best = b
		}
	}
	return best
}
