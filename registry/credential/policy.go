package credential

import (
	"context"
	"fmt"
)

// roleRank orders the roles: a role may do everything a lower one may.
var roleRank = map[string]int{RoleRead: 1, RoleWrite: 2, RoleAdmin: 3}

// Authorize is the one place that decides whether the caller in ctx may
// act on the folded prefix with at least the given role. Every service
// asks it (Registry, Backup, Admin, Watch, Import) before any lookup. The
// error names the subtree the credential covers, never anything about the
// target's data.
func Authorize(ctx context.Context, prefix, role string) (*Credential, error) {
	c := FromContext(ctx)
	if c == nil {
		return nil, ErrUnauthenticated
	}
	if !Covers(c, prefix) {
		return nil, fmt.Errorf("%w: credential %s covers %s, not %s", ErrPermission, c.ID, Subtree(c.Prefix), Subtree(prefix))
	}
	if roleRank[c.Role] < roleRank[role] {
		return nil, fmt.Errorf("%w: credential %s covers %s with role %s; this call needs %s", ErrPermission, c.ID, Subtree(c.Prefix), c.Role, role)
	}
	return c, nil
}

// Subtree names a credential's subtree in messages: "the root" or the
// quoted prefix.
func Subtree(prefix string) string {
	if prefix == "" {
		return "the root"
	}
	return fmt.Sprintf("prefix %q", prefix)
}

// Caller returns the authenticated credential, for calls whose target is
// only known after a lookup (lists, credential ids); they then filter with
// Visible or check with Authorize.
func Caller(ctx context.Context) (*Credential, error) {
	c := FromContext(ctx)
	if c == nil {
		return nil, ErrUnauthenticated
	}
	return c, nil
}

// Visible reports whether c may see records under the folded prefix in a
// listing with at least the given role. Records it may not see are
// skipped silently, so a listing tells nothing about foreign subtrees.
func Visible(c *Credential, prefix, role string) bool {
	return Covers(c, prefix) && roleRank[c.Role] >= roleRank[role]
}

// ValidRole reports whether role names a role.
func ValidRole(role string) bool { return roleRank[role] > 0 }
