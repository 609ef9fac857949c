package core

import (
	"testing"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

func TestMatchBrand(t *testing.T) {
	def := &store.Brand{Domain: "gatehouse-default", Default: true}
	ex := &store.Brand{Domain: "example.com"}
	sso := &store.Brand{Domain: "sso.example.com"}
	brands := []*store.Brand{def, ex, sso}
	for host, want := range map[string]*store.Brand{
		"example.com": ex, "EXAMPLE.COM:9443": ex, "app.example.com": ex, "sso.example.com": sso,
		"x.sso.example.com": sso, "badexample.com": def, "localhost:9000": def, "": def, "example.com.": ex,
	} {
		if got := MatchBrand(brands, host); got != want {
			t.Errorf("MatchBrand(%q) = %v, want %v", host, got.Domain, want.Domain)
		}
	}
	if got := MatchBrand([]*store.Brand{ex}, "other.org"); got != nil {
		t.Errorf("no default: got %v", got)
	}
}

func TestHostOfBrand(t *testing.T) {
	brands := []*store.Brand{{Domain: "gatehouse-default", Default: true}, {Domain: "example.com"}}
	for host, want := range map[string]bool{
		"example.com": true, "sso.example.com:9443": true, "evil.test": false, "badexample.com": false,
		"localhost:9000": false, "": false,
	} {
		if got := HostOfBrand(brands, host); got != want {
			t.Errorf("HostOfBrand(%q) = %v, want %v", host, got, want)
		}
	}
}
