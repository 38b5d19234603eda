// Package value validates and normalises identifier values (design §2)
// before they are stored. It never touches storage.
package value

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	idresv1 "github.com/idres/idres/proto/idres/v1"
)

// Limits and defaults from design §2.
const (
	MaxValues     = 1000
	MaxTypeLen    = 255
	MaxDataLen    = 64 << 10
	DefaultTTL    = 86400
	DefaultNegTTL = 3600
	ReservedHS    = "HS_"
	ReservedIDRES = "IDRES_"
	MaxIndex      = 1<<31 - 1
	// MaxTTL is RFC 2181's bound on a TTL: a larger one means "never
	// expire" to some resolvers and is negative to others.
	MaxTTL        = 1<<31 - 1
	defaultPublic = true

	// MaxSize bounds an identifier's size (Size: the type and data bytes
	// of all its values): with the values' other fields (about 40 bytes
	// each, 1000 values at most) and the identifier, a record of MaxSize
	// fits one gRPC message of a stock client's default 4 MiB receive
	// limit. MaxValues x MaxDataLen (64 MiB) alone would not.
	MaxSize = 4<<20 - 64<<10
	// DefaultMaxSize is a node's limit unless configured
	// (idresd --max-identifier-bytes): well under MaxSize, so that every
	// front end serves it whole (an HTTP JSON answer is at most about six
	// times Size, when every byte is a control character).
	DefaultMaxSize = 1 << 20
)

// ErrInvalid marks a value that breaks a rule; the wrapping message says which.
var ErrInvalid = errors.New("invalid value")

// Check validates one value as a registrant may send it. Reserved types are
// refused unless allowReserved (the system's own records).
func Check(v *idresv1.Value, allowReserved bool) error {
	if v == nil {
		return fmt.Errorf("%w: empty value", ErrInvalid)
	}
	if v.Index == 0 || v.Index > MaxIndex {
		return fmt.Errorf("%w: index %d out of range 1..%d", ErrInvalid, v.Index, MaxIndex)
	}
	switch {
	case v.Type == "":
		return fmt.Errorf("%w: index %d: empty type", ErrInvalid, v.Index)
	case len(v.Type) > MaxTypeLen:
		return fmt.Errorf("%w: index %d: type is %d bytes, more than %d", ErrInvalid, v.Index, len(v.Type), MaxTypeLen)
	case !utf8.ValidString(v.Type):
		return fmt.Errorf("%w: index %d: type is not valid UTF-8", ErrInvalid, v.Index)
	case strings.ContainsFunc(v.Type, isControl):
		return fmt.Errorf("%w: index %d: type contains a control character", ErrInvalid, v.Index)
	case !allowReserved && IsReserved(v.Type):
		return fmt.Errorf("%w: index %d: type %q is reserved for the system (HS_*, IDRES_*)", ErrInvalid, v.Index, v.Type)
	}
	if len(v.Data) > MaxDataLen {
		return fmt.Errorf("%w: index %d: data is %d bytes, more than %d", ErrInvalid, v.Index, len(v.Data), MaxDataLen)
	}
	if v.Ttl != nil && *v.Ttl > MaxTTL {
		return fmt.Errorf("%w: index %d: ttl %d is more than %d (RFC 2181)", ErrInvalid, v.Index, *v.Ttl, MaxTTL)
	}
	return nil
}

// Size is an identifier's size as the limits count it: the bytes of the
// types and data of its values. Indexes, TTLs, flags and timestamps are a
// bounded overhead per value and are not counted.
func Size(vals []*idresv1.Value) int {
	n := 0
	for _, v := range vals {
		n += len(v.GetType()) + len(v.GetData())
	}
	return n
}

// CheckSet validates a whole set of values: 1 to 1000, distinct indexes.
// Their Size is bounded by the registry's limit (at most MaxSize), which
// lets a record stored above it by older code shrink.
func CheckSet(vals []*idresv1.Value, allowReserved bool) error {
	if len(vals) == 0 {
		return fmt.Errorf("%w: an identifier holds at least one value", ErrInvalid)
	}
	if len(vals) > MaxValues {
		return fmt.Errorf("%w: %d values, more than %d", ErrInvalid, len(vals), MaxValues)
	}
	seen := make(map[uint32]bool, len(vals))
	for _, v := range vals {
		if err := Check(v, allowReserved); err != nil {
			return err
		}
		if seen[v.Index] {
			return fmt.Errorf("%w: index %d given twice", ErrInvalid, v.Index)
		}
		seen[v.Index] = true
	}
	return nil
}

// IsReserved reports whether typ is reserved for the system.
func IsReserved(typ string) bool {
	u := strings.ToUpper(typ)
	return strings.HasPrefix(u, ReservedHS) || strings.HasPrefix(u, ReservedIDRES)
}

// Normalize fills defaults (TTL, public_read) and sorts by index. It does
// not set timestamps: the store does, at commit.
func Normalize(vals []*idresv1.Value) {
	for _, v := range vals {
		if v.Ttl == nil {
			t := uint32(DefaultTTL)
			v.Ttl = &t
		}
		if v.PublicRead == nil {
			p := defaultPublic
			v.PublicRead = &p
		}
	}
	Sort(vals)
}

// Sort orders values by index.
func Sort(vals []*idresv1.Value) {
	sort.Slice(vals, func(i, j int) bool { return vals[i].Index < vals[j].Index })
}

// Filter keeps the values that Selects picks.
func Filter(vals []*idresv1.Value, types []string, indexes []uint32, mode idresv1.FilterMode) []*idresv1.Value {
	if len(types) == 0 && len(indexes) == 0 {
		return vals
	}
	out := make([]*idresv1.Value, 0, len(vals))
	for _, v := range vals {
		if Selects(v.Type, v.Index, types, indexes, mode) {
			out = append(out, v)
		}
	}
	return out
}

// Selects reports whether a value of type typ at index is selected by
// the type and index lists in mode (see idresv1.FilterMode); empty lists
// select everything.
func Selects(typ string, index uint32, types []string, indexes []uint32, mode idresv1.FilterMode) bool {
	if len(types) == 0 && len(indexes) == 0 {
		return true
	}
	if mode != idresv1.FilterMode_FILTER_MODE_ANY {
		return (len(types) == 0 || slices.Contains(types, typ)) &&
			(len(indexes) == 0 || slices.Contains(indexes, index))
	}
	if slices.Contains(indexes, index) {
		return true
	}
	for _, t := range types {
		if strings.EqualFold(t, typ) || strings.HasSuffix(t, ".") && len(typ) > len(t) && strings.EqualFold(t, typ[:len(t)]) {
			return true
		}
	}
	return false
}

// Public keeps the values readable by anyone.
func Public(vals []*idresv1.Value) []*idresv1.Value {
	for i, v := range vals {
		if !v.GetPublicRead() && v.PublicRead != nil {
			out := append([]*idresv1.Value(nil), vals[:i]...)
			for _, w := range vals[i+1:] {
				if w.PublicRead == nil || w.GetPublicRead() {
					out = append(out, w)
				}
			}
			return out
		}
	}
	return vals
}

// MinTTL is the smallest TTL among vals, or DefaultTTL when vals is empty.
func MinTTL(vals []*idresv1.Value) uint32 {
	if len(vals) == 0 {
		return DefaultTTL
	}
	m := ^uint32(0)
	for _, v := range vals {
		t := uint32(DefaultTTL)
		if v.Ttl != nil {
			t = *v.Ttl
		}
		m = min(m, t)
	}
	return m
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f }
