package resolver

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/pattern"
	"github.com/idres/idres/registry/store"
)

// Unregistered is what a held prefix says of an identifier that has no
// record: a tombstone, values derived from a pattern, or nothing (both
// nil). Every front end asks Lookup, so gRPC, the HTTP gateway and the
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
	key := id.Key()
	if t, err := tx.Tombstone(key); err == nil {
		return Unregistered{Tombstone: t}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return Unregistered{}, err
	}
	pk := id.PrefixKey()
	if !tx.HasPatterns(pk) {
		return Unregistered{}, nil
	}
	pats, err := tx.Patterns(pk)
	if err != nil {
		return Unregistered{}, err
	}
	suffix := key[strings.IndexByte(key, '/')+1:]
	for _, rec := range pats {
		p, err := pattern.Cached(rec.Pattern)
		if err != nil {
			// Stored patterns were checked when set; one that no longer
			// parses (a newer syntax read by an older idresd) is skipped.
			slog.Warn("stored pattern does not parse; skipped", "prefix", rec.Prefix, "pattern", rec.Pattern, "err", err)
			continue
		}
		caps, ok := p.Match(suffix)
		if !ok {
			continue
		}
		out := &idresv1.Identifier{Identifier: id.String(), Created: rec.Created, Updated: rec.Updated}
		for _, v := range rec.Values {
			data, err := p.Expand(string(v.Data), caps)
			if err != nil {
				return Unregistered{}, fmt.Errorf("expand pattern %q of %q: %w", rec.Pattern, rec.Prefix, err)
			}
			dv := proto.Clone(v).(*idresv1.Value)
			dv.Data = []byte(data)
			out.Values = append(out.Values, dv)
		}
		return Unregistered{Derived: out, Pattern: rec.Pattern}, nil
	}
	return Unregistered{}, nil
}

// GoneMessage says what a tombstone says, for messages and DNS TXT.
func GoneMessage(t *idresv1.Tombstone) string {
	var b strings.Builder
	fmt.Fprintf(&b, "identifier %q was withdrawn", t.GetIdentifier())
	if t.GetDeleted() != nil {
		fmt.Fprintf(&b, " on %s", t.GetDeleted().AsTime().UTC().Format("2006-01-02T15:04:05Z"))
	}
	if t.GetReason() != "" {
		fmt.Fprintf(&b, ": %s", t.GetReason())
	}
	if t.GetSuccessor() != "" {
		fmt.Fprintf(&b, "; successor %s", t.GetSuccessor())
	}
	return b.String()
}
