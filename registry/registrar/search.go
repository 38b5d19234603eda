package registrar

import (
	"context"
	"fmt"
	"strings"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/credential"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/ident"
	"github.com/idres/idres/registry/store"
	"github.com/idres/idres/registry/value"
)

// searchTokenTag starts Search page tokens, so a token of a listing is
// refused; the store checks the rest against the query.
const searchTokenTag = "search:"

// Search answers from the value index (FEED-001..FEED-006): the caller
// needs read on the prefix and sees only hits in its subtree.
func (s *Service) Search(ctx context.Context, req *idresv1.SearchRequest) (*idresv1.SearchResponse, error) {
	if _, err := ident.ParsePrefix(req.GetPrefix()); err != nil {
		return nil, err
	}
	scope := ident.Fold(req.GetPrefix())
	if _, err := credential.Authorize(ctx, scope, credential.RoleRead); err != nil {
		return nil, err
	}
	switch typ := req.GetType(); {
	case typ == "":
		return nil, fmt.Errorf("%w: type is required", fault.ErrInvalidArgument)
	case len(typ) > value.MaxTypeLen:
		return nil, fmt.Errorf("%w: type is %d bytes, more than %d", fault.ErrInvalidArgument, len(typ), value.MaxTypeLen)
	case len(req.GetValue()) > value.MaxDataLen:
		return nil, fmt.Errorf("%w: value is %d bytes, more than %d", fault.ErrInvalidArgument, len(req.GetValue()), value.MaxDataLen)
	}
	size, err := s.pageSize(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	tok, err := decodeToken(req.GetPageToken(), searchTokenTag)
	if err != nil {
		return nil, err
	}
	var after []byte
	if tok != "" {
		after = []byte(strings.TrimPrefix(tok, searchTokenTag))
	}
	q := store.ValueQuery{Scope: scope, Type: req.GetType(), Value: req.GetValue(), PrefixMatch: req.GetPrefixMatch()}
	resp := &idresv1.SearchResponse{}
	err = s.store.View(func(tx *store.Tx) error {
		hits, more, err := tx.SearchValues(q, after, size)
		if err != nil {
			return err
		}
		for _, h := range hits {
			resp.Hits = append(resp.Hits, &idresv1.SearchHit{Identifier: h.Identifier, Value: h.Value})
		}
		if more {
			resp.NextPageToken = encodeToken(searchTokenTag + string(hits[len(hits)-1].Key))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}
