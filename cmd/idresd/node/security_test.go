package node_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/resolver/client"
)

// secPKI is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files.
type secPKI struct {
	dir                                      string
	caFile, serverCert, serverKey            string
	clientCert, clientKey                    string
	otherCA, otherClientCert, otherClientKey string
}

func secWritePEM(t *testing.T, path, typ string, der []byte) string {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// secCA makes a CA and returns a function that issues leaf certificates.
func secCA(t *testing.T, dir, name string) (caFile string, issue func(leaf string, server bool) (cert, key string)) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	caFile = secWritePEM(t, filepath.Join(dir, name+"-ca.pem"), "CERTIFICATE", caDER)
	serial := int64(2)
	issue = func(leaf string, server bool) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: leaf},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		serial++
		if server {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		} else {
			tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return secWritePEM(t, filepath.Join(dir, leaf+".pem"), "CERTIFICATE", der),
			secWritePEM(t, filepath.Join(dir, leaf+"-key.pem"), "PRIVATE KEY", kder)
	}
	return caFile, issue
}

func newSecPKI(t *testing.T) *secPKI {
	p := &secPKI{dir: t.TempDir()}
	var issue func(string, bool) (string, string)
	p.caFile, issue = secCA(t, p.dir, "test")
	p.serverCert, p.serverKey = issue("server", true)
	p.clientCert, p.clientKey = issue("client", false)
	var other func(string, bool) (string, string)
	p.otherCA, other = secCA(t, p.dir, "other")
	p.otherClientCert, p.otherClientKey = other("stranger", false)
	return p
}

func secStart(t *testing.T, sc node.SecurityConfig) (*node.Node, string) {
	t.Helper()
	dir := t.TempDir()
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", Logger: quietLog, Security: sc})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { n.Stop(ctxT(t)) })
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return n, strings.TrimSpace(string(tok))
}

// secCall makes one authenticated Registry call and returns its code.
func secCall(t *testing.T, addr, token string, tlsCfg *tls.Config) codes.Code {
	t.Helper()
	c, err := client.Dial(addr, client.Options{Token: token, TLS: tlsCfg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{})
	return status.Code(err)
}

func TestTLSAndMutualTLS(t *testing.T) {
	p := newSecPKI(t)
	tlsNode, tlsTok := secStart(t, node.SecurityConfig{TLSCert: p.serverCert, TLSKey: p.serverKey})
	mtlsNode, mtlsTok := secStart(t, node.SecurityConfig{TLSCert: p.serverCert, TLSKey: p.serverKey, ClientCA: p.caFile})
	if tlsNode.TLSConfig() == nil {
		t.Fatal("node with a certificate exposes no TLS config")
	}
	load := func(ca, cert, key string) *tls.Config {
		cfg, err := client.LoadTLS(ca, cert, key)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	tests := []struct {
		name  string
		addr  string
		token string
		tls   *tls.Config
		want  codes.Code
	}{
		{"TLS with the CA", tlsNode.GRPCAddr(), tlsTok, load(p.caFile, "", ""), codes.OK},
		{"TLS, plaintext client", tlsNode.GRPCAddr(), tlsTok, nil, codes.Unavailable},
		{"TLS, client trusting another CA", tlsNode.GRPCAddr(), tlsTok, load(p.otherCA, "", ""), codes.Unavailable},
		{"mTLS with a client certificate", mtlsNode.GRPCAddr(), mtlsTok, load(p.caFile, p.clientCert, p.clientKey), codes.OK},
		{"mTLS without a client certificate", mtlsNode.GRPCAddr(), mtlsTok, load(p.caFile, "", ""), codes.Unavailable},
		{"mTLS with a certificate of another CA", mtlsNode.GRPCAddr(), mtlsTok, load(p.caFile, p.otherClientCert, p.otherClientKey), codes.Unavailable},
		{"mTLS, certificate but no token", mtlsNode.GRPCAddr(), "", load(p.caFile, p.clientCert, p.clientKey), codes.Unauthenticated},
	}
	for _, tc := range tests {
		if got := secCall(t, tc.addr, tc.token, tc.tls); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPlaintextOnlyOnLoopback checks the configuration without listening
// on anything but loopback.
func TestPlaintextOnlyOnLoopback(t *testing.T) {
	p := newSecPKI(t)
	tests := []struct {
		addr string
		sc   node.SecurityConfig
		ok   bool
	}{
		{"127.0.0.1:7420", node.SecurityConfig{}, true},
		{"127.0.0.12:0", node.SecurityConfig{}, true},
		{"[::1]:7420", node.SecurityConfig{}, true},
		{"localhost:7420", node.SecurityConfig{}, true},
		{"0.0.0.0:7420", node.SecurityConfig{}, false},
		{":7420", node.SecurityConfig{}, false},
		{"[::]:7420", node.SecurityConfig{}, false},
		{"192.0.2.10:7420", node.SecurityConfig{}, false},
		{"node.example:7420", node.SecurityConfig{}, false},
		{"192.0.2.10:7420", node.SecurityConfig{Insecure: true}, true},
		{"0.0.0.0:7420", node.SecurityConfig{TLSCert: p.serverCert, TLSKey: p.serverKey}, true},
		{"127.0.0.1:7420", node.SecurityConfig{TLSCert: p.serverCert}, false},
		{"127.0.0.1:7420", node.SecurityConfig{ClientCA: p.caFile}, false},
		{"127.0.0.1:7420", node.SecurityConfig{RateLimit: -1}, false},
		{"127.0.0.1:7420", node.SecurityConfig{Limits: registrar.Limits{MaxValues: 5000}}, false},
	}
	for _, tc := range tests {
		err := tc.sc.Check(tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q, %+v) = %v, want ok=%v", tc.addr, tc.sc, err, tc.ok)
		}
	}
	// Start refuses before listening: nothing is bound, no store is made.
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "0.0.0.0:0", Logger: quietLog}); err == nil || !strings.Contains(err.Error(), "--insecure") {
		t.Errorf("Start on 0.0.0.0 without TLS: %v, want a refusal naming --insecure", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("refused Start created %s (%v)", dir, err)
	}
}

// TestNodeLimits: the message size and the per-credential rate are wired
// into the node's gRPC server.
func TestNodeLimits(t *testing.T) {
	n, tok := secStart(t, node.SecurityConfig{MaxRecvMsgSize: 4096, RateLimit: 0.001, RateBurst: 3})
	c, err := client.Dial(n.GRPCAddr(), client.Options{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.CreatePrefix(ctxT(t), &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateIdentifier(ctxT(t), &idresv1.CreateIdentifierRequest{Identifier: "88.100/big", Values: []*idresv1.Value{{Index: 1, Type: "t", Data: make([]byte, 8192)}}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("message over 4096 bytes: %v, want ResourceExhausted", err)
	}
	// The oversized message was refused before the interceptors, so one
	// token is spent: two more calls pass, the next is refused.
	for i := range 2 {
		if _, err := c.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{}); err != nil {
			t.Errorf("call %d within the burst: %v", i+2, err)
		}
	}
	_, err = c.ListPrefixes(ctxT(t), &idresv1.ListPrefixesRequest{})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "burst 3") {
		t.Errorf("call beyond the burst: %v, want ResourceExhausted naming the limit", err)
	}
	// Resolution without a credential is not rate limited here.
	anon, err := client.Dial(n.GRPCAddr(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, err := anon.Resolve(ctxT(t), &idresv1.ResolveRequest{Identifier: "88.100/x"}); err != nil {
		t.Errorf("anonymous Resolve: %v", err)
	}
}

// TestRegistrarReadsPrivateValues: Resolve with a read credential of the
// prefix shows public_read=false values; a sibling's credential does not.
func TestRegistrarReadsPrivateValues(t *testing.T) {
	n, tok := secStart(t, node.SecurityConfig{})
	admin, err := client.Dial(n.GRPCAddr(), client.Options{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := ctxT(t)
	for _, p := range []string{"88.100.1", "88.100.2"} {
		if _, err := admin.CreatePrefix(ctx, &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: p}}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = admin.CreateIdentifier(ctx, &idresv1.CreateIdentifierRequest{Identifier: "88.100.1/part", Values: []*idresv1.Value{
		{Index: 1, Type: "URL", Data: []byte("https://example.com")},
		{Index: 2, Type: "cost", Data: []byte("12.50"), PublicRead: proto.Bool(false)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(prefix string) string {
		r, err := admin.IssueCredential(ctx, &idresv1.IssueCredentialRequest{Prefix: prefix, Role: "read"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Token
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"anonymous", "", 1},
		{"own read credential", issue("88.100.1"), 2},
		{"sibling's credential", issue("88.100.2"), 1},
	} {
		c, err := client.Dial(n.GRPCAddr(), client.Options{Token: tc.token})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Resolve(ctx, &idresv1.ResolveRequest{Identifier: "88.100.1/part"})
		c.Close()
		if err != nil || len(r.Values) != tc.want {
			t.Errorf("%s: %d values (%v), want %d", tc.name, len(r.GetValues()), err, tc.want)
		}
	}
}
