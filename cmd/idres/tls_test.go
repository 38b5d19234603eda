package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idres/idres/cmd/idresd/node"
)

// tlsFiles writes a throwaway CA, a server certificate for 127.0.0.1 and a
// client certificate, and returns their paths.
func tlsFiles(t *testing.T) (ca, srvCert, srvKey, cliCert, cliKey string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, name string, server bool) (string, string) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalPKCS8PrivateKey(key)
		return write(name+".pem", "CERTIFICATE", der), write(name+"-key.pem", "PRIVATE KEY", kder)
	}
	srvCert, srvKey = leaf(2, "server", true)
	cliCert, cliKey = leaf(3, "client", false)
	return write("ca.pem", "CERTIFICATE", caDER), srvCert, srvKey, cliCert, cliKey
}

// TestMutualTLSFlags: idres reaches a node that requires client
// certificates only with --ca, --cert and --key.
func TestMutualTLSFlags(t *testing.T) {
	ca, srvCert, srvKey, cliCert, cliKey := tlsFiles(t)
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Security: node.SecurityConfig{TLSCert: srvCert, TLSKey: srvKey, ClientCA: ca}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--server", n.GRPCAddr(), "--token", strings.TrimSpace(string(tok)), "--timeout", "5s"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"mutual TLS", []string{"--ca", ca, "--cert", cliCert, "--key", cliKey}, nil, exitOK},
		{"CA from the environment", []string{"--cert", cliCert, "--key", cliKey}, map[string]string{"IDRES_CA": ca}, exitOK},
		{"no client certificate", []string{"--ca", ca}, nil, exitServer},
		{"plaintext", nil, nil, exitServer},
	}
	for _, tc := range tests {
		args := append(append(append([]string{}, base...), tc.args...), "prefix", "list")
		if code, out, errs := runCLI(t, tc.env, args...); code != tc.want {
			t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, code, tc.want, out, errs)
		}
	}
}
