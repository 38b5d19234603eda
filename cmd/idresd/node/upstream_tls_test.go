package node_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/client"
)

// TestRecursiveUpstreamTLS: a recursive node walks to an authoritative
// node that requires mutual TLS when it has the CA and a client
// certificate, and gets no answer from it in plaintext or without the
// certificate.
func TestRecursiveUpstreamTLS(t *testing.T) {
	p := newSecPKI(t)
	auth, tok := secStart(t, node.SecurityConfig{TLSCert: p.serverCert, TLSKey: p.serverKey, ClientCA: p.caFile})

	caPEM, err := os.ReadFile(p.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	pair, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.Dial(auth.GRPCAddr(), client.Options{Token: tok, TLS: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}}})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.CreatePrefix(ctxT(t), &idresv1.CreatePrefixRequest{Prefix: &idresv1.Prefix{Prefix: "88.100"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateIdentifier(ctxT(t), &idresv1.CreateIdentifierRequest{Identifier: "88.100/pump",
		Values: []*idresv1.Value{{Index: 1, Type: "name", Data: []byte("pump")}}}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		rc   node.RecursiveConfig
		want idresv1.Outcome
	}{
		{"mutual TLS", node.RecursiveConfig{UpstreamCA: p.caFile, UpstreamCert: p.clientCert, UpstreamKey: p.clientKey}, idresv1.Outcome_OUTCOME_OK},
		{"plaintext", node.RecursiveConfig{}, idresv1.Outcome_OUTCOME_SERVER_FAILURE},
		{"TLS without a client certificate", node.RecursiveConfig{UpstreamCA: p.caFile}, idresv1.Outcome_OUTCOME_SERVER_FAILURE},
		{"TLS with another CA", node.RecursiveConfig{UpstreamCA: p.otherCA, UpstreamCert: p.clientCert, UpstreamKey: p.clientKey}, idresv1.Outcome_OUTCOME_SERVER_FAILURE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rc.Roots = []string{auth.GRPCAddr()}
			rec := httpStartNode(t, node.Config{Logger: quietLog, Recursive: tt.rc})
			c, err := client.Dial(rec.GRPCAddr(), client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			resp, err := c.Resolve(ctxT(t), &idresv1.ResolveRequest{Identifier: "88.100/pump"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Outcome != tt.want {
				t.Errorf("code %v, want %v", resp.Outcome, tt.want)
			}
		})
	}
}

// TestUpstreamTLSConfigErrors: a node with an unusable upstream TLS
// setting does not start, and says which setting and why.
func TestUpstreamTLSConfigErrors(t *testing.T) {
	p := newSecPKI(t)
	tests := []struct {
		name string
		rc   node.RecursiveConfig
		// is, when set, must be in the error's chain; else want must be
		// in its text.
		is   error
		want string
	}{
		{"cert without key", node.RecursiveConfig{UpstreamCert: p.clientCert}, nil, "needs both its certificate file and its key file"},
		{"missing CA file", node.RecursiveConfig{UpstreamCA: p.caFile + ".missing"}, fs.ErrNotExist, ""},
		{"CA not PEM", node.RecursiveConfig{UpstreamCA: p.clientKey}, nil, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rc.Roots = []string{"127.0.0.1:1"}
			n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: quietLog, Recursive: tt.rc})
			if err == nil {
				n.Stop(ctxT(t))
				t.Fatal("node started")
			}
			if !strings.HasPrefix(err.Error(), "upstream TLS (--upstream-ca, --upstream-cert, --upstream-key): ") {
				t.Errorf("error %q does not name the upstream TLS flags", err)
			}
			switch {
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("error %q is not %v", err, tt.is)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q, want it to say %q", err, tt.want)
			}
		})
	}
}
