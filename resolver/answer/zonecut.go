package answer

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// ZoneCut finds where a folded prefix is answered from, by the same rule
// (HIER-001) as Authority: the prefix and its ancestors, deepest first,
// stopping at the first that is held here (held) or delegated from here
// (deleg); both nil when neither. Front ends that walk names themselves,
// like the DNS bridge, use it so that every front end cuts zones alike.
// held is shared with other callers: read only.
func ZoneCut(tx *store.Tx, prefix string) (held *idresv1.Prefix, deleg *idresv1.Delegation, err error) {
	return zoneCut(tx, prefix)
}

// zoneCut walks the folded prefix and its ancestors, deepest first, and
// stops at the first that is held here or delegated from here. A held
// prefix wins over a delegation of the same prefix. It runs on every
// lookup, so it probes stored bytes (a miss allocates nothing) and takes
// held prefixes decoded from a cache.
func zoneCut(tx *store.Tx, prefix string) (held *idresv1.Prefix, deleg *idresv1.Delegation, err error) {
	// ident.Ancestors' order, without building the list.
	for p := prefix; ; p, _ = ident.Parent(p) {
		if raw := tx.PrefixRaw(p); raw != nil {
			h, err := decodedPrefix(raw)
			if err != nil {
				return nil, nil, fmt.Errorf("prefix %q: %w", p, err)
			}
			return h, nil, nil
		}
		if raw := tx.DelegationRaw(p); raw != nil {
			// Decoded afresh: a referral hands it to the caller.
			d := &idresv1.Delegation{}
			if err := proto.Unmarshal(raw, d); err != nil {
				return nil, nil, fmt.Errorf("delegation %q: decode: %w", p, err)
			}
			return nil, d, nil
		}
		if p == "" {
			return nil, nil, nil
		}
	}
}

// zoneCuts remembers the zone cuts found in one read transaction, by
// folded prefix: the requests of one batch are mostly under one prefix.
// A nil zoneCuts remembers nothing.
type zoneCuts map[string]foundCut

type foundCut struct {
	held  *idresv1.Prefix
	deleg *idresv1.Delegation
}

func (z zoneCuts) cut(tx *store.Tx, prefix string) (*idresv1.Prefix, *idresv1.Delegation, error) {
	if z == nil {
		return zoneCut(tx, prefix)
	}
	if c, ok := z[prefix]; ok {
		return c.held, c.deleg, nil
	}
	held, deleg, err := zoneCut(tx, prefix)
	if err == nil {
		z[prefix] = foundCut{held, deleg}
	}
	return held, deleg, err
}

// prefixes holds held-prefix records decoded (decodedCache).
var prefixes decodedCache[*idresv1.Prefix]

func decodedPrefix(raw []byte) (*idresv1.Prefix, error) {
	p, err := prefixes.get(raw, func() *idresv1.Prefix { return &idresv1.Prefix{} })
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return p, nil
}
