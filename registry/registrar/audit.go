package registrar

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// change describes one registry change for its audit record; the function
// passed to update fills it in from inside the transaction.
type change struct {
	// target names what changed: an identifier, a prefix, a credential id.
	target string
	// prefix is the folded prefix the target lies under, for subtree
	// filtering of the log.
	prefix string
	// before and after are the stored records (a proto.Message, or a value
	// encoded as JSON); nil when absent. Only their digests are kept.
	before, after any
}

// update is how every Registry change is written: fn runs in one write
// transaction and describes its change in ch; the audit record is appended
// in the same transaction, so a change without its record (or a record of
// a failed change) cannot be committed. The change is logged (never a
// secret) once committed.
func (s *Service) update(ctx context.Context, call string, fn func(tx *store.Tx, ch *change) error) error {
	var ch change
	err := s.store.Update(func(tx *store.Tx) error {
		ch = change{}
		if err := fn(tx, &ch); err != nil {
			return err
		}
		return appendAudit(ctx, tx, call, &ch)
	})
	if err != nil {
		return err
	}
	s.changed(ctx, call, ch.target)
	return nil
}

// appendAudit writes the audit record of ch inside tx. Calls that commit
// several changes in one transaction (Import) call it once per change.
func appendAudit(ctx context.Context, tx *store.Tx, call string, ch *change) error {
	rec := &idresv1.AuditRecord{
		Time:   timestamppb.New(tx.Now()),
		Call:   call,
		Target: ch.target,
		Prefix: ch.prefix,
	}
	if c := credential.FromContext(ctx); c != nil {
		rec.CredentialId = c.ID
	}
	var err error
	if rec.BeforeSha256, err = digest(ch.before); err != nil {
		return err
	}
	if rec.AfterSha256, err = digest(ch.after); err != nil {
		return err
	}
	return tx.AppendAudit(rec)
}

// digest is the SHA-256 of a record's deterministic encoding, or nil for
// an absent record.
func digest(rec any) ([]byte, error) {
	var raw []byte
	var err error
	switch r := rec.(type) {
	case nil:
		return nil, nil
	case proto.Message:
		if !r.ProtoReflect().IsValid() {
			return nil, nil
		}
		raw, err = proto.MarshalOptions{Deterministic: true}.Marshal(r)
	default:
		raw, err = json.Marshal(r)
	}
	if err != nil {
		return nil, fmt.Errorf("audit digest: %w", err)
	}
	sum := sha256.Sum256(raw)
	return sum[:], nil
}

// ListAudit returns audit records under a subtree the caller administers,
// oldest first. The log has no call that changes it.
func (s *Service) ListAudit(ctx context.Context, req *idresv1.ListAuditRequest) (*idresv1.ListAuditResponse, error) {
	c, err := credential.Caller(ctx)
	if err != nil {
		return nil, err
	}
	scope := c.Prefix
	if req.GetPrefix() != "" {
		if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
			return nil, err
		}
		scope = ident.Fold(req.GetPrefix())
	}
	if _, err := credential.Authorize(ctx, scope, credential.RoleAdmin); err != nil {
		return nil, err
	}
	limit, err := s.pageSize(req.GetLimit())
	if err != nil {
		return nil, err
	}
	after, err := decodeSeqToken(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	f := store.AuditFilter{Scope: scope, After: after}
	if req.GetSince() != nil {
		f.Since = req.GetSince().AsTime()
	}
	resp := &idresv1.ListAuditResponse{}
	// The store reads the records of the scope through its prefix index
	// and from since's place in the log, not the whole log (issue 19).
	err = s.store.View(func(tx *store.Tx) error {
		return tx.ListAudit(f, func(r *idresv1.AuditRecord) (bool, error) {
			if len(resp.Records) == limit {
				resp.NextPageToken = encodeSeqToken(resp.Records[limit-1].Seq)
				return false, nil
			}
			resp.Records = append(resp.Records, r)
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func encodeSeqToken(seq uint64) string { return encodeToken(fmt.Sprintf("audit:%d", seq)) }

func decodeSeqToken(tok string) (uint64, error) {
	raw, err := decodeToken(tok, "audit:")
	if err != nil || raw == "" {
		return 0, err
	}
	var seq uint64
	if _, err := fmt.Sscanf(raw, "audit:%d", &seq); err != nil {
		return 0, fmt.Errorf("%w: page_token is not one this node issued for this listing", fault.ErrInvalidArgument)
	}
	return seq, nil
}
