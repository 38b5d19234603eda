package registrar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// maxNoteLen bounds a credential's free-text note.
const maxNoteLen = 1024

// errNoChange tells update that fn found nothing to change: the
// transaction is dropped and no audit record is written.
var errNoChange = errors.New("no change")

// IssueCredential creates a credential for a subtree within the caller's
// own. The token is in the response only; the store keeps a SHA-256 of its
// secret, and neither is logged.
func (s *Service) IssueCredential(ctx context.Context, req *idresv1.IssueCredentialRequest) (*idresv1.IssueCredentialResponse, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return nil, err
	}
	prefix := ident.Fold(req.GetPrefix())
	c, err := credential.Authorize(ctx, prefix, credential.RoleAdmin)
	if err != nil {
		return nil, err
	}
	if !credential.ValidRole(req.GetRole()) {
		return nil, fmt.Errorf("%w: role %q: want admin, write or read", fault.ErrInvalidArgument, req.GetRole())
	}
	note := req.GetNote()
	if len(note) > maxNoteLen || !utf8.ValidString(note) || strings.ContainsFunc(note, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, fmt.Errorf("%w: note must be at most %d bytes of UTF-8 without control characters", fault.ErrInvalidArgument, maxNoteLen)
	}
	var expires time.Time
	if req.GetExpires() != nil {
		if err := req.GetExpires().CheckValid(); err != nil {
			return nil, fmt.Errorf("%w: expires: %v", fault.ErrInvalidArgument, err)
		}
		expires = req.GetExpires().AsTime().UTC()
	}
	// A credential never outlives the one that issued it.
	if !c.Expires.IsZero() && (expires.IsZero() || expires.After(c.Expires)) {
		expires = c.Expires
	}
	var tok credential.Token
	var cred *credential.Credential
	err = s.update(ctx, "IssueCredential", func(tx *store.Tx, ch *change) error {
		if !expires.IsZero() && !expires.After(tx.Now()) {
			return fmt.Errorf("%w: expires %s is not in the future", fault.ErrInvalidArgument, expires.Format(time.RFC3339))
		}
		var err error
		tok, cred, err = tx.IssueCredential(prefix, req.GetRole(), expires, c.ID, note)
		if err != nil {
			return err
		}
		ch.target, ch.prefix, ch.after = cred.ID, cred.Prefix, cred
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &idresv1.IssueCredentialResponse{Credential: credentialView(cred), Token: tok.String()}, nil
}

// ListCredentials lists the credentials within a subtree the caller
// administers, in id order. Secrets and their hashes are never shown.
func (s *Service) ListCredentials(ctx context.Context, req *idresv1.ListCredentialsRequest) (*idresv1.ListCredentialsResponse, error) {
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
	size, err := s.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(req.GetPageToken(), "cred:")
	if err != nil {
		return nil, err
	}
	after = strings.TrimPrefix(after, "cred:")
	resp := &idresv1.ListCredentialsResponse{}
	err = s.store.View(func(tx *store.Tx) error {
		all, err := tx.ListCredentials()
		if err != nil {
			return err
		}
		for _, cr := range all {
			if cr.ID <= after || !ident.Covers(scope, cr.Prefix) || !cr.Revoked.IsZero() && !req.GetIncludeRevoked() {
				continue
			}
			if len(resp.Credentials) == size {
				resp.NextPageToken = encodeToken("cred:" + resp.Credentials[size-1].Id)
				break
			}
			resp.Credentials = append(resp.Credentials, credentialView(cr))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// RevokeCredential revokes a credential within the caller's subtree; the
// next call made with it is Unauthenticated. An id that does not exist and
// one outside the caller's subtree get the same PermissionDenied, so ids
// cannot be probed. Revoking a revoked credential changes nothing.
func (s *Service) RevokeCredential(ctx context.Context, req *idresv1.RevokeCredentialRequest) (*idresv1.Credential, error) {
	c, err := credential.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := credential.Authorize(ctx, c.Prefix, credential.RoleAdmin); err != nil {
		return nil, err
	}
	id := req.GetId()
	if len(id) > 64 || !utf8.ValidString(id) {
		return nil, fmt.Errorf("%w: id is not a credential id", fault.ErrInvalidArgument)
	}
	var target *credential.Credential
	err = s.update(ctx, "RevokeCredential", func(tx *store.Tx, ch *change) error {
		var err error
		target, err = tx.Credential(id)
		if errors.Is(err, store.ErrNotFound) || err == nil && !credential.Visible(c, target.Prefix, credential.RoleAdmin) {
			return fmt.Errorf("%w: credential %s covers %s, which holds no credential %q", credential.ErrPermission, c.ID, credential.Subtree(c.Prefix), id)
		}
		if err != nil {
			return err
		}
		if !target.Revoked.IsZero() {
			return errNoChange
		}
		if target.Prefix == "" && target.Role == credential.RoleAdmin {
			if err := keepOneRootAdmin(tx, target.ID); err != nil {
				return err
			}
		}
		ch.target, ch.prefix, ch.before = target.ID, target.Prefix, *target
		target.Revoked = tx.Now()
		ch.after = target
		return tx.PutCredential(target)
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return nil, err
	}
	return credentialView(target), nil
}

// keepOneRootAdmin refuses to revoke the last usable node administrator
// credential: nobody could manage the node through the API afterwards.
func keepOneRootAdmin(tx *store.Tx, revoking string) error {
	all, err := tx.ListCredentials()
	if err != nil {
		return err
	}
	for _, c := range all {
		if c.ID != revoking && c.Prefix == "" && c.Role == credential.RoleAdmin && c.Revoked.IsZero() && (c.Expires.IsZero() || c.Expires.After(tx.Now())) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is the last node administrator credential; issue another first", fault.ErrFailedPrecondition, revoking)
}

func credentialView(c *credential.Credential) *idresv1.Credential {
	v := &idresv1.Credential{
		Id: c.ID, Prefix: c.Prefix, Role: c.Role, Created: timestamppb.New(c.Created),
		IssuedBy: c.IssuedBy, Note: c.Note,
	}
	if !c.Expires.IsZero() {
		v.Expires = timestamppb.New(c.Expires)
	}
	if !c.Revoked.IsZero() {
		v.Revoked = timestamppb.New(c.Revoked)
	}
	return v
}
