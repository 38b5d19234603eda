package answer

import (
	"context"
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/resolver"
)

// ResolvePrefix implements resolver.PrefixResolver: the answer to the
// prefix handle 0.NA/<prefix>, which the root prefix "" has no spelling
// of (a suffix cannot be empty).
func (a *Authority) ResolvePrefix(ctx context.Context, prefix string) (*idresv1.ResolveResponse, error) {
	if _, err := ident.ParsePrefix(prefix); err != nil {
		return invalid(ident.PrefixHandlePrefix+"/"+prefix, err), nil
	}
	var resp *idresv1.ResolveResponse
	err := a.Store.View(func(tx *store.Tx) (err error) {
		resp, err = a.prefixAnswer(tx, prefix, &idresv1.ResolveResponse{Identifier: ident.PrefixHandlePrefix + "/" + prefix}, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("resolve prefix %q: %w", prefix, err)
	}
	return resp, nil
}

var _ resolver.PrefixResolver = (*Authority)(nil)

// zoneFacts sets what a DNS front end needs of held zone z besides the
// answer (ResolveResponse.serial and the fields after it) on an answer
// about the folded prefix p, which is z's own prefix or lies in z. They
// cost a cursor seek or a scan, so only prefix answers carry them.
func zoneFacts(tx *store.Tx, resp *idresv1.ResolveResponse, z *idresv1.Prefix, p string) error {
	resp.Serial, resp.NegativeTtl = tx.Revision(), negativeTTL(z)
	if ident.Fold(z.Prefix) == p {
		some, _, err := tx.ListIdentifiers(p, "", 1)
		if err != nil {
			return fmt.Errorf("list identifiers of %q: %w", p, err)
		}
		resp.HasIdentifiers = len(some) > 0
		return nil
	}
	below, err := hasSubordinates(tx, p)
	resp.HasSubordinates = below
	return err
}

// hasSubordinates reports whether a held prefix or a delegation lies
// strictly below the folded prefix p (which makes p's DNS name an empty
// non-terminal).
func hasSubordinates(tx *store.Tx, p string) (bool, error) {
	below := func(q string) bool { return q != p && ident.Covers(p, q) }
	ds, err := tx.ListDelegations(p)
	if err != nil {
		return false, fmt.Errorf("list delegations under %q: %w", p, err)
	}
	for _, d := range ds {
		if below(ident.Fold(d.Prefix)) {
			return true, nil
		}
	}
	after := ""
	for {
		ps, more, err := tx.ListPrefixes(after, 1000)
		if err != nil {
			return false, fmt.Errorf("list prefixes: %w", err)
		}
		for _, hp := range ps {
			if below(ident.Fold(hp.Prefix)) {
				return true, nil
			}
		}
		if !more || len(ps) == 0 {
			return false, nil
		}
		after = store.PrefixKey(ident.Fold(ps[len(ps)-1].Prefix))
	}
}
