package auth

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
)

// auditFirstAdmin records the node administrator credential made at first
// start, so the audit log accounts for every credential (the registry's
// own changes are recorded by the registry package in the same way).
func auditFirstAdmin(tx *store.Tx, c *store.Credential) error {
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("audit first administrator: %w", err)
	}
	sum := sha256.Sum256(raw)
	return tx.AppendAudit(&idresv1.AuditRecord{
		Time: timestamppb.New(tx.Now()), Call: "FirstStart", Target: c.ID, Prefix: c.Prefix, AfterSha256: sum[:],
	})
}
