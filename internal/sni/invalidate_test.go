package sni_test

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/gatehouse-idp/gatehouse/internal/store"
)

// Invalidate serves a changed certificate at the next handshake; a
// snapshot read while Invalidate was called is not kept for a TTL.
func TestInvalidate(t *testing.T) {
	e := newEnv(t)
	a := e.keypair(t, "a.example", false)
	e.st.brands = []*store.Brand{{Domain: "a.example", WebCertificate: &a}}
	hello := &tls.ClientHelloInfo{ServerName: "a.example"}
	if c, _ := e.sel.GetCertificate(hello); subject(t, c) != "a.example" {
		t.Fatal("first certificate")
	}
	b := e.keypair(t, "a.example-renewed", false)
	e.st.mu.Lock()
	e.st.brands[0].WebCertificate = &b
	e.st.mu.Unlock()
	e.sel.Invalidate()
	if c, _ := e.sel.GetCertificate(hello); subject(t, c) != "a.example-renewed" {
		t.Error("after Invalidate the old certificate is still served")
	}

	// A refresh that read the brands before a change and finishes after
	// its Invalidate.
	e.st.block = make(chan struct{})
	e.sel.Invalidate()
	lists := e.st.lists.Load()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = e.sel.GetCertificate(hello)
	}()
	for e.st.lists.Load() == lists {
		time.Sleep(time.Millisecond)
	}
	e.sel.Invalidate() // the change lands while the refresh is reading
	close(e.st.block)
	<-done
	e.st.block = nil
	lists = e.st.lists.Load()
	_, _ = e.sel.GetCertificate(hello)
	if e.st.lists.Load() == lists {
		t.Error("a snapshot read across an Invalidate was kept")
	}
}
