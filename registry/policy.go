package registry

import (
	"context"
	"fmt"

	"github.com/idres/idres/registry/auth"
	"github.com/idres/idres/registry/store"
)

var roleRank = map[string]int{auth.RoleRead: 1, auth.RoleWrite: 2, auth.RoleAdmin: 3}

// authorize is the one place that decides whether the caller may act on
// the folded prefix with at least the given role. The error names the
// subtree the credential covers, never anything about the target's data.
func authorize(ctx context.Context, prefix, role string) (*store.Credential, error) {
	c := auth.FromContext(ctx)
	if c == nil {
		return nil, auth.ErrUnauthenticated
	}
	if !auth.Covers(c, prefix) {
		return nil, fmt.Errorf("%w: credential %s covers %s, not %s", auth.ErrPermission, c.ID, subtree(c.Prefix), subtree(prefix))
	}
	if roleRank[c.Role] < roleRank[role] {
		return nil, fmt.Errorf("%w: credential %s has role %s; this call needs %s", auth.ErrPermission, c.ID, c.Role, role)
	}
	return c, nil
}

func subtree(prefix string) string {
	if prefix == "" {
		return "the root"
	}
	return fmt.Sprintf("prefix %q", prefix)
}
