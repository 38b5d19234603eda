package registrar

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/template"
)

// SetTemplate creates or replaces the template of a prefix held here. It
// governs writes from then on; identifiers already stored are not
// rechecked.
func (s *Service) SetTemplate(ctx context.Context, req *idresv1.SetTemplateRequest) (*idresv1.Template, error) {
	t := req.GetTemplate()
	if t == nil {
		return nil, fmt.Errorf("%w: template is required", fault.ErrInvalidArgument)
	}
	if _, err := ident.ParsePrefix(t.Prefix); err != nil {
		return nil, err
	}
	key := ident.Fold(t.Prefix)
	if _, err := credential.Authorize(ctx, key, credential.RoleAdmin); err != nil {
		return nil, err
	}
	if _, err := template.Compile(t); err != nil {
		return nil, err
	}
	rec := proto.Clone(t).(*idresv1.Template)
	err := s.update(ctx, "SetTemplate", func(tx *store.Tx, ch *change) error {
		if !tx.HasPrefix(key) {
			return fmt.Errorf("prefix %q: %w", t.Prefix, store.ErrPrefixNotHeld)
		}
		if old, err := tx.Template(key); err == nil {
			ch.before = old
		}
		rec.Updated = timestamppb.New(tx.Now())
		ch.target, ch.prefix, ch.after = t.Prefix, key, rec
		return tx.PutTemplate(key, rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// GetTemplate returns the template set on a prefix or, with effective, the
// one that applies to it (its own or the nearest ancestor's).
func (s *Service) GetTemplate(ctx context.Context, req *idresv1.GetTemplateRequest) (*idresv1.Template, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return nil, err
	}
	key := ident.Fold(req.GetPrefix())
	if _, err := credential.Authorize(ctx, key, credential.RoleRead); err != nil {
		return nil, err
	}
	var t *idresv1.Template
	err := s.store.View(func(tx *store.Tx) (err error) {
		if req.GetEffective() {
			t, err = applicableTemplate(tx, key)
			if err == nil && t == nil {
				err = fmt.Errorf("no template applies to prefix %q: %w", req.GetPrefix(), store.ErrNotFound)
			}
			return err
		}
		t, err = tx.Template(key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTemplate removes the template set on a prefix.
func (s *Service) DeleteTemplate(ctx context.Context, req *idresv1.DeleteTemplateRequest) (*idresv1.DeleteTemplateResponse, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return nil, err
	}
	key := ident.Fold(req.GetPrefix())
	if _, err := credential.Authorize(ctx, key, credential.RoleAdmin); err != nil {
		return nil, err
	}
	err := s.update(ctx, "DeleteTemplate", func(tx *store.Tx, ch *change) error {
		old, err := tx.Template(key)
		if err != nil {
			return err
		}
		ch.target, ch.prefix, ch.before = req.GetPrefix(), key, old
		return tx.DeleteTemplate(key)
	})
	if err != nil {
		return nil, err
	}
	return &idresv1.DeleteTemplateResponse{}, nil
}

// applicableTemplate is the template of the folded prefix or of its
// nearest ancestor that has one, or nil.
func applicableTemplate(tx *store.Tx, prefix string) (*idresv1.Template, error) {
	for _, p := range ident.Ancestors(prefix) {
		t, err := tx.Template(p)
		if err == nil {
			return t, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return nil, nil
}

// checkTemplate checks the values an identifier under the folded prefix
// will hold against the template that applies, if any. Writers of
// identifiers (CreateIdentifier, UpdateValues, Import) call it inside
// their transaction, so a template set concurrently cannot be bypassed.
func checkTemplate(tx *store.Tx, prefix string, vals []*idresv1.Value) error {
	t, err := applicableTemplate(tx, prefix)
	if err != nil || t == nil {
		return err
	}
	c, err := template.Compile(t)
	if err != nil {
		return fmt.Errorf("stored template of %q: %w", t.Prefix, err)
	}
	return c.Check(vals)
}
