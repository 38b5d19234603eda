package value_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	idresv1 "github.com/idres/idres/proto/idres/v1"
	"github.com/idres/idres/registry/value"
)

func v(index uint32, typ, data string) *idresv1.Value {
	return &idresv1.Value{Index: index, Type: typ, Data: []byte(data)}
}

func withTTL(x *idresv1.Value, ttl uint32) *idresv1.Value { x.Ttl = proto.Uint32(ttl); return x }

func withPublic(x *idresv1.Value, public bool) *idresv1.Value {
	x.PublicRead = proto.Bool(public)
	return x
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name          string
		v             *idresv1.Value
		allowReserved bool
		wantErr       string // substring of the error; "" means valid
	}{
		{"plain", v(1, "URL", "https://example.com"), false, ""},
		{"industry type", v(7, "production_date", "2026-01-02"), false, ""},
		{"max index", v(value.MaxIndex, "URL", "x"), false, ""},
		{"empty data", v(1, "URL", ""), false, ""},
		{"max data", v(1, "blob", strings.Repeat("x", value.MaxDataLen)), false, ""},
		{"max type", v(1, strings.Repeat("t", value.MaxTypeLen), "x"), false, ""},
		{"non-ASCII type", v(1, "Hersteller-ü", "x"), false, ""},
		{"binary data", &idresv1.Value{Index: 1, Type: "bin", Data: []byte{0, 0xff, 0xfe}}, false, ""},
		{"reserved allowed for the system", v(1, "HS_ADMIN", "x"), true, ""},
		{"nil", nil, false, "empty value"},
		{"index 0", v(0, "URL", "x"), false, "index 0 out of range"},
		{"index over 2^31-1", v(value.MaxIndex+1, "URL", "x"), false, "out of range"},
		{"empty type", v(1, "", "x"), false, "empty type"},
		{"type too long", v(1, strings.Repeat("t", value.MaxTypeLen+1), "x"), false, "256 bytes, more than 255"},
		{"type invalid UTF-8", v(1, "a\xffb", "x"), false, "not valid UTF-8"},
		{"type with NUL", v(1, "a\x00b", "x"), false, "control character"},
		{"type with DEL", v(1, "a\x7f", "x"), false, "control character"},
		{"type with C1", v(1, "a\u0085", "x"), false, "control character"},
		{"type with newline", v(1, "URL\n", "x"), false, "control character"},
		{"data too long", v(1, "blob", strings.Repeat("x", value.MaxDataLen+1)), false, "65537 bytes, more than 65536"},
		{"ttl at RFC 2181's bound", &idresv1.Value{Index: 1, Type: "t", Ttl: proto.Uint32(value.MaxTTL)}, false, ""},
		{"ttl over RFC 2181's bound", &idresv1.Value{Index: 1, Type: "t", Ttl: proto.Uint32(1 << 31)}, false, "ttl 2147483648 is more than 2147483647"},
		{"ttl 2^32-1", &idresv1.Value{Index: 1, Type: "t", Ttl: proto.Uint32(1<<32 - 1)}, false, "more than"},
		{"reserved HS_", v(1, "HS_ADMIN", "x"), false, "reserved"},
		{"reserved IDRES_", v(1, "IDRES_GRPC", "x"), false, "reserved"},
		{"reserved, lower case", v(1, "hs_site", "x"), false, "reserved"},
		{"reserved, mixed case", v(1, "Idres_x", "x"), false, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := value.Check(tt.v, tt.allowReserved)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check: %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, value.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Check: err = %v, want ErrInvalid containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestCheckSet(t *testing.T) {
	many := func(n int) []*idresv1.Value {
		out := make([]*idresv1.Value, n)
		for i := range out {
			out[i] = v(uint32(i+1), "t", "x")
		}
		return out
	}
	tests := []struct {
		name    string
		vals    []*idresv1.Value
		wantErr string
	}{
		{"one", many(1), ""},
		{"max", many(value.MaxValues), ""},
		{"unsorted", []*idresv1.Value{v(5, "a", ""), v(2, "b", "")}, ""},
		{"none", nil, "at least one value"},
		{"too many", many(value.MaxValues + 1), "1001 values, more than 1000"},
		{"duplicate index", []*idresv1.Value{v(2, "a", ""), v(3, "b", ""), v(2, "c", "")}, "index 2 given twice"},
		{"one bad value", []*idresv1.Value{v(1, "a", ""), v(2, "", "")}, "index 2: empty type"},
		{"reserved", []*idresv1.Value{v(1, "URL", ""), v(2, "HS_ADMIN", "")}, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := value.CheckSet(tt.vals, false)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckSet: %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, value.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckSet: err = %v, want ErrInvalid containing %q", err, tt.wantErr)
			}
		})
	}
	if err := value.CheckSet([]*idresv1.Value{v(1, "HS_ADMIN", "")}, true); err != nil {
		t.Errorf("CheckSet(reserved, allowReserved): %v", err)
	}
}

func TestNormalize(t *testing.T) {
	vals := []*idresv1.Value{
		v(3, "c", ""),
		withPublic(withTTL(v(1, "a", ""), 0), false), // explicit 0 and false are kept, not defaulted
		withTTL(v(2, "b", ""), 60),
	}
	value.Normalize(vals)
	want := []struct {
		index  uint32
		ttl    uint32
		public bool
	}{{1, 0, false}, {2, 60, true}, {3, value.DefaultTTL, true}}
	for i, w := range want {
		got := vals[i]
		if got.Index != w.index || got.Ttl == nil || *got.Ttl != w.ttl || got.PublicRead == nil || *got.PublicRead != w.public {
			t.Errorf("value %d = index %d ttl %v public %v, want %+v", i, got.Index, got.Ttl, got.PublicRead, w)
		}
		if got.Timestamp != nil {
			t.Errorf("Normalize set a timestamp on value %d", got.Index)
		}
	}
}

func TestFilter(t *testing.T) {
	vals := []*idresv1.Value{v(1, "URL", ""), v(2, "EMAIL", ""), v(3, "URL", ""), v(4, "batch", ""), v(5, "URL.meta", "")}
	const all, any = idresv1.FilterMode_FILTER_MODE_ALL, idresv1.FilterMode_FILTER_MODE_ANY
	tests := []struct {
		name    string
		types   []string
		indexes []uint32
		want    []uint32
		mode    idresv1.FilterMode
	}{
		{"no filter", nil, nil, []uint32{1, 2, 3, 4, 5}, all},
		{"one type", []string{"URL"}, nil, []uint32{1, 3}, all},
		{"two types", []string{"batch", "EMAIL"}, nil, []uint32{2, 4}, all},
		{"type is exact, case and all", []string{"url"}, nil, nil, all},
		{"a trailing dot is no prefix in ALL", []string{"URL."}, nil, nil, all},
		{"unknown type", []string{"nope"}, nil, nil, all},
		{"indexes", nil, []uint32{4, 1}, []uint32{1, 4}, all},
		{"missing index", nil, []uint32{9}, nil, all},
		{"type and index both must match", []string{"URL"}, []uint32{2, 3}, []uint32{3}, all},
		{"type and index disjoint", []string{"EMAIL"}, []uint32{1}, nil, all},
		{"any: no filter", nil, nil, []uint32{1, 2, 3, 4, 5}, any},
		{"any: type or index", []string{"EMAIL"}, []uint32{1}, []uint32{1, 2}, any},
		{"any: type in any case", []string{"url"}, nil, []uint32{1, 3}, any},
		{"any: plain type is no prefix", []string{"URL"}, nil, []uint32{1, 3}, any},
		{"any: a trailing dot matches subtypes", []string{"url."}, nil, []uint32{5}, any},
		{"any: the dot alone is not the type", []string{"URL.meta."}, nil, nil, any},
		{"any: indexes only", nil, []uint32{4}, []uint32{4}, any},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := indexes(value.Filter(vals, tt.types, tt.indexes, tt.mode))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Filter(%q, %v, %v) = %v, want %v", tt.types, tt.indexes, tt.mode, got, tt.want)
			}
		})
	}
}

func TestPublic(t *testing.T) {
	tests := []struct {
		name string
		vals []*idresv1.Value
		want []uint32
	}{
		{"all public", []*idresv1.Value{withPublic(v(1, "a", ""), true), v(2, "b", "")}, []uint32{1, 2}},
		{"unset means public", []*idresv1.Value{v(1, "a", "")}, []uint32{1}},
		{"first private", []*idresv1.Value{withPublic(v(1, "a", ""), false), v(2, "b", ""), withPublic(v(3, "c", ""), true)}, []uint32{2, 3}},
		{"middle private", []*idresv1.Value{v(1, "a", ""), withPublic(v(2, "b", ""), false), v(3, "c", "")}, []uint32{1, 3}},
		{"several private", []*idresv1.Value{v(1, "a", ""), withPublic(v(2, "b", ""), false), withPublic(v(3, "c", ""), false), v(4, "d", "")}, []uint32{1, 4}},
		{"all private", []*idresv1.Value{withPublic(v(1, "a", ""), false), withPublic(v(2, "b", ""), false)}, nil},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := indexes(tt.vals)
			got := indexes(value.Public(tt.vals))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Public = %v, want %v", got, tt.want)
			}
			if !slices.Equal(indexes(tt.vals), before) {
				t.Errorf("Public modified its input: %v, was %v", indexes(tt.vals), before)
			}
		})
	}
}

func TestMinTTL(t *testing.T) {
	tests := []struct {
		name string
		vals []*idresv1.Value
		want uint32
	}{
		{"empty", nil, value.DefaultTTL},
		{"one", []*idresv1.Value{withTTL(v(1, "a", ""), 300)}, 300},
		{"smallest wins", []*idresv1.Value{withTTL(v(1, "a", ""), 300), withTTL(v(2, "a", ""), 60), withTTL(v(3, "a", ""), 900)}, 60},
		{"zero is a TTL", []*idresv1.Value{withTTL(v(1, "a", ""), 300), withTTL(v(2, "a", ""), 0)}, 0},
		{"unset counts as the default", []*idresv1.Value{v(1, "a", ""), withTTL(v(2, "a", ""), 100000)}, value.DefaultTTL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := value.MinTTL(tt.vals); got != tt.want {
				t.Errorf("MinTTL = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestIsReserved(t *testing.T) {
	for typ, want := range map[string]bool{
		"HS_ADMIN": true, "hs_site": true, "IDRES_DNS": true, "idres_": true,
		"URL": false, "HS": false, "HSX_": false, "IDRES": false, "x_HS_": false, "": false,
	} {
		if got := value.IsReserved(typ); got != want {
			t.Errorf("IsReserved(%q) = %v, want %v", typ, got, want)
		}
	}
}

func indexes(vals []*idresv1.Value) []uint32 {
	var out []uint32
	for _, x := range vals {
		out = append(out, x.Index)
	}
	return out
}

func TestSize(t *testing.T) {
	vals := []*idresv1.Value{{Index: 1, Type: "URL", Data: []byte("https://x")}, {Index: 2, Type: "t", Data: make([]byte, 1000)}}
	if got, want := value.Size(vals), 3+9+1+1000; got != want {
		t.Errorf("Size = %d, want %d (type and data bytes)", got, want)
	}
	if value.DefaultMaxSize >= value.MaxSize || value.MaxSize+1000*64 > 4<<20 {
		t.Errorf("DefaultMaxSize %d, MaxSize %d: want the default under the ceiling, and the ceiling with 64 bytes a value of overhead within 4 MiB", value.DefaultMaxSize, value.MaxSize)
	}
}
