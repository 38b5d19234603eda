package dnsname

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idres/idres/registry/ident"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current mapping")

const zone = "id.example."

// longestFitting returns the longest all-'x' suffix of the form "x/"+"é"*n
// style input whose name still fits in 255 octets, found by growing it.
func lengthEdge(prefix string, unit string) (fits, over string) {
	s := unit
	for {
		next := s + unit
		if _, err := Identifier(zone, ident.MustParse(prefix+"/"+next)); err != nil {
			return s, next
		}
		s = next
	}
}

type idCase struct {
	name string
	id   string
}

func identifierCases() []idCase {
	fits, over := lengthEdge("88.100.1", "z\u00e9")
	return []idCase{
		{"ascii LDH label", "88.100.1/part-42"},
		{"digits only", "88/12345"},
		{"mixed case folds to the same name", "88.100.1/Part-42"},
		{"upper-case prefix folds", "AB.Cd/x"},
		{"underscore in prefix", "88.a_b/x"},
		{"slash in suffix", "88.100.1/batch/2024/07"},
		{"spaces in suffix", "88.100.1/hello world"},
		{"leading hyphen", "88/-abc"},
		{"trailing hyphen", "88/abc-"},
		{"hyphens at 3-4 (xn--)", "88/xn--abc"},
		{"hyphens at 3-4 (ie--)", "88/ie--abc"},
		{"underscore in suffix", "88/a_b"},
		{"dot in suffix", "88/a.b"},
		{"Chinese characters", "86.1000/\u4ea7\u54c1\u7f16\u53f7-\u4e00\u4e8c\u4e09"},
		{"NFD input normalised to NFC", "88/e\u0301"},
		{"LDH label of 63 octets", "88/" + strings.Repeat("a", 63)},
		{"LDH of 64 octets is encoded", "88/" + strings.Repeat("a", 64)},
		{"encoded first label of 62 octets (36 bytes)", "88/" + strings.Repeat("_", 36)},
		{"encoded first label past 63 octets (37 bytes): 63 + 1", "88/" + strings.Repeat("_", 37)},
		{"longest name within 255 octets", "88.100.1/" + fits},
		{"one character more passes 255 octets", "88.100.1/" + over},
		{"prefix with reserved segment _id", "88._id/x"},
	}
}

func TestIdentifierGolden(t *testing.T) {
	var b strings.Builder
	for _, c := range identifierCases() {
		id := ident.MustParse(c.id)
		name, err := Identifier(zone, id)
		fmt.Fprintf(&b, "# %s\nid:   %q\n", c.name, c.id)
		if err != nil {
			fmt.Fprintf(&b, "err:  %v\n\n", err)
			continue
		}
		fmt.Fprintf(&b, "name: %s\noctets: %d\n\n", name, wireLen(name))
		for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
			if len(l) > MaxLabelLen {
				t.Errorf("%s: label %q is %d octets", c.name, l, len(l))
			}
		}
		back, err := Reverse(zone, name)
		if err != nil {
			t.Errorf("%s: Reverse(%q): %v", c.name, name, err)
			continue
		}
		if back.Kind != KindIdentifier || back.ID.Key() != id.Key() {
			t.Errorf("%s: Reverse(%q) = %+v, want key %q", c.name, name, back, id.Key())
		}
	}
	golden(t, "identifiers.golden", b.String())
}

func TestPrefixGolden(t *testing.T) {
	cases := []struct {
		zone, prefix string
	}{
		{zone, ""},
		{zone, "88"},
		{zone, "88.100.1"},
		{zone, "88.Ab_C.1"},
		{".", "88.100"},
		{".", ""},
		{zone, "88._ID"},
		{zone, strings.Repeat("abcdefghijklmnop.", 15) + "abcdefghijklmnop"},
	}
	var b strings.Builder
	for _, c := range cases {
		name, err := Prefix(c.zone, c.prefix)
		fmt.Fprintf(&b, "zone %s prefix %q -> ", c.zone, c.prefix)
		if err != nil {
			fmt.Fprintf(&b, "err: %v\n", err)
			continue
		}
		fmt.Fprintf(&b, "%s\n", name)
		back, err := Reverse(c.zone, name)
		if err != nil || back.Kind != KindPrefix || back.Prefix != ident.Fold(c.prefix) {
			t.Errorf("Reverse(%q) = %+v, %v; want prefix %q", name, back, err, ident.Fold(c.prefix))
		}
	}
	golden(t, "prefixes.golden", b.String())
}

func TestReverseRejects(t *testing.T) {
	long := SuffixLabels(strings.Repeat("A", 37))
	cases := []struct {
		name, in string
	}{
		{"outside the zone", "x._id.88.other.example."},
		{"zone is only a suffix of the label", "x._id.88.xid.example."},
		{"no suffix before _id", "_id.88.id.example."},
		{"identifier under the root", "x._id.id.example."},
		{"invalid prefix segment", "x._id.-a.id.example."},
		{"space in a prefix label", "x._id.a b.id.example."},
		{"ie-- encoding of an LDH suffix under _id", "ie--c5h66._id.88.id.example."},
		{"encoding of upper case (not a key)", "ie--" + strings.ToLower(b32.EncodeToString([]byte("A"))) + "._id.88.id.example."},
		{"two plain labels", "a.b._id.88.id.example."},
		{"base32 digit out of alphabet", "ie--zz._id.88.id.example."},
		{"encoding cut differently", strings.Replace(long, ".", "", 1)[:40] + "." + strings.Replace(long, ".", "", 1)[40:] + "._id.88.id.example."},
		{"suffix with control character", "ie--" + strings.ToLower(b32.EncodeToString([]byte("a\x01"))) + "._id.88.id.example."},
		{"invalid UTF-8", "ie--" + strings.ToLower(b32.EncodeToString([]byte{0xff, 0xfe})) + "._id.88.id.example."},
		{"LDH with -- at 3-4", "ab--c._id.88.id.example."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Reverse(zone, c.in)
			if !errors.Is(err, ErrUnmappable) {
				t.Fatalf("Reverse(%q) = %+v, %v; want ErrUnmappable", c.in, got, err)
			}
		})
	}
}

func TestReverseCaseInsensitive(t *testing.T) {
	got, err := Reverse(zone, "Part-42._ID.1.100.88.ID.Example")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID.Key() != "88.100.1/part-42" {
		t.Fatalf("got %q", got.ID.Key())
	}
}

func TestIsEncodedTail(t *testing.T) {
	full := strings.Split(SuffixLabels(strings.Repeat("\u4e00", 60)), ".")
	if len(full) < 3 {
		t.Fatalf("want a suffix of 3+ labels, got %d", len(full))
	}
	for j := 1; j < len(full); j++ {
		if !IsEncodedTail(full[j:]) {
			t.Errorf("tail %d of %v not recognised", j, full)
		}
	}
	for _, bad := range [][]string{nil, {"ie--abc"}, {"w"}, {"abc", "d"}, {""}} {
		if IsEncodedTail(bad) {
			t.Errorf("IsEncodedTail(%q) = true", bad)
		}
	}
}

func TestCanonicalZone(t *testing.T) {
	for in, want := range map[string]string{"ID.Example": "id.example.", "id.example.": "id.example.", "": ".", ".": "."} {
		if got, err := CanonicalZone(in); err != nil || got != want {
			t.Errorf("CanonicalZone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"a..b", ".a", strings.Repeat("a", 64) + ".b"} {
		if _, err := CanonicalZone(bad); err == nil {
			t.Errorf("CanonicalZone(%q) accepted", bad)
		}
	}
}

func golden(t *testing.T, file, got string) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the mapping (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
