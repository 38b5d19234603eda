// Package credential is the credential model of a node: tokens, what the
// store keeps of them, the roles, and the one policy that decides what a
// credential may touch (policy.go). It is part of the foundation: it knows
// no transport and no storage. Tokens are shown once and stored only as a
// SHA-256 of their secret half; nothing here logs a token.
package credential

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idres/idres/registry/ident"
)

// Roles, from most to least powerful.
const (
	RoleAdmin = "admin" // manage the subtree, issue sub-credentials, delegate
	RoleWrite = "write" // identifiers only
	RoleRead  = "read"  // read values with public_read=false
)

// AdminTokenFile is the file in the data directory that holds the node
// administrator's token after first start.
const AdminTokenFile = "admin.token"

var (
	// ErrUnauthenticated: no token, a malformed one, an unknown one, a wrong
	// secret, revoked or expired. Deliberately one error: no hint which.
	ErrUnauthenticated = errors.New("missing or invalid credential")
	// ErrPermission: authenticated, but not allowed on the target.
	ErrPermission = errors.New("permission denied")
)

// Credential is a stored credential. The secret itself is never stored.
type Credential struct {
	ID         string    `json:"id"`
	SecretHash []byte    `json:"secret_hash"` // SHA-256 of the secret
	Prefix     string    `json:"prefix"`      // folded subtree root; "" covers all
	Role       string    `json:"role"`
	Created    time.Time `json:"created"`
	Expires    time.Time `json:"expires,omitzero"`
	Revoked    time.Time `json:"revoked,omitzero"`
	IssuedBy   string    `json:"issued_by,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// Check verifies the secret of tok against c at time now: the hash must
// match in constant time, and c must be neither revoked nor expired.
// Every failure is ErrUnauthenticated, with no hint which.
func (c *Credential) Check(tok Token, now time.Time) error {
	if subtle.ConstantTimeCompare(c.SecretHash, Hash(tok.Secret)) != 1 {
		return ErrUnauthenticated
	}
	return c.Valid(now)
}

// Valid reports ErrUnauthenticated when c is revoked or expired at now.
// Long-lived calls ask it again while they run, so a revocation reaches
// them.
func (c *Credential) Valid(now time.Time) error {
	if !c.Revoked.IsZero() || !c.Expires.IsZero() && !now.Before(c.Expires) {
		return ErrUnauthenticated
	}
	return nil
}

// UnauthenticatedMessage is the one message of every Unauthenticated
// answer (REG-001): a missing token and a wrong one read the same, so a
// caller cannot probe which part of a token was wrong.
const UnauthenticatedMessage = "missing or invalid credential: send \"authorization: Bearer <token>\" with a valid token"

// Token is "<id>.<secret>": the id finds the record, the secret proves it.
type Token struct {
	ID     string
	Secret string
}

func (t Token) String() string { return t.ID + "." + t.Secret }

// NewToken draws a fresh random token.
func NewToken() (Token, error) {
	id := make([]byte, 8)
	secret := make([]byte, 32)
	if _, err := rand.Read(id); err != nil {
		return Token{}, fmt.Errorf("draw token id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return Token{}, fmt.Errorf("draw token secret: %w", err)
	}
	return Token{ID: hex.EncodeToString(id), Secret: base64.RawURLEncoding.EncodeToString(secret)}, nil
}

// ParseToken splits a token; it checks shape only.
func ParseToken(s string) (Token, error) {
	id, secret, ok := strings.Cut(strings.TrimSpace(s), ".")
	if !ok || len(id) != 16 || secret == "" {
		return Token{}, ErrUnauthenticated
	}
	return Token{ID: id, Secret: secret}, nil
}

// Hash is what the store keeps of a secret.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

type ctxKey struct{}

// WithCredential attaches the authenticated credential to ctx.
func WithCredential(ctx context.Context, c *Credential) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the authenticated credential, or nil.
func FromContext(ctx context.Context) *Credential {
	c, _ := ctx.Value(ctxKey{}).(*Credential)
	return c
}

// Covers reports whether c's subtree contains the folded prefix.
func Covers(c *Credential, prefix string) bool {
	return c != nil && ident.Covers(c.Prefix, prefix)
}

// CanReadPrivate reports whether c may see values with public_read=false
// under the folded prefix: any role within its subtree. The answer path
// asks it for every value it answers.
func CanReadPrivate(c *Credential, prefix string) bool {
	return Covers(c, prefix)
}
