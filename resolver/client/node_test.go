package client_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/backup"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/registrar"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver/answer"
	"github.com/idres/idres/resolver/cache"
	"github.com/idres/idres/resolver/grpcserver"
	"github.com/idres/idres/resolver/recursive"
)

// testNode is a real node on loopback, assembled as cmd/idresd/node does
// but with only what the client talks to: a bbolt store, the four idres.v1
// services, and authentication closed by default. It takes no
// *testing.T so that Example functions can start one too.
type testNode struct {
	Addr  string
	Admin string // node administrator token

	srv *grpc.Server
	st  *store.Store
	dir string

	mu      sync.Mutex
	imports []*idresv1.ImportRequest // Import messages as the node received them
}

// nodeOptions shape a testNode.
type nodeOptions struct {
	// TLS, when set, is the server's TLS configuration.
	TLS *tls.Config
}

func startNode(o nodeOptions) (*testNode, error) {
	dir, err := os.MkdirTemp("", "idres-client-test-")
	if err != nil {
		return nil, err
	}
	n := &testNode{dir: dir}
	if n.st, err = store.Open(dir, store.Options{}); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	err = n.st.Update(func(tx *store.Tx) error {
		tok, _, err := tx.IssueCredential("", credential.RoleAdmin, time.Time{}, "", "client test")
		n.Admin = tok.String()
		return err
	})
	if err != nil {
		n.Stop()
		return nil, fmt.Errorf("issue admin credential: %w", err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		n.Stop()
		return nil, err
	}
	n.Addr = lis.Addr().String()
	authn := &grpcserver.Authenticator{Verify: n.st.VerifyToken, Now: time.Now}
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(authn.Unary(), grpcserver.StatusUnary()),
		grpc.ChainStreamInterceptor(authn.Stream(), n.recordImports, grpcserver.StatusStream()),
	}
	if o.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(o.TLS)))
	}
	n.srv = grpc.NewServer(opts...)
	authority := &answer.Authority{Store: n.st, Self: &idresv1.Delegation{Grpc: []string{n.Addr}}}
	idresv1.RegisterResolverServer(n.srv, grpcserver.NewService(authority))
	idresv1.RegisterRegistryServer(n.srv, registrar.New(n.st, slog.New(slog.NewTextHandler(io.Discard, nil))))
	idresv1.RegisterAdminServer(n.srv, &recursive.AdminService{Cache: cache.New(100, time.Now)})
	idresv1.RegisterBackupServer(n.srv, backup.New(n.st))
	go n.srv.Serve(lis)
	return n, nil
}

// Stop stops the server and removes the store.
func (n *testNode) Stop() {
	if n.srv != nil {
		n.srv.Stop()
	}
	if n.st != nil {
		n.st.Close()
	}
	os.RemoveAll(n.dir)
}

// received returns the Import messages the node has received.
func (n *testNode) received() []*idresv1.ImportRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*idresv1.ImportRequest(nil), n.imports...)
}

// recordImports keeps every Import message as it reaches the node, so a
// test sees the order and the framing the client chose on the wire.
func (n *testNode) recordImports(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if info.FullMethod != idresv1.Registry_Import_FullMethodName {
		return handler(srv, ss)
	}
	return handler(srv, &recordingStream{ServerStream: ss, n: n})
}

type recordingStream struct {
	grpc.ServerStream
	n *testNode
}

func (r *recordingStream) RecvMsg(m any) error {
	err := r.ServerStream.RecvMsg(m)
	if req, ok := m.(*idresv1.ImportRequest); ok && err == nil {
		r.n.mu.Lock()
		r.n.imports = append(r.n.imports, req)
		r.n.mu.Unlock()
	}
	return err
}

// testPKI is a CA, a server certificate for 127.0.0.1 and a client
// certificate, written as PEM files in dir.
type testPKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey string
}

func newPKI(dir string) (*testPKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idres client test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p := &testPKI{CA: filepath.Join(dir, "ca.pem")}
	if err := writePEM(p.CA, "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	issue := func(serial int64, name string, usage x509.ExtKeyUsage, ips []net.IP) (string, string, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return "", "", err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return "", "", err
		}
		cert, keyFile := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
		if err := writePEM(cert, "CERTIFICATE", der); err != nil {
			return "", "", err
		}
		return cert, keyFile, writePEM(keyFile, "EC PRIVATE KEY", keyDER)
	}
	if p.ServerCert, p.ServerKey, err = issue(2, "server", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)}); err != nil {
		return nil, err
	}
	if p.ClientCert, p.ClientKey, err = issue(3, "client", x509.ExtKeyUsageClientAuth, nil); err != nil {
		return nil, err
	}
	return p, nil
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
