package redistest

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-io/switchboard/internal/freeport"
)

// PKI is a certificate authority made with openssl for one test, in a
// directory removed when the test ends.
type PKI struct {
	// Dir holds the files.
	Dir string
	// CA is the authority's certificate file (PEM).
	CA   string
	name string
}

// NewPKI makes a CA named name (its files are <name>-ca.pem and
// <name>-ca.key in dir, or a new temporary directory when dir is empty).
// It fails the test when openssl is missing.
func NewPKI(t testing.TB, dir, name string) *PKI {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	p := &PKI{Dir: dir, CA: filepath.Join(dir, name+"-ca.pem"), name: name}
	openssl(t, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN="+name+" test CA",
		"-keyout", filepath.Join(dir, name+"-ca.key"), "-out", p.CA)
	return p
}

// Issue makes a certificate signed by the CA, for the server (valid for
// 127.0.0.1 and localhost) or for a client, and returns its certificate
// and key files, named after file.
func (p *PKI) Issue(t testing.TB, file string, server bool) (cert, key string) {
	t.Helper()
	cert, key = filepath.Join(p.Dir, file+".pem"), filepath.Join(p.Dir, file+".key")
	csr := filepath.Join(p.Dir, file+".csr")
	ext := filepath.Join(p.Dir, file+".ext")
	usage := "extendedKeyUsage=clientAuth\n"
	if server {
		usage = "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
	}
	if err := os.WriteFile(ext, []byte(usage), 0o600); err != nil {
		t.Fatal(err)
	}
	openssl(t, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN="+file, "-keyout", key, "-out", csr)
	openssl(t, "x509", "-req", "-in", csr, "-CA", p.CA, "-CAkey", filepath.Join(p.Dir, p.name+"-ca.key"),
		"-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert)
	return cert, key
}

func openssl(t testing.TB, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatal("openssl not installed: the TLS tests need it to make certificates")
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
}

// TLSServer is a redis-server that speaks TLS on TLSAddr and asks for a
// client certificate signed by its CA, beside a plain port (Addr) for the
// test's own commands.
type TLSServer struct {
	Server
	// TLSAddr is the host:port of the TLS port.
	TLSAddr string
}

// StartTLS runs a redis-server whose certificate and trusted client CA
// come from p, with client certificates required (tls-auth-clients yes),
// and waits until its TLS port listens.
func StartTLS(t testing.TB, p *PKI, args ...string) *TLSServer {
	t.Helper()
	cert, key := p.Issue(t, "redis-server", true)
	s := &TLSServer{}
	s.Addr = s.start(t, func() []string {
		port := strconv.Itoa(freeport.Port(t))
		s.TLSAddr = net.JoinHostPort("127.0.0.1", port)
		return append([]string{"--tls-port", port, "--tls-cert-file", cert, "--tls-key-file", key,
			"--tls-ca-cert-file", p.CA, "--tls-auth-clients", "yes"}, args...)
	})
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", s.TLSAddr); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server's TLS port %s did not open", s.TLSAddr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
