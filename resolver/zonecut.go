package resolver

import (
	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/store"
)

// ZoneCut finds where a folded prefix is answered from, by the same rule
// (HIER-001) as Authority: the prefix and its ancestors, deepest first,
// stopping at the first that is held here (held) or delegated from here
// (deleg); both nil when neither. Front ends that walk names themselves,
// like the DNS bridge, use it so that every front end cuts zones alike.
func ZoneCut(tx *store.Tx, prefix string) (held *idresv1.Prefix, deleg *idresv1.Delegation, err error) {
	return zoneCut(tx, prefix)
}
