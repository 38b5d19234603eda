package registrar

import (
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/pattern"
	"github.com/idres/idres/registry/value"
)

// Limits bound what one call may store or ask for. They may only tighten
// the design's ceilings (value.MaxValues, value.MaxDataLen, value.MaxSize,
// MaxPageSize); a zero field means the ceiling, except MaxIdentifierBytes,
// whose zero means value.DefaultMaxSize.
type Limits struct {
	// MaxValues is the most values one identifier may hold.
	MaxValues int
	// MaxValueBytes is the most bytes of data one value may hold.
	MaxValueBytes int
	// MaxPageSize is the largest page a List call may ask for.
	MaxPageSize int
	// MaxIdentifierBytes is the most bytes one identifier's values may
	// hold, types and data together (value.Size). A pattern is bounded by
	// the values it derives at their longest (pattern.MaxExpansion).
	MaxIdentifierBytes int
}

// Check reports a negative limit or one above its ceiling.
func (l Limits) Check() error {
	for _, c := range []struct {
		name    string
		v, ceil int
	}{
		{"values per identifier", l.MaxValues, value.MaxValues},
		{"value size", l.MaxValueBytes, value.MaxDataLen},
		{"list page size", l.MaxPageSize, MaxPageSize},
		{"identifier size", l.MaxIdentifierBytes, value.MaxSize},
	} {
		if c.v < 0 || c.v > c.ceil {
			return fmt.Errorf("limit %s %d out of range 1..%d", c.name, c.v, c.ceil)
		}
	}
	return nil
}

func (l Limits) withDefaults() Limits {
	if l.MaxValues == 0 {
		l.MaxValues = value.MaxValues
	}
	if l.MaxValueBytes == 0 {
		l.MaxValueBytes = value.MaxDataLen
	}
	if l.MaxPageSize == 0 {
		l.MaxPageSize = MaxPageSize
	}
	if l.MaxIdentifierBytes == 0 {
		l.MaxIdentifierBytes = value.DefaultMaxSize
	}
	return l
}

// SetLimits replaces the service's limits; call before serving.
func (s *Service) SetLimits(l Limits) error {
	if err := l.Check(); err != nil {
		return err
	}
	s.limits = l.withDefaults()
	return nil
}

// checkLimits applies the node's limits to the values an identifier will
// hold (the design's ceilings are checked by package value).
func (s *Service) checkLimits(vals []*idresv1.Value) error {
	return s.checkChange(vals, -1)
}

// checkChange is checkLimits for a change of an identifier whose values
// held before bytes (value.Size; -1 for a new one): a record stored above
// the size limit by older code may shrink, not grow.
func (s *Service) checkChange(vals []*idresv1.Value, before int) error {
	l := s.limits.withDefaults()
	if n := value.Size(vals); n > l.MaxIdentifierBytes && n > before {
		return fmt.Errorf("%w: the values hold %d bytes of type and data, more than this node's limit of %d bytes per identifier", fault.ErrInvalidArgument, n, l.MaxIdentifierBytes)
	}
	if len(vals) > l.MaxValues {
		return fmt.Errorf("%w: %d values, more than this node's limit of %d per identifier", fault.ErrInvalidArgument, len(vals), l.MaxValues)
	}
	for _, v := range vals {
		if len(v.GetData()) > l.MaxValueBytes {
			return fmt.Errorf("%w: value index %d: data is %d bytes, more than this node's limit of %d bytes per value", fault.ErrInvalidArgument, v.GetIndex(), len(v.GetData()), l.MaxValueBytes)
		}
	}
	return nil
}

// checkPattern bounds what a pattern derives: each value at its longest
// (every capture at its longest match) within the value size limit, and
// all of them within the identifier size limit.
func (s *Service) checkPattern(p *pattern.Pattern, vals []*idresv1.Value) error {
	l := s.limits.withDefaults()
	total := 0
	for _, v := range vals {
		n, err := p.MaxExpansion(string(v.GetData()))
		if err != nil {
			return fmt.Errorf("%w: value index %d: %v", fault.ErrInvalidArgument, v.GetIndex(), err)
		}
		if n > l.MaxValueBytes {
			return fmt.Errorf("%w: value index %d: the template expands to up to %d bytes, more than this node's limit of %d bytes per value", fault.ErrInvalidArgument, v.GetIndex(), n, l.MaxValueBytes)
		}
		total += len(v.GetType()) + n
	}
	if total > l.MaxIdentifierBytes {
		return fmt.Errorf("%w: the derived values hold up to %d bytes of type and data, more than this node's limit of %d bytes per identifier", fault.ErrInvalidArgument, total, l.MaxIdentifierBytes)
	}
	return nil
}

// pageSize turns a requested page size into the one served: 0 means
// DefaultPageSize; more than the node's limit is refused.
func (s *Service) pageSize(n uint32) (int, error) {
	l := s.limits.withDefaults()
	switch {
	case n == 0:
		return min(DefaultPageSize, l.MaxPageSize), nil
	case int64(n) > int64(l.MaxPageSize):
		return 0, fmt.Errorf("%w: page_size %d is more than this node's limit of %d", fault.ErrInvalidArgument, n, l.MaxPageSize)
	}
	return int(n), nil
}
