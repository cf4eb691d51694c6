package redis

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSOptions configure TLS to Redis beyond what a rediss:// URL gives: a
// client certificate for a Redis that asks for one (tls-auth-clients yes),
// the CAs that sign the server's certificate, and the name checked in it.
// Setting any field turns TLS on, as a rediss:// URL does. The files are
// PEM, and are read again at the next connection after one of them
// changed on disk (a certificate renewed by cert-manager or a sidecar):
// a renewal needs no restart. A file that cannot be read again is logged
// and the previous contents stay in use.
type TLSOptions struct {
	// CertFile and KeyFile are the client certificate (with its
	// intermediates) and its private key. Both or neither.
	CertFile, KeyFile string
	// CAFile holds the certificates of the CAs trusted to sign the
	// server's certificate, instead of the system's. Empty means the
	// system's pool.
	CAFile string
	// ServerName is the name the server's certificate must carry. Empty
	// means the URL's host.
	ServerName string
}

func (t *TLSOptions) enabled() bool {
	return t != nil && (t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" || t.ServerName != "")
}

func (t *TLSOptions) validate() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errors.New("a TLS client certificate needs both its certificate file and its key file")
	}
	return nil
}

// tlsFiles holds the certificate files of TLSOptions, read again when they
// change on disk.
type tlsFiles struct {
	certFile, keyFile, caFile string
	warn                      func(msg string, args ...any)

	mu      sync.Mutex
	cert    *tls.Certificate
	certMod [2]fileStamp
	pool    *x509.CertPool
	caMod   fileStamp
}

// fileStamp identifies one version of a file.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stamp(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// newTLSFiles reads the files once: a file missing or invalid at start is
// an error.
func newTLSFiles(o *TLSOptions, warn func(string, ...any)) (*tlsFiles, error) {
	f := &tlsFiles{certFile: o.CertFile, keyFile: o.KeyFile, caFile: o.CAFile, warn: warn}
	if err := f.reload(true); err != nil {
		return nil, err
	}
	return f, nil
}

// reload reads the files that changed since they were last read. With
// strict, a file that cannot be read is an error; otherwise it is logged
// and its previous contents are kept.
func (f *tlsFiles) reload(strict bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	if f.certFile != "" {
		if err := f.reloadCert(); err != nil {
			errs = append(errs, err)
		}
	}
	if f.caFile != "" {
		if err := f.reloadCA(); err != nil {
			errs = append(errs, err)
		}
	}
	err := errors.Join(errs...)
	if err != nil && !strict {
		f.warn("redis TLS files could not be read again; the previous ones stay in use", "err", err)
		return nil
	}
	return err
}

func (f *tlsFiles) reloadCert() error {
	c, err1 := stamp(f.certFile)
	k, err2 := stamp(f.keyFile)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("TLS client certificate: %w", err)
	}
	if f.cert != nil && f.certMod == [2]fileStamp{c, k} {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return fmt.Errorf("TLS client certificate %s, key %s: %w", f.certFile, f.keyFile, err)
	}
	f.cert, f.certMod = &cert, [2]fileStamp{c, k}
	return nil
}

func (f *tlsFiles) reloadCA() error {
	s, err := stamp(f.caFile)
	if err != nil {
		return fmt.Errorf("TLS CA file: %w", err)
	}
	if f.pool != nil && f.caMod == s {
		return nil
	}
	pem, err := os.ReadFile(f.caFile)
	if err != nil {
		return fmt.Errorf("TLS CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("TLS CA file %s: no PEM certificate in it", f.caFile)
	}
	f.pool, f.caMod = pool, s
	return nil
}

// apply returns a copy of base with the current certificate and CAs,
// reading again the files that changed.
func (f *tlsFiles) apply(base *tls.Config) *tls.Config {
	_ = f.reload(false)
	c := base.Clone()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cert != nil {
		cert := f.cert
		c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	if f.pool != nil {
		c.RootCAs = f.pool
	}
	return c
}
