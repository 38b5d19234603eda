package node

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/resolver/handlewire"
)

// HandleKeyFile is the node's Handle signing key in its data directory,
// created on the first start with the Handle front end unless
// Config.HandleKey names another file.
const HandleKeyFile = "handle.key"

// handleKeyBits is the size of a generated key: what HANDLE.NET servers
// generate, and what hdllib 7.3.1 verifies (SHA1withRSA).
const handleKeyBits = 2048

// handleSigner is the node's Handle signing key: it signs answers to
// requests with the certify flag, and its public half goes into the
// node's own HS_SITE.
type handleSigner struct {
	key *rsa.PrivateKey
	// public is the key in the Handle public key encoding.
	public []byte
	// path is the key's file; created says this start wrote it.
	path    string
	created bool
}

// loadHandleKey reads the node's Handle signing key from explicit (PEM
// PKCS #8, or PKCS #1, RSA) or, when explicit is "", from
// dataDir/HandleKeyFile, generating that file (mode 0600) when it does
// not exist. The key itself is never logged.
func loadHandleKey(explicit, dataDir string) (*handleSigner, error) {
	path := explicit
	if path == "" {
		path = filepath.Join(dataDir, HandleKeyFile)
	}
	raw, err := os.ReadFile(path)
	created := false
	switch {
	case errors.Is(err, fs.ErrNotExist) && explicit == "":
		if raw, err = createHandleKey(path); err != nil {
			return nil, err
		}
		created = true
	case err != nil:
		return nil, fmt.Errorf("handle key: %w", err)
	}
	key, err := parseHandleKey(raw)
	if err != nil {
		return nil, fmt.Errorf("handle key %s: %w", path, err)
	}
	public, err := handlewire.AppendPublicKey(nil, &key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("handle key %s: %w", path, err)
	}
	if _, err := handlewire.DecodePublicKey(public); err != nil {
		return nil, fmt.Errorf("handle key %s: %w", path, err)
	}
	return &handleSigner{key: key, public: public, path: path, created: created}, nil
}

// parseHandleKey reads the first PEM block of raw as an RSA private key.
func parseHandleKey(raw []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("no PEM block (want PRIVATE KEY, PKCS #8 RSA)")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T key: Handle clients (hdllib 7.3) verify RSA signatures", k)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	}
	return nil, fmt.Errorf("PEM block %q, want PRIVATE KEY", block.Type)
}

// createHandleKey generates an RSA key and writes it to path as PEM
// PKCS #8, mode 0600, through a temporary file renamed into place, so a
// crash leaves either no key or a whole one. It never replaces a file.
func createHandleKey(path string) ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, handleKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate handle key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode handle key: %w", err)
	}
	raw := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("handle key: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write handle key: %w", err)
	}
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Link, not rename: never replace a key another start wrote.
		err = os.Link(tmp, path)
	}
	os.Remove(tmp)
	if err != nil {
		return nil, fmt.Errorf("write handle key %s: %w", path, err)
	}
	return raw, nil
}

// Credential signs a response's header and body: the
// handleserver.Config.Credential of the node.
func (s *handleSigner) Credential(v handlewire.Version, signed []byte) ([]byte, error) {
	return handlewire.Sign(s.key, v, signed)
}

// loadHandleKey loads the node's Handle key (Config.HandleKey, or the
// data directory's, created on first start) and publishes its public
// half in self, the node's own delegation: every HS_SITE of the node's
// prefix handles then carries it.
func (n *Node) loadHandleKey(self *idresv1.Delegation) error {
	s, err := loadHandleKey(n.cfg.HandleKey, n.cfg.DataDir)
	if err != nil {
		return err
	}
	if s.created {
		n.log.Info("created the node's Handle signing key; its public half is in the node's HS_SITE", "file", s.path)
	}
	n.handleKey = s
	self.HandlePublicKey = s.public
	return nil
}

// HandleKeyPath is the file of the key the Handle server signs with, ""
// when the Handle server is not running.
func (n *Node) HandleKeyPath() string {
	if n.handleKey == nil {
		return ""
	}
	return n.handleKey.path
}
