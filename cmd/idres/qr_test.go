package main

import (
	"context"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idres/idres/cmd/idresd/node"
)

// scanQR decodes a PNG with zbarimg (Debian zbar-tools, installed by
// .ci/run): the test reads the label as a scanner would.
func scanQR(t *testing.T, file string) string {
	t.Helper()
	if _, err := exec.LookPath("zbarimg"); err != nil {
		t.Skip("zbarimg not installed (apt-get install zbar-tools)")
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", "-Sbinary", file).Output()
	if err != nil {
		t.Fatalf("zbarimg %s: %v", file, err)
	}
	return strings.TrimRight(string(out), "\n")
}

// TestQRWithBase: the PNG scans back to the landing page URL, with the
// identifier percent-encoded.
func TestQRWithBase(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ id, base, want string }{
		{"88.100/pump-0001", "https://id.example.org", "https://id.example.org/88.100/pump-0001"},
		{"88.100/泵 1/a?b#c", "https://id.example.org/gw/", "https://id.example.org/gw/88.100/%E6%B3%B5%201/a%3Fb%23c"},
	}
	for i, tt := range tests {
		file := filepath.Join(dir, "label"+string(rune('a'+i))+".png")
		code, out, errs := runCLI(t, nil, "qr", tt.id, "--base", tt.base, "--out", file, "--level", "q")
		if code != exitOK || out != file+"\t"+tt.want+"\n" {
			t.Fatalf("qr %s: %d %q %q", tt.id, code, out, errs)
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
		if b := img.Bounds(); b.Dx() != b.Dy() || b.Dx() > 512 || b.Dx() < 256 {
			t.Errorf("image %v, want a square of at most 512 px", b)
		}
		if got := scanQR(t, file); got != tt.want {
			t.Errorf("scanned %q, want %q", got, tt.want)
		}
	}
}

// TestQRDiscoversGateway: without --base, idres asks the node for
// 0.NA/<prefix>'s IDRES_HTTP value; scanning the label and following it
// lands on the identifier's URL value.
func TestQRDiscoversGateway(t *testing.T) {
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	tok, err := os.ReadFile(n.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	at := func(args ...string) (int, string, string) {
		return runCLI(t, nil, append([]string{"--server", n.GRPCAddr(), "--token", strings.TrimSpace(string(tok))}, args...)...)
	}
	if code, _, errs := at("prefix", "create", "88.100"); code != 0 {
		t.Fatalf("prefix create: %s", errs)
	}
	if code, _, errs := at("create", "88.100/pump 7", "URL=https://acme.example/pumps/7"); code != 0 {
		t.Fatalf("create: %s", errs)
	}
	file := filepath.Join(t.TempDir(), "pump7.png")
	if code, out, errs := at("qr", "88.100/pump 7", "--out", file); code != exitOK {
		t.Fatalf("qr: %d %q %q", code, out, errs)
	}
	link := scanQR(t, file)
	if link != n.HTTPURL()+"/88.100/pump%207" {
		t.Fatalf("scanned %q, want the node's page %s/88.100/pump%%207", link, n.HTTPURL())
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://acme.example/pumps/7" {
		t.Errorf("scanned link answers %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestQRErrors: bad input is a usage error; a prefix without a gateway is
// a negative answer that says to pass --base.
func TestQRErrors(t *testing.T) {
	n, err := node.Start(node.Config{DataDir: t.TempDir(), GRPCAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(context.Background()) })
	tests := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"qr"}, exitUsage, "want exactly one identifier"},
		{[]string{"qr", "88..1/x", "--base", "http://x"}, exitUsage, "prefix at byte 3"},
		{[]string{"qr", "88.1/x", "--base", "ftp://x"}, exitUsage, "absolute http or https URL"},
		{[]string{"qr", "88.1/x", "--base", "http://x", "--level", "Z"}, exitUsage, "want L, M, Q or H"},
		{[]string{"qr", "88.1/x", "--base", "http://x", "--size", "10", "--out", filepath.Join(t.TempDir(), "x.png")}, exitUsage, "too small"},
		{[]string{"--server", n.GRPCAddr(), "qr", "88.1/x"}, exitNegative, "pass --base URL"},
	}
	for _, tt := range tests {
		code, _, errs := runCLI(t, nil, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.wantErr) {
			t.Errorf("idres %v: %d %q, want %d and %q", tt.args, code, errs, tt.code, tt.wantErr)
		}
	}
}
