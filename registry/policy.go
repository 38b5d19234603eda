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
		return nil, fmt.Errorf("%w: credential %s covers %s with role %s; this call needs %s", auth.ErrPermission, c.ID, subtree(c.Prefix), c.Role, role)
	}
	return c, nil
}

func subtree(prefix string) string {
	if prefix == "" {
		return "the root"
	}
	return fmt.Sprintf("prefix %q", prefix)
}

// caller returns the authenticated credential, for calls whose target is
// only known after a lookup (lists, credential ids); they then filter with
// visible or check with authorize.
func caller(ctx context.Context) (*store.Credential, error) {
	c := auth.FromContext(ctx)
	if c == nil {
		return nil, auth.ErrUnauthenticated
	}
	return c, nil
}

// visible reports whether c may see records under the folded prefix in a
// listing with at least the given role. Records it may not see are
// skipped silently, so a listing tells nothing about foreign subtrees.
func visible(c *store.Credential, prefix, role string) bool {
	return auth.Covers(c, prefix) && roleRank[c.Role] >= roleRank[role]
}

// validRole reports whether role names a role.
func validRole(role string) bool { return roleRank[role] > 0 }
