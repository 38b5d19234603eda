package answer

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
	"github.com/idres/idres/resolver"
)

// Authority answers from the local store.
type Authority struct {
	Store *store.Store
	// Self lists this node's own endpoints; they are the service record of
	// every prefix held here (the prefix field is ignored).
	Self *idresv1.Delegation
}

// Resolve implements Resolver.
func (a *Authority) Resolve(ctx context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	return a.resolve(ctx, req, false)
}

// ResolveEncoded is Resolve with a record's values left encoded (wire.go);
// it implements resolver.EncodedResolver.
func (a *Authority) ResolveEncoded(ctx context.Context, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	return a.resolve(ctx, req, true)
}

func (a *Authority) resolve(ctx context.Context, req *idresv1.ResolveRequest, wire bool) (*idresv1.ResolveResponse, error) {
	id, err := ident.Parse(req.GetIdentifier())
	if err != nil {
		return invalid(req.GetIdentifier(), err), nil
	}
	var resp *idresv1.ResolveResponse
	err = a.Store.View(func(tx *store.Tx) error {
		resp, err = a.answer(ctx, tx, nil, id, req, wire)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", id, err)
	}
	return resp, nil
}

// answer resolves one request in tx; cuts, when not nil, remembers zone
// cuts across the requests of one transaction.
func (a *Authority) answer(ctx context.Context, tx *store.Tx, cuts zoneCuts, id ident.ID, req *idresv1.ResolveRequest, wire bool) (*idresv1.ResolveResponse, error) {
	if id.IsPrefixHandle() {
		return a.prefixHandle(ctx, tx, id, req)
	}
	return a.lookup(ctx, tx, cuts, id, req, wire)
}

func (a *Authority) lookup(ctx context.Context, tx *store.Tx, cuts zoneCuts, id ident.ID, req *idresv1.ResolveRequest, wire bool) (*idresv1.ResolveResponse, error) {
	resp := &idresv1.ResolveResponse{Identifier: id.String()}
	held, deleg, err := cuts.cut(tx, id.PrefixKey())
	switch {
	case err != nil:
		return nil, err
	case deleg != nil:
		return referral(resp, deleg), nil
	case held == nil:
		resp.Outcome = idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND
		resp.Ttl = value.DefaultNegTTL
		resp.Message = fmt.Sprintf("no zone of this node holds or delegates prefix %q", id.Prefix)
		return resp, nil
	}
	resp.Authoritative = true
	resp.Zone = held.Prefix
	resp.Ttl = negativeTTL(held)
	resp.Serial, resp.NegativeTtl = tx.Revision(), resp.Ttl
	if ident.Fold(held.Prefix) != id.PrefixKey() {
		resp.Outcome = idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND
		resp.Message = fmt.Sprintf("prefix %q does not exist in zone %q", id.Prefix, held.Prefix)
		return resp, nil
	}
	if wire {
		raw := tx.IdentifierRaw(id.Key())
		if raw != nil && wireAnswer(resp, raw, credential.CanReadPrivate(credential.FromContext(ctx), id.PrefixKey()), req) {
			return resp, nil
		}
	}
	rec, err := tx.Identifier(id.Key())
	if errors.Is(err, store.ErrNotFound) {
		u, err := LookupUnregistered(tx, id)
		switch {
		case err != nil:
			return nil, err
		case u.Tombstone != nil:
			return gone(ctx, resp, id, u.Tombstone), nil
		case u.Derived == nil:
			resp.Outcome = idresv1.Outcome_OUTCOME_NOT_FOUND
			resp.Message = fmt.Sprintf("identifier %q is not registered under prefix %q", id.String(), held.Prefix)
			return resp, nil
		}
		rec, resp.DerivedFromPattern = u.Derived, u.Pattern
	} else if err != nil {
		return nil, err
	}
	resp.Identifier = rec.Identifier
	vals := rec.Values
	private := credential.CanReadPrivate(credential.FromContext(ctx), id.PrefixKey())
	if !private {
		vals = value.Public(vals)
	}
	vals = value.Filter(vals, req.GetTypes(), req.GetIndexes(), req.GetFilter())
	if len(vals) == 0 {
		resp.Outcome = idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND
		resp.Message = "no value matches the type and index filter"
		return resp, nil
	}
	resp.Outcome = idresv1.Outcome_OUTCOME_OK
	resp.Values = vals
	resp.Ttl = value.MinTTL(vals)
	return resp, nil
}

// gone answers a tombstone (LIFE-011). Who withdrew it is told only to
// callers who may read the prefix's private values: a credential id is
// the registrar's business, not the public's.
func gone(ctx context.Context, resp *idresv1.ResolveResponse, id ident.ID, t *idresv1.Tombstone) *idresv1.ResolveResponse {
	t = proto.Clone(t).(*idresv1.Tombstone)
	if !credential.CanReadPrivate(credential.FromContext(ctx), id.PrefixKey()) {
		t.DeletedBy = ""
	}
	resp.Outcome = idresv1.Outcome_OUTCOME_GONE
	resp.Identifier = t.Identifier
	resp.Tombstone = t
	resp.Message = resolver.GoneMessage(t)
	return resp
}

// prefixHandle answers 0.NA/<prefix> with the prefix's service record: from
// the delegation when the prefix is delegated from here, from Self when it
// is held here.
func (a *Authority) prefixHandle(ctx context.Context, tx *store.Tx, id ident.ID, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	target, err := ident.ParsePrefix(id.Suffix)
	if err != nil {
		// Point into the request as asked (ID-007): the bad prefix is the
		// handle's suffix, which starts after "0.NA/".
		raw := req.GetIdentifier()
		ie := &ident.Error{Input: raw, Part: "suffix", Pos: len(id.Prefix) + 1, Msg: "prefix handle names no valid prefix: " + err.Error()}
		var inner *ident.Error
		if errors.As(err, &inner) {
			ie.Pos += inner.Pos
			ie.Msg = "prefix handle names no valid prefix: " + inner.Msg
		}
		return invalid(raw, ie), nil
	}
	return a.prefixAnswer(tx, target, &idresv1.ResolveResponse{Identifier: id.String()}, req)
}

// prefixAnswer answers for the valid prefix target what its handle is
// answered (prefixHandle), the root prefix included.
func (a *Authority) prefixAnswer(tx *store.Tx, target string, resp *idresv1.ResolveResponse, req *idresv1.ResolveRequest) (*idresv1.ResolveResponse, error) {
	folded := ident.Fold(target)
	if held, err := tx.Prefix(folded); err == nil {
		resp.Authoritative, resp.Zone = true, held.Prefix
		if err := zoneFacts(tx, resp, held, folded); err != nil {
			return nil, err
		}
		svc := proto.Clone(a.selfOrEmpty()).(*idresv1.Delegation)
		svc.Prefix = held.Prefix
		return serviceAnswer(resp, svc, req, negativeTTL(held)), nil
	}
	if d, err := tx.Delegation(folded); err == nil {
		resp.Authoritative = true
		negTTL := uint32(value.DefaultNegTTL)
		if parent, ok := ident.Parent(d.Prefix); ok {
			if z, _, _ := zoneCut(tx, ident.Fold(parent)); z != nil {
				resp.Zone, negTTL = z.Prefix, negativeTTL(z)
				resp.Serial, resp.NegativeTtl = tx.Revision(), negTTL
			}
		}
		return serviceAnswer(resp, d, req, negTTL), nil
	}
	// Neither held nor delegated here: answer as for any identifier under
	// the target prefix (a referral towards it, or a denial).
	held, deleg, err := zoneCut(tx, folded)
	switch {
	case err != nil:
		return nil, err
	case deleg != nil:
		return referral(resp, deleg), nil
	case held != nil:
		resp.Authoritative, resp.Zone, resp.Ttl = true, held.Prefix, negativeTTL(held)
		if err := zoneFacts(tx, resp, held, folded); err != nil {
			return nil, err
		}
		resp.Outcome = idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND
		resp.Message = fmt.Sprintf("prefix %q does not exist in zone %q", target, held.Prefix)
		return resp, nil
	}
	resp.Outcome = idresv1.Outcome_OUTCOME_PREFIX_NOT_FOUND
	resp.Ttl = value.DefaultNegTTL
	resp.Message = fmt.Sprintf("no zone of this node holds or delegates prefix %q", target)
	return resp, nil
}

func (a *Authority) selfOrEmpty() *idresv1.Delegation {
	if a.Self == nil {
		return &idresv1.Delegation{}
	}
	return a.Self
}

// serviceAnswer answers a prefix handle from d; negTTL is the answering
// zone's negative TTL, for a filter that matches nothing (OUT-003).
func serviceAnswer(resp *idresv1.ResolveResponse, d *idresv1.Delegation, req *idresv1.ResolveRequest, negTTL uint32) *idresv1.ResolveResponse {
	vals := value.Filter(resolver.ServiceValues(d), req.GetTypes(), req.GetIndexes(), req.GetFilter())
	if len(vals) == 0 {
		resp.Outcome = idresv1.Outcome_OUTCOME_VALUES_NOT_FOUND
		resp.Ttl = negTTL
		resp.Message = "no service value matches the type and index filter"
		return resp
	}
	resp.Outcome = idresv1.Outcome_OUTCOME_OK
	resp.Values = vals
	resp.Ttl = value.MinTTL(vals)
	return resp
}

func referral(resp *idresv1.ResolveResponse, d *idresv1.Delegation) *idresv1.ResolveResponse {
	resp.Outcome = idresv1.Outcome_OUTCOME_REFERRAL
	resp.Referral = d
	resp.Ttl = value.DefaultTTL
	if d.Ttl != nil {
		resp.Ttl = *d.Ttl
	}
	resp.Message = fmt.Sprintf("prefix %q is delegated", d.Prefix)
	return resp
}

func invalid(raw string, err error) *idresv1.ResolveResponse {
	return &idresv1.ResolveResponse{
		Outcome:    idresv1.Outcome_OUTCOME_INVALID_IDENTIFIER,
		Identifier: raw,
		Message:    err.Error(),
	}
}

func negativeTTL(p *idresv1.Prefix) uint32 {
	if p.NegativeTtl == nil {
		return value.DefaultNegTTL
	}
	return *p.NegativeTtl
}
