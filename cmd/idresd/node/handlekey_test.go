package node

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/idres/idres/resolver/handlewire"
)

// The node's Handle key: generated once into the data directory (0600),
// the same key on every later start, or read from the file given.
func TestHandleKeyFirstStartAndReuse(t *testing.T) {
	dir := t.TempDir()
	first, err := loadHandleKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, HandleKeyFile)
	if !first.created || first.path != path {
		t.Fatalf("first start: created %v path %s", first.created, first.path)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	again, err := loadHandleKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.created || !bytes.Equal(again.public, first.public) {
		t.Fatal("second start made another key")
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}

	// The signatures verify with the published key.
	signed := []byte("header and body")
	cred, err := first.Credential(handlewire.Latest, signed)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := handlewire.DecodePublicKey(first.public)
	if err != nil {
		t.Fatal(err)
	}
	if err := handlewire.Verify(pub, signed, cred); err != nil {
		t.Fatal(err)
	}

	// An explicit file, in PKCS #1 too; it is never created.
	pkcs1 := filepath.Join(t.TempDir(), "k.pem")
	os.WriteFile(pkcs1, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(first.key)}), 0o600)
	given, err := loadHandleKey(pkcs1, t.TempDir())
	if err != nil || !bytes.Equal(given.public, first.public) || given.created {
		t.Fatalf("explicit key: %v", err)
	}
	if _, err := loadHandleKey(filepath.Join(dir, "missing.pem"), t.TempDir()); err == nil {
		t.Fatal("a missing explicit key file was accepted")
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), 0o600)
	if _, err := loadHandleKey(bad, ""); err == nil {
		t.Fatal("a public key was accepted as the signing key")
	}
}
