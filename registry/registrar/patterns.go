package registrar

import (
	"context"
	"fmt"
	"unicode/utf8"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/pattern"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
)

// MaxPatternsPerPrefix bounds the patterns a lookup may have to try.
const MaxPatternsPerPrefix = 100

// SetPattern creates or replaces a pattern of a prefix held here
// (LIFE-001, LIFE-002): the pattern parses, its value templates name only
// its captures, and it may not overlap another pattern of the prefix.
func (s *Service) SetPattern(ctx context.Context, req *idresv1.SetPatternRequest) (*idresv1.Pattern, error) {
	in := req.GetPattern()
	if in == nil {
		return nil, fmt.Errorf("%w: pattern is required", fault.ErrInvalidArgument)
	}
	if _, err := ident.ParsePrefix(in.Prefix); err != nil || in.Prefix == "" {
		if err == nil {
			err = fmt.Errorf("%w: prefix is required", fault.ErrInvalidArgument)
		}
		return nil, err
	}
	key := ident.Fold(in.Prefix)
	if _, err := credential.Authorize(ctx, key, credential.RoleAdmin); err != nil {
		return nil, err
	}
	p, err := pattern.Parse(in.Pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", fault.ErrInvalidArgument, err)
	}
	if err := value.CheckSet(in.Values, false); err != nil {
		return nil, err
	}
	if err := s.checkLimits(in.Values); err != nil {
		return nil, err
	}
	for _, v := range in.Values {
		if !utf8.Valid(v.Data) {
			return nil, fmt.Errorf("%w: value index %d: a pattern's data is a text template", fault.ErrInvalidArgument, v.Index)
		}
		if err := p.CheckTemplate(string(v.Data)); err != nil {
			return nil, fmt.Errorf("%w: value index %d: %v", fault.ErrInvalidArgument, v.Index, err)
		}
	}
	if err := s.checkPattern(p, in.Values); err != nil {
		return nil, err
	}
	rec := &idresv1.Pattern{Prefix: in.Prefix, Pattern: in.Pattern, Values: cloneValues(in.Values)}
	value.Normalize(rec.Values)
	err = s.update(ctx, "SetPattern", func(tx *store.Tx, ch *change) error {
		if !tx.HasPrefix(key) {
			return fmt.Errorf("prefix %q: %w", in.Prefix, store.ErrPrefixNotHeld)
		}
		others, err := tx.Patterns(key)
		if err != nil {
			return err
		}
		n := 0
		for _, o := range others {
			if o.Pattern == in.Pattern {
				ch.before = o
				continue
			}
			n++
			op, err := pattern.Cached(o.Pattern)
			if err == nil && pattern.Overlaps(p, op) {
				return fmt.Errorf("%w: pattern %q may match the same identifiers as pattern %q of prefix %q; delete that one first or make them disjoint",
					fault.ErrFailedPrecondition, in.Pattern, o.Pattern, in.Prefix)
			}
		}
		if n >= MaxPatternsPerPrefix {
			return fmt.Errorf("%w: prefix %q has %d patterns, the most a prefix may have", fault.ErrLimit, in.Prefix, n)
		}
		ch.target, ch.prefix, ch.after = in.Prefix+"/"+in.Pattern, key, rec
		_, err = tx.PutPattern(key, rec)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// ListPatterns lists the patterns of a prefix held here.
func (s *Service) ListPatterns(ctx context.Context, req *idresv1.ListPatternsRequest) (*idresv1.ListPatternsResponse, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return nil, err
	}
	key := ident.Fold(req.GetPrefix())
	if _, err := credential.Authorize(ctx, key, credential.RoleRead); err != nil {
		return nil, err
	}
	resp := &idresv1.ListPatternsResponse{}
	err := s.store.View(func(tx *store.Tx) (err error) {
		if !tx.HasPrefix(key) {
			return fmt.Errorf("prefix %q: %w", req.GetPrefix(), store.ErrPrefixNotHeld)
		}
		resp.Patterns, err = tx.Patterns(key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// DeletePattern removes a pattern by its text. Identifiers it answered
// for are NOT_FOUND from then on, unless registered.
func (s *Service) DeletePattern(ctx context.Context, req *idresv1.DeletePatternRequest) (*idresv1.DeletePatternResponse, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return nil, err
	}
	key := ident.Fold(req.GetPrefix())
	if _, err := credential.Authorize(ctx, key, credential.RoleAdmin); err != nil {
		return nil, err
	}
	err := s.update(ctx, "DeletePattern", func(tx *store.Tx, ch *change) error {
		old, err := tx.DeletePattern(key, req.GetPattern())
		if err != nil {
			return err
		}
		ch.target, ch.prefix, ch.before = req.GetPrefix()+"/"+req.GetPattern(), key, old
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &idresv1.DeletePatternResponse{}, nil
}

// derived is the identifier a pattern of id's prefix answers for, or nil.
func derived(tx *store.Tx, id ident.ID) (*idresv1.Identifier, error) {
	if !tx.HasPatterns(id.PrefixKey()) {
		return nil, nil
	}
	pats, err := tx.Patterns(id.PrefixKey())
	if err != nil {
		return nil, err
	}
	d, _, err := pattern.Derive(pats, id)
	return d, err
}
