package pattern

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
)

// Derive finds the first of a prefix's stored patterns that matches id and
// returns id's values derived from it, with the pattern's text; nil when
// none matches. Stored patterns that no longer parse are skipped.
func Derive(recs []*idresv1.Pattern, id ident.ID) (*idresv1.Identifier, string, error) {
	key := id.Key()
	suffix := key[strings.IndexByte(key, '/')+1:]
	for _, rec := range recs {
		p, err := Cached(rec.Pattern)
		if err != nil {
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
				return nil, "", fmt.Errorf("expand pattern %q of %q: %w", rec.Pattern, rec.Prefix, err)
			}
			// A field-by-field copy: proto.Clone's reflection costs more
			// than the whole match. rec may be shared by concurrent
			// lookups (a cache of decoded records), so the optional fields
			// get their own pointers; the timestamp is shared, read only.
			dv := &idresv1.Value{Index: v.Index, Type: v.Type, Data: []byte(data), Timestamp: v.Timestamp}
			if v.Ttl != nil {
				dv.Ttl = proto.Uint32(*v.Ttl)
			}
			if v.PublicRead != nil {
				dv.PublicRead = proto.Bool(*v.PublicRead)
			}
			out.Values = append(out.Values, dv)
		}
		return out, rec.Pattern, nil
	}
	return nil, "", nil
}
