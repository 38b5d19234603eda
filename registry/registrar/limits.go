package registrar

import (
	"fmt"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/fault"
	"github.com/idres/idres/registry/value"
)

// Limits bound what one call may store or ask for. They may only tighten
// the design's ceilings (value.MaxValues, value.MaxDataLen, MaxPageSize);
// a zero field means the ceiling.
type Limits struct {
	// MaxValues is the most values one identifier may hold.
	MaxValues int
	// MaxValueBytes is the most bytes of data one value may hold.
	MaxValueBytes int
	// MaxPageSize is the largest page a List call may ask for.
	MaxPageSize int
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
	} {
		if c.v < 0 || c.v > c.ceil {
			return fmt.Errorf("limit %s %d out of range 1..%d (0 means %d)", c.name, c.v, c.ceil, c.ceil)
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
	l := s.limits.withDefaults()
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
