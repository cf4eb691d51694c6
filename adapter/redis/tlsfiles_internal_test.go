package redis

import (
	"crypto/tls"
	"os"
	"testing"

	"github.com/switchboard-io/switchboard/internal/redistest"
)

// TestTLSFilesReload checks that a renewed certificate is used from the
// next connection on, and that a file broken meanwhile (half written)
// keeps the previous certificate in use.
func TestTLSFilesReload(t *testing.T) {
	pki := redistest.NewPKI(t, "", "unit")
	c1, k1 := pki.Issue(t, "one", false)
	c2, k2 := pki.Issue(t, "two", false)
	var warned int
	f, err := newTLSFiles(&TLSOptions{CertFile: c1, KeyFile: k1, CAFile: pki.CA}, func(string, ...any) { warned++ })
	if err != nil {
		t.Fatal(err)
	}
	leaf := func() string {
		cert, err := f.apply(&tls.Config{}).GetClientCertificate(nil)
		if err != nil {
			t.Fatal(err)
		}
		return string(cert.Certificate[0])
	}
	first := leaf()
	move := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	move(c2, c1)
	move(k2, k1)
	second := leaf()
	if second == first {
		t.Fatal("the renewed certificate was not read")
	}
	if err := os.WriteFile(c1, []byte("-----BEGIN CERT"), 0o600); err != nil {
		t.Fatal(err)
	}
	if leaf() != second || warned != 1 {
		t.Fatalf("a broken file replaced the certificate in use, or was not logged (%d warnings)", warned)
	}
}
