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
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	var best, def *store.Brand
	for _, b := range brands {
		if b.Default {
			def = b
		}
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
	if best != nil {
		return best
	}
	return def
}
