package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idres/idres/resolver/handleclient"
	"github.com/idres/idres/resolver/handlewire"
)

// nodePublicKeyPEM writes the public half of the node's Handle key
// (handle.key, PEM PKCS #8) as a PEM PUBLIC KEY file.
func nodePublicKeyPEM(t *testing.T, keyFile string) string {
	t.Helper()
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.(*rsa.PrivateKey).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "handle-pub.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHandleSiteInfoAndVerify: idres handle siteinfo writes the site file
// hdllib reads (the server's own site, or the HS_SITE a parent publishes
// with the child's key from idres delegate --handle-key), and idres
// resolve --handle --verify checks the node's signature with the key of
// such a file or, trusting on first use, of the server's own site.
func TestHandleSiteInfoAndVerify(t *testing.T) {
	n, at := handleCLINode(t)
	if code, _, errs := at("create", "88.100/PUMP-0042", "1:URL=https://example.com/p/42"); code != 0 {
		t.Fatalf("create: %s", errs)
	}
	addr, dir := n.HandleAddr(), t.TempDir()
	own, _ := (&handleclient.Client{Addr: addr}).SiteInfo(context.Background())

	// The server's own site.
	ownFile := filepath.Join(dir, "own.bin")
	code, _, errs := runCLI(t, nil, "--server", addr, "handle", "siteinfo", "-o", ownFile)
	if code != exitOK || !strings.Contains(errs, "RSA 2048-bit key SHA256:") {
		t.Fatalf("handle siteinfo: exit %d, stderr %s", code, errs)
	}
	if raw, _ := os.ReadFile(ownFile); !bytes.Equal(raw, handlewire.AppendSiteInfo(nil, &own)) {
		t.Fatal("the site file is not the server's site information")
	}

	// The HS_SITE the node, as the parent of 88.5, publishes with the key
	// the registrar was given: here the node's own, so its answers verify.
	if code, _, errs := at("prefix", "create", "88"); code != 0 {
		t.Fatalf("prefix create 88: %s", errs)
	}
	pub := nodePublicKeyPEM(t, n.HandleKeyPath())
	if code, _, errs := at("delegate", "88.5", "--grpc", "127.0.0.1:1", "--handle", addr, "--handle-key", pub); code != 0 {
		t.Fatalf("delegate --handle-key: %s", errs)
	}
	parentFile := filepath.Join(dir, "parent.bin")
	code, _, errs = runCLI(t, nil, "--server", addr, "handle", "siteinfo", "--prefix", "88.5", "-o", parentFile)
	if code != exitOK || !strings.Contains(errs, "HS_SITE") || !strings.Contains(errs, "of 0.NA/88.5") {
		t.Fatalf("handle siteinfo --prefix: exit %d, stderr %s", code, errs)
	}

	// A site whose server key is another one.
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	forged := own
	forged.Servers = append([]handlewire.ServerInfo(nil), own.Servers...)
	forged.Servers[0].PublicKey, _ = handlewire.AppendPublicKey(nil, &other.PublicKey)
	forgedFile := filepath.Join(dir, "forged.bin")
	os.WriteFile(forgedFile, handlewire.AppendSiteInfo(nil, &forged), 0o644)

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"site file of the server", []string{"--verify", "--site", ownFile}, exitOK,
			[]string{";; signature verified: RSA 2048-bit key SHA256:", "from site file " + ownFile, "1  URL"}, ""},
		{"site file from the parent, over UDP", []string{"--udp", "--verify", "--site", parentFile}, exitOK,
			[]string{";; signature verified", "over udp"}, ""},
		{"trust on first use", []string{"--verify"}, exitOK, []string{"from the server's own site (trust on first use)"}, ""},
		{"a denial is signed too", []string{"--verify", "--site", ownFile, "--index", "7"}, exitNegative,
			[]string{";; signature verified", "VALUES_NOT_FOUND"}, ""},
		{"another key", []string{"--verify", "--site", forgedFile}, exitServer, nil, "is not verified"},
		{"a site file that is not one", []string{"--verify", "--site", pub}, exitServer, nil, "site file"},
		{"--site without --verify", []string{"--site", ownFile}, exitUsage, nil, "--site goes with --verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"resolve", "--handle", addr, "88.100/PUMP-0042"}, tc.args...)
			code, out, errs := runCLI(t, nil, args...)
			if code != tc.code || !strings.Contains(errs, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q\n%s", code, errs, tc.code, tc.stderr, out)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			if tc.code == exitServer && strings.Contains(out, "https://example.com") {
				t.Errorf("an unverified answer was printed:\n%s", out)
			}
		})
	}
	if code, _, errs := runCLI(t, nil, "resolve", "--server", n.GRPCAddr(), "--verify", "88.100/PUMP-0042"); code != exitUsage || !strings.Contains(errs, "goes with --handle") {
		t.Fatalf("--verify without --handle: exit %d, %s", code, errs)
	}
}
