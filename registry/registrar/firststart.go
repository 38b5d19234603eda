package registrar

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/store"
)

// auditFirstAdmin records the node administrator credential made at first
// start, so the audit log accounts for every credential (the registry's
// own changes are recorded by the registry package in the same way).
func auditFirstAdmin(tx *store.Tx, c *credential.Credential) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("audit first administrator: %w", err)
	}
	sum := sha256.Sum256(raw)
	return tx.AppendAudit(&idresv1.AuditRecord{
		Time: timestamppb.New(tx.Now()), Call: "FirstStart", Target: c.ID, Prefix: c.Prefix, AfterSha256: sum[:],
	})
}

// EnsureAdmin creates the node administrator credential on first start
// (when the store has no credentials) and writes its token to
// dir/admin.token with mode 0600. It returns the token file's path and
// whether it created it.
func EnsureAdmin(s *store.Store, dir string) (string, bool, error) {
	path := filepath.Join(dir, credential.AdminTokenFile)
	var tok credential.Token
	wrote := false
	err := s.Update(func(tx *store.Tx) error {
		// On etcd this reruns when another replica committed first, maybe
		// its own first credential: start each attempt clean.
		tok = credential.Token{}
		creds, err := tx.ListCredentials()
		if err != nil || len(creds) > 0 {
			return err
		}
		var c *credential.Credential
		tok, c, err = tx.IssueCredential("", credential.RoleAdmin, time.Time{}, "", "node administrator (first start)")
		if err != nil {
			return err
		}
		if err := auditFirstAdmin(tx, c); err != nil {
			return err
		}
		// Written inside the transaction: if the file cannot be written the
		// credential is rolled back and the next start tries again.
		wrote = true
		return writeSecretFile(path, tok.String()+"\n")
	})
	if wrote && (err != nil || tok.ID == "") {
		// The token an attempt wrote never committed.
		os.Remove(path)
	}
	if err != nil {
		return "", false, fmt.Errorf("create administrator credential: %w", err)
	}
	return path, tok.ID != "", nil
}

func writeSecretFile(path, content string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
