package dnsname

import (
	"strings"
	"testing"

	"github.com/idres/idres/registry/ident"
)

// FuzzRoundTrip: every identifier either has a name of valid labels within
// 255 octets that maps back to its lookup key, or is refused with an error.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"88/x", "88.100.1/Part 42", "86/\u4ea7\u54c1", "88/a/b", "88/ie--x", "88/" + strings.Repeat("a", 64), "88._id/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ident.Parse(s)
		if err != nil {
			return
		}
		name, err := Identifier(zone, id)
		if err != nil {
			return
		}
		if wireLen(name) > MaxNameLen {
			t.Fatalf("%q: name %q is %d octets", s, name, wireLen(name))
		}
		for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
			if l == "" || len(l) > MaxLabelLen {
				t.Fatalf("%q: bad label %q in %q", s, l, name)
			}
		}
		back, err := Reverse(zone, name)
		if err != nil {
			t.Fatalf("%q: Reverse(%q): %v", s, name, err)
		}
		if back.ID.Key() != id.Key() {
			t.Fatalf("%q: round trip gave %q, want %q", s, back.ID.Key(), id.Key())
		}
	})
}

// FuzzReverse: Reverse never panics, and what it accepts maps back to the
// same name (the mapping is a bijection on canonical names).
func FuzzReverse(f *testing.F) {
	for _, s := range []string{"x._id.88.id.example.", "ie--c5h66._id.88.id.example", "88.id.example.", "id.example.", "_id._id.88.id.example."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := Reverse(zone, name)
		if err != nil {
			return
		}
		var again string
		if p.Kind == KindIdentifier {
			again, err = Identifier(zone, p.ID)
		} else {
			again, err = Prefix(zone, p.Prefix)
		}
		if err != nil || again != canonicalName(name) {
			t.Fatalf("Reverse(%q) = %+v, maps back to %q, %v", name, p, again, err)
		}
	})
}
