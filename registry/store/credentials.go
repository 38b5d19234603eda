package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/idres/idres/registry/credential"
)

// VerifyToken checks a raw bearer token against the stored credentials
// at time now. Every kind of failure (malformed, unknown, wrong secret,
// revoked, expired) is credential.ErrUnauthenticated; other errors are
// the store's.
func (tx *Tx) VerifyToken(raw string, now time.Time) (*credential.Credential, error) {
	tok, err := credential.ParseToken(raw)
	if err != nil {
		return nil, credential.ErrUnauthenticated
	}
	c, err := tx.Credential(tok.ID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, credential.ErrUnauthenticated
		}
		return nil, fmt.Errorf("look up credential: %w", err)
	}
	if err := c.Check(tok, now); err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyToken is Tx.VerifyToken in a read transaction of its own.
func (s *Store) VerifyToken(raw string, now time.Time) (*credential.Credential, error) {
	var c *credential.Credential
	err := s.View(func(tx *Tx) error {
		var err error
		c, err = tx.VerifyToken(raw, now)
		return err
	})
	return c, err
}

// IssueCredential stores a new credential for the folded prefix subtree
// and returns its token, the only time the secret exists in clear.
func (tx *Tx) IssueCredential(prefix, role string, expires time.Time, issuedBy, note string) (credential.Token, *credential.Credential, error) {
	tok, err := credential.NewToken()
	if err != nil {
		return credential.Token{}, nil, err
	}
	c := &credential.Credential{
		ID: tok.ID, SecretHash: credential.Hash(tok.Secret), Prefix: prefix, Role: role,
		Created: tx.Now(), Expires: expires, IssuedBy: issuedBy, Note: note,
	}
	if err := tx.PutCredential(c); err != nil {
		return credential.Token{}, nil, err
	}
	return tok, c, nil
}
