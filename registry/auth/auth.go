// Package auth authenticates registry callers by bearer token and decides
// what a credential may touch. Tokens are shown once and stored only as a
// SHA-256 of their secret half; nothing here logs a token.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
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

// Verify checks a token against the store at time now.
func Verify(tx *store.Tx, raw string, now time.Time) (*store.Credential, error) {
	tok, err := ParseToken(raw)
	if err != nil {
		return nil, ErrUnauthenticated
	}
	c, err := tx.Credential(tok.ID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, ErrUnauthenticated
		}
		return nil, fmt.Errorf("look up credential: %w", err)
	}
	if subtle.ConstantTimeCompare(c.SecretHash, Hash(tok.Secret)) != 1 {
		return nil, ErrUnauthenticated
	}
	if !c.Revoked.IsZero() || !c.Expires.IsZero() && !now.Before(c.Expires) {
		return nil, ErrUnauthenticated
	}
	return c, nil
}

// Issue stores a new credential for the folded prefix subtree and returns
// its token, the only time the secret exists in clear.
func Issue(tx *store.Tx, prefix, role string, expires time.Time, issuedBy, note string) (Token, *store.Credential, error) {
	tok, err := NewToken()
	if err != nil {
		return Token{}, nil, err
	}
	c := &store.Credential{
		ID: tok.ID, SecretHash: Hash(tok.Secret), Prefix: prefix, Role: role,
		Created: tx.Now(), Expires: expires, IssuedBy: issuedBy, Note: note,
	}
	if err := tx.PutCredential(c); err != nil {
		return Token{}, nil, err
	}
	return tok, c, nil
}

// EnsureAdmin creates the node administrator credential on first start
// (when the store has no credentials) and writes its token to
// dir/admin.token with mode 0600. It returns the token file's path and
// whether it created it.
func EnsureAdmin(s *store.Store, dir string) (string, bool, error) {
	path := filepath.Join(dir, AdminTokenFile)
	var tok Token
	wrote := false
	err := s.Update(func(tx *store.Tx) error {
		// On etcd this reruns when another replica committed first, maybe
		// its own first credential: start each attempt clean.
		tok = Token{}
		creds, err := tx.ListCredentials()
		if err != nil || len(creds) > 0 {
			return err
		}
		var c *store.Credential
		tok, c, err = Issue(tx, "", RoleAdmin, time.Time{}, "", "node administrator (first start)")
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

// BearerFromContext returns the bearer token in incoming gRPC metadata, or "".
func BearerFromContext(ctx context.Context) string {
	// ValueFromIncomingContext, unlike FromIncomingContext, copies no
	// map: this runs on every call, most of them anonymous resolves.
	for _, v := range metadata.ValueFromIncomingContext(ctx, "authorization") {
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			return strings.TrimSpace(v[7:])
		}
	}
	return ""
}

type ctxKey struct{}

// WithCredential attaches the authenticated credential to ctx.
func WithCredential(ctx context.Context, c *store.Credential) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the authenticated credential, or nil.
func FromContext(ctx context.Context) *store.Credential {
	c, _ := ctx.Value(ctxKey{}).(*store.Credential)
	return c
}

// Covers reports whether c's subtree contains the folded prefix.
func Covers(c *store.Credential, prefix string) bool {
	return c != nil && ident.Covers(c.Prefix, prefix)
}

// CanReadPrivate reports whether c may see values with public_read=false
// under the folded prefix: any role within its subtree.
func CanReadPrivate(c *store.Credential, prefix string) bool {
	return Covers(c, prefix)
}
