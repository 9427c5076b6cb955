package pacifica

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type certKey struct {
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

func issue(t *testing.T, cn string, parent *certKey, server bool) *certKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	signer, signKey := tmpl, key
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign
	} else {
		signer, signKey = parent.cert, parent.key
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &certKey{cert: c, der: der, key: key}
}

func writePEM(t *testing.T, dir, name, typ string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientCertificateAndCABundle(t *testing.T) {
	t.Parallel()
	ca := issue(t, "test CA", nil, false)
	server := issue(t, "127.0.0.1", ca, true)
	client := issue(t, "dispatcher", ca, false)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	var sawClient string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) > 0 {
			sawClient = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		w.Header().Set("X-Pacifica-Status", "ready")
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
		Certificates: []tls.Certificate{{Certificate: [][]byte{server.der}, PrivateKey: server.key}}}
	srv.StartTLS()
	defer srv.Close()

	dir := t.TempDir()
	keyDER, _ := x509.MarshalECPrivateKey(client.key)
	cfg := Config{UploadURL: srv.URL, UploadStatusURL: srv.URL, DownloadURL: srv.URL, NotificationsURL: srv.URL,
		CABundle: writePEM(t, dir, "ca.pem", "CERTIFICATE", ca.der), AuthType: "clientssl",
		Cert: writePEM(t, dir, "client.pem", "CERTIFICATE", client.der), Key: writePEM(t, dir, "client.key", "EC PRIVATE KEY", keyDER)}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Cart.Status(context.Background(), "x")
	if err != nil || st.State != "ready" || sawClient != "dispatcher" {
		t.Errorf("status over mutual TLS = %+v, %v; server saw client %q", st, err, sawClient)
	}
	// Without the CA bundle the server's certificate is not trusted.
	cfg.CABundle = "True"
	c, _ = New(cfg)
	if _, err := c.Cart.Status(context.Background(), "x"); err == nil {
		t.Error("an untrusted server certificate was accepted")
	}
	// CA_BUNDLE=False skips verification (the operator's choice).
	cfg.CABundle = "False"
	c, _ = New(cfg)
	if _, err := c.Cart.Status(context.Background(), "x"); err != nil {
		t.Errorf("CA_BUNDLE=False: %v", err)
	}
}
