package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/handleclient"
	"github.com/idres/idres/resolver/handlewire"
)

// Signed answers: a request with the certify flag is answered with a
// signature by the node's Handle key, whose public half the node
// publishes in its own HS_SITE (the site information it answers and the
// HS_SITE of its prefix handles).

// nodeSite is the node's own site and the key in it, asked over the
// Handle protocol.
func nodeSite(t *testing.T, n *node.Node) (handlewire.SiteInfo, []byte) {
	t.Helper()
	site, err := (&handleclient.Client{Addr: n.HandleAddr()}).SiteInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key := handleclient.SiteKey(&site)
	if key == nil {
		t.Fatal("the node's site names no server key")
	}
	return site, key
}

// siteFile writes site as a siteinfo.bin, with its server key replaced
// by key when key is not nil.
func siteFile(t *testing.T, site handlewire.SiteInfo, key []byte) string {
	t.Helper()
	if key != nil {
		site.Servers = append([]handlewire.ServerInfo(nil), site.Servers...)
		site.Servers[0].PublicKey = key
	}
	path := filepath.Join(t.TempDir(), "siteinfo.bin")
	if err := os.WriteFile(path, handlewire.AppendSiteInfo(nil, &site), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func otherKey(t *testing.T) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := handlewire.AppendPublicKey(nil, &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// TestNodePublishesItsHandleKey: the key in the site information is the
// one in the data directory's handle.key, created 0600 on first start;
// the node's prefix handle publishes the same key in its HS_SITE.
func TestNodePublishesItsHandleKey(t *testing.T) {
	n := startHandleNode(t, node.Config{})
	hold(t, n, "88.100.1", nil)
	_, key := nodeSite(t, n)

	path := n.HandleKeyPath()
	if filepath.Base(path) != node.HandleKeyFile {
		t.Fatalf("key file %s, want %s in the data directory", path, node.HandleKeyFile)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
	}
	if want := publicOf(t, path); !bytes.Equal(key, want) {
		t.Fatalf("site key\n%x\nis not the key in %s\n%x", key, path, want)
	}

	a, err := (&handleclient.Client{Addr: n.HandleAddr()}).Resolve(context.Background(), "0.NA/88.100.1", []string{"HS_SITE"}, nil)
	if err != nil || a.RC != handlewire.RCSuccess || len(a.Values) != 1 {
		t.Fatalf("0.NA/88.100.1: %+v, %v", a, err)
	}
	s, err := handlewire.DecodeSiteInfo(a.Values[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(handleclient.SiteKey(&s), key) {
		t.Fatal("the prefix handle's HS_SITE carries another key than the site information")
	}
}

// TestNodeHandleKeyFromFile: idresd --handle-key FILE signs with that key
// and writes none of its own.
func TestNodeHandleKeyFromFile(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	file := filepath.Join(t.TempDir(), "handle.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n, err := node.Start(node.Config{DataDir: dir, GRPCAddr: "127.0.0.1:0", HandleAddr: "127.0.0.1:0", HandleKey: file, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	_, key := nodeSite(t, n)
	want, _ := handlewire.AppendPublicKey(nil, &k.PublicKey)
	if !bytes.Equal(key, want) || n.HandleKeyPath() != file {
		t.Fatalf("the site does not carry the --handle-key key (key file %s)", n.HandleKeyPath())
	}
	if _, err := os.Stat(filepath.Join(dir, node.HandleKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key was generated beside --handle-key: %v", err)
	}
}

// publicOf reads a PEM PKCS #8 RSA private key file and returns its
// public half in the Handle encoding.
func publicOf(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := handlewire.AppendPublicKey(nil, &k.(*rsa.PrivateKey).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// TestHdlResolveVerifiesSignedAnswers: hdllib 7.3.1 asks with the certify
// flag and verifies the node's signature with the key of a site file
// (hdl-resolve -c), over TCP and UDP, for an answer and for a denial; a
// site file with another key makes it refuse the answer.
func TestHdlResolveVerifiesSignedAnswers(t *testing.T) {
	handleClient(t)
	n := startHandleNode(t, node.Config{})
	hold(t, n, "88.100.1", map[string][]*idresv1.Value{"88.100.1/PUMP-0042": pumpValues()})
	site, _ := nodeSite(t, n)
	good, tampered := siteFile(t, site, nil), siteFile(t, site, otherKey(t))
	host, port, err := net.SplitHostPort(n.HandleAddr())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"answer over TCP", []string{"-c", good, host, port, "88.100.1/PUMP-0042"}, 0, "rc=1 (SUCCESS) signature=verified"},
		{"answer over UDP in protocol 2.1", []string{"-u", "-V", "2.1", "-c", good, host, port, "88.100.1/PUMP-0042"}, 0, "response v2.1 rc=1 (SUCCESS) signature=verified"},
		{"denial", []string{"-c", good, host, port, "88.100.1/PUMP-9999"}, 1, "rc=100 (HANDLE NOT FOUND) signature=verified"},
		{"another key", []string{"-c", tampered, host, port, "88.100.1/PUMP-0042"}, 3, "MISSING_OR_INVALID_SIGNATURE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := hdlRun(t, "hdl-resolve", c.args...)
			if code != c.code || !strings.Contains(stderr, c.stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q\n%s", code, stderr, c.code, c.stderr, stdout)
			}
		})
	}
}

// TestHandleClientVerifiesNode: the Go client checks the node's
// signatures with the key of its site and refuses them with another.
func TestHandleClientVerifiesNode(t *testing.T) {
	n := startHandleNode(t, node.Config{})
	hold(t, n, "88.100.1", map[string][]*idresv1.Value{"88.100.1/PUMP-0042": pumpValues()})
	_, key := nodeSite(t, n)
	for _, udp := range []bool{false, true} {
		c := &handleclient.Client{Addr: n.HandleAddr(), UDP: udp, Certify: true}
		for _, id := range []string{"88.100.1/PUMP-0042", "88.100.1/PUMP-9999"} {
			a, err := c.Resolve(context.Background(), id, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Verify(key); err != nil {
				t.Fatalf("%s (udp %v, %s): %v", id, udp, handlewire.RCName(a.RC), err)
			}
			if err := a.Verify(otherKey(t)); !errors.Is(err, handlewire.ErrSignature) {
				t.Fatalf("%s with another key: %v, want ErrSignature", id, err)
			}
		}
	}
	// Unasked, the node does not sign.
	a, err := (&handleclient.Client{Addr: n.HandleAddr()}).Resolve(context.Background(), "88.100.1/PUMP-0042", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.Credential != nil {
		t.Fatalf("an answer without the certify flag carries a credential of %d bytes", len(a.Credential))
	}
}
