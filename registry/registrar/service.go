package registrar

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
)

// Page sizes for List calls.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// Service implements idres.v1.Registry over a store.
type Service struct {
	idresv1.UnimplementedRegistryServer
	store  *store.Store
	log    *slog.Logger
	limits Limits
}

// New returns the Registry service for s.
func New(s *store.Store, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: s, log: log}
}

// changed logs one line per registry change; never a secret.
func (s *Service) changed(ctx context.Context, call, target string) {
	id := ""
	if c := credential.FromContext(ctx); c != nil {
		id = c.ID
	}
	s.log.InfoContext(ctx, "registry change", "call", call, "target", target, "credential", id)
}

func (s *Service) CreatePrefix(ctx context.Context, req *idresv1.CreatePrefixRequest) (*idresv1.Prefix, error) {
	p := req.GetPrefix()
	if p == nil {
		return nil, fmt.Errorf("%w: prefix is required", fault.ErrInvalidArgument)
	}
	if _, err := ident.ParsePrefix(p.Prefix); err != nil {
		return nil, err
	}
	if strings.EqualFold(p.Prefix, ident.PrefixHandlePrefix) {
		// Every "0.NA/x" resolves as a prefix handle (ID-008): identifiers
		// of a zone named 0.NA could never be resolved.
		return nil, fmt.Errorf("%w: prefix %q is reserved for prefix handles", fault.ErrInvalidArgument, p.Prefix)
	}
	if _, err := credential.Authorize(ctx, ident.Fold(p.Prefix), credential.RoleAdmin); err != nil {
		return nil, err
	}
	rec := &idresv1.Prefix{Prefix: p.Prefix, NegativeTtl: p.NegativeTtl}
	if rec.NegativeTtl == nil {
		rec.NegativeTtl = proto.Uint32(value.DefaultNegTTL)
	}
	if *rec.NegativeTtl > value.MaxTTL {
		return nil, fmt.Errorf("%w: negative ttl %d is more than %d (RFC 2181)", fault.ErrInvalidArgument, *rec.NegativeTtl, value.MaxTTL)
	}
	err := s.update(ctx, "CreatePrefix", func(tx *store.Tx, ch *change) error {
		ch.target, ch.prefix, ch.after = rec.Prefix, ident.Fold(rec.Prefix), rec
		return tx.CreatePrefix(rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

func (s *Service) GetPrefix(ctx context.Context, req *idresv1.GetPrefixRequest) (*idresv1.Prefix, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return nil, err
	}
	key := ident.Fold(req.GetPrefix())
	if _, err := credential.Authorize(ctx, key, credential.RoleRead); err != nil {
		return nil, err
	}
	var p *idresv1.Prefix
	err := s.store.View(func(tx *store.Tx) (err error) { p, err = tx.Prefix(key); return err })
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) ListPrefixes(ctx context.Context, req *idresv1.ListPrefixesRequest) (*idresv1.ListPrefixesResponse, error) {
	c, err := credential.Caller(ctx)
	if err != nil {
		return nil, err
	}
	size, err := s.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	// Tagged so that a token of another listing is refused (REG-005).
	after, err := decodeToken(req.GetPageToken(), prefixTokenTag)
	if err != nil {
		return nil, err
	}
	after = strings.TrimPrefix(after, prefixTokenTag)
	resp := &idresv1.ListPrefixesResponse{}
	err = s.store.View(func(tx *store.Tx) error {
		// Walk in pages of the store, keeping what the caller covers, until
		// the response page is full.
		for {
			batch, more, err := tx.ListPrefixes(after, size)
			if err != nil {
				return err
			}
			for i, p := range batch {
				after = store.PrefixKey(ident.Fold(p.Prefix))
				if credential.Visible(c, ident.Fold(p.Prefix), credential.RoleRead) {
					resp.Prefixes = append(resp.Prefixes, p)
				}
				if len(resp.Prefixes) == size {
					if more || i < len(batch)-1 {
						resp.NextPageToken = encodeToken(prefixTokenTag + after)
					}
					return nil
				}
			}
			if !more {
				return nil
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Service) DeletePrefix(ctx context.Context, req *idresv1.DeletePrefixRequest) (*idresv1.DeletePrefixResponse, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return nil, err
	}
	key := ident.Fold(req.GetPrefix())
	if _, err := credential.Authorize(ctx, key, credential.RoleAdmin); err != nil {
		return nil, err
	}
	var n uint64
	err := s.update(ctx, "DeletePrefix", func(tx *store.Tx, ch *change) (err error) {
		old, err := tx.Prefix(key)
		if err != nil {
			return err
		}
		ch.target, ch.prefix, ch.before = old.Prefix, key, old
		n, err = tx.DeletePrefix(key, req.GetForce())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &idresv1.DeletePrefixResponse{IdentifiersDeleted: n}, nil
}

func (s *Service) CreateIdentifier(ctx context.Context, req *idresv1.CreateIdentifierRequest) (*idresv1.Identifier, error) {
	id, err := s.parseAndAuthorize(ctx, req.GetIdentifier(), credential.RoleWrite)
	if err != nil {
		return nil, err
	}
	if err := value.CheckSet(req.GetValues(), false); err != nil {
		return nil, err
	}
	if err := s.checkLimits(req.GetValues()); err != nil {
		return nil, err
	}
	rec := &idresv1.Identifier{Values: cloneValues(req.GetValues())}
	value.Normalize(rec.Values)
	err = s.update(ctx, "CreateIdentifier", func(tx *store.Tx, ch *change) error {
		if err := checkTemplate(tx, id.PrefixKey(), rec.Values); err != nil {
			return err
		}
		ch.target, ch.prefix, ch.after = id.String(), id.PrefixKey(), rec
		return tx.CreateIdentifier(id, rec)
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

func (s *Service) GetIdentifier(ctx context.Context, req *idresv1.GetIdentifierRequest) (*idresv1.Identifier, error) {
	id, err := s.parseAndAuthorize(ctx, req.GetIdentifier(), credential.RoleRead)
	if err != nil {
		return nil, err
	}
	var rec *idresv1.Identifier
	err = s.store.View(func(tx *store.Tx) (err error) { rec, err = tx.Identifier(id.Key()); return err })
	if err != nil {
		return nil, fmt.Errorf("identifier %q: %w", id.String(), store.ErrNotFound)
	}
	return rec, nil
}

func (s *Service) UpdateValues(ctx context.Context, req *idresv1.UpdateValuesRequest) (*idresv1.Identifier, error) {
	id, err := s.parseAndAuthorize(ctx, req.GetIdentifier(), credential.RoleWrite)
	if err != nil {
		return nil, err
	}
	if len(req.GetRemove())+len(req.GetReplace())+len(req.GetAdd()) == 0 {
		return nil, fmt.Errorf("%w: nothing to change: give remove, replace or add", fault.ErrInvalidArgument)
	}
	for _, v := range append(append([]*idresv1.Value{}, req.GetReplace()...), req.GetAdd()...) {
		if err := value.Check(v, false); err != nil {
			return nil, err
		}
	}
	var rec *idresv1.Identifier
	err = s.update(ctx, "UpdateValues", func(tx *store.Tx, ch *change) (err error) {
		ch.target, ch.prefix = id.String(), id.PrefixKey()
		rec, err = tx.UpdateIdentifier(id.Key(), func(r *idresv1.Identifier) error {
			ch.before = proto.Clone(r)
			before := value.Size(r.Values)
			if err := applyChanges(r, req); err != nil {
				return err
			}
			if err := s.checkChange(r.Values, before); err != nil {
				return err
			}
			return checkTemplate(tx, id.PrefixKey(), r.Values)
		})
		ch.after = rec
		return err
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// applyChanges edits r in place: remove, then replace (set), then add.
func applyChanges(r *idresv1.Identifier, req *idresv1.UpdateValuesRequest) error {
	byIndex := make(map[uint32]*idresv1.Value, len(r.Values))
	for _, v := range r.Values {
		byIndex[v.Index] = v
	}
	for _, i := range req.GetRemove() {
		if byIndex[i] == nil {
			return fmt.Errorf("index %d: %w", i, store.ErrNotFound)
		}
		delete(byIndex, i)
	}
	for _, v := range cloneValues(req.GetReplace()) {
		byIndex[v.Index] = v
	}
	for _, v := range cloneValues(req.GetAdd()) {
		if byIndex[v.Index] != nil {
			return fmt.Errorf("index %d: %w", v.Index, store.ErrExists)
		}
		byIndex[v.Index] = v
	}
	r.Values = r.Values[:0]
	for _, v := range byIndex {
		r.Values = append(r.Values, v)
	}
	value.Normalize(r.Values)
	return value.CheckSet(r.Values, false)
}

func (s *Service) DeleteIdentifier(ctx context.Context, req *idresv1.DeleteIdentifierRequest) (*idresv1.DeleteIdentifierResponse, error) {
	id, err := s.parseAndAuthorize(ctx, req.GetIdentifier(), credential.RoleWrite)
	if err != nil {
		return nil, err
	}
	if o := req.GetTombstone(); o != nil {
		if err := checkTombstone(id, o); err != nil {
			return nil, err
		}
	}
	err = s.update(ctx, "DeleteIdentifier", func(tx *store.Tx, ch *change) error {
		if o := req.GetTombstone(); o != nil {
			return deleteWithTombstone(ctx, tx, ch, id, o)
		}
		old, err := tx.Identifier(id.Key())
		if err != nil {
			return fmt.Errorf("identifier %q: %w", id.String(), store.ErrNotFound)
		}
		ch.target, ch.prefix, ch.before = id.String(), id.PrefixKey(), old
		return tx.DeleteIdentifier(id)
	})
	if err != nil {
		return nil, err
	}
	return &idresv1.DeleteIdentifierResponse{}, nil
}

func (s *Service) ListIdentifiers(ctx context.Context, req *idresv1.ListIdentifiersRequest) (*idresv1.ListIdentifiersResponse, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil || req.GetPrefix() == "" {
		if err == nil {
			err = fmt.Errorf("%w: prefix is required", fault.ErrInvalidArgument)
		}
		return nil, err
	}
	key := ident.Fold(req.GetPrefix())
	if _, err := credential.Authorize(ctx, key, credential.RoleRead); err != nil {
		return nil, err
	}
	size, err := s.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(req.GetPageToken(), key+"/")
	if err != nil {
		return nil, err
	}
	resp := &idresv1.ListIdentifiersResponse{}
	err = s.store.View(func(tx *store.Tx) error {
		if !tx.HasPrefix(key) {
			return fmt.Errorf("prefix %q: %w", req.GetPrefix(), store.ErrPrefixNotHeld)
		}
		ids, more, err := tx.ListIdentifiers(key, after, size)
		if err != nil {
			return err
		}
		resp.Identifiers = ids
		if more {
			last, _ := ident.Parse(ids[len(ids)-1].Identifier)
			resp.NextPageToken = encodeToken(last.Key())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (s *Service) parseAndAuthorize(ctx context.Context, raw, role string) (ident.ID, error) {
	id, err := ident.Parse(raw)
	if err != nil {
		return ident.ID{}, err
	}
	if _, err := credential.Authorize(ctx, id.PrefixKey(), role); err != nil {
		return ident.ID{}, err
	}
	return id, nil
}

// prefixTokenTag starts ListPrefixes page tokens. Identifier tokens start
// with "<prefix>/", which no tag is.
const prefixTokenTag = "prefix:"

// Page tokens are the last key returned, opaque to clients.
func encodeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeToken(tok, mustPrefix string) (string, error) {
	if tok == "" {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(raw), mustPrefix) {
		return "", fmt.Errorf("%w: page_token is not one this node issued for this listing", fault.ErrInvalidArgument)
	}
	return string(raw), nil
}

func cloneValues(vals []*idresv1.Value) []*idresv1.Value {
	out := make([]*idresv1.Value, len(vals))
	for i, v := range vals {
		out[i] = proto.Clone(v).(*idresv1.Value)
	}
	return out
}
