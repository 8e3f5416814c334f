package cli_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM files and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bahasha test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}

// TestServeTLS: with --tls-cert and --tls-key serve speaks HTTPS only, the
// API works over it, and the dashboard's session cookie is Secure.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	cert, key, roots := selfSigned(t)
	s := startServe(t, serveOpts{Args: []string{"--tls-cert", cert, "--tls-key", key, "--dashboard-key-signin"}, TLSRoots: roots})
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("serve listens on %s, want https://", s.URL)
	}
	if r := s.Do("GET", "/v1/phone_numbers", nil); r.Status != 200 {
		t.Fatalf("GET /v1/phone_numbers over TLS: %s", r)
	}
	// Sign in to the dashboard.
	client := &http.Client{Transport: s.tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(s.URL+"/signin", url.Values{"api_key": {s.Key}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var secure bool
	for _, c := range resp.Cookies() {
		if c.Name == "bahasha_session" {
			secure = c.Secure && c.HttpOnly
		}
	}
	if resp.StatusCode != http.StatusSeeOther || !secure {
		t.Fatalf("sign-in over TLS: %d, cookies %v: want 303 and a Secure, HttpOnly session cookie", resp.StatusCode, resp.Cookies())
	}
	// Plain HTTP on the same port gets nothing useful.
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + strings.TrimPrefix(s.URL, "https://") + "/v1/phone_numbers"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP was served")
		}
	}
}

// TestServeTLSErrors: half a TLS configuration or unreadable files are a
// one-line error and a non-zero exit.
func TestServeTLSErrors(t *testing.T) {
	t.Parallel()
	cert, _, _ := selfSigned(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", cert}, "--tls-cert and --tls-key go together"},
		{[]string{"--tls-cert", cert, "--tls-key", filepath.Join(t.TempDir(), "missing.pem")}, "cannot load --tls-cert"},
		{[]string{"--tls-cert", cert, "--tls-key", cert}, "cannot load --tls-cert"},
	} {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)
		code, _, errOut := runCLI(t, t.Context(), nil, args...)
		if code == 0 || !strings.Contains(errOut, tc.want) || len(lines(errOut)) != 1 {
			t.Errorf("serve %v: exit %d, stderr %q; want non-zero and one line saying %q", tc.args, code, errOut, tc.want)
		}
	}
}
