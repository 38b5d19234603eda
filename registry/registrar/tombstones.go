package registrar

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
)

// MaxTombstoneReason bounds a tombstone's reason, in bytes.
const MaxTombstoneReason = 1024

// checkTombstone validates DeleteIdentifier's tombstone options for id.
func checkTombstone(id ident.ID, o *idresv1.TombstoneOptions) error {
	if len(o.Reason) > MaxTombstoneReason || !utf8.ValidString(o.Reason) || strings.ContainsFunc(o.Reason, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("%w: tombstone reason must be at most %d bytes of UTF-8 text without control characters", fault.ErrInvalidArgument, MaxTombstoneReason)
	}
	if o.Successor == "" {
		return nil
	}
	succ, err := ident.Parse(o.Successor)
	if err != nil {
		return fmt.Errorf("%w: tombstone successor: %v", fault.ErrInvalidArgument, err)
	}
	if succ.Key() == id.Key() {
		return fmt.Errorf("%w: an identifier cannot be its own successor", fault.ErrInvalidArgument)
	}
	return nil
}

// deleteWithTombstone withdraws id inside DeleteIdentifier's transaction:
// the record (if any) goes, a tombstone stays. An identifier that only a
// pattern answers for may be withdrawn too: a recalled serial number of a
// range (LIFE-010).
func deleteWithTombstone(ctx context.Context, tx *store.Tx, ch *change, id ident.ID, o *idresv1.TombstoneOptions) error {
	if tx.HasTombstone(id.Key()) {
		return fmt.Errorf("identifier %q: %w", id.String(), store.ErrNotFound)
	}
	name := id.String()
	old, err := tx.Identifier(id.Key())
	if err == nil {
		name = old.Identifier
		ch.before = old
		if err := tx.DeleteIdentifier(id); err != nil {
			return err
		}
	} else {
		if !tx.HasPrefix(id.PrefixKey()) {
			return fmt.Errorf("prefix %q: %w", id.Prefix, store.ErrPrefixNotHeld)
		}
		d, err := derived(tx, id)
		if err != nil {
			return err
		}
		if d == nil {
			return fmt.Errorf("identifier %q: %w", id.String(), store.ErrNotFound)
		}
	}
	t := &idresv1.Tombstone{Identifier: name, Reason: o.Reason, Successor: o.Successor}
	if c := credential.FromContext(ctx); c != nil {
		t.DeletedBy = c.ID
	}
	ch.target, ch.prefix, ch.after = name, id.PrefixKey(), t
	return tx.PutTombstone(id.Key(), t)
}

// LiftTombstone removes a tombstone so the identifier may be registered
// again (LIFE-012); needs admin on the prefix.
func (s *Service) LiftTombstone(ctx context.Context, req *idresv1.LiftTombstoneRequest) (*idresv1.Tombstone, error) {
	id, err := s.parseAndAuthorize(ctx, req.GetIdentifier(), credential.RoleAdmin)
	if err != nil {
		return nil, err
	}
	var t *idresv1.Tombstone
	err = s.update(ctx, "LiftTombstone", func(tx *store.Tx, ch *change) (err error) {
		t, err = tx.DeleteTombstone(id.Key())
		if err != nil {
			return fmt.Errorf("identifier %q has no tombstone: %w", id.String(), store.ErrNotFound)
		}
		ch.target, ch.prefix, ch.before = t.Identifier, id.PrefixKey(), t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
