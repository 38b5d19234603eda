package answer

import (
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/pattern"
	"github.com/idres/idres/registry/store"
)

// Unregistered is what a held prefix says of an identifier that has no
// record: a tombstone, values derived from a pattern, or nothing (both
// nil). Every front end asks LookupUnregistered, so gRPC, the HTTP gateway and the
// DNS bridge answer alike (LIFE-003, LIFE-011).
type Unregistered struct {
	Tombstone *idresv1.Tombstone
	// Derived holds the pattern's values filled with the captures; its
	// identifier is as asked.
	Derived *idresv1.Identifier
	// Pattern is the text of the pattern Derived came from.
	Pattern string
}

// LookupUnregistered consults, in this order, the tombstone at id's key
// and the patterns of id's prefix (which must be held here). The caller
// has found no record for id: an explicit record always wins.
func LookupUnregistered(tx *store.Tx, id ident.ID) (Unregistered, error) {
	// HasTombstone first: a miss then costs one bucket probe, no error
	// value (this runs on every lookup of an unregistered identifier).
	if key := id.Key(); tx.HasTombstone(key) {
		t, err := tx.Tombstone(key)
		if err != nil {
			return Unregistered{}, err
		}
		return Unregistered{Tombstone: t}, nil
	}
	var pats []*idresv1.Pattern
	err := tx.ForEachPatternRaw(id.PrefixKey(), func(raw []byte) error {
		p, err := decodedPattern(raw)
		pats = append(pats, p)
		return err
	})
	if err != nil || len(pats) == 0 {
		return Unregistered{}, err
	}
	d, src, err := pattern.Derive(pats, id)
	if err != nil || d == nil {
		return Unregistered{}, err
	}
	return Unregistered{Derived: d, Pattern: src}, nil
}

// patterns holds pattern records decoded (decodedCache).
var patterns decodedCache[*idresv1.Pattern]

func decodedPattern(raw []byte) (*idresv1.Pattern, error) {
	p, err := patterns.get(raw, func() *idresv1.Pattern { return &idresv1.Pattern{} })
	if err != nil {
		return nil, fmt.Errorf("decode pattern: %w", err)
	}
	return p, nil
}
